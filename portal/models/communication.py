"""What went out to a debtor: notices (one email or letter), the cases they cover, the documents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case
from portal.models.dunning import Channel, StepAction


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # recorded, waiting for the mail or letter worker
    SENDING = "sending"  # a worker took it (claimed_at); a stale claim is taken over
    SENT = "sent"
    FAILED = "failed"  # tried and gave up; an admin may retry
    CANCELLED = "cancelled"  # a contact rule said no at send time


class DocumentKind(StrEnum):
    LETTER = "letter"
    EMAIL = "email"  # the message as sent (.eml)
    DOSSIER = "dossier"  # for the bailiff or lawyer
    INVOICE = "invoice"
    REPORT = "report"
    EVIDENCE = "evidence"  # a file sent with a dispute (PDF or image)
    IMPORT = "import"  # a client's uploaded file of claims
    ANSWER = "answer"  # a file the client sent with its answer to a dispute (not the debtor's)
    REMITTANCE = "remittance"  # a remittance statement to a client
    PAYOUT_FILE = "payout_file"  # a SEPA credit transfer file (pain.001) for the bank


class Document(Base):
    """A file the portal made or received; its bytes live on disk outside static/."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    storage_path: Mapped[str] = mapped_column(String(300), unique=True)  # under instance/documents
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """One email or letter to one debtor on behalf of one client; it may cover several cases."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_channel", "status", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # debtor, client, step position and day: re-running a day's batch finds the same notice.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    batch_run_id: Mapped[int | None] = mapped_column(ForeignKey("batch_runs.id"), index=True)
    action: Mapped[StepAction] = mapped_column(enum_type(StepAction))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    template_key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5))
    dated: Mapped[date]
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document | None] = relationship()
    communications: Mapped[list[Communication]] = relationship(back_populates="notice")


class Communication(Base):
    """A case's part in a notice: one per case and workflow step, never two."""

    __tablename__ = "communications"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_communications_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))  # "case:<id>:step:<id>"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_steps.id"))
    position: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)  # e.g. "costs not charged: no 14-day letter"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    notice: Mapped[Notice] = relationship(back_populates="communications")
