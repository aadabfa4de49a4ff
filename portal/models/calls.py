"""The call team: the day's call tasks, what each call brought, promises to pay, and the
lists and settings admins keep for them (reasons for not paying, scripts, weights, rules)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case
from portal.models.user import User


class TaskReason(StrEnum):
    """Why a case is on the call queue (the strongest reason wins when there are several)."""

    WORKFLOW_CALL = "workflow_call"  # the workflow's step is a call
    PROMISE_DUE = "promise_due"  # a promise to pay falls due today
    PROMISE_BROKEN = "promise_broken"
    MISSED_INSTALMENT = "missed_instalment"
    CALLBACK = "callback"  # the debtor asked to be called back today
    NEW_CASE = "new_case"  # a new case above the client's threshold
    MANUAL = "manual"  # a supervisor added it by hand


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"  # a caller has it on screen; back to OPEN after a timeout
    DONE = "done"
    DROPPED = "dropped"  # a supervisor took it off the queue


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class CallTask(Base):
    """One case to call. A case has at most one open (or claimed) task at a time."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        # One open task per case: a partial unique index on both backends.
        Index("uq_call_tasks_open_case", "case_id", unique=True,
              postgresql_where=text("status IN ('open', 'claimed')"),
              sqlite_where=text("status IN ('open', 'claimed')")),
        # "Next case": the best open task, pinned first; only open rows are in the index.
        Index("ix_call_tasks_next", "pinned", "priority", "id",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_call_tasks_day_status", "day", "status"),
        Index("ix_call_tasks_claimed_at", "claimed_at",
              postgresql_where=text("status = 'claimed'"), sqlite_where=text("status = 'claimed'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    day: Mapped[date]  # the queue day it was built (or added) for
    reason: Mapped[TaskReason] = mapped_column(enum_type(TaskReason))
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus), default=TaskStatus.OPEN)
    # The score, higher first; `factors` says how it was made: [[name, value, points], ...].
    priority: Mapped[int] = mapped_column(default=0)
    factors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    pinned: Mapped[bool] = mapped_column(default=False)  # a supervisor put it at the top
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    not_before: Mapped[datetime | None]  # a callback's agreed time
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)  # why a supervisor added or pinned it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])

    def __repr__(self) -> str:
        return f"<CallTask {self.id} case={self.case_id} {self.reason} {self.status}>"


class CallOutcome(StrEnum):
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    PROMISE = "promise"  # promise to pay (amount, date)
    ARRANGEMENT = "arrangement"  # instalments agreed (the plan builder)
    DISPUTE = "dispute"
    CALLBACK = "callback"
    REFUSED = "refused"
    PAID_ALREADY = "paid_already"
    DECEASED = "deceased"
    OTHER = "other"


# Outcomes where nobody was reached: they count as attempts, not as conversations.
UNANSWERED = frozenset({CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL, CallOutcome.WRONG_NUMBER})


class CallLog(Base):
    """One call: who called, when, the number, what came of it and why the debtor has not paid."""

    __tablename__ = "call_logs"
    __table_args__ = (
        Index("ix_call_logs_case_id_started_at", "case_id", "started_at"),
        Index("ix_call_logs_caller_id_started_at", "caller_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("call_tasks.id"), index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    phone: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[CallOutcome] = mapped_column(enum_type(CallOutcome))
    conversation: Mapped[bool] = mapped_column(default=False)  # the debtor was reached
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("non_payment_reasons.id"))
    note: Mapped[str | None] = mapped_column(Text)
    shareable: Mapped[bool] = mapped_column(default=False)  # the client may read the note
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    caller: Mapped[User] = relationship()
    reason: Mapped[NonPaymentReason | None] = relationship()


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PromiseToPay(Base):
    """A promise to pay an amount by a date; dunning waits until the date plus grace days."""

    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_status_due_on", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    amount_cents: Mapped[int]
    due_on: Mapped[date]
    grace_days: Mapped[int] = mapped_column(default=3)
    # What the case had received before the promise: kept once payments since reach the amount.
    paid_before_cents: Mapped[int] = mapped_column(default=0)
    status: Mapped[PromiseStatus] = mapped_column(
        enum_type(PromiseStatus), default=PromiseStatus.OPEN
    )
    call_log_id: Mapped[int | None] = mapped_column(ForeignKey("call_logs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_on: Mapped[date | None]  # the day it was found kept or broken

    case: Mapped[Case] = relationship()


class NonPaymentReason(Base):
    """Why a debtor has not paid, from a list admins edit; clients see them in reports."""

    __tablename__ = "non_payment_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label_en: Mapped[str] = mapped_column(String(120))
    label_nl: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def label(self, language: str) -> str:
        return self.label_nl if language == "nl" else self.label_en


class CallScript(Base):
    """A short script for the caller, per task reason and language (admins edit them)."""

    __tablename__ = "call_scripts"
    __table_args__ = (UniqueConstraint("reason", "language", name="uq_call_scripts_reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[TaskReason] = mapped_column(enum_type(TaskReason))
    language: Mapped[str] = mapped_column(String(5))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Setting(Base):
    """A setting admins change without a deploy (call weights, contact rules per
    jurisdiction); read through portal.services.settings, with defaults in code."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
