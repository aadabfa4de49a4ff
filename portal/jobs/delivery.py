"""Delivery jobs: emails on the `mail` queue (many per SMTP connection), letters on `letters`."""

from __future__ import annotations

import smtplib
from contextlib import ExitStack
from datetime import date

from rq import Retry

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import Channel, DeliveryStatus, Notice, utcnow
from portal.queue import enqueue_after_commit
from portal.services import delivery

# Transient SMTP trouble is retried with backoff; what is left fails visibly on the notice.
RETRY = Retry(max=3, interval=[30, 120, 600])
TRANSIENT = (smtplib.SMTPException, OSError)


def deliver_notice(notice_id: int) -> str:
    """Send or render one notice (kept for single sends and retries from the batch page)."""
    return deliver_notices([notice_id])[notice_id]


def deliver_notices(notice_ids: list[int]) -> dict[int, str]:
    """Deliver several notices; emails share one SMTP connection. Safe to run twice."""
    log = job_logger(__name__)
    results: dict[int, str] = {}
    retry: list[int] = []
    with ExitStack() as stack:
        connection = _LazySMTP(stack)
        for notice_id in notice_ids:
            results[notice_id] = _deliver_one(notice_id, connection, retry)
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


def _deliver_one(notice_id: int, connection: _LazySMTP, retry: list[int]) -> str:
    notice = delivery.claim(notice_id, utcnow())
    db.session.commit()  # the claim stands on its own: no second worker takes this notice
    if notice is None:
        return "not ours"
    notice = delivery.load(notice_id)
    reason = delivery.contact_refusal(notice)
    if reason:
        delivery.cancel(notice, reason)
        db.session.commit()
        return "cancelled"
    try:
        if notice.channel == Channel.EMAIL:
            delivery.send_email(notice, connection)
        else:
            delivery.make_letter(notice)
    except TRANSIENT as exc:
        return _failed(notice_id, exc, retry)
    except Exception as exc:  # a template or PDF problem: retrying would not help
        return _failed(notice_id, exc, None)
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
