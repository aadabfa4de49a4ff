"""Payments: money a debtor paid, online through a provider or (later) by bank transfer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case


class PaymentStatus(StrEnum):
    OPEN = "open"  # created, the payer has not finished at the provider
    PENDING = "pending"  # the provider is still waiting for the bank
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


FINAL_PAYMENT_STATUSES = frozenset(
    {PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED}
)


class Payment(Base):
    """One payment attempt. The provider's id is unique: a webhook told ten times books once.

    Booked to the ledger (costs, interest, principal: art. 6:44 BW) once, when it is paid;
    `booked_at` says it was. No card or bank data is stored: the provider keeps that.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_provider_ref"),
        Index("ix_payments_case_id_created_at", "case_id", "created_at"),
        Index("ix_payments_status_paid_at", "status", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("instalments.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # "sandbox", "mollie", "bank"
    provider_ref: Mapped[str | None] = mapped_column(String(100))  # null until the provider has it
    method: Mapped[str | None] = mapped_column(String(30))  # "ideal", "creditcard", ...
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    status: Mapped[PaymentStatus] = mapped_column(
        enum_type(PaymentStatus), default=PaymentStatus.OPEN
    )
    checkout_url: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    booked_at: Mapped[datetime | None]  # the ledger entries exist (cause_ref "payment:<id>")
    confirmed_at: Mapped[datetime | None]  # the confirmation email was queued

    case: Mapped[Case] = relationship()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_PAYMENT_STATUSES

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.provider}:{self.provider_ref} {self.status}>"
