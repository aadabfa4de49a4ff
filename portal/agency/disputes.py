"""Disputes and debtor messages for the agency: the lists, resolving, replying.

Every staff member may read; only admins and supervisors resolve a dispute.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal import htmx
from portal.agency import bp
from portal.domain.money import to_cents
from portal.extensions import db
from portal.models import Case, Dispute, DisputeOutcome, DisputeStatus, Party, Role
from portal.services import disputes, messages
from portal.services.notices import agency_today

RESOLVERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


Outcome = DisputeOutcome


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[
        SelectChoice(Outcome.REJECTED.value, _l("Rejected: the claim stands, collection resumes")),
        SelectChoice(Outcome.PARTLY_UPHELD.value, _l("Partly upheld: credit part of the invoices")),
        SelectChoice(Outcome.UPHELD.value,
                     _l("Upheld: withdraw everything still open, close the case")),
    ])
    credit = StringField(_l("Credit in euros (partly upheld only)"),
                         validators=[Length(max=20)])
    resolution = TextAreaField(_l("What we tell the debtor"),
                               validators=[DataRequired(), Length(max=5000)])

    def credit_cents(self) -> int:
        """The credit typed ("12,50" or "12.50"; empty is none); ValueError when unreadable."""
        text = (self.credit.data or "").strip().replace(" ", "")
        if not text:
            return 0
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        return to_cents(text)


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply to the debtor"),
                         validators=[DataRequired(), Length(max=messages.MAX_BODY)])


def case_parts(case: Case) -> dict:
    """What the dispute and message partials of the agency's case page need. Viewing the
    case marks the debtor's messages read by the agency (the caller commits)."""
    thread = messages.thread(case)
    messages.mark_read_by_agency(case)
    return {
        **disputes.with_evidence(case, kinds=disputes.ALL_FILES),
        "thread": thread,
        "resolve_form": ResolveForm(formdata=None),
        "reply_form": ReplyForm(formdata=None),
    }


@bp.get("/disputes")
def disputes_index():
    status = {"open": DisputeStatus.OPEN, "resolved": DisputeStatus.RESOLVED}.get(
        request.args.get("status", ""))
    query = disputes.disputes_page_query(status).options(
        joinedload(Dispute.case).joinedload(Case.debtor),
        joinedload(Dispute.case).joinedload(Case.client))
    page = db.paginate(query, per_page=current_app.config["CASES_PER_PAGE"], error_out=False)
    context = {"page": page, "status": request.args.get("status", "")}
    if htmx.wants_fragment():
        return render_block("agency/disputes/index.html", "results", **context)
    return render_template("agency/disputes/index.html", **context)


@bp.get("/messages")
def inbox():
    return render_template("agency/disputes/inbox.html", rows=messages.unread_for_agency())


@bp.post("/cases/<int:case_id>/disputes/<int:dispute_id>/resolve")
def resolve_dispute(case_id: int, dispute_id: int):
    if current_user.role not in RESOLVERS:
        abort(403)
    case = db.get_or_404(Case, case_id)
    dispute = db.first_or_404(db.select(Dispute).where(
        Dispute.id == dispute_id, Dispute.case_id == case.id))
    form = ResolveForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            disputes.resolve(dispute, DisputeOutcome(form.outcome.data), form.resolution.data,
                             current_user, today=agency_today(), credit_cents=form.credit_cents())
        except disputes.DisputeRefused as refused:
            db.session.rollback()
            problems = refused.messages
        except ValueError:
            problems = [_("Write the credit as an amount in euros, for example 125,50.")]
        else:
            db.session.commit()
            flash(_("The dispute is resolved; the debtor is told by email."), "success")
            return redirect(url_for(".case", case_id=case.id, _anchor="disputes"))
    return render_template("agency/disputes/resolve.html", case=case, dispute=dispute,
                           resolve_form=form, problems=problems), 422


@bp.post("/cases/<int:case_id>/messages")
def reply(case_id: int):
    case = db.get_or_404(Case, case_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            messages.post_message(case, Party.AGENCY, form.body.data, user=current_user)
        except messages.MessageRefused as refused:
            form.body.errors.append(str(refused))
        else:
            messages.mark_read_by_agency(case)  # answering is reading
            db.session.commit()
            flash(_("Your reply was sent; the debtor gets an email."), "success")
            return redirect(url_for(".case", case_id=case.id, _anchor="messages"))
    return render_template("agency/disputes/reply.html", case=case, reply_form=form,
                           thread=messages.thread(case)), 422
