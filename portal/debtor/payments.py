"""Paying online: start a payment on a case, and the return page that waits for the outcome."""

from __future__ import annotations

import logging

from flask import abort, current_app, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import Length, Optional

from portal import htmx
from portal.debtor import bp, load_case
from portal.domain.payment_amounts import parse_euros
from portal.extensions import db, limiter
from portal.models import (
    Arrangement,
    ArrangementStatus,
    Case,
    Instalment,
    InstalmentStatus,
    Payment,
)
from portal.payments import ProviderError, get_provider
from portal.services import ledger
from portal.services import payments as payments_service
from portal.services.notices import agency_today
from portal.templating import money

log = logging.getLogger(__name__)


class PayForm(FlaskForm):
    amount = StringField(_l("Amount to pay (in euros)"), validators=[Optional(), Length(max=20)])
    whole = HiddenField()  # "1": pay everything that is owed at this moment
    instalment_id = IntegerField(validators=[Optional()])  # pay (towards) this instalment


def _start_limit() -> str:
    return current_app.config["PAYMENT_START_RATE_LIMIT"]


def _refusal_message(exc: payments_service.PaymentRefused) -> str:
    messages = {
        "nothing_owed": _("There is nothing left to pay on this case."),
        "not_positive": _("Fill in an amount more than zero."),
        "above_balance": _("That is more than you owe. The most you can pay is %(owed)s.",
                           owed=money(exc.owed_cents)),
        "below_minimum": _("The smallest amount you can pay online is %(minimum)s, unless you "
                           "pay everything that is left (%(owed)s).",
                           minimum=money(exc.minimum_cents), owed=money(exc.owed_cents)),
    }
    return messages.get(exc.reason, _("This amount cannot be paid online."))


def _instalment(case: Case, instalment_id: int) -> Instalment:
    """An instalment of this case's active plan, or 404 (another case's answers the same)."""
    instalment = db.session.scalar(
        select(Instalment).join(Arrangement).where(
            Instalment.id == instalment_id, Arrangement.case_id == case.id,
            Arrangement.status == ArrangementStatus.ACTIVE)
    )
    if instalment is None:
        abort(404)
    return instalment


def _amount(form: PayForm, owed: int, instalment: Instalment | None) -> int:
    """The amount asked for, in cents; ValueError with the message to show."""
    if form.whole.data == "1":
        return owed
    if instalment is not None and not (form.amount.data or "").strip():
        return min(instalment.left_cents, owed)
    if not (form.amount.data or "").strip():
        raise ValueError(_("Fill in the amount you want to pay."))
    try:
        return parse_euros(form.amount.data)
    except ValueError:
        raise ValueError(_("Fill in an amount like 25 or 25,50.")) from None


def _form_page(case: Case, form: PayForm, error: str, status: int = 422):
    return render_template(
        "debtor/payments/new.html", case=case, balance=ledger.balance(case), pay_form=form,
        pay_error=error, payments=payments_service.for_case(case),
    ), status


@bp.post("/cases/<int:case_id>/payments")
@limiter.limit(_start_limit)
def start_payment(case_id: int):
    case = load_case(case_id)
    form = PayForm()
    if not form.validate_on_submit():
        return _form_page(case, form, _("Something went wrong with the form. Please try again."))
    instalment = _instalment(case, form.instalment_id.data) if form.instalment_id.data else None
    if instalment is not None and instalment.status == InstalmentStatus.PAID:
        return _form_page(case, form, _("This instalment is already paid."))
    try:
        amount = _amount(form, ledger.balance(case).total, instalment)
        payment = payments_service.start_payment(case, amount, instalment=instalment,
                                                 today=agency_today())
    except payments_service.PaymentRefused as exc:
        return _form_page(case, form, _refusal_message(exc))
    except ValueError as exc:
        return _form_page(case, form, str(exc))
    except ProviderError:
        log.exception("could not start a payment for case %s", case.id)
        db.session.rollback()
        return _form_page(case, form, _("We could not reach the payment service. Nothing was "
                                        "paid. Please try again in a few minutes."), 503)
    db.session.commit()
    if get_provider(payment.provider).is_external(payment.checkout_url):
        # The page's CSP (form-action 'self') would block a redirect to another site after a
        # form post, so the payer follows a plain link to the provider instead.
        return render_template("debtor/payments/continue.html", payment=payment, case=case)
    return redirect(payment.checkout_url, 303)


def _own_payment(payment_id: int) -> Payment:
    """The signed-in debtor's payment, or 404 (someone else's answers like a missing one)."""
    payment = db.session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.debtor_id == g.debtor.id))
    if payment is None:
        abort(404)
    return payment


def _refreshed(payment_id: int) -> Payment:
    """The payment, asked again at the provider while it is not final (webhooks come late)."""
    payment = _own_payment(payment_id)
    if not payment.is_final and payment.provider_ref:
        try:
            payments_service.sync_payment(payment.provider, payment.provider_ref,
                                          today=agency_today())
            db.session.commit()
        except ProviderError:
            log.warning("payment %s: the provider did not answer", payment.id, exc_info=True)
            db.session.rollback()
    return payment


@bp.get("/payments/<int:payment_id>")
def payment(payment_id: int):
    payment = _refreshed(payment_id)
    return render_template("debtor/payments/show.html", payment=payment, case=payment.case,
                           balance=ledger.balance(payment.case))


@bp.get("/payments/<int:payment_id>/status")
def payment_status(payment_id: int):
    """The status block alone, for the return page's polling (htmx only)."""
    if not htmx.is_htmx():
        return redirect(url_for("debtor.payment", payment_id=payment_id))
    payment = _refreshed(payment_id)
    return render_template("debtor/payments/_status.html", payment=payment, case=payment.case,
                           balance=ledger.balance(payment.case))
