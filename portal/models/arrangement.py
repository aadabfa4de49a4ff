"""Instalment arrangements: a schedule the debtor proposed and the agency (or client) accepted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case


class ArrangementStatus(StrEnum):
    PENDING = "pending"  # outside the policy: waiting for approval
    ACTIVE = "active"
    REJECTED = "rejected"
    BROKEN = "broken"  # too many missed instalments
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class InstalmentStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    MISSED = "missed"  # the grace period passed unpaid (it can still be paid)


class Arrangement(Base):
    __tablename__ = "arrangements"
    __table_args__ = (Index("ix_arrangements_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[ArrangementStatus] = mapped_column(
        enum_type(ArrangementStatus), default=ArrangementStatus.PENDING
    )
    total_cents: Mapped[int]  # what the schedule covers: the balance on the day it was made
    down_payment_cents: Mapped[int] = mapped_column(default=0)
    instalment_count: Mapped[int]
    start_on: Mapped[date]
    proposed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: debtor
    # Which approvals the proposal needs (none when inside the policy and accepted automatically).
    needs_agency_approval: Mapped[bool] = mapped_column(default=False)
    needs_client_approval: Mapped[bool] = mapped_column(default=False)
    agency_approved_at: Mapped[datetime | None]
    agency_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_approved_at: Mapped[datetime | None]
    client_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    missed_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    instalments: Mapped[list[Instalment]] = relationship(
        back_populates="arrangement", order_by="Instalment.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Arrangement {self.id} case={self.case_id} {self.status}>"


class Instalment(Base):
    __tablename__ = "instalments"
    __table_args__ = (
        UniqueConstraint("arrangement_id", "number", name="uq_instalments_arrangement_id_number"),
        # The morning job finds instalments coming due and overdue with one indexed query.
        Index("ix_instalments_status_due_on", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    arrangement_id: Mapped[int] = mapped_column(ForeignKey("arrangements.id"))
    number: Mapped[int]  # 0 for a down payment, then 1..n
    due_on: Mapped[date]
    amount_cents: Mapped[int]
    paid_cents: Mapped[int] = mapped_column(default=0)
    status: Mapped[InstalmentStatus] = mapped_column(
        enum_type(InstalmentStatus), default=InstalmentStatus.OPEN
    )
    reminded_on: Mapped[date | None]  # the reminder before the due date went out
    overdue_reminded_on: Mapped[date | None]  # the reminder after a miss went out
    missed_on: Mapped[date | None]

    arrangement: Mapped[Arrangement] = relationship(back_populates="instalments")

    @property
    def left_cents(self) -> int:
        return max(self.amount_cents - self.paid_cents, 0)

    def __repr__(self) -> str:
        return f"<Instalment {self.arrangement_id}#{self.number} {self.due_on} {self.status}>"


