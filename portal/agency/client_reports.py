"""A client's status reports for the agency (admins): how often, to whom, and the reports made."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from portal.agency import bp as agency_bp
from portal.auth.loader import guard_roles
from portal.extensions import db
from portal.models import Client, Role
from portal.models.client_portal import ReportFrequency
from portal.services import reports

bp = Blueprint("client_reports", __name__)
guard_roles(bp, [Role.ADMIN])

FREQUENCIES = [
    SelectChoice(ReportFrequency.MONTHLY.value, _l("Monthly (on the 1st, for the last month)")),
    SelectChoice(ReportFrequency.WEEKLY.value, _l("Weekly (on Monday, for the last week)")),
    SelectChoice(ReportFrequency.NONE.value, _l("None (only on request)")),
]
SEPARATORS = re.compile(r"[\s,;]+")


class ScheduleForm(FlaskForm):
    report_frequency = SelectField(_l("Status reports"), choices=FREQUENCIES)
    report_recipients = TextAreaField(
        _l("Send them to (one address a line; empty: the client's own address)"))

    def validate_report_recipients(self, field) -> None:
        self.addresses: list[str] = []
        bad = []
        for part in SEPARATORS.split(field.data or ""):
            if not part:
                continue
            try:
                self.addresses.append(validate_email(part, check_deliverability=False).normalized)
            except EmailNotValidError:
                bad.append(part)
        if bad:
            raise ValidationError(_("Not an email address: %(list)s", list=", ".join(bad)))


@bp.route("/<int:client_id>/reports", methods=["GET", "POST"])
def edit(client_id: int):
    client = db.get_or_404(Client, client_id)
    form = ScheduleForm(obj=client)
    if form.validate_on_submit():
        reports.set_schedule(client, current_user, frequency=form.report_frequency.data,
                             recipients=list(dict.fromkeys(form.addresses)))
        db.session.commit()
        flash(_("The status reports of %(name)s are saved.", name=client.name), "success")
        return redirect(url_for(".edit", client_id=client.id))
    status = 422 if form.is_submitted() else 200
    return render_template("agency/client_reports/edit.html", client=client, form=form,
                           reports=reports.client_reports(client.id)), status


agency_bp.register_blueprint(bp, url_prefix="/clients")
