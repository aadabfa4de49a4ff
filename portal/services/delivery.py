"""Sending notices: claim one, check the contact rules again, send or render, record the result.

At-least-once with a stable Message-ID: a notice is claimed (status sending, claimed_at) in its
own commit before it goes out, so two workers never send it together; a claim left behind by
a killed worker is taken over after CLAIM_LEASE, and the resend carries the same Message-ID.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

from flask_mail import Message, sanitize_address
from sqlalchemy import Insert, bindparam, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload

from portal.documents.pdf import merge_pdfs
from portal.documents.storage import StoredFile, read_document, save_document, store_file
from portal.extensions import db, mail
from portal.models import (
    ActorKind,
    AuditEvent,
    Case,
    CaseStatus,
    Channel,
    Communication,
    DeliveryStatus,
    Document,
    DocumentKind,
    Notice,
    StepAction,
    utcnow,
)
from portal.services import audit, bulk, notices

CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 4
# A case in one of these states must not be chased, whatever the batch decided this morning.
STOPPED = frozenset(
    {
        CaseStatus.DISPUTED,
        CaseStatus.ARRANGEMENT,
        CaseStatus.ON_HOLD,
        CaseStatus.PAID,
        CaseStatus.CLOSED,
        CaseStatus.WITHDRAWN,
    }
)


def _claimable(now: datetime):
    """Queued, or claimed by a sender whose lease ran out."""
    return or_(
        Notice.status == DeliveryStatus.QUEUED,
        (Notice.status == DeliveryStatus.SENDING) & (Notice.claimed_at < now - CLAIM_LEASE),
    )


def claim_many(notice_ids: list[int], now: datetime) -> set[int]:
    """Take every claimable notice of `notice_ids` in one statement; the ids that are ours.

    Commit before sending any of them: the committed claim keeps other workers off.
    """
    if not notice_ids:
        return set()
    rows = db.session.execute(
        update(Notice)
        .where(Notice.id.in_(notice_ids), _claimable(now))
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=Notice.attempts + 1)
        .returning(Notice.id),
        execution_options={"synchronize_session": False},
    )
    return set(rows.scalars())


def pending(now: datetime) -> list[tuple[int, Channel]]:
    """Every notice that should still go out: queued on any day (its job may have been lost
    with a killed worker), or claimed by a sender whose claim went stale."""
    stale = (Notice.status == DeliveryStatus.SENDING) & (Notice.claimed_at < now - CLAIM_LEASE)
    rows = db.session.execute(
        select(Notice.id, Notice.channel)
        .where(or_(Notice.status == DeliveryStatus.QUEUED, stale))
        .order_by(Notice.id)
    )
    return [(notice_id, Channel(channel)) for notice_id, channel in rows]


def contact_refusal(notice: Notice) -> str | None:
    """Why this notice may not go out now (rules are checked again at send time), or None."""
    debtor = notice.communications[0].case.debtor if notice.communications else None
    if debtor is None:
        return "the notice covers no case"
    if debtor.do_not_contact:
        return "the debtor asked not to be contacted"
    if notice.channel == Channel.EMAIL and (not debtor.email or debtor.email_bounced):
        return "no working email address"
    stopped = [c.case.reference for c in notice.communications if c.case.status in STOPPED]
    if stopped:
        return f"case(s) no longer to be chased: {', '.join(stopped)}"
    return None


def _with_cases():
    # The client rides along: rendering gets it by id, which the identity map then answers
    # (a notice's cases all belong to its client).
    cases = selectinload(Notice.communications).selectinload(Communication.case)
    return cases.selectinload(Case.debtor), cases.selectinload(Case.client)


def load_many(notice_ids: set[int]) -> dict[int, Notice]:
    """Claimed notices with their cases, debtors and clients, in a few set queries, fresh
    from the database (the claim just changed them)."""
    if not notice_ids:
        return {}
    found = db.session.scalars(
        select(Notice)
        .where(Notice.id.in_(notice_ids))
        .options(*_with_cases())
        .execution_options(populate_existing=True)
    ).all()
    return {notice.id: notice for notice in found}


class _Wire(policy.Compat32):
    """compat32, which writes the headers as given, with CRLF line ends. (The default policy,
    Flask-Mail's, parses each header again through email.headerregistry every time the
    generator reads one, which made writing an email cost more than rendering it.)

    A short one-line ASCII header is written as it is: compat32 would fold it through
    email.header.Header to the same bytes, at a third of an email's MIME cost. Anything else
    (a long line, a non-ASCII or encoded value, a line break) is still folded by the library.
    """

    def fold_binary(self, name: str, value) -> bytes:
        if (isinstance(value, str) and value.isascii() and len(name) + len(value) < 76
                and "\r" not in value and "\n" not in value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = _Wire(linesep="\r\n")


class _KeptMessage(Message):
    """An email as a notice sends it: multipart/alternative, the plain text and then the
    HTML, serialised once, so that the bytes kept as sent are the bytes that went out. With
    attachments (the invoice step's PDFs), a multipart/mixed of that and the files.

    Its MIME boundaries come from `boundary` (stable per notice) rather than from random
    numbers that the generator must then look for in every part with a regular expression
    compiled for each. A text that happens to contain one gets a random one instead (base64,
    the files' encoding, has no "_": a file cannot contain one).
    """

    _bytes: bytes | None = None
    boundary: str = ""

    def as_bytes(self) -> bytes:
        if self._bytes is None:
            self._bytes = super().as_bytes()
        return self._bytes

    def _message(self) -> MIMEMultipart:
        message = text = MIMEMultipart("alternative", policy=WIRE)
        for body, subtype in ((self.body, "plain"), (self.html, "html")):
            text.attach(MIMEText(body, subtype, "utf-8", policy=WIRE))
        self._set_boundary(text, "alt" if self.attachments else "")
        if self.attachments:
            message = MIMEMultipart("mixed", policy=WIRE)
            message.attach(text)
            for attachment in self.attachments:
                part = MIMEApplication(attachment.data, "pdf", policy=WIRE)
                part.add_header("Content-Disposition", "attachment",
                                filename=attachment.filename)
                message.attach(part)
            self._set_boundary(message, "")
        message["Subject"] = _header(self.subject, "Subject")
        message["From"] = sanitize_address(self.sender)
        message["To"] = ", ".join(sanitize_address(address) for address in self.recipients)
        message["Date"] = formatdate(self.date, localtime=True)
        message["Message-ID"] = self.msgId
        for name, value in (self.extra_headers or {}).items():
            message[name] = value
        return message

    def _set_boundary(self, part: MIMEMultipart, suffix: str) -> None:
        boundary = f"=_{self.boundary}" + (f".{suffix}" if suffix else "")
        if self.boundary and not any(boundary in text for text in (self.body, self.html)):
            part.set_boundary(boundary)


def _header(value: str, name: str) -> str | Header:
    """A header value as compat32 writes it well: ASCII as it is, anything else as RFC 2047
    encoded words folded with the header's name counted on the first line."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def build_message(notice: Notice, templates: dict | None = None,
                  draft: notices.Draft | None = None) -> Message:
    """The email of a notice; `templates` caches its texts across one job, `draft` is the
    notice's draft when the job loaded it already (notices.drafts_for). The invoice step's
    email carries the invoices as PDF attachments."""
    draft = draft or notices.draft_for(notice)
    rendered = notices.render_email(notice, templates=templates, draft=draft)
    debtor = notice.communications[0].case.debtor
    message = _KeptMessage(
        subject=rendered.subject,
        recipients=[debtor.email],
        body=rendered.text,
        html=rendered.html,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message.msgId = rendered.message_id  # the same on a resend, so it can be recognised
    message.boundary = rendered.message_id.strip("<>").partition("@")[0]
    for invoice in _invoices(draft):
        message.attach(invoice.filename, "application/pdf", invoice.data)
    return message


def _invoices(draft: notices.Draft) -> list[notices.InvoicePdf]:
    """What the invoice step sends with its email or letter: the invoices themselves."""
    if draft.action is not StepAction.INVOICE:
        return []
    return notices.render_invoice_pdfs(draft)


@dataclass
class Ready:
    """A claimed notice made ready to go: its email or letter rendered and written to disk
    (not yet flushed there, nor recorded: a job flushes all its files at once, before it
    sends or records the first)."""

    notice: Notice
    file: StoredFile
    message: Message | None = None  # an email's; a letter is only recorded, the post room sends it


def prepare(notice: Notice, templates: dict | None = None,
            draft: notices.Draft | None = None) -> Ready:
    """Render a claimed notice and write what will be kept of it. Old cases may get an
    access code here (notices.render_letter_pdf): commit when the session has changes."""
    if notice.channel == Channel.EMAIL:
        message = build_message(notice, templates, draft)
        message.date = time.time()  # before the bytes are made: they are what is kept
        return Ready(notice, store_file(f"notice-{notice.id}.eml", message.as_bytes(),
                                        sync=False), message)
    draft = draft or notices.draft_for(notice)
    pdf = notices.render_letter_pdf(notice, templates=templates, draft=draft)
    if invoices := _invoices(draft):  # the letter, then each invoice: one envelope
        pdf = merge_pdfs([pdf, *(invoice.data for invoice in invoices)])
    return Ready(notice, store_file(f"letter-{notice.id}.pdf", pdf, sync=False))


def send(ready: Ready, connection) -> None:
    """Send a ready email on an open connection (a letter waits for the post room) and
    record the notice as sent. Commit right after: until then a killed worker leaves the
    notice claimed, and it goes out again (the same Message-ID) once the lease has passed."""
    if ready.message is not None:
        connection.send(ready.message)
    record_sent(ready)


# Plain table statements, built once: record_sent runs once per notice sent.
_DOCUMENTS, _NOTICES, _EVENTS = Document.__table__, Notice.__table__, AuditEvent.__table__
_INSERT_DOCUMENT = insert(_DOCUMENTS).returning(_DOCUMENTS.c.id)
_MARK_SENT = update(_NOTICES).where(_NOTICES.c.id == bindparam("notice_id"))


def _record_in_one() -> Insert:
    """PostgreSQL: the document, the notice marked sent and its audit events in one statement
    (two data-modifying CTEs and an INSERT ... SELECT FROM unnest of the cases), one round
    trip where there were three. SQLite has no INSERT in a WITH: it runs the three."""
    document = (
        insert(_DOCUMENTS)
        .values({name: bindparam(f"document_{name}") for name in StoredFile.COLUMNS})
        .returning(_DOCUMENTS.c.id)
        .cte("document")
    )
    sent = (
        update(_NOTICES)
        .where(_NOTICES.c.id == bindparam("notice_id"))
        .values(status=bindparam("new_status"), sent_at=bindparam("new_sent_at"),
                to_address=bindparam("new_to_address"), subject=bindparam("new_subject"),
                document_id=select(document.c.id).scalar_subquery(), last_error=None)
        .returning(_NOTICES.c.id)
        .cte("sent")
    )
    ids = postgresql.ARRAY(_EVENTS.c.case_id.type)
    cases = func.unnest(bindparam("case_ids", type_=ids), bindparam("client_ids", type_=ids))
    cases = cases.table_valued("case_id", "client_id").render_derived()
    events = {  # bind names unlike the columns': those of an INSERT's would become its values
        "action": bindparam("event_action", type_=_EVENTS.c.action.type),
        "summary": bindparam("event_summary", type_=_EVENTS.c.summary.type),
        "detail": bindparam("event_detail", type_=_EVENTS.c.detail.type),
        "occurred_at": bindparam("event_at", type_=_EVENTS.c.occurred_at.type),
        "actor_kind": literal(ActorKind.SYSTEM, _EVENTS.c.actor_kind.type),
        "client_visible": true(),
        "case_id": cases.c.case_id,
        "client_id": cases.c.client_id,
    }
    rows = select(*events.values()).where(exists(select(sent.c.id)))
    return insert(_EVENTS).from_select(list(events), rows).add_cte(document, sent)


_RECORD_IN_ONE = _record_in_one()


def record_sent(ready: Ready) -> None:
    """The notice sent, its document, and an audit event per case: one statement on
    PostgreSQL, three plain ones on SQLite; not a unit of work per notice (a job records
    fifty). The loaded Notice is not updated."""
    notice, message = ready.notice, ready.message
    kind, content_type = ((DocumentKind.EMAIL, "message/rfc822") if message is not None
                          else (DocumentKind.LETTER, "application/pdf"))
    cases = [communication.case for communication in notice.communications]
    document = ready.file.row(kind, content_type, cases[0].id)
    sent = {"notice_id": notice.id, "status": DeliveryStatus.SENT, "sent_at": utcnow(),
            "to_address": message.recipients[0] if message is not None else None,
            "subject": message.subject if message is not None else None}
    event = {"action": f"notice.{notice.channel}",
             "summary": f"{notice.action} sent by {notice.channel}",
             "detail": {"notice_id": notice.id}}
    if bulk.on_postgresql():
        db.session.execute(_RECORD_IN_ONE, {
            **{f"document_{name}": value for name, value in document.items()},
            **{f"new_{name}": value for name, value in sent.items()},
            "notice_id": notice.id, "event_at": utcnow(),
            **{f"event_{name}": value for name, value in event.items()},
            "case_ids": [case.id for case in cases],
            "client_ids": [case.client_id for case in cases],
        })
        return
    document_id = db.session.execute(_INSERT_DOCUMENT, document).scalar_one()
    db.session.execute(_MARK_SENT, {**sent, "document_id": document_id, "last_error": None})
    audit.record_many([{**event, "case_id": case.id, "client_id": case.client_id}
                       for case in cases])


def cancel(notice: Notice, reason: str) -> None:
    notice.status = DeliveryStatus.CANCELLED
    notice.last_error = reason
    for communication in notice.communications:
        audit.record("notice.cancelled", f"Not sent: {reason}", case=communication.case,
                     client_visible=False, notice_id=notice.id)


def fail(notice: Notice, error: str) -> bool:
    """Record a failed try; True when the notice may be tried again."""
    notice.last_error = error[:2000]
    if notice.attempts >= MAX_ATTEMPTS:
        notice.status = DeliveryStatus.FAILED
        return False
    notice.status = DeliveryStatus.QUEUED
    notice.claimed_at = None
    return True


@contextmanager
def smtp_connection() -> Iterator:
    """One SMTP connection for many messages (Flask-Mail keeps it open inside the block)."""
    with mail.connect() as connection:
        yield connection


def letters_of(day: date) -> list[Document]:
    """The letters made for the notices dated `day`, in notice order."""
    return list(
        db.session.scalars(
            select(Document)
            .join(Notice, Notice.document_id == Document.id)
            .where(Notice.dated == day, Notice.channel == Channel.LETTER,
                   Notice.status == DeliveryStatus.SENT)
            .order_by(Notice.id)
        )
    )


def post_room_pdf(day: date) -> Document | None:
    """All of a day's letters merged into one PDF for printing and posting."""
    letters = letters_of(day)
    if not letters:
        return None
    merged = merge_pdfs([read_document(doc) for doc in letters])
    return save_document(DocumentKind.LETTER, f"post-room-{day.isoformat()}.pdf",
                         "application/pdf", merged, case_id=None)
