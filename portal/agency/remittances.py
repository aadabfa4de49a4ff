"""Money out (admins): remittance runs that pay each client its share of what debtors paid,
with the SEPA file for the bank and each client's statement; and the trust account check."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectMultipleField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.agency import bp as agency_bp
from portal.auth.loader import guard_roles
from portal.documents.responses import document_response
from portal.extensions import db
from portal.models import Client, Document, Remittance, RemittanceRun, Role
from portal.services import remittances, trust
from portal.services.notices import agency_today
from portal.services.remittances import Problem, RunRefused

bp = Blueprint("remittances", __name__)
guard_roles(bp, [Role.ADMIN])


class RunForm(FlaskForm):
    period_start = DateField(_l("Payments booked from"), validators=[DataRequired()])
    period_end = DateField(_l("up to and including"), validators=[DataRequired()])
    execution_date = DateField(_l("Pay out on"), validators=[DataRequired()])
    clients = SelectMultipleField(_l("Clients"), coerce=int, option_widget=CheckboxInput(),
                                  widget=ListWidget(prefix_label=False))

    def validate_period_end(self, field) -> None:
        if self.period_start.data and field.data and field.data < self.period_start.data:
            raise ValidationError(_("The period ends before it starts."))
        if field.data and field.data > agency_today():
            raise ValidationError(_("The period cannot end after today."))

    def validate_execution_date(self, field) -> None:
        if field.data and field.data < agency_today():
            raise ValidationError(_("The bank cannot pay on a day that has passed."))


def problem_text(problem: Problem) -> str:
    """A reason a run cannot be made or approved, in the admin's words."""
    texts = {
        "no_payments": _("There is nothing to remit: no client has payments that are not in a "
                         "run yet, up to that day."),
        "period": _("The period ends before it starts."),
        "not_draft": _("This run is approved already: it cannot be changed any more."),
        "execution_date": _("The pay-out day has passed: throw this draft away and make a new "
                            "run."),
        "agency_iban": _("The agency's own IBAN (AGENCY_IBAN, the account debtors pay to) is "
                         "not set or not valid, so the bank file cannot be made."),
        "sepa": _("The bank file could not be made: %(why)s", why=problem.subject),
        "client_iban": _("%(client)s has no valid IBAN: fill it in on the client's page.",
                         client=problem.subject),
    }
    return texts[problem.code]


def _next_period(today: date) -> tuple[date, date]:
    """Where the next run starts: the day after the last run's period (or last month's first
    day), up to the end of last month, or up to today when last month is done already."""
    month_end = today.replace(day=1) - timedelta(days=1)
    last_end = db.session.scalar(select(func.max(RemittanceRun.period_end)))
    start = last_end + timedelta(days=1) if last_end else month_end.replace(day=1)
    return start, month_end if month_end >= start else today


def _next_working_day(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@bp.route("/", methods=["GET", "POST"])
def index():
    today = agency_today()
    form = RunForm()
    end = form.period_end.data if form.is_submitted() and form.period_end.data else today
    pending = remittances.pending_by_client(end)
    clients = db.session.scalars(
        select(Client).where(Client.id.in_(pending)).order_by(Client.name)).all()
    form.clients.choices = [(c.id, c.name) for c in clients]
    if not form.is_submitted():
        form.period_start.data, form.period_end.data = _next_period(today)
        form.execution_date.data = _next_working_day(today)
        form.clients.data = [c.id for c in clients]
    status = 200
    if form.validate_on_submit():
        try:
            run = remittances.plan_run(form.period_start.data, form.period_end.data,
                                       form.execution_date.data, current_user,
                                       client_ids=form.clients.data or None)
        except RunRefused as refused:
            db.session.rollback()
            form.clients.errors = [problem_text(p) for p in refused.problems]
            status = 422
        else:
            db.session.commit()
            flash(_("Draft run made: check the figures, then approve it."), "success")
            return redirect(url_for(".show", remittance_run_id=run.id))
    elif form.is_submitted():
        status = 422
    page = remittances.runs(page=request.args.get("page", 1, type=int))
    return render_template("agency/remittances/index.html", form=form, page=page,
                           pending=pending, clients=clients), status


@bp.get("/<int:remittance_run_id>")
def show(remittance_run_id: int):
    run = db.get_or_404(RemittanceRun, remittance_run_id)
    problems = remittances.approval_problems(run, agency_today()) if run.is_draft else []
    return render_template("agency/remittances/show.html", run=run,
                           problems=[problem_text(p) for p in problems])


@bp.post("/<int:remittance_run_id>/approve")
def approve(remittance_run_id: int):
    run = db.get_or_404(RemittanceRun, remittance_run_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for(".show", remittance_run_id=run.id))
    try:
        remittances.approve_run(run, current_user, today=agency_today())
    except RunRefused as refused:
        db.session.rollback()
        for problem in refused.problems:
            flash(problem_text(problem), "error")
        return redirect(url_for(".show", remittance_run_id=remittance_run_id))
    db.session.commit()
    flash(_("Approved. Download the bank file and upload it to the bank; the statements are "
            "being emailed to the clients."), "success")
    return redirect(url_for(".show", remittance_run_id=run.id))


@bp.post("/<int:remittance_run_id>/discard")
def discard(remittance_run_id: int):
    run = db.get_or_404(RemittanceRun, remittance_run_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for(".show", remittance_run_id=run.id))
    try:
        remittances.discard_run(run, current_user)
    except RunRefused as refused:
        db.session.rollback()
        flash(problem_text(refused.problems[0]), "error")
        return redirect(url_for(".show", remittance_run_id=remittance_run_id))
    db.session.commit()
    flash(_("The draft is thrown away; its payments wait for the next run."), "success")
    return redirect(url_for(".index"))


@bp.get("/<int:remittance_run_id>/pain001.xml")
def sepa_file(remittance_run_id: int):
    run = db.get_or_404(RemittanceRun, remittance_run_id)
    return document_response(db.get_or_404(Document, run.sepa_document_id or 0))


@bp.get("/statements/<int:remittance_id>.pdf")
def statement(remittance_id: int):
    from portal.services import remittance_statements

    remittance = db.get_or_404(Remittance, remittance_id)
    if remittance.run.is_draft:  # a statement is made once, with the final figures and IBAN
        abort(404)
    document = remittance_statements.make_statement(remittance)
    db.session.commit()
    return document_response(document, attachment=False)



@bp.get("/trust")
def trust_account():
    return render_template("agency/remittances/trust.html", check=trust.trust_check(),
                           clients=trust.by_client())


agency_bp.register_blueprint(bp, url_prefix="/remittances")
