"""The debtor's ways in: reference + access code (locked after five misses), or a signed link."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Case, Role, utcnow
from portal.services import debtor_access
from tests.pages import csrf_token, flashes

WRONG_CODE = "ZZZZ-ZZZZ"
NOT_FOUND = "We could not find that combination of reference and access code."
LOCKED = "this reference is locked for 15 minutes"
LINK_REFUSED = "This link has expired."


def enter(test_client, reference: str, code: str):
    """Fill in the sign-in form of /pay as a debtor would."""
    token = csrf_token(test_client.get("/pay/").text)
    return test_client.post("/pay/", data={"reference": reference, "code": code,
                                           "csrf_token": token})


def signed_in_debtor(test_client) -> int | None:
    with test_client.session_transaction() as session:
        return session.get("debtor_id")


def audit_actions(case: Case) -> list[str]:
    return list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
    ))


@pytest.fixture(autouse=True)
def english(client):
    """Read messages in English: the source language, so no catalogue can change them."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def letter(make):
    """A case and the access code printed on its letter."""
    case, code = make.case()
    db.session.commit()
    return case, code


# -- reference and access code ---------------------------------------------------------

@pytest.mark.parametrize(("typed_reference", "typed_code"), [
    (lambda ref: ref, lambda code: code),
    (lambda ref: ref.lower(), lambda code: code.lower()),
    (lambda ref: f"  {ref.replace('-', ' ')} ", lambda code: code.replace("-", "")),
    (lambda ref: ref.replace("-", ""), lambda code: f" {code[:4]} {code[5:].lower()} "),
], ids=["as printed", "lower case", "spaces for dashes", "no dashes"])
def test_sign_in_with_reference_and_code(client, letter, typed_reference, typed_code):
    case, code = letter
    response = enter(client, typed_reference(case.reference), typed_code(code))
    assert response.status_code == 302
    assert response.headers["Location"] == "/pay/cases"
    assert signed_in_debtor(client) == case.debtor_id
    assert case.reference in client.get("/pay/cases").text


@pytest.mark.parametrize("mistake", ["wrong code", "unknown reference", "not a reference"])
def test_a_wrong_combination_is_refused_without_telling_which_part(client, letter, mistake):
    case, code = letter
    reference = {"unknown reference": "K-1999-000001", "not a reference": "hello"}.get(
        mistake, case.reference)
    response = enter(client, reference, WRONG_CODE if mistake == "wrong code" else code)
    assert response.status_code == 422
    assert NOT_FOUND in response.text
    assert signed_in_debtor(client) is None


def test_an_empty_form_is_sent_back_with_422(client):
    token = csrf_token(client.get("/pay/").text)
    response = client.post("/pay/", data={"reference": "", "code": "", "csrf_token": token})
    assert response.status_code == 422
    assert "Fill in the reference from your letter." in response.text


def test_five_wrong_codes_lock_the_reference(client, letter):
    case, code = letter
    answers = [enter(client, case.reference, WRONG_CODE).text for _ in range(5)]
    assert all(NOT_FOUND in text for text in answers[:4])
    assert LOCKED in answers[4]
    refused = enter(client, case.reference, code)
    assert refused.status_code == 422
    assert LOCKED in refused.text
    assert signed_in_debtor(client) is None


@pytest.mark.parametrize(("minutes_later", "opens"), [(14, False), (16, True)])
def test_the_lock_lasts_fifteen_minutes(client, letter, monkeypatch, minutes_later, opens):
    case, code = letter
    for _ in range(5):
        enter(client, case.reference, WRONG_CODE)
    later = utcnow() + timedelta(minutes=minutes_later)
    monkeypatch.setattr("portal.services.debtor_access.utcnow", lambda: later)
    response = enter(client, case.reference, code)
    assert (response.status_code == 302) is opens
    assert (signed_in_debtor(client) == case.debtor_id) is opens


def test_after_the_lock_the_count_starts_again(client, letter, monkeypatch):
    case, code = letter
    for _ in range(5):
        enter(client, case.reference, WRONG_CODE)
    later = utcnow() + timedelta(minutes=16)
    monkeypatch.setattr("portal.services.debtor_access.utcnow", lambda: later)
    assert NOT_FOUND in enter(client, case.reference, WRONG_CODE).text
    assert enter(client, case.reference, code).status_code == 302


def test_a_right_code_clears_earlier_misses(client, letter):
    case, code = letter
    for _ in range(4):
        enter(client, case.reference, WRONG_CODE)
    assert enter(client, case.reference, code).status_code == 302
    assert NOT_FOUND in enter(client, case.reference, WRONG_CODE).text


def test_the_lock_is_per_reference(client, make):
    debtor = make.debtor()
    locked, _ = make.case(debtor=debtor)
    other, other_code = make.case(debtor=debtor)
    db.session.commit()
    for _ in range(5):
        enter(client, locked.reference, WRONG_CODE)
    assert enter(client, other.reference, other_code).status_code == 302


def test_misses_and_locks_are_audited_out_of_the_clients_sight(client, letter):
    case, code = letter
    for _ in range(5):
        enter(client, case.reference, WRONG_CODE)
    enter(client, case.reference, code)
    actions = audit_actions(case)
    assert actions.count("debtor.wrong_code") == 5
    assert actions.count("debtor.locked") == 1
    assert actions.count("debtor.refused_locked") == 1
    hidden = db.session.scalars(
        select(AuditEvent.client_visible).where(AuditEvent.action.like("debtor.%"))
    ).all()
    assert hidden and not any(hidden)


def test_signing_in_is_audited(client, letter):
    case, code = letter
    enter(client, case.reference, code)
    assert "debtor.signed_in" in audit_actions(case)


# -- the signed link -------------------------------------------------------------------

def test_a_signed_link_signs_in(client, letter):
    case, _ = letter
    response = client.get(f"/pay/l/{debtor_access.link_token(case)}")
    assert response.headers["Location"] == "/pay/cases"
    assert signed_in_debtor(client) == case.debtor_id


def point_at_next_case(token: str) -> str:
    """The attack: keep the signature, edit the case id in the payload."""
    payload, rest = token.split(".", 1)
    data = json.loads(base64_decode(payload))
    data["case"] += 1
    return base64_encode(json.dumps(data, separators=(",", ":"))).decode() + "." + rest


def signed_elsewhere(case: Case) -> str:
    """A well-formed token signed with a key that is not ours."""
    serializer = URLSafeTimedSerializer("someone else's key", salt="debtor-link")
    return serializer.dumps({"case": case.id, "debtor": case.debtor_id})


TAMPERINGS = {
    "case id edited": lambda case, token: point_at_next_case(token),
    # A character inside the signature: the last one also carries base64 padding bits,
    # so changing it alone may leave the decoded signature as it was.
    "signature changed": lambda case, token: (
        token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    ),
    "cut short": lambda case, token: token[: len(token) // 2],
    "signed elsewhere": lambda case, token: signed_elsewhere(case),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_link_is_refused_kindly(client, make, letter, tampering):
    case, _ = letter
    make.case()  # the case an edited link would point at
    db.session.commit()
    token = TAMPERINGS[tampering](case, debtor_access.link_token(case))
    response = client.get(f"/pay/l/{token}")
    assert response.headers["Location"] == "/pay/"
    assert signed_in_debtor(client) is None
    assert any(LINK_REFUSED in message for message in flashes(client.get("/pay/").text))


@pytest.mark.parametrize(("age_change", "opens"), [(-60, True), (+60, False)])
def test_a_link_expires(app, client, letter, monkeypatch, age_change, opens):
    case, _ = letter
    age = app.config["DEBTOR_LINK_MAX_AGE"] + age_change
    real_timestamp = TimestampSigner.get_timestamp
    with monkeypatch.context() as patch:
        # Signed `age` seconds ago; checked against the real clock.
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: real_timestamp(self) - age)
        token = debtor_access.link_token(case)
    response = client.get(f"/pay/l/{token}")
    assert (response.headers["Location"] == "/pay/cases") is opens
    assert (signed_in_debtor(client) == case.debtor_id) is opens


def test_a_link_stops_working_when_the_case_moves_to_another_debtor(client, letter, make):
    case, _ = letter
    token = debtor_access.link_token(case)
    case.debtor = make.debtor()
    db.session.commit()
    assert client.get(f"/pay/l/{token}").headers["Location"] == "/pay/"
    assert signed_in_debtor(client) is None


# -- one debtor per session ------------------------------------------------------------

def test_another_debtors_link_replaces_the_session(client, make):
    first, _ = make.case()
    second, _ = make.case()
    db.session.commit()
    client.get(f"/pay/l/{debtor_access.link_token(first)}")
    assert client.get(f"/pay/cases/{first.id}").status_code == 200
    client.get(f"/pay/l/{debtor_access.link_token(second)}")
    assert signed_in_debtor(client) == second.debtor_id
    overview = client.get("/pay/cases").text
    assert second.reference in overview
    assert first.reference not in overview
    assert client.get(f"/pay/cases/{first.id}").status_code == 404


def test_another_debtors_code_replaces_the_session(client, make):
    first, first_code = make.case()
    second, second_code = make.case()
    db.session.commit()
    enter(client, first.reference, first_code)
    enter(client, second.reference, second_code)
    assert signed_in_debtor(client) == second.debtor_id
    assert client.get(f"/pay/cases/{first.id}").status_code == 404


def test_a_debtor_sign_in_ends_a_staff_session(client, letter, make, login):
    case, _ = letter
    login(make.user(Role.ADMIN))
    db.session.commit()
    assert client.get("/agency/").status_code == 200
    client.get(f"/pay/l/{debtor_access.link_token(case)}")
    assert client.get("/agency/").status_code == 302


def test_the_chosen_language_survives_signing_in(client, letter):
    case, _ = letter
    token = csrf_token(client.get("/pay/").text)
    client.post("/language/nl", data={"csrf_token": token, "next": "/pay/"})
    client.get(f"/pay/l/{debtor_access.link_token(case)}")
    with client.session_transaction() as session:
        assert session.get("lang") == "nl"


def test_signing_out_ends_the_debtor_session(client, letter):
    case, _ = letter
    client.get(f"/pay/l/{debtor_access.link_token(case)}")
    token = csrf_token(client.get("/pay/cases").text)
    response = client.post("/pay/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/pay/"
    assert signed_in_debtor(client) is None
    assert client.get("/pay/cases").status_code == 302
