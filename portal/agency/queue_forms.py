"""The caller's forms: the call outcome (and the fields each outcome needs), the plan builder."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.debtor.arrangements import parse_euros
from portal.models import CallOutcome, CallTask, DisputeReason
from portal.services.calls import MAX_NOTE, OUTCOME_LABELS

Out = CallOutcome
# The keys that pick an outcome on the caller's screen (static/caller-keys.js), in screen order.
OUTCOME_KEYS = {
    Out.NO_ANSWER: "1", Out.VOICEMAIL: "2", Out.PROMISE: "3", Out.ARRANGEMENT: "4",
    Out.CALLBACK: "5", Out.DISPUTE: "6", Out.WRONG_NUMBER: "7", Out.REFUSED: "8",
    Out.PAID_ALREADY: "9", Out.DECEASED: "0", Out.OTHER: "x",
}
DISPUTE_REASONS = [
    SelectChoice("", _l("Choose…")),
    SelectChoice(DisputeReason.NOT_DELIVERED.value, _l("Not delivered")),
    SelectChoice(DisputeReason.COMPLAINT.value, _l("A complaint about the product or service")),
    SelectChoice(DisputeReason.INVOICE_ERROR.value, _l("An error on the invoice")),
    SelectChoice(DisputeReason.ALREADY_PAID.value, _l("Already paid")),
    SelectChoice(DisputeReason.NOT_MY_DEBT.value, _l("Not my debt")),
    SelectChoice(DisputeReason.OTHER.value, _l("Something else")),
]
# Which fields each outcome shows (the rest are hidden when htmx swaps the fields in).
OUTCOME_FIELDS = {
    Out.PROMISE: ("promise_amount", "promise_due_on"),
    Out.CALLBACK: ("callback_on", "callback_time"),
    Out.DISPUTE: ("dispute_reason",),
}


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class OutcomeForm(FlaskForm):
    outcome = RadioField(_l("What came of the call"),
                         choices=[SelectChoice(o.value, OUTCOME_LABELS[o]) for o in OUTCOME_KEYS],
                         validators=[InputRequired(message=_l("Choose what came of the call."))])
    reason = SelectField(_l("Why has the debtor not paid?"), coerce=_int_or_none,
                         validate_choice=False, validators=[Optional()])
    promise_amount = StringField(_l("Amount promised (euros)"), validators=[Length(max=20)])
    promise_due_on = DateField(_l("Paid by"), validators=[Optional()])
    callback_on = DateField(_l("Call back on"), validators=[Optional()])
    callback_time = TimeField(_l("at (the debtor's time)"), validators=[Optional()])
    dispute_reason = SelectField(_l("What is disputed"), choices=DISPUTE_REASONS,
                                 validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=MAX_NOTE)])
    shareable = BooleanField(_l("The client may read this note"))

    def promise_cents(self) -> int | None:
        try:
            return parse_euros(self.promise_amount.data)
        except ValueError:
            self.promise_amount.errors = [_l("Fill in an amount in euros, like 25 or 25,00.")]
            return None

    def callback_moment(self, timezone: str) -> datetime | None:
        """The callback day and time in the debtor's zone, as an aware moment."""
        if self.callback_on.data is None or self.callback_time.data is None:
            return None
        return datetime.combine(self.callback_on.data, self.callback_time.data,
                                ZoneInfo(timezone))

    def service_values(self, task: CallTask) -> dict:
        """The keyword arguments of services.calls.log_call, from what was typed."""
        outcome = self.outcome.data
        return {
            "started_at": task.claimed_at,
            "reason_id": self.reason.data,
            "note": self.note.data,
            "shareable": bool(self.shareable.data),
            "promise_amount_cents": self.promise_cents() if outcome == Out.PROMISE else None,
            "promise_due_on": self.promise_due_on.data if outcome == Out.PROMISE else None,
            "callback_at": (self.callback_moment(task.case.debtor.timezone)
                            if outcome == Out.CALLBACK else None),
            "dispute_reason": self.dispute_reason.data if outcome == Out.DISPUTE else None,
        }

    def add_errors(self, messages: dict) -> None:
        """The service's refusals, shown at their fields."""
        for name, message in messages.items():
            field = getattr(self, name, None) or self.note
            field.errors = [*list(field.errors or []), message]


class ArrangementForm(FlaskForm):
    count = IntegerField(_l("Number of instalments"),
                         validators=[InputRequired(), NumberRange(1, 60)])
    start_on = DateField(_l("First payment date"),
                         validators=[InputRequired(message=_l("Choose a date."))])
