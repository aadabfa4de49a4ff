"""What a client does on one of its cases: pause it for a while, withdraw it, write a note,
answer a dispute. Each flushes, writes the audit trail and refreshes the case's status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import or_, select

from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Bucket,
    CallLog,
    Case,
    CaseStatus,
    Dispute,
    DisputeStatus,
    DocumentKind,
    EntryCause,
    User,
    utcnow,
)
from portal.models.client_portal import CaseNote
from portal.services import audit, case_status, disputes, ledger

MAX_HOLD_DAYS = 90
MAX_TEXT = 5000


class ActionRefused(ValueError):
    """The action cannot be done as asked; the message says why in plain words."""


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise ActionRefused(_("This case is closed; nothing can be changed on it."))


def put_on_hold(case: Case, until: date, *, user: User, today: date) -> None:
    """Pause collection up to and including `until` (at most MAX_HOLD_DAYS ahead); dunning
    resumes by itself the day after."""
    _require_open(case)
    if until <= today or until > today + timedelta(days=MAX_HOLD_DAYS):
        raise ActionRefused(_("Choose an end date after today and at most %(n)s days ahead.",
                              n=MAX_HOLD_DAYS))
    case.on_hold_until = until
    audit.record("case.on_hold", f"Put on hold until {until.isoformat()}", case=case,
                 user=user, until=until.isoformat())
    case_status.refresh(case, today)


def end_hold(case: Case, *, user: User, today: date) -> None:
    """Lift the hold now: collection goes on where it stopped."""
    _require_open(case)
    if case.on_hold_until is None:
        raise ActionRefused(_("This case is not on hold."))
    case.on_hold_until = None
    audit.record("case.hold_ended", "Hold lifted", case=case, user=user)
    case_status.refresh(case, today)


def withdraw(case: Case, reason: str, *, user: User, today: date) -> None:
    """Take the case back: what is still owed is cleared with corrections (the ledger keeps
    every entry) and the case closes as WITHDRAWN today."""
    _require_open(case)
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ActionRefused(_("Please say in at most 500 characters why you withdraw the case."))
    remaining = ledger.balance(case).remaining
    for bucket in (Bucket.FEES, Bucket.COSTS, Bucket.INTEREST, Bucket.PRINCIPAL):
        if remaining.get(bucket, 0) > 0:
            ledger.book(case, bucket, -remaining[bucket], EntryCause.CORRECTION,
                        "Case withdrawn by the client; claim handed back", booked_on=today,
                        cause_ref=f"withdrawn:{case.id}", user=user)
    case.status, case.closed_on = CaseStatus.WITHDRAWN, today
    case.on_hold_until = None
    audit.record("case.withdrawn", f"Withdrawn by the client: {reason}", case=case, user=user,
                 reason=reason)
    db.session.flush()


def add_note(case: Case, body: str, *, user: User, shareable: bool = True) -> CaseNote:
    """A note on the case; the agency reads it when shareable."""
    body = (body or "").strip()
    if not body or len(body) > MAX_TEXT:
        raise ActionRefused(_("Please write a note of at most %(n)s characters.", n=MAX_TEXT))
    note = CaseNote(case_id=case.id, author_id=user.id, body=body, shareable=shareable)
    db.session.add(note)
    db.session.flush()
    audit.record("case.note_added", "Note added by the client", case=case, user=user,
                 note=note.id, shareable=shareable)
    return note


def answer_dispute(dispute: Dispute, answer: str, files: list[tuple[str, bytes]], *,
                   user: User) -> Dispute:
    """The client's answer to an open dispute, with evidence; the agency decides on it."""
    if dispute.status != DisputeStatus.OPEN:
        raise ActionRefused(_("This dispute has been resolved already."))
    answer = (answer or "").strip()
    if not answer or len(answer) > MAX_TEXT:
        raise ActionRefused(_("Please write your answer in at most %(n)s characters.",
                              n=MAX_TEXT))
    content_types = disputes.checked_files(files)  # the checks of the debtor's evidence
    for (filename, data), content_type in zip(files, content_types, strict=True):
        document = save_document(DocumentKind.ANSWER, filename, content_type, data,
                                 case_id=dispute.case_id)
        document.dispute_id = dispute.id
    dispute.client_response, dispute.client_responded_at = answer, utcnow()
    audit.record("dispute.client_answered", "The client answered the dispute",
                 case=dispute.case, user=user, dispute=dispute.id, files=len(files))
    db.session.flush()
    return dispute


def open_dispute_on(case: Case, dispute_id: int) -> Dispute | None:
    """A dispute of this case (and only this case)."""
    return db.session.scalar(select(Dispute).where(Dispute.id == dispute_id,
                                                   Dispute.case_id == case.id))


def client_timeline(case: Case, client_id: int) -> list[tuple[object, str, object]]:
    """What the client may read, newest first: (when, kind, record) where kind is "event",
    "call" (only calls whose note the caller shared) or "note" (the client's own notes and
    the agency's shareable ones)."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id == case.id, AuditEvent.client_visible.is_(True),
        AuditEvent.action != "case.note_added"))
    calls = db.session.scalars(select(CallLog).where(
        CallLog.case_id == case.id, CallLog.shareable.is_(True)))
    client_users = select(User.id).where(User.client_id == client_id)
    notes = db.session.scalars(select(CaseNote).where(
        CaseNote.case_id == case.id,
        or_(CaseNote.shareable.is_(True), CaseNote.author_id.in_(client_users))))
    rows = [(e.occurred_at, "event", e) for e in events]
    rows += [(c.started_at, "call", c) for c in calls]
    rows += [(n.created_at, "note", n) for n in notes]
    return sorted(rows, key=lambda row: _aware(row[0]), reverse=True)


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they are UTC (models store aware UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
