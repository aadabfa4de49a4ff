"""What the client portal keeps: uploads of claims, API tokens and idempotency keys, webhooks
to the client's own systems, notes on cases, and the periodic status reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.client import Client


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"  # checked and shown; nothing imported yet
    QUEUED = "queued"  # a large file waits for the `imports` worker
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # nothing was imported (all or nothing)


class ImportBatch(Base):
    """One uploaded file of claims: its preview, then its import, all rows or none."""

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_client_id_created_at", "client_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # the upload
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> column
    status: Mapped[ImportStatus] = mapped_column(
        enum_type(ImportStatus), default=ImportStatus.PREVIEWED
    )
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # progress of a running import
    cases_created: Mapped[int] = mapped_column(default=0)
    invoices_existing: Mapped[int] = mapped_column(default=0)  # already there: not imported again
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[row, field, message]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship()


class ApiToken(Base):
    """A client's key to the JSON API: shown once, stored as a SHA-256 hash, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship()


class IdempotencyKey(Base):
    """An API request made with an Idempotency-Key: a repeat gets the first answer again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_idempotency_keys_client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # the same key with another body: 422
    response_status: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """Where a client's system wants to hear about payments and status changes."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))  # signs each delivery (HMAC-SHA256)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class WebhookDelivery(Base):
    """One event for one endpoint, sent until it is accepted (retried with backoff)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key", name="uq_webhook_deliveries_endpoint_id"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event: Mapped[str] = mapped_column(String(50))  # "payment.received", "case.status_changed"
    event_key: Mapped[str] = mapped_column(String(120))  # e.g. "payment:17": one delivery each
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[DeliveryState] = mapped_column(
        enum_type(DeliveryState), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None]  # the HTTP status of the last try
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class CaseNote(Base):
    """A note on a case by the client or the agency; the other side reads it when shareable."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case_id_created_at", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    shareable: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportFrequency(StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class StatusReport(Base):
    """A status report for a client over a period: the PDF and the CSV of open cases, kept and
    listed in the client portal; a scheduled one exists once per client and period."""

    __tablename__ = "status_reports"
    __table_args__ = (
        UniqueConstraint("client_id", "period_start", "period_end", "scheduled",
                         name="uq_status_reports_client_id"),
        Index("ix_status_reports_client_id_created_at", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    # True for the weekly or monthly one. One report per client, period and kind: asking again
    # for the same period makes that on-demand report again.
    scheduled: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pdf_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    csv_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship()
