"""Webhook jobs on the `default` queue: send one delivery; sweep up the ones due again."""

from __future__ import annotations

import requests

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import utcnow
from portal.queue import enqueue_after_commit
from portal.services import webhooks

TIMEOUT_SECONDS = 10
USER_AGENT = "IncassoPortal-Webhooks/1"


def deliver(delivery_id: int) -> str:
    """POST one delivery, signed; record the outcome. Safe to run twice: a delivery that is
    sent, given up or not yet due again is left alone."""
    log = job_logger(__name__)
    now = utcnow()
    delivery = webhooks.claim_due(delivery_id, now)
    if delivery is None:
        return "skipped"
    body = webhooks.encode(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.id),
        "X-Portal-Signature": webhooks.sign(delivery.endpoint.secret, body),
    }
    status, error = None, None
    try:
        response = requests.post(delivery.endpoint.url, data=body, headers=headers,
                                 timeout=TIMEOUT_SECONDS, allow_redirects=False)
        status = response.status_code
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    webhooks.record_attempt(delivery, status, error, utcnow())
    db.session.commit()
    log.info("webhook delivery %s: %s (attempt %s)", delivery_id, delivery.state,
             delivery.attempts)
    return str(delivery.state)


def retry_due_webhooks() -> int:
    """Re-enqueue every pending delivery whose next attempt has come (run every minute)."""
    ids = webhooks.due_ids(utcnow())
    for delivery_id in ids:
        enqueue_after_commit("default", deliver, delivery_id)
    db.session.commit()
    return len(ids)
