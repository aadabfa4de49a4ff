"""Arrangements for the agency: the approval list (admins, supervisors) and each client's
arrangement policy (admins). Two child blueprints of `agency`, each guarded once."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError

from portal import htmx
from portal.agency import bp as agency_bp
from portal.auth.loader import guard_roles
from portal.debtor.arrangements import parse_euros
from portal.extensions import db
from portal.models import ApprovalBy, Arrangement, ArrangementStatus, Client, Role
from portal.services import arrangements
from portal.services.notices import agency_today

bp = Blueprint("arrangements", __name__)
guard_roles(bp, [Role.ADMIN, Role.SUPERVISOR])
policy_bp = Blueprint("policy", __name__)
guard_roles(policy_bp, [Role.ADMIN])

PER_PAGE = 25
APPROVERS = [
    SelectChoice(ApprovalBy.AGENCY.value, _l("the agency")),
    SelectChoice(ApprovalBy.AGENCY_AND_CLIENT.value, _l("the agency and the client")),
]


@bp.app_template_global()
def plan_waits_on(arrangement: Arrangement) -> set[str]:
    """The approvals a plan still needs ("agency", "client"), for the staff pages."""
    return arrangements.waits_on(arrangement)


@bp.get("/")
def index():
    status = request.args.get("status", "")
    if status and status not in {str(s) for s in ArrangementStatus}:
        status = ""
    page = db.paginate(arrangements.listing(status or None), per_page=PER_PAGE,
                       error_out=False)
    context = {"page": page, "status": status, "statuses": list(ArrangementStatus)}
    if htmx.wants_fragment():
        return htmx.add_vary(make_response(
            render_block("agency/arrangements/index.html", "results", **context)))
    return htmx.add_vary(make_response(
        render_template("agency/arrangements/index.html", **context)))


@bp.post("/<int:arrangement_id>/approve")
def approve(arrangement_id: int):
    arrangement = db.get_or_404(Arrangement, arrangement_id)
    return _decide(arrangement, lambda: arrangements.approve(
        arrangement, current_user, today=agency_today()), _("The plan is approved."))


@bp.post("/<int:arrangement_id>/reject")
def reject(arrangement_id: int):
    arrangement = db.get_or_404(Arrangement, arrangement_id)
    note = request.form.get("note", "")[:1000]
    return _decide(arrangement, lambda: arrangements.reject(
        arrangement, current_user, note, today=agency_today()), _("The plan is rejected."))


def _decide(arrangement: Arrangement, action, done: str):
    """Approve or reject; htmx gets the row back, a plain form the page it came from."""
    try:
        action()
    except arrangements.ArrangementRefused as refused:
        db.session.rollback()
        flash(" ".join(str(m) for m in refused.messages), "error")
    else:
        db.session.commit()
        flash(done, "success")
    if htmx.wants_fragment() and request.form.get("from") != "case":
        return render_template("agency/arrangements/_row.html", a=arrangement)
    if request.form.get("from") == "case":
        return redirect(url_for("agency.case", case_id=arrangement.case_id))
    return redirect(url_for(".index"))


# -- The client's policy ----------------------------------------------------------------------


def _euros_field(label):
    return StringField(label, validators=[InputRequired()], filters=[lambda v: (v or "").strip()])


class PolicyForm(FlaskForm):
    min_payment = _euros_field(_l("Smallest online payment (euros)"))
    max_instalments = IntegerField(_l("Most instalments"),
                                   validators=[InputRequired(), NumberRange(1, 60)])
    min_instalment = _euros_field(_l("Smallest instalment (euros)"))
    max_arrangement_months = IntegerField(_l("Longest plan (months)"),
                                          validators=[InputRequired(), NumberRange(1, 60)])
    down_payment_percent = IntegerField(_l("Down payment in percent of the total (0 for none)"),
                                        validators=[InputRequired(), NumberRange(0, 90)])
    auto_accept_arrangements = BooleanField(_l("Accept plans inside this policy at once"))
    arrangement_approval = SelectField(_l("Plans outside the policy are approved by"),
                                       choices=APPROVERS)
    instalment_grace_days = IntegerField(_l("Days of grace after a due date"),
                                         validators=[InputRequired(), NumberRange(0, 60)])
    max_missed_instalments = IntegerField(_l("Missed instalments before a plan ends"),
                                          validators=[InputRequired(), NumberRange(1, 12)])
    instalment_reminder_days = IntegerField(
        _l("Days before a due date to send a reminder (0 for none)"),
        validators=[InputRequired(), NumberRange(0, arrangements.MAX_REMINDER_DAYS)])

    def validate_min_payment(self, field) -> None:
        _check_euros(field)

    def validate_min_instalment(self, field) -> None:
        _check_euros(field)


def _check_euros(field) -> None:
    try:
        cents = parse_euros(field.data)
    except ValueError:
        cents = None
    if cents is None or cents < 1:
        raise ValidationError(_("Fill in an amount in euros, like 25 or 25,00."))


def _cents_text(cents: int) -> str:
    return f"{cents / 100:.2f}"


@policy_bp.route("/<int:client_id>/policy", methods=["GET", "POST"])
def edit(client_id: int):
    client = db.get_or_404(Client, client_id)
    form = PolicyForm(obj=client)
    if not form.is_submitted():
        form.min_payment.data = _cents_text(client.min_payment_cents)
        form.min_instalment.data = _cents_text(client.min_instalment_cents)
        form.arrangement_approval.data = str(client.arrangement_approval)
    if form.validate_on_submit():
        arrangements.set_policy(
            client, current_user,
            min_payment_cents=parse_euros(form.min_payment.data),
            min_instalment_cents=parse_euros(form.min_instalment.data),
            arrangement_approval=ApprovalBy(form.arrangement_approval.data),
            **{name: getattr(form, name).data for name in (
                "max_instalments", "max_arrangement_months", "down_payment_percent",
                "auto_accept_arrangements", "instalment_grace_days", "max_missed_instalments",
                "instalment_reminder_days")},
        )
        db.session.commit()
        flash(_("The policy of %(name)s is saved.", name=client.name), "success")
        return redirect(url_for(".edit", client_id=client.id))
    status = 422 if form.is_submitted() else 200
    return render_template("agency/arrangements/policy.html", client=client, form=form), status


agency_bp.register_blueprint(bp, url_prefix="/arrangements")
agency_bp.register_blueprint(policy_bp, url_prefix="/clients")
