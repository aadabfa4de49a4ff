"""A case: one debtor, one client, one or more invoices, followed until it closes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.client import Client
from portal.models.debtor import Debtor


class CaseStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"  # in the dunning workflow
    PROMISED = "promised"  # a promise to pay is running
    ARRANGEMENT = "arrangement"  # paying in instalments
    DISPUTED = "disputed"
    ON_HOLD = "on_hold"  # paused by the client
    LEGAL = "legal"  # handed over to a bailiff or lawyer
    PAID = "paid"
    CLOSED = "closed"  # closed without full payment (written off, uncollectable)
    WITHDRAWN = "withdrawn"  # taken back by the client


OPEN_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.ACTIVE,
        CaseStatus.PROMISED,
        CaseStatus.ARRANGEMENT,
        CaseStatus.DISPUTED,
        CaseStatus.ON_HOLD,
        CaseStatus.LEGAL,
    }
)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # Case lists are ordered newest first, for the agency and for each client.
        Index("ix_cases_opened_on_id", "opened_on", "id"),
        Index("ix_cases_client_id_opened_on", "client_id", "opened_on", "id"),
        Index("ix_cases_client_id_status", "client_id", "status"),
        Index("ix_cases_status_opened_on", "status", "opened_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus), default=CaseStatus.NEW)
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    # The code printed on letters, stored hashed; with the reference it opens /pay.
    access_code_hash: Mapped[str] = mapped_column(String(255))
    # With the server's key, derives the code again for each letter (services.access_codes).
    access_code_nonce: Mapped[str] = mapped_column(String(32), server_default=text("''"))
    failed_code_attempts: Mapped[int] = mapped_column(default=0)
    # The dunning position: the last workflow step done, and when the next one falls due.
    # next_step_on is kept so the batch finds due cases with one indexed query.
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id"))
    workflow_position: Mapped[int] = mapped_column(default=0, server_default="0")
    last_step_on: Mapped[date | None]
    next_step_on: Mapped[date | None] = mapped_column(index=True)
    promise_until: Mapped[date | None]
    on_hold_until: Mapped[date | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
    debtor: Mapped[Debtor] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="case", order_by="Invoice.due_date", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.status}>"


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # An invoice number is handed over once per client (imports rely on it).
        UniqueConstraint("client_id", "number", name="uq_invoices_client_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    number: Mapped[str] = mapped_column(String(64), index=True)
    invoice_date: Mapped[date]
    due_date: Mapped[date]
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    description: Mapped[str | None] = mapped_column(String(500))
    # The client's own PDF of the invoice (kind invoice), when it handed one over; the
    # "invoice" step sends it, or one made from these fields (services/invoice_files.py).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="invoices")

    def __repr__(self) -> str:
        return f"<Invoice {self.number} {self.amount_cents}>"


class ReferenceCounter(Base):
    """The last case number handed out per year (K-2026-000123)."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)
