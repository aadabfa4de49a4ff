"""Disputes and the message thread between a debtor and the agency about a case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, StrEnum, enum_type, utcnow
from portal.models.case import Case
from portal.models.user import User


class DisputeReason(StrEnum):
    NOT_DELIVERED = "not_delivered"
    COMPLAINT = "complaint"  # about the product or service
    INVOICE_ERROR = "invoice_error"
    ALREADY_PAID = "already_paid"
    NOT_MY_DEBT = "not_my_debt"
    OTHER = "other"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeOutcome(StrEnum):
    UPHELD = "upheld"  # the debtor was right: the claim is reduced or withdrawn
    PARTLY_UPHELD = "partly_upheld"
    REJECTED = "rejected"  # the claim stands; collection resumes


class Party(StrEnum):
    """Who wrote a message or opened a dispute."""

    DEBTOR = "debtor"
    AGENCY = "agency"
    CLIENT = "client"


class Dispute(Base):
    """A dispute pauses dunning and calls for its case until it is resolved."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_status_opened_at", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[DisputeReason] = mapped_column(enum_type(DisputeReason))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(
        enum_type(DisputeStatus), default=DisputeStatus.OPEN
    )
    opened_by: Mapped[Party] = mapped_column(enum_type(Party), default=Party.DEBTOR)
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_response: Mapped[str | None] = mapped_column(Text)  # the client's answer (issue 7)
    client_responded_at: Mapped[datetime | None]
    outcome: Mapped[DisputeOutcome | None] = mapped_column(enum_type(DisputeOutcome))
    resolution: Mapped[str | None] = mapped_column(Text)  # told to the debtor
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN


class Message(Base):
    """One message in a case's thread between the debtor and the agency."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_case_id_created_at", "case_id", "created_at"),
        # The agency's inbox: debtor messages not yet read, oldest first.
        Index("ix_messages_author_read_by_agency_at", "author", "read_by_agency_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author: Mapped[Party] = mapped_column(enum_type(Party))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_by_agency_at: Mapped[datetime | None]
    read_by_debtor_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    author_user: Mapped[User | None] = relationship()
