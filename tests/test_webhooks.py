"""Webhooks: one delivery per event and endpoint, signed, retried with backoff, given up."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta

import pytest
import responses

from portal.extensions import db
from portal.jobs.webhooks import deliver, retry_due_webhooks
from portal.models import DeliveryState, WebhookDelivery, utcnow
from portal.services import case_status, webhooks

URL = "https://erp.example.com/hooks/incasso"


@pytest.fixture
def hooked(make):
    """A case whose client has one active and one removed endpoint."""
    case, _code = make.case()
    endpoint = webhooks.add_endpoint(case.client_id, URL, None)
    gone = webhooks.add_endpoint(case.client_id, "https://old.example.com/x", None)
    webhooks.deactivate(gone, None)
    db.session.commit()
    return case, endpoint


def deliveries() -> list[WebhookDelivery]:
    return list(db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_an_event_is_delivered_once_per_active_endpoint(hooked, queued_jobs):
    case, endpoint = hooked
    for _ in range(3):
        webhooks.notify(case, "payment.received", {"amount_cents": 500}, "payment:7")
        db.session.commit()
    (delivery,) = deliveries()
    assert delivery.endpoint_id == endpoint.id and delivery.event_key == "payment:7"
    assert queued_jobs.names == [("default", "portal.jobs.webhooks.deliver")]


@responses.activate
def test_delivery_is_signed_with_the_endpoint_secret(hooked, queued_jobs):
    case, endpoint = hooked
    responses.post(URL, status=204)
    webhooks.notify(case, "payment.received", {"amount_cents": 500}, "payment:8")
    db.session.commit()
    assert queued_jobs.run() == ["sent"]
    (call,) = responses.calls
    body = call.request.body
    expected = hmac.new(endpoint.secret.encode(), body, hashlib.sha256).hexdigest()
    assert call.request.headers["X-Portal-Signature"] == f"sha256={expected}"
    assert call.request.headers["X-Portal-Event"] == "payment.received"
    assert json.loads(body) == {"event": "payment.received", "case_reference": case.reference,
                                "amount_cents": 500}
    (delivery,) = deliveries()
    assert call.request.headers["X-Portal-Delivery"] == str(delivery.id)
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 1


@responses.activate
def test_a_failing_endpoint_is_retried_with_backoff_then_given_up(hooked, queued_jobs):
    case, _endpoint = hooked
    responses.post(URL, status=500)
    webhooks.notify(case, "payment.received", {}, "payment:9")
    db.session.commit()
    (delivery_id,) = [d.id for d in deliveries()]
    waits = []
    for attempt in range(1, 7):
        started = utcnow()
        deliver(delivery_id)
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery.attempts == attempt and delivery.last_status == 500
        if delivery.next_attempt_at:
            waits.append(round((delivery.next_attempt_at - started).total_seconds() / 60))
            assert deliver(delivery_id) == "skipped"  # not due yet
            delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
            db.session.commit()
    assert waits == [1, 5, 30, 120, 720]
    assert delivery.state == DeliveryState.FAILED
    assert len(responses.calls) == 6


@responses.activate
def test_the_sweeper_enqueues_due_deliveries_only(hooked, queued_jobs):
    case, _endpoint = hooked
    webhooks.notify(case, "payment.received", {}, "payment:10")
    webhooks.notify(case, "payment.received", {}, "payment:11")
    db.session.commit()
    queued_jobs.jobs.clear()
    due, later = deliveries()
    later.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert retry_due_webhooks() == 1
    assert [args for _q, _f, args, _k in queued_jobs.jobs] == [(due.id,)]


def test_a_status_change_emits_one_event(hooked, queued_jobs):
    case, _endpoint = hooked
    today = date(2026, 3, 2)
    case.on_hold_until = today + timedelta(days=10)
    case_status.refresh(case, today)
    case_status.refresh(case, today)  # no change: nothing more
    db.session.commit()
    (delivery,) = deliveries()
    assert delivery.event == "case.status_changed"
    assert delivery.payload["status"] == "on_hold" and delivery.payload["old_status"] == "new"


def test_no_endpoint_no_delivery(make, queued_jobs):
    case, _code = make.case()
    assert webhooks.notify(case, "payment.received", {}, "payment:1") == []
    db.session.commit()
    assert deliveries() == [] and queued_jobs.names == []
