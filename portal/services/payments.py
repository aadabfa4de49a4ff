"""Online payments: start one at the provider, and learn its outcome from the provider.

A paid payment is booked to the ledger exactly once (costs, interest, principal: art. 6:44
BW), however often the webhook, the return page and the sandbox report it. Flush only.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from portal.domain.allocation import allocate
from portal.domain.payment_amounts import refusal
from portal.extensions import db
from portal.links import public_link
from portal.models import (
    Bucket,
    Case,
    CaseStatus,
    EntryCause,
    Instalment,
    Payment,
    PaymentStatus,
    utcnow,
)
from portal.payments import get_provider
from portal.queue import enqueue_after_commit
from portal.services import arrangements, audit, case_status, ledger, webhooks

SEND_CONFIRMATION = "portal.jobs.payments.send_payment_confirmation"
# How each share of a payment reads on the ledger (staff pages show these words).
DESCRIPTIONS = {
    Bucket.COSTS: "Payment received: collection costs",
    Bucket.FEES: "Payment received: other charges",
    Bucket.INTEREST: "Payment received: interest",
    Bucket.PRINCIPAL: "Payment received: invoices",
}
SURPLUS_DESCRIPTION = "Paid more than owed: a credit to refund"


class PaymentRefused(ValueError):
    """The amount cannot be paid now; `reason` is a code from domain.payment_amounts.refusal."""

    def __init__(self, reason: str, *, minimum_cents: int = 0, owed_cents: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.minimum_cents = minimum_cents
        self.owed_cents = owed_cents


def for_case(case: Case) -> list[Payment]:
    """The case's online payments, newest first."""
    return list(db.session.scalars(
        select(Payment).where(Payment.case_id == case.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    ))


def start_payment(case: Case, amount_cents: int, *, instalment: Instalment | None = None,
                  today: date) -> Payment:
    """Create a payment for `amount_cents` and its checkout at the configured provider.

    Refused (PaymentRefused) above what is owed, below the client's minimum (unless it pays
    everything, or exactly what is left of `instalment`), or when nothing is owed. The
    instalment must already be checked to belong to this case's active arrangement.
    """
    owed = ledger.balance(case).total if case.is_open else 0
    minimum = case.client.min_payment_cents
    reason = refusal(amount_cents, owed_cents=owed, minimum_cents=minimum,
                     instalment_left_cents=instalment.left_cents if instalment else None)
    if reason:
        raise PaymentRefused(reason, minimum_cents=minimum, owed_cents=owed)
    provider = get_provider()
    payment = Payment(
        case_id=case.id, debtor_id=case.debtor_id, provider=provider.name,
        instalment_id=instalment.id if instalment else None, amount_cents=amount_cents,
        status=PaymentStatus.OPEN, description=f"{case.reference} {case.client.name}"[:200],
    )
    db.session.add(payment)
    db.session.flush()  # the id goes to the provider
    checkout = provider.create(
        payment,
        redirect_url=public_link("debtor.payment", payment_id=payment.id),
        webhook_url=public_link("payments.webhook", provider=provider.name),
    )
    payment.provider_ref, payment.checkout_url = checkout.ref, checkout.checkout_url
    audit.record("payment.started", f"Online payment of {amount_cents} cents started",
                 case=case, debtor_id=case.debtor_id, payment_id=payment.id,
                 amount_cents=amount_cents, provider=provider.name)
    db.session.flush()
    return payment


def sync_payment(provider_name: str, ref: str, *, today: date) -> Payment | None:
    """Ask the provider how payment `ref` stands and follow it; None for a payment not ours.

    Never trusts the caller: the status, method and amount come from the provider. A payment
    that is final stays as it was. A paid payment is booked once (see `_claim_booking`).
    """
    payment = db.session.scalar(select(Payment).where(
        Payment.provider == provider_name, Payment.provider_ref == ref))
    if payment is None:
        return None
    found = get_provider(provider_name).fetch(ref)
    if found.amount_cents != payment.amount_cents:
        audit.record("payment.amount_mismatch", "The provider reports another amount",
                     case=payment.case, client_visible=False, payment_id=payment.id,
                     provider_amount_cents=found.amount_cents)
        db.session.flush()
        return payment
    if found.status != payment.status and not payment.is_final:
        payment.status, payment.status_changed_at = found.status, utcnow()
        payment.method = found.method or payment.method
        payment.paid_at = found.paid_at or payment.paid_at
        audit.record(f"payment.{found.status}", f"Online payment {found.status}",
                     case=payment.case, payment_id=payment.id, amount_cents=payment.amount_cents)
    paid_unbooked = payment.status == PaymentStatus.PAID and payment.booked_at is None
    if paid_unbooked and _claim_booking(payment):
        _book(payment, today)
    db.session.flush()
    return payment


def book_received(payment: Payment, today: date) -> bool:
    """Book a payment that arrived outside a provider's checkout (a bank transfer), once.

    The payment must be PAID and flushed; False when it was booked already.
    """
    db.session.flush()
    if payment.status != PaymentStatus.PAID or not _claim_booking(payment):
        return False
    _book(payment, today)
    db.session.flush()
    return True


def _claim_booking(payment: Payment) -> bool:
    """Set booked_at only if nobody has: of two webhooks at once, the database lets one win
    (the second UPDATE waits for the first's commit and then matches no row)."""
    result = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.booked_at.is_(None))
        .values(booked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def _book(payment: Payment, today: date) -> None:
    """Book the payment over costs (and other charges), interest, principal; then the rest.

    A surplus (paid more than owed, e.g. two payments at once) is booked as one more
    negative principal entry, so the balance shows a credit to refund instead of hiding it.
    Fully paid: the case is closed as paid.
    """
    case = payment.case
    remaining = ledger.balance(case).remaining
    owed = {bucket: max(remaining.get(bucket, 0), 0) for bucket in Bucket}
    shares = allocate(payment.amount_cents, costs=owed[Bucket.COSTS] + owed[Bucket.FEES],
                      interest=owed[Bucket.INTEREST], principal=owed[Bucket.PRINCIPAL])
    costs = min(shares.costs, owed[Bucket.COSTS])
    parts = {Bucket.COSTS: costs, Bucket.FEES: shares.costs - costs,
             Bucket.INTEREST: shares.interest, Bucket.PRINCIPAL: shares.principal}
    cause_ref = f"payment:{payment.id}"
    for bucket, cents in parts.items():
        if cents:
            ledger.book(case, bucket, -cents, EntryCause.PAYMENT, DESCRIPTIONS[bucket],
                        booked_on=today, cause_ref=cause_ref)
    if shares.surplus:
        ledger.book(case, Bucket.PRINCIPAL, -shares.surplus, EntryCause.PAYMENT,
                    SURPLUS_DESCRIPTION, booked_on=today, cause_ref=cause_ref)
        audit.record("payment.surplus", "Paid more than owed: a credit to refund", case=case,
                     payment_id=payment.id, surplus_cents=shares.surplus)
    db.session.flush()
    how = "Bank transfer" if payment.provider == "bank" else "Online payment"
    audit.record("payment.booked", f"{how} booked", case=case, payment_id=payment.id,
                 amount_cents=payment.amount_cents, costs=parts[Bucket.COSTS],
                 fees=parts[Bucket.FEES], interest=shares.interest,
                 principal=shares.principal, surplus=shares.surplus)
    if ledger.balance(case).total <= 0 and case.is_open:
        case.status, case.closed_on = CaseStatus.PAID, today
        audit.record("case.paid", "Paid in full", case=case)
    webhooks.notify(case, "payment.received", {"payment_id": payment.id, "amount_cents":
                    payment.amount_cents, "booked_on": today.isoformat()}, cause_ref)
    arrangements.payment_booked(case, payment.amount_cents,
                                instalment_id=payment.instalment_id, today=today)
    if case.status != CaseStatus.PAID:
        case_status.refresh(case, today)
    enqueue_after_commit("mail", SEND_CONFIRMATION, payment.id)


def claim_confirmation(payment_id: int) -> Payment | None:
    """Mark a booked payment's confirmation as sent, if nobody has; the payment, or None
    when it is not booked or was already confirmed (so ten webhooks send one email)."""
    result = db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.booked_at.is_not(None),
               Payment.confirmed_at.is_(None))
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return db.session.get(Payment, payment_id) if result.rowcount == 1 else None


def release_confirmation(payment_id: int) -> None:
    """The email could not go out: let the next try claim it again."""
    db.session.execute(update(Payment).where(Payment.id == payment_id)
                       .values(confirmed_at=None).execution_options(synchronize_session="fetch"))
