"""Template filters and globals shared by every audience's pages, letters and reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, current_app
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    ngettext,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("New"),
    "active": _l("In collection"),
    "promised": _l("Promise to pay"),
    "arrangement": _l("Payment plan"),
    "disputed": _l("Disputed"),
    "on_hold": _l("On hold"),
    "legal": _l("Legal"),
    "paid": _l("Paid"),
    "closed": _l("Closed"),
    "withdrawn": _l("Withdrawn"),
}


BUCKET_LABELS = {
    "principal": _l("Principal"),
    "interest": _l("Interest"),
    "costs": _l("Collection costs"),
    "fees": _l("Other charges"),
}

CAUSE_LABELS = {
    "claim": _l("Claim handed over"),
    "interest": _l("Statutory interest"),
    "collection_costs": _l("Collection costs"),
    "fee": _l("Charge"),
    "payment": _l("Payment"),
    "credit_note": _l("Credit note"),
    "write_off": _l("Write-off"),
    "correction": _l("Correction"),
}


def _case_opened(detail: dict) -> str:
    count = len(detail.get("invoices", []))
    return ngettext("Case opened with %(num)s invoice", "Case opened with %(num)s invoices", count)


# System events are shown in the reader's language; notes people wrote stay as written.
EVENT_LABELS = {
    "case.opened": _case_opened,
    "user.signed_in": lambda detail: _("Signed in"),
    "user.password_changed": lambda detail: _("Password changed"),
    "debtor.signed_in": lambda detail: _("The debtor signed in with the access code"),
    "debtor.wrong_code": lambda detail: _("A wrong access code was entered"),
    "debtor.locked": lambda detail: _("Access locked after repeated wrong codes"),
    "debtor.refused_locked": lambda detail: _("Sign-in refused: the reference is locked"),
    "notice.email": lambda detail: _("Sent by email"),
    "notice.letter": lambda detail: _("Letter made for the post"),
    # The call team (issue 5)
    "call.logged": lambda detail: _call_logged(detail),
    "call.check_payments": lambda detail: _("The debtor says it is paid: check the payments"),
    "debtor.phone_invalid": lambda detail: _("Phone number marked wrong"),
    "debtor.deceased": lambda detail: _("The debtor is reported deceased: no more calls"),
    "promise.kept": lambda detail: _("Promise to pay kept"),
    "promise.broken": lambda detail: _("Promise to pay broken"),
    # The client's actions on a case (issue 7)
    "case.on_hold": lambda detail: _("Put on hold by the client until %(day)s",
                                     day=day(date.fromisoformat(detail["until"]))
                                     if detail.get("until") else ""),
    "case.hold_ended": lambda detail: _("Hold lifted by the client"),
    "case.withdrawn": lambda detail: _("Withdrawn by the client: %(reason)s",
                                       reason=detail.get("reason", "")),
    "case.note_added": lambda detail: _("Note added by the client"),
    "dispute.client_answered": lambda detail: _("The client answered the dispute"),
}


def _call_logged(detail: dict) -> str:
    from portal.services.calls import outcome_label  # late: this module loads before services

    text = _("Call: %(outcome)s", outcome=outcome_label(detail.get("outcome", "")))
    if detail.get("amount_cents"):
        text += f" ({money(detail['amount_cents'])})"
    return text

DELIVERY_LABELS = {
    "queued": _l("waiting"),
    "sending": _l("being sent"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "cancelled": _l("not sent"),
}


def delivery_label(status: object) -> str:
    return str(DELIVERY_LABELS.get(str(status), status))


def event_label(event) -> str:
    label = EVENT_LABELS.get(event.action)
    return label(event.detail or {}) if label else event.summary


def entry_label(entry) -> str:
    """A ledger entry in words: claims by their invoice number, the rest as booked."""
    if str(entry.cause) == "claim" and entry.invoice is not None:
        return _("Invoice %(number)s", number=entry.invoice.number)
    return entry.description


# The batch's counts ("final_demand/letter", "skipped/disputed", ...) in words.
COUNT_LABELS = {
    "invoice": _l("Invoice sent"),
    "email_reminder": _l("Reminder"),
    "letter": _l("Letter"),
    "fourteen_day_letter": _l("14-day letter"),
    "final_demand": _l("Final demand"),
    "call_task": _l("Handed to the call team"),
    "legal_handover": _l("Handed over to legal"),
    "notices": _l("Notices"),
    "skipped": _l("Skipped"),
    "costs": _l("Collection costs"),
    "interest": _l("Interest"),
    "failed": _l("Failed"),
    "email": _l("by email"),
    "withheld": _l("not charged yet (14-day term)"),
    "booked": _l("booked"),
    "disputed": _l("disputed"),
    "arrangement": _l("payment plan"),
    "promise": _l("promise to pay"),
    "on_hold": _l("on hold"),
    "do_not_contact": _l("do not contact"),
    "not_due": _l("not due yet"),
    "finished": _l("workflow finished"),
    "closed": _l("closed"),
}


def count_label(code: str) -> str:
    if code == "letter":
        return str(_l("by letter"))
    return str(COUNT_LABELS.get(code, code))


def status_label(status: object) -> str:
    return str(STATUS_LABELS.get(str(status), status))


def bucket_label(bucket: object) -> str:
    return str(BUCKET_LABELS.get(str(bucket), bucket))


def cause_label(cause: object) -> str:
    return str(CAUSE_LABELS.get(str(cause), cause))


def money(cents: int | None, currency: str = "EUR") -> str:
    """Cents as the reader's language writes money: € 1.234,56 or €1,234.56."""
    if cents is None:
        return ""
    return format_currency(Decimal(cents) / 100, currency)


def percent(value: Decimal | None) -> str:
    """A yearly rate as the reader writes it: 4,00 % or 4.00 %."""
    return "" if value is None else f"{format_decimal(value, format='0.00')} %"


def day(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, style)
    return format_date(value, style)


def iban(value: str | None) -> str:
    """An IBAN in groups of four, as banks print it: NL91 ABNA 0417 1643 00."""
    compact = "".join((value or "").split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def file_size(n: int) -> str:
    """A size limit as people read it: 10 MB, 512 KB (whole units, at least 1 KB)."""
    if n >= 1024 * 1024:
        return f"{n // (1024 * 1024)} MB"
    return f"{max(n // 1024, 1)} KB"


def commission_rate(basis_points: int) -> str:
    """Hundredths of a percent as the reader writes a rate: 1500 -> 15 %, 1250 -> 12,5 %."""
    return f"{format_decimal(Decimal(basis_points) / 100, format='#,##0.##')} %"


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(iban)
    app.add_template_filter(commission_rate)
    app.add_template_filter(day)
    app.add_template_filter(percent)
    app.add_template_global(status_label)
    app.add_template_global(count_label)
    app.add_template_global(delivery_label)
    app.add_template_global(COUNT_LABELS, "count_labels")
    app.add_template_global(bucket_label)
    app.add_template_global(cause_label)
    app.add_template_global(event_label)
    app.add_template_global(entry_label)

    @app.context_processor
    def portal_globals() -> dict:
        return {
            "agency_name": current_app.config["AGENCY_NAME"],
            "current_locale": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": current_app.config["LANGUAGES"],
        }
