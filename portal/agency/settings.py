"""Agency settings that only admins change; a nested blueprint guarded once."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from portal.auth.loader import guard_roles
from portal.domain.rates import RateKind
from portal.extensions import db
from portal.models import Role
from portal.services import rates

bp = Blueprint("settings", __name__)
guard_roles(bp, [Role.ADMIN])


class RateForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice(RateKind.CONSUMER.value, _l("Consumer (art. 6:119 BW)")),
            SelectChoice(RateKind.COMMERCIAL.value, _l("Commercial (art. 6:119a BW)")),
        ],
    )
    valid_from = DateField(_l("In force from"), validators=[DataRequired()])
    rate_percent = DecimalField(
        _l("Rate (% per year)"), places=3, validators=[InputRequired(), NumberRange(0, 30)]
    )
    source = StringField(_l("Source"), validators=[DataRequired(), Length(max=300)])
    verified = BooleanField(_l("Checked against the official publication"))


@bp.get("/")
def index():
    """Every setting an admin keeps, on one page (the menu has one entry for them)."""
    return render_template("agency/settings/index.html")


@bp.route("/interest-rates", methods=["GET", "POST"])
def interest_rates():
    form = RateForm()
    status = 200
    if form.validate_on_submit():
        try:
            rates.add_rate(
                RateKind(form.kind.data),
                form.valid_from.data,
                form.rate_percent.data,
                form.source.data,
                verified=form.verified.data,
                user=current_user,
            )
        except ValueError:
            message = _("A rate of this kind from this date was already added.")
            form.valid_from.errors.append(message)
        else:
            db.session.commit()
            flash(_("The rate is saved; interest from that date on uses it."), "success")
            return redirect(url_for(".interest_rates"))
    if form.errors:
        status = 422
    table = rates.rate_table()
    return render_template(
        "agency/settings/interest_rates.html",
        form=form,
        kinds=list(RateKind),
        table=table,
        added={(r.kind, r.valid_from) for r in rates.added_rates()},
    ), status
