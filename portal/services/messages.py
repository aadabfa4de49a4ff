"""The message thread between a debtor and the agency, one per case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Case, Message, Party, User, utcnow
from portal.queue import enqueue_after_commit
from portal.services import audit

MAX_BODY = 5000
SEND_REPLY = "portal.jobs.messages.send_message_reply"


class MessageRefused(ValueError):
    """The message is empty or too long; the text says so in plain words."""


def post_message(
    case: Case, author: Party, body: str, *, user: User | None = None,
    debtor_id: int | None = None,
) -> Message:
    """Add a message to the case's thread. An agency reply is emailed to the debtor after the
    commit (the email carries the text; see templates/debtor/email/message_reply.txt)."""
    body = (body or "").strip()
    if not 1 <= len(body) <= MAX_BODY:
        raise MessageRefused(_("Please write a message of at most %(n)s characters.", n=MAX_BODY))
    message = Message(case_id=case.id, author=author, body=body,
                      author_user_id=user.id if user is not None else None)
    # What one writes oneself is read by oneself.
    if author == Party.DEBTOR:
        message.read_by_debtor_at = utcnow()
    else:
        message.read_by_agency_at = utcnow()
    db.session.add(message)
    db.session.flush()
    audit.record("message.posted", f"Message from the {author}", case=case, user=user,
                 debtor_id=debtor_id, client_visible=False, message=message.id)
    if author == Party.AGENCY:
        enqueue_after_commit("mail", SEND_REPLY, message.id)
    return message


def thread(case: Case) -> list[Message]:
    """The case's messages, oldest first."""
    return list(db.session.scalars(
        select(Message).where(Message.case_id == case.id)
        .order_by(Message.created_at, Message.id)))


def mark_read_by_agency(case: Case) -> int:
    """Mark the debtor's messages on this case read by the agency; returns how many."""
    return _mark(case, Message.read_by_agency_at, Message.author == Party.DEBTOR)


def mark_read_by_debtor(case: Case) -> int:
    """Mark the agency's messages on this case read by the debtor; returns how many."""
    return _mark(case, Message.read_by_debtor_at, Message.author != Party.DEBTOR)


def _mark(case: Case, column, authored) -> int:
    result = db.session.execute(
        update(Message).where(Message.case_id == case.id, authored, column.is_(None))
        .values({column: utcnow()}).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


@dataclass(frozen=True)
class InboxRow:
    case: Case
    unread: int
    oldest: datetime


def _unread_by_agency():
    return (Message.author == Party.DEBTOR, Message.read_by_agency_at.is_(None))


def unread_for_agency() -> list[InboxRow]:
    """The agency's inbox: cases with debtor messages not yet read, oldest waiting first.
    One query on the (author, read_by_agency_at) index."""
    rows = db.session.execute(
        select(Case, func.count(Message.id), func.min(Message.created_at))
        .join(Message, Message.case_id == Case.id)
        .where(*_unread_by_agency())
        .group_by(Case.id)
        .order_by(func.min(Message.created_at), Case.id)
        .options(selectinload(Case.debtor), selectinload(Case.client))
    ).all()
    return [InboxRow(case, count, oldest) for case, count, oldest in rows]


def unread_count_for_agency() -> int:
    return db.session.scalar(select(func.count(Message.id)).where(*_unread_by_agency())) or 0


def unread_count_for_debtor(case: Case) -> int:
    return db.session.scalar(select(func.count(Message.id)).where(
        Message.case_id == case.id, Message.author != Party.DEBTOR,
        Message.read_by_debtor_at.is_(None))) or 0
