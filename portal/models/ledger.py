"""The append-only ledger: a case's balance is the sum of its entries.

Positive amounts are what the debtor owes (a claim, interest, costs); negative
amounts reduce it (a payment, a credit, a write-off). Rows are never updated or
deleted: the ORM refuses here, and a database trigger refuses underneath it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case, Invoice


class Bucket(StrEnum):
    PRINCIPAL = "principal"
    INTEREST = "interest"
    COSTS = "costs"  # statutory collection costs (BIK)
    FEES = "fees"  # other charges agreed in a contract


# The order of art. 6:44 BW: a payment goes to costs, then interest, then principal.
ALLOCATION_ORDER = (Bucket.COSTS, Bucket.INTEREST, Bucket.PRINCIPAL)


class EntryCause(StrEnum):
    CLAIM = "claim"  # an invoice handed over
    INTEREST = "interest"
    COLLECTION_COSTS = "collection_costs"
    FEE = "fee"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"  # the client reduced the claim
    WRITE_OFF = "write_off"
    CORRECTION = "correction"  # reverses an earlier entry (never edits it)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_case_id_bucket", "case_id", "bucket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    bucket: Mapped[Bucket] = mapped_column(enum_type(Bucket))
    amount_cents: Mapped[int]
    cause: Mapped[EntryCause] = mapped_column(enum_type(EntryCause))
    # What caused it, in words and by reference ("payment 17", "step 3", "invoice 2024-001").
    cause_ref: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300))
    booked_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    invoice: Mapped[Invoice | None] = relationship()

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.id} {self.bucket} {self.amount_cents}>"


class LedgerIsAppendOnly(Exception):
    pass


@event.listens_for(LedgerEntry, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise LedgerIsAppendOnly("ledger entries are never changed; book a correction instead")


@event.listens_for(LedgerEntry, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise LedgerIsAppendOnly("ledger entries are never deleted; book a correction instead")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    # `session.execute(update(LedgerEntry))` and `delete(...)` skip the per-object events above.
    if (state.is_update or state.is_delete) and LedgerEntry.__mapper__ in state.all_mappers:
        raise LedgerIsAppendOnly("ledger entries are never changed or deleted, not even in bulk")
