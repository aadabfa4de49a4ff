"""What a debtor may read back of what was sent to them: the letters and emails as sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from portal.documents.storage import read_document
from portal.extensions import db
from portal.models import Case, Communication, DeliveryStatus, Document, Notice


@dataclass(frozen=True)
class SentEmail:
    """An email as it went out, read back from the stored message."""

    subject: str
    sent_at: datetime | None
    body: str


def _sent_to_debtor(case: Case):
    return (
        select(Notice)
        .join(Communication, Communication.notice_id == Notice.id)
        .where(
            Communication.case_id == case.id,
            Notice.debtor_id == case.debtor_id,
            Notice.status == DeliveryStatus.SENT,
            Notice.document_id.is_not(None),
        )
    )


def sent_notices(case: Case) -> list[Notice]:
    """The letters and emails that went out for this case, newest first. Only sent ones: a
    queued or cancelled notice never reached the debtor."""
    return list(db.session.scalars(
        _sent_to_debtor(case).order_by(Notice.dated.desc(), Notice.id.desc())
    ))


def sent_notice(case: Case, notice_id: int) -> Notice | None:
    """One sent notice of this case, or None (another case's notice counts as missing)."""
    return db.session.scalar(_sent_to_debtor(case).where(Notice.id == notice_id))


def read_email(document: Document) -> SentEmail:
    """The subject, date and plain text of a stored .eml."""
    message = message_from_bytes(read_document(document), policy=policy.default)
    part = message.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    date_header = message["Date"]
    return SentEmail(
        subject=str(message["Subject"] or ""),
        sent_at=parsedate_to_datetime(str(date_header)) if date_header else None,
        body=body,
    )
