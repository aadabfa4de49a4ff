"""Delivery jobs: emails on the `mail` queue (many per SMTP connection), letters on `letters`."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date

from rq import Retry

from portal.documents.storage import sync_files
from portal.extensions import db
from portal.jobs import job_logger
from portal.models import DeliveryStatus, Notice, utcnow
from portal.queue import enqueue_after_commit
from portal.services import delivery, notices

# Transient SMTP trouble is retried with backoff; what is left fails visibly on the notice.
RETRY = Retry(max=3, interval=[30, 120, 600])
TRANSIENT = (smtplib.SMTPException, OSError)


def deliver_notice(notice_id: int) -> str:
    """Send or render one notice (kept for single sends and retries from the batch page)."""
    return deliver_notices([notice_id])[notice_id]


def deliver_notices(notice_ids: list[int]) -> dict[int, str]:
    """Deliver several notices; emails share one SMTP connection. Safe to run twice.

    The whole batch is claimed in one commit before anything goes out (no second worker
    takes these notices), then loaded in a few set queries. Every notice is rendered and
    written to disk, the files are flushed to the disk together, and only then is each one
    sent and recorded, in a commit of its own: a worker killed between a send and its
    commit sends at most that one message again (same Message-ID) once the claim's lease
    has passed.
    """
    log = job_logger(__name__)
    claimed = delivery.claim_many(notice_ids, utcnow())
    db.session.commit()  # the claims stand on their own before the first send
    results: dict[int, str] = {}
    retry: list[int] = []
    templates: dict = {}  # texts read once per job: an admin's edit shows in the next job
    with _keep_loaded(), ExitStack() as stack:
        connection = _LazySMTP(stack)
        loaded = delivery.load_many(claimed)
        drafts = notices.drafts_for(loaded.values())  # every case and balance in two queries
        ready: list[delivery.Ready] = []
        for notice_id in dict.fromkeys(notice_ids):  # an id listed twice is sent once
            notice = loaded.get(notice_id)
            if notice is None:
                results[notice_id] = "not ours"
            elif (reason := delivery.contact_refusal(notice)) is not None:
                delivery.cancel(notice, reason)
                db.session.commit()
                results[notice_id] = "cancelled"
            else:
                made = _prepare(notice, templates, drafts.get(notice_id))
                if isinstance(made, delivery.Ready):
                    ready.append(made)
                else:
                    results[notice_id] = made
        sync_files(item.file for item in ready)  # one flush: every file on disk first
        for item in ready:
            results[item.notice.id] = _send(item, connection, retry)
    if retry:
        enqueue_after_commit("mail", deliver_notices, retry, retry=RETRY)
        db.session.commit()
    log.info("delivered %s", results)
    return results


class _LazySMTP:
    """Opens the SMTP connection when the first email needs it (letters need none)."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._connection = None

    def send(self, message) -> None:
        if self._connection is None:
            self._connection = self._stack.enter_context(delivery.smtp_connection())
        self._connection.send(message)


@contextmanager
def _keep_loaded() -> Iterator[None]:
    """Commit without expiring the batch loaded up front, which would cost a reload of
    every notice, case and debtor after each send. Scoped to the job's loop."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def _prepare(notice: Notice, templates: dict, draft: notices.Draft | None) -> delivery.Ready | str:
    """The notice rendered and written, or its status when that failed (a template or PDF
    problem: retrying would not help)."""
    try:
        made = delivery.prepare(notice, templates, draft)
    except Exception as exc:
        return _failed(notice.id, exc, None)
    # Keep what rendering wrote (an old case's new access code, printed in this letter)
    # before a later notice's failure rolls the session back. Usually there is nothing.
    db.session.commit()
    return made


def _send(ready: delivery.Ready, connection: _LazySMTP, retry: list[int]) -> str:
    try:
        delivery.send(ready, connection)
    except TRANSIENT as exc:
        return _failed(ready.notice.id, exc, retry)
    except Exception as exc:
        return _failed(ready.notice.id, exc, None)
    db.session.commit()
    return str(DeliveryStatus.SENT)


def _failed(notice_id: int, exc: Exception, retry: list[int] | None) -> str:
    """Record the failure on the notice, where the batch page shows it."""
    db.session.rollback()
    notice = db.session.get(Notice, notice_id)
    if retry is None:
        notice.attempts = delivery.MAX_ATTEMPTS
    if delivery.fail(notice, f"{type(exc).__name__}: {exc}") and retry is not None:
        retry.append(notice_id)
    db.session.commit()
    return str(notice.status)


def post_room(day_iso: str) -> int | None:
    """Merge the day's letters into one PDF for the post room; returns its document id."""
    document = delivery.post_room_pdf(date.fromisoformat(day_iso))
    db.session.commit()
    return document.id if document else None
