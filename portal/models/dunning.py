"""Dunning workflows: ordered steps, the templates they send, the batch runs that advance them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.dunning import Channel, StepAction
from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.client import Client


class Workflow(Base):
    """An ordered list of steps; the agency's default has no client, a client may have its own."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client | None] = relationship()
    steps: Mapped[list[WorkflowStep]] = relationship(
        back_populates="workflow", order_by="WorkflowStep.position", cascade="all, delete-orphan"
    )


class WorkflowStep(Base):
    __tablename__ = "workflow_steps"
    __table_args__ = (
        UniqueConstraint("workflow_id", "position", name="uq_workflow_steps_workflow_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    position: Mapped[int]  # 1, 2, 3 ...
    name: Mapped[str] = mapped_column(String(200))
    action: Mapped[StepAction] = mapped_column(enum_type(StepAction))
    # Days after the oldest invoice's due date for the first step (negative: before it),
    # days after the previous step for the others.
    delay_days: Mapped[int]
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    # Where an email goes when the debtor has no address (None: skip the step's sending).
    fallback_channel: Mapped[Channel | None] = mapped_column(enum_type(Channel))
    template_key: Mapped[str] = mapped_column(String(64))
    charges_costs: Mapped[bool] = mapped_column(default=False)
    charges_interest: Mapped[bool] = mapped_column(default=False)

    workflow: Mapped[Workflow] = relationship(back_populates="steps")


class MessageTemplate(Base):
    """An editable email or letter text per key, channel and language (sandboxed Jinja)."""

    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("key", "channel", "language", name="uq_message_templates_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RunStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BatchRun(Base):
    """One run of the dunning batch: which day it decided for, its progress and its counts."""

    __tablename__ = "batch_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_on: Mapped[date] = mapped_column(index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # cron | manual
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.PLANNED)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cases_due: Mapped[int] = mapped_column(default=0)
    chunks_total: Mapped[int] = mapped_column(default=0)
    chunks_done: Mapped[int] = mapped_column(default=0)
    # {"<action>/<channel>": n, "skipped/<reason>": n, ...}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class BatchChunk(Base):
    """A chunk of a run that finished, done or failed. A chunk job delivered again (RQ may
    deliver a job twice: a worker killed after its commit) finds its row and does nothing, so
    no chunk is counted twice and a run never closes before its last chunk."""

    __tablename__ = "batch_chunks"
    __table_args__ = (UniqueConstraint("run_id", "first_case_id",
                                       name="uq_batch_chunks_run_id_first_case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id"))
    first_case_id: Mapped[int]  # chunks of a run never share a case: the first names it
    size: Mapped[int]
    failed: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)

