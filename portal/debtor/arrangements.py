"""The debtor's payment plan: choose instalments and a start date, see the schedule, confirm."""

from __future__ import annotations

from datetime import date, timedelta

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from werkzeug.routing import BuildError
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from portal import htmx
from portal.debtor import bp, load_case
from portal.domain import instalments as rules
from portal.domain import payment_amounts
from portal.extensions import db
from portal.models import Case
from portal.services import arrangements, ledger
from portal.services.notices import agency_today

MOST_INSTALMENTS = 24  # the debtor may ask for more than the policy allows: it then needs approval


def parse_euros(text: str | None) -> int | None:
    """A typed euro amount in cents ("25", "25,50"), None when empty; ValueError otherwise."""
    if not (text or "").strip():
        return None
    return payment_amounts.parse_euros(text)


class PlanForm(FlaskForm):
    count = SelectField(_l("Number of instalments"), coerce=int, validators=[Optional()])
    monthly = StringField(_l("Or: the amount you can pay each month (in euros)"),
                          validators=[Optional()])
    start_on = DateField(_l("First payment date"),
                         validators=[InputRequired(message=_l("Choose a date."))])
    down_payment = StringField(_l("First payment now (in euros)"), validators=[Optional()])

    def validate_monthly(self, field) -> None:
        _euros(field, _("Fill in an amount like 25 or 25,50."))

    def validate_down_payment(self, field) -> None:
        _euros(field, _("Fill in an amount like 50 or 50,00."))


def _euros(field, message: str) -> None:
    try:
        parse_euros(field.data)
    except ValueError:
        raise ValidationError(message) from None


def default_start(today: date) -> date:
    """The 1st of next month (when most people are paid), else two weeks from today."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first if first <= today + timedelta(days=rules.MAX_START_DAYS) else today + timedelta(14)


def _form(case: Case, total: int, today: date) -> PlanForm:
    policy = arrangements.policy_of(case.client)
    form = PlanForm()
    form.count.choices = [SelectChoice(n, str(n)) for n in range(2, max(MOST_INSTALMENTS,
                                                             policy.max_instalments) + 1)]
    if not form.is_submitted():
        form.count.data = min(policy.max_instalments, 3) if policy.max_instalments >= 2 else 2
        form.start_on.data = default_start(today)
        required = policy.required_down_payment(total)
        form.down_payment.data = f"{required / 100:.2f}".replace(".", ",") if required else ""
    return form


def _proposal(case: Case, form: PlanForm, total: int, today: date):
    """The plan the form describes (None when a field cannot be read yet)."""
    if form.start_on.data is None or form.count.errors or form.monthly.errors \
            or form.down_payment.errors:
        return None
    down = parse_euros(form.down_payment.data) or 0
    monthly = parse_euros(form.monthly.data)
    count = form.count.data or 2
    if monthly:
        count = rules.count_for_monthly_amount(max(total - down, 1), monthly)
    return arrangements.preview(case, count, form.start_on.data, today=today,
                                down_payment_cents=down)


def _context(case: Case) -> dict:
    today = agency_today()
    total = ledger.balance(case).total
    form = _form(case, total, today)
    if form.is_submitted():
        form.validate()
    return {"case": case, "form": form, "total": total, "today": today,
            "policy": arrangements.policy_of(case.client),
            "plan": _proposal(case, form, total, today),
            "problem_text": arrangements.problem_text}


@bp.route("/cases/<int:case_id>/arrangement", methods=["GET", "POST"])
def arrangement(case_id: int):
    case = load_case(case_id)
    if arrangements.active_arrangement(case) or arrangements.pending_arrangement(case):
        flash(_("There is already a payment plan for this case."), "info")
        return redirect(url_for("debtor.case", case_id=case.id))
    context = _context(case)
    form, plan = context["form"], context["plan"]
    if not form.is_submitted():
        return render_template("debtor/arrangements/new.html", **context)
    if request.form.get("action") == "preview" or form.errors or plan is None or plan.invalid:
        # Without JavaScript "Show the schedule" posts here; errors come back with 422.
        status = 422 if form.errors or plan is None or plan.invalid else 200
        return render_template("debtor/arrangements/new.html", **context), status
    try:
        made = arrangements.propose(case, plan.count, plan.start_on, today=context["today"],
                                    down_payment_cents=plan.down_payment_cents)
    except arrangements.ArrangementRefused as refused:
        db.session.rollback()
        for message in refused.messages:
            flash(message, "error")
        return render_template("debtor/arrangements/new.html", **context), 422
    db.session.commit()
    if made.status == made.status.ACTIVE:
        flash(_("Your payment plan is agreed. We have emailed you the schedule."), "success")
    else:
        flash(_("Thank you. Your plan needs approval: we will email you our decision."),
              "success")
    return redirect(url_for("debtor.case", case_id=case.id))


@bp.post("/cases/<int:case_id>/arrangement/preview")
def arrangement_preview(case_id: int):
    """The schedule and what happens with it, for the form's htmx preview."""
    case = load_case(case_id)
    if not htmx.is_htmx():  # without JavaScript the form's own button shows the schedule
        return redirect(url_for("debtor.arrangement", case_id=case.id))
    block = render_block("debtor/arrangements/new.html", "preview", **_context(case))
    return htmx.add_vary(make_response(block))


@bp.app_template_global()
def instalment_pay_url(case: Case) -> str | None:
    """Where "Pay this instalment" posts (debtor.start_payment), None while it does not exist."""
    try:
        return url_for("debtor.start_payment", case_id=case.id)
    except BuildError:
        return None
