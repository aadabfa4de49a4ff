"""Bank statements the agency uploads, and each credit on them: matched to a case and booked
as a payment, or left for an admin to match by hand or mark as not ours."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case


class StatementFormat(StrEnum):
    CAMT053 = "camt053"
    MT940 = "mt940"


class BankStatement(Base):
    """One uploaded statement file; its entries are recognised one by one, so the same file
    (or an overlapping one) uploaded again books nothing twice."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    format: Mapped[StatementFormat] = mapped_column(enum_type(StatementFormat))
    account_iban: Mapped[str | None] = mapped_column(String(34))
    statement_ref: Mapped[str | None] = mapped_column(String(100))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    entries_total: Mapped[int] = mapped_column(default=0)
    entries_new: Mapped[int] = mapped_column(default=0)  # the rest were known already


class EntryStatus(StrEnum):
    UNMATCHED = "unmatched"  # waiting for an admin
    BOOKED = "booked"  # matched to a case and booked as a payment
    NOT_OURS = "not_ours"  # an admin said it is not a debtor's payment
    DEBIT = "debit"  # money going out: listed, never matched


class BankEntry(Base):
    """One line of a statement. `entry_key` (account + the bank's own reference, or a digest of
    the line when the bank gives none) is unique: a line seen twice is the same line."""

    __tablename__ = "bank_entries"
    __table_args__ = (Index("ix_bank_entries_status_booked_on", "status", "booked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    entry_key: Mapped[str] = mapped_column(String(200), unique=True)
    bank_ref: Mapped[str | None] = mapped_column(String(100))
    booked_on: Mapped[date]
    value_on: Mapped[date | None]
    amount_cents: Mapped[int]  # positive: money in; negative: money out
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance_info: Mapped[str | None] = mapped_column(Text)  # the payment description
    status: Mapped[EntryStatus] = mapped_column(
        enum_type(EntryStatus), default=EntryStatus.UNMATCHED
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    match_rule: Mapped[str | None] = mapped_column(String(30))  # reference, rf, amount_name, manual
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    matched_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    statement: Mapped[BankStatement] = relationship()
    case: Mapped[Case | None] = relationship()
