"""Payment emails on the `mail` queue."""

from __future__ import annotations

from flask_babel import gettext as _
from rq import Retry

from portal.extensions import db
from portal.jobs import job_logger
from portal.mail import send_templated
from portal.services import debtor_access, ledger
from portal.services import payments as payments_service
from portal.templating import money

RETRY = Retry(max=3, interval=[30, 120, 600])


def send_payment_confirmation(payment_id: int) -> str:
    """Thank the debtor for a booked payment, once.

    The payment is claimed (confirmed_at set) and committed before sending, so a second run
    finds it claimed; a failed send releases the claim and raises for RQ to retry.
    """
    log = job_logger(__name__)
    payment = payments_service.claim_confirmation(payment_id)
    db.session.commit()
    if payment is None:
        return "already confirmed or not booked"
    case, debtor = payment.case, payment.case.debtor
    if not debtor.email:
        return "no email address"
    try:
        send_templated(
            debtor.email,
            lambda: _("We received your payment of %(amount)s", amount=money(payment.amount_cents)),
            "debtor/email/payment_received", language=debtor.language,
            debtor=debtor, case=case, payment=payment, balance=ledger.balance(case),
            link=debtor_access.sign_in_link(case),
        )
    except Exception:
        db.session.rollback()
        payments_service.release_confirmation(payment_id)
        db.session.commit()
        raise
    log.info("payment %s: confirmation sent", payment_id)
    return "sent"
