"""The debtor's dispute form, their evidence files, and the message thread of a case."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal import htmx
from portal.debtor import bp, load_case
from portal.documents.evidence import evidence_response
from portal.extensions import db
from portal.models import Case, DisputeReason, Party
from portal.services import disputes, messages
from portal.services.notices import agency_today

Reason = DisputeReason
REASONS = [
    SelectChoice(Reason.NOT_DELIVERED.value, _l("I did not receive it")),
    SelectChoice(Reason.COMPLAINT.value, _l("Complaint: product or service")),
    SelectChoice(Reason.INVOICE_ERROR.value, _l("Error on the invoice")),
    SelectChoice(Reason.ALREADY_PAID.value, _l("I have already paid")),
    SelectChoice(Reason.NOT_MY_DEBT.value, _l("This is not my debt")),
    SelectChoice(Reason.OTHER.value, _l("Something else")),
]


class DisputeForm(FlaskForm):
    reason = SelectField(_l("What is wrong?"), choices=REASONS,
                         validators=[DataRequired(message=_l("Choose what is wrong."))])
    description = TextAreaField(
        _l("Tell us what happened"),
        validators=[DataRequired(message=_l("Please tell us what happened.")),
                    Length(max=disputes.MAX_DESCRIPTION)],
    )
    evidence = MultipleFileField(_l("Proof (optional)"))


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Your message"),
        validators=[DataRequired(message=_l("Please write a message.")),
                    Length(max=messages.MAX_BODY)],
    )


def case_parts(case: Case) -> dict:
    """What the dispute and message partials of the debtor's case page need. Reading the
    page marks the agency's messages read (the caller commits)."""
    thread = messages.thread(case)
    messages.mark_read_by_debtor(case)
    return {
        **disputes.with_evidence(case),
        "thread": thread,
        "message_form": MessageForm(formdata=None),
    }


def _uploads() -> list[tuple[str, bytes]]:
    """The chosen files as (name, bytes); a form sent with no file has one empty part."""
    return [(f.filename or "", f.read()) for f in request.files.getlist("evidence")
            if f.filename]


@bp.route("/cases/<int:case_id>/dispute", methods=["GET", "POST"])
def dispute(case_id: int):
    case = load_case(case_id)
    if disputes.open_dispute_of(case) is not None:
        flash(_("You already told us about a problem with this case; we are looking into it."),
              "info")
        return redirect(url_for(".case", case_id=case.id))
    form = DisputeForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            disputes.open_dispute(case, DisputeReason(form.reason.data), form.description.data,
                                  _uploads(), today=agency_today(), debtor_id=g.debtor.id)
        except disputes.DisputeRefused as refused:
            db.session.rollback()
            problems = refused.messages
        else:
            db.session.commit()
            flash(_("Thank you. We have paused collection while we look into this. "
                    "We will tell you the outcome by email."), "success")
            return redirect(url_for(".case", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template("debtor/dispute.html", case=case, form=form,
                           problems=problems), status


@bp.get("/cases/<int:case_id>/evidence/<int:document_id>")
def evidence(case_id: int, document_id: int):
    case = load_case(case_id)
    document = disputes.case_evidence(case, document_id)
    if document is None:
        abort(404)
    return evidence_response(document)


@bp.post("/cases/<int:case_id>/messages")
def post_message(case_id: int):
    case = load_case(case_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messages.post_message(case, Party.DEBTOR, form.body.data, debtor_id=g.debtor.id)
        except messages.MessageRefused as refused:
            form.body.errors.append(str(refused))
        else:
            db.session.commit()
            if htmx.is_htmx():
                return _thread(case, MessageForm(formdata=None), sent=True)
            flash(_("Your message was sent. We usually answer within two working days."),
                  "success")
            return redirect(url_for(".case", case_id=case.id, _anchor="messages"))
    if htmx.is_htmx():
        return _thread(case, form), 422
    return render_template("debtor/message_error.html", case=case, message_form=form,
                           thread=messages.thread(case)), 422


def _thread(case: Case, form: MessageForm, *, sent: bool = False) -> str:
    return render_template("debtor/_messages.html", case=case, thread=messages.thread(case),
                           message_form=form, sent=sent)
