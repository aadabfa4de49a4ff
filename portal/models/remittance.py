"""Remittances: what the agency pays its clients out of the money debtors paid.

A run covers a period and every client with money to pass on; each client's remittance lists
the ledger entries it pays out (`RemittanceItem`, one row per payment entry, unique: an entry
is remitted once). The terms used are copied onto the remittance, so a statement still adds up
after a client's terms change. A draft can be looked at and thrown away; an approved run is
final: its statements go to the clients and its SEPA file to the bank.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.client import Beneficiary, Client
from portal.models.ledger import Bucket


class RemittanceStatus(StrEnum):
    DRAFT = "draft"  # figures to check; the entries are reserved but nothing is paid
    APPROVED = "approved"  # final: statements sent, the SEPA file made


class RemittanceRun(Base):
    __tablename__ = "remittance_runs"
    __table_args__ = (Index("ix_remittance_runs_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date]
    period_end: Mapped[date]  # payments booked up to and including this day
    execution_date: Mapped[date]  # the day the bank is asked to pay
    status: Mapped[RemittanceStatus] = mapped_column(
        enum_type(RemittanceStatus), default=RemittanceStatus.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sepa_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    sepa_message_id: Mapped[str | None] = mapped_column(String(35))

    remittances: Mapped[list[Remittance]] = relationship(
        back_populates="run", order_by="Remittance.id"
    )

    @property
    def is_draft(self) -> bool:
        return self.status == RemittanceStatus.DRAFT


class Remittance(Base):
    """One client's share of a run: collected per bucket, the commission, and the payout."""

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("run_id", "client_id", name="uq_remittances_run_id_client_id"),
        Index("ix_remittances_client_id_created_at", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("remittance_runs.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    reference: Mapped[str] = mapped_column(String(35), unique=True)  # on the statement and transfer
    # The terms used (copied from the client when the run was made).
    commission_bp: Mapped[int]
    commission_vat_percent: Mapped[int]
    interest_to: Mapped[Beneficiary] = mapped_column(enum_type(Beneficiary))
    costs_to: Mapped[Beneficiary] = mapped_column(enum_type(Beneficiary))
    # Collected: the sums of the items per bucket.
    principal_cents: Mapped[int] = mapped_column(default=0)
    interest_cents: Mapped[int] = mapped_column(default=0)
    costs_cents: Mapped[int] = mapped_column(default=0)
    fees_cents: Mapped[int] = mapped_column(default=0)
    # What the terms make of it (portal.domain.remittance.settle).
    commission_cents: Mapped[int] = mapped_column(default=0)
    commission_vat_cents: Mapped[int] = mapped_column(default=0)
    payout_cents: Mapped[int] = mapped_column(default=0)
    # The account paid, copied when the run is approved.
    iban: Mapped[str | None] = mapped_column(String(34))
    account_name: Mapped[str | None] = mapped_column(String(70))
    statement_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    emailed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[RemittanceRun] = relationship(back_populates="remittances")
    client: Mapped[Client] = relationship()

    @property
    def collected_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.costs_cents + self.fees_cents

    @property
    def agency_income_cents(self) -> int:
        """Commission, its VAT, and the buckets the agency keeps: collected less payout."""
        return self.collected_cents - self.payout_cents


class RemittanceItem(Base):
    """One ledger entry of money a debtor paid, passed on in one remittance (never in two)."""

    __tablename__ = "remittance_items"
    __table_args__ = (Index("ix_remittance_items_remittance_id_case_id", "remittance_id",
                            "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittances.id"))
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    bucket: Mapped[Bucket] = mapped_column(enum_type(Bucket))
    amount_cents: Mapped[int]  # collected: positive (minus the entry's negative amount)
    booked_on: Mapped[date]
