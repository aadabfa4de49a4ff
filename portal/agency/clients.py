"""The agency's clients (admins): the list with each client's figures, and one form to set up
or change a client's details and commission terms. A child blueprint of `agency`, guarded once;
the policy and report pages of a client share its `/clients` prefix."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal import htmx
from portal.agency import bp as agency_bp
from portal.auth.loader import guard_roles
from portal.banking.iban import IbanError, clean_iban
from portal.domain.remittance import MAX_COMMISSION_BP
from portal.extensions import db
from portal.models import Beneficiary, Client, Role
from portal.services import clients

bp = Blueprint("clients", __name__)
guard_roles(bp, [Role.ADMIN])

PER_PAGE = 25
BENEFICIARIES = [
    SelectChoice(Beneficiary.CLIENT.value, _l("the client")),
    SelectChoice(Beneficiary.AGENCY.value, _l("the agency")),
]
INTEREST_WORDS = {Beneficiary.CLIENT: _l("interest to the client"),
                  Beneficiary.AGENCY: _l("interest to the agency")}
COSTS_WORDS = {Beneficiary.CLIENT: _l("costs and fees to the client"),
               Beneficiary.AGENCY: _l("costs and fees to the agency")}
# A percentage with at most two decimals, a comma or a point as the decimal mark.
_PERCENT = re.compile(r"(\d{1,3})(?:[.,](\d{1,2}))?")


def commission_bp_from_text(text: str | None) -> int:
    """A commission percentage as typed ("15", "12.5", "12,50 %") in hundredths of a percent
    (1500, 1250); ValueError for anything else, for more than two decimals or above 100 %."""
    clean = (text or "").strip().removesuffix("%").strip()
    match = _PERCENT.fullmatch(clean)
    if not match:
        raise ValueError(f"{text!r} is not a percentage")
    bp = int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))
    if bp > MAX_COMMISSION_BP:
        raise ValueError(f"{text!r} is above 100 %")
    return bp


def _percent_text(bp: int) -> str:
    """Hundredths of a percent as the reader writes the number: 15, 12,5 or 12.5."""
    return format_decimal(Decimal(bp) / 100, format="0.##")


def _iban_messages() -> dict[str, str]:
    return {
        "checksum": _("The check digits of this IBAN do not match: a typing error?"),
        "length": _("This IBAN has too many or too few characters for its country."),
        "country": _("This IBAN does not start with a known country code."),
        "bank": _("This IBAN names a bank code that does not exist."),
        "structure": _("This is not an IBAN."),
        "not_sepa": _("This account is outside the SEPA area: a SEPA transfer cannot reach it."),
    }


@bp.app_template_global()
def commission_terms(client: Client) -> str:
    """A client's commission terms in words, for the staff pages."""
    words = {"commission": _percent_text(client.commission_bp),
             "interest": INTEREST_WORDS[client.interest_to],
             "costs": COSTS_WORDS[client.costs_to]}
    if client.commission_vat_percent:
        return _("%(commission)s %% of principal + VAT %(vat)s %%; %(interest)s; %(costs)s",
                 vat=client.commission_vat_percent, **words)
    return _("%(commission)s %% of principal, no VAT; %(interest)s; %(costs)s", **words)


def _stripped(value: str | None) -> str | None:
    return (value or "").strip() or None


class ClientForm(FlaskForm):
    iban_compact: str | None = None  # set by validate_iban
    commission_bp: int = 0  # set by validate_commission_percent

    # Details
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)],
                       filters=[_stripped])
    email = StringField(_l("Email address"), validators=[Optional(), Email(), Length(max=254)],
                        filters=[_stripped])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)],
                        filters=[_stripped])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=400)],
                            filters=[_stripped])
    iban = StringField(_l("IBAN for remittances (may stay empty for now)"), filters=[_stripped])
    charges_vat_on_costs = BooleanField(
        _l("The client cannot deduct VAT: add VAT to the collection costs"))
    active = BooleanField(_l("Active: new cases may be handed over"))
    # Commission terms
    commission_percent = StringField(_l("Commission in percent of the principal collected"),
                                     validators=[InputRequired()])
    commission_vat_percent = IntegerField(_l("VAT on the commission in percent"),
                                          validators=[InputRequired(), NumberRange(0, 100)])
    interest_to = SelectField(_l("Interest collected goes to"), choices=BENEFICIARIES)
    costs_to = SelectField(_l("Collection costs and other fees go to"), choices=BENEFICIARIES)

    def validate_iban(self, field) -> None:
        self.iban_compact = None
        if field.data:
            try:
                self.iban_compact = clean_iban(field.data)
            except IbanError as error:
                raise ValidationError(_iban_messages()[error.reason]) from error

    def validate_commission_percent(self, field) -> None:
        try:
            self.commission_bp = commission_bp_from_text(field.data)
        except ValueError as error:
            raise ValidationError(
                _("Fill in a percentage from 0 to 100, with at most two decimals, like 15 "
                  "or 12.5.")) from error

    def fill(self, client: Client) -> None:
        """Show a stored client's terms as the form writes them (a GET of the edit page)."""
        self.commission_percent.data = _percent_text(client.commission_bp)
        self.interest_to.data = str(client.interest_to)
        self.costs_to.data = str(client.costs_to)

    def values(self) -> dict:
        """The form's values as the clients service takes them."""
        return {
            **{name: getattr(self, name).data for name in (
                "name", "email", "phone", "address", "charges_vat_on_costs", "active",
                "commission_vat_percent")},
            "iban": self.iban_compact,
            "commission_bp": self.commission_bp,
            "interest_to": Beneficiary(self.interest_to.data),
            "costs_to": Beneficiary(self.costs_to.data),
        }


def _new_form() -> ClientForm:
    """A blank form holding the model's defaults for a new client (active, usual terms)."""
    default = {column.name: column.default.arg for column in Client.__table__.c
               if column.default is not None and not callable(column.default.arg)}
    return ClientForm(data={
        "active": default["active"],
        "commission_percent": _percent_text(default["commission_bp"]),
        "commission_vat_percent": default["commission_vat_percent"],
        "interest_to": str(default["interest_to"]),
        "costs_to": str(default["costs_to"]),
    })


@bp.get("/")
def index():
    q = request.args.get("q", "")
    shown = request.args.get("shown", "")
    active = {"active": True, "inactive": False}.get(shown)
    page = db.paginate(clients.client_list(q, active), per_page=PER_PAGE, error_out=False)
    context = {"page": page, "q": q, "shown": shown if active is not None else "",
               "figures": clients.summaries(c.id for c in page.items)}
    if htmx.wants_fragment():
        return htmx.add_vary(make_response(
            render_block("agency/clients/index.html", "results", **context)))
    return htmx.add_vary(make_response(render_template("agency/clients/index.html", **context)))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _new_form()
    if form.validate_on_submit():
        client = clients.create_client(current_user, **form.values())
        db.session.commit()
        flash(_("%(name)s is set up.", name=client.name), "success")
        return redirect(url_for(".edit", client_id=client.id))
    status = 422 if form.is_submitted() else 200
    return render_template("agency/clients/edit.html", form=form, client=None), status


@bp.route("/<int:client_id>", methods=["GET", "POST"])
def edit(client_id: int):
    client = db.get_or_404(Client, client_id)
    form = ClientForm(obj=client)
    if not form.is_submitted():
        form.fill(client)
    if form.validate_on_submit():
        clients.update_client(client, current_user, **form.values())
        db.session.commit()
        flash(_("%(name)s is saved.", name=client.name), "success")
        return redirect(url_for(".edit", client_id=client.id))
    status = 422 if form.is_submitted() else 200
    return render_template("agency/clients/edit.html", form=form, client=client), status


agency_bp.register_blueprint(bp, url_prefix="/clients")
