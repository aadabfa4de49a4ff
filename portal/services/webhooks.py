"""Webhooks: tell a client's own systems about payments and status changes.

`notify` adds one delivery per active endpoint of the case's client; the unique
(endpoint, event_key) lets the database refuse a second delivery of one event, however
often the service that emits it runs. The `default` queue sends them (portal.jobs.webhooks),
signed with the endpoint's secret and retried with backoff until accepted or given up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import (
    Case,
    DeliveryState,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from portal.queue import enqueue_after_commit
from portal.services import audit

DELIVER = "portal.jobs.webhooks.deliver"
# Waits after the 1st, 2nd, ... failed attempt; the 6th failure gives up.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=12))
MAX_ATTEMPTS = 6
EVENTS = ("payment.received", "case.status_changed")


def notify(case: Case, event: str, payload: dict[str, Any], event_key: str) -> list[int]:
    """Queue `event` for every active endpoint of the case's client; the new delivery ids.

    An event already queued for an endpoint (same event_key) is not queued again.
    """
    endpoint_ids = list(db.session.scalars(select(WebhookEndpoint.id).where(
        WebhookEndpoint.client_id == case.client_id, WebhookEndpoint.active.is_(True))))
    if not endpoint_ids:
        return []
    body = {"event": event, "case_reference": case.reference, **payload}
    now = utcnow()
    rows = [{"endpoint_id": endpoint_id, "event": event, "event_key": event_key[:120],
             "payload": body, "state": DeliveryState.PENDING, "attempts": 0,
             "next_attempt_at": now, "created_at": now} for endpoint_id in endpoint_ids]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(WebhookDelivery).values(rows).on_conflict_do_nothing()
            .returning(WebhookDelivery.id))
    ids = list(db.session.scalars(stmt))
    for delivery_id in ids:
        enqueue_after_commit("default", DELIVER, delivery_id)
    return ids


def sign(secret: str, body: bytes) -> str:
    """The X-Portal-Signature header: the body's HMAC-SHA256 with the endpoint's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"),
                      default=str).encode()


def claim_due(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """The delivery if it should be tried now (pending and due), else None."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return None
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return None
    if not delivery.endpoint.active:
        return None
    return delivery


def record_attempt(delivery: WebhookDelivery, status: int | None, error: str | None,
                   now: datetime) -> None:
    """Sent on a 2xx; otherwise wait longer each time, and give up after MAX_ATTEMPTS."""
    delivery.attempts += 1
    delivery.last_status = status
    if status is not None and 200 <= status < 300:
        delivery.state, delivery.sent_at, delivery.last_error = DeliveryState.SENT, now, None
        delivery.next_attempt_at = None
    else:
        delivery.last_error = (error or f"HTTP {status}")[:2000]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
    db.session.flush()


def due_ids(now: datetime, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt has come (the sweeper re-enqueues them)."""
    return list(db.session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.state == DeliveryState.PENDING,
                                         WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)))


# --- endpoints, managed by the client on /client/api ------------------------------------


def add_endpoint(client_id: int, url: str, user: User | None) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (shown to the client once)."""
    endpoint = WebhookEndpoint(client_id=client_id, url=url, secret="whsec_" +
                               secrets.token_urlsafe(32))
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.added", f"Webhook endpoint {url} added", user=user,
                 client_id=client_id, client_visible=False, endpoint_id=endpoint.id)
    return endpoint


def deactivate(endpoint: WebhookEndpoint, user: User | None) -> None:
    """Stop sending to the endpoint; waiting deliveries are not sent."""
    if endpoint.active:
        endpoint.active = False
        audit.record("webhook.removed", f"Webhook endpoint {endpoint.url} removed", user=user,
                     client_id=endpoint.client_id, client_visible=False,
                     endpoint_id=endpoint.id)
        db.session.flush()


def endpoints(client_id: int) -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.client_id == client_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)))


def recent_deliveries(client_id: int, limit: int = 20) -> list[WebhookDelivery]:
    return list(db.session.scalars(
        select(WebhookDelivery).join(WebhookEndpoint)
        .where(WebhookEndpoint.client_id == client_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)))
