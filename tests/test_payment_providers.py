"""The payment providers: Mollie against recorded API responses, the registry, the settings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import responses
from sqlalchemy import select

from portal.extensions import db
from portal.models import Bucket, CaseStatus, EntryCause, LedgerEntry, Payment, PaymentStatus
from portal.payments import ProviderError, UnknownProvider, get_provider
from portal.payments.mollie import MollieProvider
from portal.services import ledger
from portal.services import payments as payments_service
from tests.pages import csrf_token
from tests.test_config import PRODUCTION, run_app

FIXTURES = Path(__file__).parent / "fixtures" / "mollie"
API = "https://api.mollie.com/v2/payments"
KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
TODAY = date(2026, 3, 2)


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def mollie(app, monkeypatch):
    app.config.update(PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=KEY,
                      PUBLIC_URL="https://portal.example")
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: None)
    with responses.RequestsMock() as api:
        yield api


@pytest.fixture
def case(make):
    case, _code = make.case(amounts=(100_00,))
    case.status = CaseStatus.ACTIVE
    case.debtor.language = "en"
    db.session.commit()
    return case


def start(mollie, case, amount=50_00) -> Payment:
    mollie.post(API, json=recorded("payment_created"), status=201)
    payment = payments_service.start_payment(case, amount, today=TODAY)
    db.session.commit()
    return payment


def test_create_sends_the_amount_and_our_urls_and_keeps_the_checkout(mollie, case):
    payment = start(mollie, case)
    sent = mollie.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(sent.body)
    assert body["amount"] == {"currency": "EUR", "value": "50.00"}
    assert body["description"].startswith(case.reference)
    assert body["redirectUrl"] == f"https://portal.example/pay/payments/{payment.id}"
    assert body["webhookUrl"] == "https://portal.example/payments/webhook/mollie"
    assert body["metadata"] == {"payment_id": payment.id}
    assert (payment.provider, payment.provider_ref) == ("mollie", "tr_WDqYK6vllg")
    assert payment.checkout_url == "https://www.mollie.com/checkout/select-method/WDqYK6vllg"


def test_no_webhook_is_sent_for_a_local_address(app, mollie, case):
    """Mollie refuses a webhook it cannot reach; on a laptop the return page asks instead."""
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    start(mollie, case)
    assert "webhookUrl" not in json.loads(mollie.calls[0].request.body)


@pytest.mark.parametrize(("fixture", "status", "method", "paid_at"), [
    ("payment_created", PaymentStatus.OPEN, None, None),
    ("payment_pending", PaymentStatus.PENDING, "ideal", None),
    ("payment_paid", PaymentStatus.PAID, "ideal", datetime(2026, 3, 2, 9, 3, 12, tzinfo=UTC)),
    ("payment_failed", PaymentStatus.FAILED, "creditcard", None),
    ("payment_canceled", PaymentStatus.CANCELED, "ideal", None),
    ("payment_expired", PaymentStatus.EXPIRED, None, None),
])
def test_fetch_maps_mollie_statuses(app, mollie, fixture, status, method, paid_at):
    mollie.get(f"{API}/tr_WDqYK6vllg", json=recorded(fixture))
    found = get_provider("mollie").fetch("tr_WDqYK6vllg")
    assert (found.status, found.method, found.paid_at, found.amount_cents) == (
        status, method, paid_at, 50_00)


def test_authorized_waits_like_pending(app, mollie):
    mollie.get(f"{API}/tr_WDqYK6vllg", json={**recorded("payment_pending"),
                                             "status": "authorized"})
    assert get_provider("mollie").fetch("tr_WDqYK6vllg").status == PaymentStatus.PENDING


@pytest.mark.parametrize(("fixture", "status", "words"), [
    ("error_unauthorized", 401, "Missing authentication"),
    ("error_amount", 422, "lower than the minimum"),
])
def test_an_api_error_is_a_clear_provider_error(app, mollie, case, fixture, status, words):
    mollie.post(API, json=recorded(fixture), status=status)
    with pytest.raises(ProviderError, match=f"mollie: could not create the payment: .*{words}"):
        payments_service.start_payment(case, 50_00, today=TODAY)
    mollie.get(f"{API}/tr_WDqYK6vllg", json=recorded(fixture), status=status)
    with pytest.raises(ProviderError, match="mollie: could not fetch payment tr_WDqYK6vllg"):
        get_provider("mollie").fetch("tr_WDqYK6vllg")


def test_an_unknown_status_is_refused(app, mollie):
    mollie.get(f"{API}/tr_WDqYK6vllg", json={**recorded("payment_paid"), "status": "weird"})
    with pytest.raises(ProviderError, match="unknown status 'weird'"):
        get_provider("mollie").fetch("tr_WDqYK6vllg")


def test_without_a_key_mollie_says_so(app):
    app.config["MOLLIE_API_KEY"] = None
    with pytest.raises(ProviderError, match="MOLLIE_API_KEY is not set"):
        MollieProvider()


def test_the_registry_knows_two_providers(app):
    assert get_provider().name == "sandbox"  # the default
    assert get_provider("sandbox").name == "sandbox"
    with pytest.raises(UnknownProvider):
        get_provider("stripe")


def test_the_mollie_webhook_fetches_and_books(app, client, mollie, case):
    payment = start(mollie, case)
    mollie.get(f"{API}/tr_WDqYK6vllg", json=recorded("payment_paid"))
    for _ in range(3):
        assert client.post("/payments/webhook/mollie", data={"id": "tr_WDqYK6vllg"}).status_code \
            == 200
    db.session.expire_all()
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.method) == (PaymentStatus.PAID, "ideal")
    assert payment.paid_at == datetime(2026, 3, 2, 9, 3, 12, tzinfo=UTC)
    entries = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.cause == EntryCause.PAYMENT)).all()
    assert [(e.bucket, e.amount_cents) for e in entries] == [(Bucket.PRINCIPAL, -50_00)]


def test_the_webhook_answers_503_when_mollie_is_down(app, client, mollie, case):
    """Mollie then calls again later; nothing is booked meanwhile."""
    start(mollie, case)
    mollie.get(f"{API}/tr_WDqYK6vllg", json={"status": 503, "title": "Service Unavailable",
                                             "detail": "Try again later"}, status=503)
    assert client.post("/payments/webhook/mollie", data={"id": "tr_WDqYK6vllg"}).status_code \
        == 503


def test_an_amount_mollie_disagrees_with_is_not_booked(app, client, mollie, case):
    payment = start(mollie, case)
    paid = recorded("payment_paid")
    mollie.get(f"{API}/tr_WDqYK6vllg", json={**paid, "amount": {"value": "5.00",
                                                                "currency": "EUR"}})
    client.post("/payments/webhook/mollie", data={"id": "tr_WDqYK6vllg"})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).booked_at is None
    assert ledger.balance(case).total == 100_00


def test_an_external_checkout_is_a_link_not_a_redirect(app, client, mollie, case):
    """The case page's CSP (form-action 'self') blocks a redirect to another site after a
    form post, so the debtor gets a page with a plain link to Mollie."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as session:
        session["debtor_id"] = case.debtor_id
    token = csrf_token(client.get(f"/pay/cases/{case.id}").text)
    mollie.post(API, json=recorded("payment_created"), status=201)
    response = client.post(f"/pay/cases/{case.id}/payments",
                           data={"csrf_token": token, "amount": "50"})
    assert response.status_code == 200
    assert 'href="https://www.mollie.com/checkout/select-method/WDqYK6vllg"' in response.text
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]


def test_the_provider_being_down_is_said_plainly(app, client, mollie, case):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as session:
        session["debtor_id"] = case.debtor_id
    token = csrf_token(client.get(f"/pay/cases/{case.id}").text)
    mollie.post(API, json=recorded("error_unauthorized"), status=401)
    response = client.post(f"/pay/cases/{case.id}/payments",
                           data={"csrf_token": token, "whole": "1"})
    assert response.status_code == 503
    assert "We could not reach the payment service. Nothing was paid." in response.text
    assert db.session.scalar(select(Payment)) is None


def test_production_refuses_mollie_without_a_key():
    result = run_app({**PRODUCTION, "PAYMENT_PROVIDER": "mollie"})
    assert result.returncode != 0
    assert "Production needs these environment variables: MOLLIE_API_KEY" in result.stderr
    assert run_app({**PRODUCTION, "PAYMENT_PROVIDER": "mollie", "MOLLIE_API_KEY": KEY}) \
        .returncode == 0
