"""The message thread: the debtor writes, the agency's inbox lists it, a reply is emailed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from portal.extensions import db
from portal.jobs import messages as message_jobs
from portal.models import Message, Party, Role, utcnow
from portal.services import messages
from tests.pages import csrf_token

REPLY = "portal.jobs.messages.send_message_reply"


@pytest.fixture
def enqueued(monkeypatch):
    sent: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: sent.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    return sent


@pytest.fixture
def case(make):
    debtor = make.debtor(name="Anna de Boer", language="en")
    case, _code = make.case(debtor=debtor)
    db.session.commit()
    return case


def as_debtor(test_client, debtor_id: int) -> None:
    with test_client.session_transaction() as session:
        session["debtor_id"] = debtor_id
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def run_job(app, job, *args):
    with app.app_context():
        return job(*args)


def debtor_posts(test_client, case, body, headers=None):
    token = csrf_token(test_client.get(f"/pay/cases/{case.id}").text)
    return test_client.post(f"/pay/cases/{case.id}/messages",
                            data={"body": body, "csrf_token": token}, headers=headers or {})


@pytest.fixture
def staff(app, make, login):
    test_client = app.test_client()
    login(make.user(Role.CALLER, name="Piet Beller"), test_client)
    db.session.commit()
    return test_client


def test_the_debtor_writes_without_javascript(app, client, case):
    as_debtor(client, case.debtor_id)
    response = debtor_posts(client, case, "  Can I pay next month?  ")
    assert response.status_code == 302
    assert response.location.endswith(f"/pay/cases/{case.id}#messages")
    message = db.session.scalar(select(Message))
    assert (message.author, message.body, message.read_by_agency_at) == (
        Party.DEBTOR, "Can I pay next month?", None)
    assert "Can I pay next month?" in client.get(f"/pay/cases/{case.id}").text


def test_with_htmx_the_thread_comes_back_as_a_fragment(app, client, case):
    as_debtor(client, case.debtor_id)
    response = debtor_posts(client, case, "Hello there", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="messages"')
    assert "Hello there" in response.text
    assert "<html" not in response.text


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_an_empty_or_too_long_message_is_refused(app, client, case, body):
    as_debtor(client, case.debtor_id)
    for headers in ({}, {"HX-Request": "true"}):
        response = debtor_posts(client, case, body, headers=headers)
        assert response.status_code == 422
        assert 'class="error"' in response.text
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_a_post_without_csrf_or_to_another_debtors_case_is_refused(app, client, case, make):
    other, _ = make.case()
    db.session.commit()
    as_debtor(client, case.debtor_id)
    assert client.post(f"/pay/cases/{case.id}/messages", data={"body": "hi"}).status_code == 400
    assert debtor_posts_to(client, case, other.id).status_code == 404
    assert db.session.scalar(select(func.count(Message.id))) == 0


def debtor_posts_to(test_client, own_case, case_id):
    token = csrf_token(test_client.get(f"/pay/cases/{own_case.id}").text)
    return test_client.post(f"/pay/cases/{case_id}/messages",
                            data={"body": "hi", "csrf_token": token})


def test_the_inbox_lists_unread_cases_oldest_first_in_one_query(app, make):
    cases = [make.case()[0] for _ in range(3)]
    for case, minutes_ago in zip(cases, (5, 50, 20), strict=True):
        message = messages.post_message(case, Party.DEBTOR, "Question", debtor_id=case.debtor_id)
        message.created_at = utcnow() - timedelta(minutes=minutes_ago)
    messages.post_message(cases[0], Party.DEBTOR, "And another", debtor_id=cases[0].debtor_id)
    db.session.commit()
    db.session.expire_all()

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = messages.unread_for_agency()
        [(row.case.debtor.name, row.case.client.name) for row in rows]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [row.case.id for row in rows] == [cases[1].id, cases[2].id, cases[0].id]
    assert [row.unread for row in rows] == [1, 1, 2]
    assert len([s for s in statements if "messages" in s]) == 1
    assert messages.unread_count_for_agency() == 4


def test_reading_and_replying(app, client, case, staff, enqueued, outbox):
    as_debtor(client, case.debtor_id)
    debtor_posts(client, case, "Is the invoice right?")

    inbox = staff.get("/agency/messages").text
    assert case.reference in inbox
    page = staff.get(f"/agency/cases/{case.id}").text
    assert "Is the invoice right?" in page
    assert case.reference not in staff.get("/agency/messages").text, "viewing marks it read"

    token = csrf_token(page)
    response = staff.post(f"/agency/cases/{case.id}/messages",
                          data={"body": "Yes, we checked it with the shop.", "csrf_token": token})
    assert response.status_code == 302
    reply = db.session.scalar(select(Message).where(Message.author == Party.AGENCY))
    assert reply.author_user.name == "Piet Beller"
    assert enqueued == [("mail", REPLY, (reply.id,))]

    assert run_job(app, message_jobs.send_message_reply, reply.id) == "sent"
    assert len(outbox) == 1
    assert outbox[0]["To"] == case.debtor.email
    assert case.reference in outbox[0]["Subject"]
    body = outbox[0].get_payload(decode=True).decode()
    assert "Yes, we checked it with the shop." in body
    assert "/pay/l/" in body

    page = client.get(f"/pay/cases/{case.id}").text
    assert "Yes, we checked it with the shop." in page
    # Read on the portal before the worker came round: no email for it.
    assert run_job(app, message_jobs.send_message_reply, reply.id) == "skipped"
    assert len(outbox) == 1


def test_an_empty_reply_is_shown_again(app, case, staff):
    token = csrf_token(staff.get(f"/agency/cases/{case.id}").text)
    response = staff.post(f"/agency/cases/{case.id}/messages", data={"body": " ",
                                                                     "csrf_token": token})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_a_reply_without_csrf_is_refused(app, case, staff):
    response = staff.post(f"/agency/cases/{case.id}/messages", data={"body": "hi"})
    assert response.status_code == 400
