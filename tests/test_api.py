"""The JSON API: tokens, claims with idempotency, a case's status, payments since a day."""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import ApiToken, Bucket, Case, EntryCause, IdempotencyKey, Role
from portal.services import api_tokens, ledger, webhooks
from tests.conftest import FreshContextClient
from tests.factories import Factory

CLAIM = {
    "debtor": {"name": "Jan Jansen", "kind": "person", "email": "Jan@Example.NL",
               "phone": "06 12345678", "country": "NL", "language": "nl"},
    "invoices": [
        {"number": "F-1001", "invoice_date": "2026-01-05", "due_date": "2026-02-04",
         "amount_cents": 12_550},
        {"number": "F-1002", "invoice_date": "2026-01-20", "due_date": "2026-02-19",
         "amount_cents": 4_000, "description": "Onderhoud"},
    ],
}


@pytest.fixture
def api(make):
    """A client with a token; returns (client record, headers)."""
    firm = make.client()
    _token, plain = api_tokens.issue(firm, "Boekhouding", None)
    db.session.commit()
    return firm, {"Authorization": f"Bearer {plain}"}


def cases_of(firm) -> list[Case]:
    return list(db.session.scalars(db.select(Case).where(Case.client_id == firm.id)))


@pytest.mark.parametrize("header", [None, "Bearer ip_wrong", "Basic abc", "Bearer "])
def test_no_or_wrong_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/payments?since=2026-01-01", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, api):
    firm, headers = api
    assert client.get("/api/v1/payments?since=2026-01-01", headers=headers).status_code == 200
    api_tokens.revoke(db.session.scalar(db.select(ApiToken)), None)
    db.session.commit()
    assert client.get("/api/v1/payments?since=2026-01-01", headers=headers).status_code == 401


def test_token_is_stored_hashed_and_remembers_its_last_use(client, api):
    firm, headers = api
    plain = headers["Authorization"].split()[1]
    token = db.session.scalar(db.select(ApiToken))
    assert plain.startswith("ip_") and token.prefix == plain[:10]
    assert plain not in (token.token_hash, token.prefix) and len(token.token_hash) == 64
    assert token.last_used_at is None
    client.get("/api/v1/payments?since=2026-01-01", headers=headers)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_claim_opens_a_case_with_normalised_debtor(client, api):
    firm, headers = api
    response = client.post("/api/v1/claims", json=CLAIM, headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "new"
    assert [i["number"] for i in body["invoices"]] == ["F-1001", "F-1002"]
    assert body["balance"]["outstanding_total"] == 16_550
    (case,) = cases_of(firm)
    assert case.reference == body["reference"]
    assert case.debtor.email == "Jan@example.nl"
    assert case.debtor.phone == "+31612345678"


def test_same_idempotency_key_twice_gives_one_case_and_the_same_answer(client, api):
    firm, headers = api
    keyed = {**headers, "Idempotency-Key": "import-42"}
    first = client.post("/api/v1/claims", json=CLAIM, headers=keyed)
    again = client.post("/api/v1/claims", json=CLAIM, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert len(cases_of(firm)) == 1


def test_same_key_with_another_body_is_422_and_creates_nothing(client, api):
    firm, headers = api
    keyed = {**headers, "Idempotency-Key": "import-43"}
    client.post("/api/v1/claims", json=CLAIM, headers=keyed)
    other = {**CLAIM, "invoices": [{**CLAIM["invoices"][0], "number": "F-9999"}]}
    response = client.post("/api/v1/claims", json=other, headers=keyed)
    assert response.status_code == 422
    assert response.json["error"] == "idempotency_key_reused"
    assert len(cases_of(firm)) == 1


def test_keys_are_per_client(client, api, make):
    firm, headers = api
    other_firm = make.client()
    _t, plain = api_tokens.issue(other_firm, "x", None)
    db.session.commit()
    client.post("/api/v1/claims", json=CLAIM, headers={**headers, "Idempotency-Key": "k"})
    response = client.post("/api/v1/claims", json=CLAIM, headers={
        "Authorization": f"Bearer {plain}", "Idempotency-Key": "k"})
    assert response.status_code == 201
    assert len(cases_of(other_firm)) == 1


BAD = [
    ("debtor.name", {"debtor": {"email": "a@example.nl"}}),
    ("debtor.email", {"debtor": {"name": "A", "email": "not-an-email"}}),
    ("debtor.phone", {"debtor": {"name": "A", "phone": "12"}}),
    ("debtor.kind", {"debtor": {"name": "A", "kind": "alien"}}),
    ("debtor.language", {"debtor": {"name": "A", "language": "fr"}}),
    ("invoices[0].amount_cents", {"invoices": [{**CLAIM["invoices"][0], "amount_cents": "12.50"}]}),
    ("invoices[0].amount_cents", {"invoices": [{**CLAIM["invoices"][0], "amount_cents": 0}]}),
    ("invoices[0].due_date", {"invoices": [{**CLAIM["invoices"][0], "due_date": "2025-12-01"}]}),
    ("invoices[0].invoice_date", {"invoices": [{**CLAIM["invoices"][0], "invoice_date": "5 jan"}]}),
    ("invoices[0].currency", {"invoices": [{**CLAIM["invoices"][0], "currency": "USD"}]}),
    ("invoices[1].number", {"invoices": [CLAIM["invoices"][0], CLAIM["invoices"][0]]}),
    ("invoices", {"invoices": []}),
    ("debtor", {"debtor": "Jan"}),
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f for f, _ in BAD])
def test_validation_errors_are_422_naming_the_field(client, api, field, change):
    firm, headers = api
    response = client.post("/api/v1/claims", json={**CLAIM, **change}, headers=headers)
    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    assert field in response.json["fields"], response.json["fields"]
    assert cases_of(firm) == []


def test_body_that_is_not_json_is_422(client, api):
    _firm, headers = api
    response = client.post("/api/v1/claims", data="nope", headers=headers)
    assert response.status_code == 422


def test_invoices_handed_over_before_are_409_naming_them(client, api):
    firm, headers = api
    client.post("/api/v1/claims", json=CLAIM, headers=headers)
    again = {**CLAIM, "invoices": [{**CLAIM["invoices"][0], "number": "F-2000"},
                                   CLAIM["invoices"][1]]}
    response = client.post("/api/v1/claims", json=again, headers=headers)
    assert response.status_code == 409
    assert response.json["invoices"] == ["F-1002"]
    assert len(cases_of(firm)) == 1


def test_a_keyed_refusal_is_replayed(client, api):
    firm, headers = api
    keyed = {**headers, "Idempotency-Key": "bad-1"}
    bad = {**CLAIM, "debtor": {"name": ""}}
    assert client.post("/api/v1/claims", json=bad, headers=keyed).status_code == 422
    assert client.post("/api/v1/claims", json=bad, headers=keyed).status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(IdempotencyKey)) == 1


def test_case_by_reference(client, api):
    firm, headers = api
    reference = client.post("/api/v1/claims", json=CLAIM, headers=headers).json["reference"]
    response = client.get(f"/api/v1/cases/{reference}", headers=headers)
    assert response.status_code == 200
    body = response.json
    assert body["reference"] == reference
    assert body["balance"]["charged"]["principal"] == 16_550
    assert body["balance"]["paid"] == 0
    assert body["last_action"]["action"] in {"case.opened", "case.api_handover"}


def test_another_clients_case_is_404_like_a_missing_one(client, api, make):
    _firm, headers = api
    theirs, _code = make.case()
    db.session.commit()
    other = client.get(f"/api/v1/cases/{theirs.reference}", headers=headers)
    missing = client.get("/api/v1/cases/K-1999-999999", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert other.json == missing.json


def _pay(case, cents, ref, day):
    ledger.book(case, Bucket.COSTS, -min(cents, 1000), EntryCause.PAYMENT, "p", booked_on=day,
                cause_ref=ref)
    if cents > 1000:
        ledger.book(case, Bucket.PRINCIPAL, -(cents - 1000), EntryCause.PAYMENT, "p",
                    booked_on=day, cause_ref=ref)


def test_payments_since_a_day_grouped_per_payment_and_paged(client, api, make):
    firm, headers = api
    mine, _ = make.case(client=firm, amounts=(500_00,))
    theirs, _ = make.case(amounts=(500_00,))
    _pay(mine, 50_00, "payment:1", date(2026, 2, 1))  # before `since`
    _pay(mine, 25_00, "payment:2", date(2026, 3, 1))
    _pay(mine, 7_00, "payment:3", date(2026, 3, 2))
    _pay(mine, 30_00, "payment:4", date(2026, 3, 3))
    _pay(theirs, 99_00, "payment:5", date(2026, 3, 2))
    db.session.commit()
    first = client.get("/api/v1/payments?since=2026-03-01&limit=2", headers=headers)
    assert first.status_code == 200
    assert [(p["id"], p["amount_cents"], p["booked_on"]) for p in first.json["payments"]] == [
        ("payment:2", 25_00, "2026-03-01"), ("payment:3", 7_00, "2026-03-02")]
    assert first.json["payments"][0]["case_reference"] == mine.reference
    second = client.get(f"/api/v1/payments?since=2026-03-01&limit=2&cursor={first.json['next']}",
                        headers=headers)
    assert [p["id"] for p in second.json["payments"]] == ["payment:4"]
    assert second.json["next"] is None


@pytest.mark.parametrize("query", ["", "since=yesterday", "since=2026-03-01&limit=0",
                                   "since=2026-03-01&cursor=abc"])
def test_payments_bad_query_is_422(client, api, query):
    _firm, headers = api
    response = client.get(f"/api/v1/payments?{query}", headers=headers)
    assert response.status_code == 422
    assert response.json["fields"]


def test_rate_limit_per_token(tmp_path, smtp_server):
    """API_RATE_LIMIT requests a minute per token, then 429 as a problem object; another
    token has its own count."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'limited.sqlite3'}",
                      "REDIS_URL": None, "RATELIMIT_ENABLED": True,
                      "API_RATE_LIMIT": "2 per minute"})
    app.test_client_class = FreshContextClient
    with app.app_context():
        db.create_all()
        factory = Factory()
        plains = [api_tokens.issue(factory.client(), "t", None)[1] for _ in range(2)]
        db.session.commit()
        test_client = app.test_client()
        answers = [test_client.get("/api/v1/payments?since=2026-01-01",
                                   headers={"Authorization": f"Bearer {plain}"})
                   for plain in (plains[0], plains[0], plains[0], plains[1])]
        assert [a.status_code for a in answers] == [200, 200, 429, 200]
        assert answers[2].json["error"] == "rate_limited"
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_openapi_document_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule.removeprefix("/api/v1"))
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    assert routes == set(doc["paths"])
    assert {"paymentReceived", "caseStatusChanged"} <= set(doc["webhooks"])
    refs = _refs(doc)
    assert refs and all(r.split("/")[-1] in doc["components"]["schemas"] for r in refs)


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# --- the client's API page -----------------------------------------------------------------


@pytest.fixture
def client_user(make, login, client):
    firm = make.client()
    user = make.user(Role.CLIENT, client=firm, language="en")
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(user)
    return user


def csrf(client) -> str:
    page = client.get("/client/api").text
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_token_page_shows_the_token_once_and_it_works(client, client_user):
    response = client.post("/client/api/tokens", data={"name": "Exact", "csrf_token": csrf(client)})
    assert response.status_code == 200
    plain = response.text.split('id="new-token" class="api-plain" type="text" readonly value="')[1]
    plain = plain.split('"', 1)[0]
    assert plain.startswith("ip_")
    again = client.get("/client/api").text
    assert plain not in again and plain[:10] in again and "Exact" in again
    assert client.get("/api/v1/payments?since=2026-01-01",
                      headers={"Authorization": f"Bearer {plain}"}).status_code == 200


def test_revoking_from_the_page(client, client_user):
    token, plain = api_tokens.issue(client_user.client, "old", client_user)
    db.session.commit()
    response = client.post(f"/client/api/tokens/{token.id}/revoke",
                           data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert client.get("/api/v1/payments?since=2026-01-01",
                      headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_another_clients_token_or_endpoint_is_404(client, client_user, make):
    other = make.client()
    token, _plain = api_tokens.issue(other, "theirs", None)
    endpoint = webhooks.add_endpoint(other.id, "https://them.example.com/h", None)
    db.session.commit()
    token_csrf = csrf(client)
    assert client.post(f"/client/api/tokens/{token.id}/revoke",
                       data={"csrf_token": token_csrf}).status_code == 404
    assert client.post(f"/client/api/webhooks/{endpoint.id}/remove",
                       data={"csrf_token": token_csrf}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


@pytest.mark.parametrize("url", ["http://erp.example.com/h", "ftp://x", "https://",
                                 "https://user:pw@erp.example.com/h", ""])
def test_webhook_address_must_be_https(client, client_user, url):
    response = client.post("/client/api/webhooks", data={"url": url, "csrf_token": csrf(client)})
    assert response.status_code == 422
    assert webhooks.endpoints(client_user.client_id) == []


def test_adding_a_webhook_shows_its_secret_once(client, client_user):
    response = client.post("/client/api/webhooks", data={
        "url": "https://erp.example.com/h", "csrf_token": csrf(client)})
    assert response.status_code == 200
    (endpoint,) = webhooks.endpoints(client_user.client_id)
    assert endpoint.secret in response.text
    assert endpoint.secret not in client.get("/client/api").text
