"""The debtor reads back what was sent: sent letters as PDF, sent emails as text, nothing else."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.jobs import delivery as jobs
from portal.models import Channel, Notice
from tests.test_delivery import make_notice


def sign_in_debtor(client, debtor_id: int) -> None:
    with client.session_transaction() as session:
        session["debtor_id"] = debtor_id


@pytest.fixture
def sent(app, make):
    """One email and one letter sent to the same debtor about one case each."""
    email = make_notice(make, channel=Channel.EMAIL, email="sanne@example.test", language="en")
    letter = make_notice(make, channel=Channel.LETTER)
    assert jobs.deliver_notices([email.id, letter.id]) == {email.id: "sent", letter.id: "sent"}
    db.session.expire_all()
    return db.session.get(Notice, email.id), db.session.get(Notice, letter.id)


def case_of(notice: Notice):
    return notice.communications[0].case


def test_the_case_page_lists_what_was_sent_and_opens_it(client, sent):
    email, _letter = sent
    case = case_of(email)
    sign_in_debtor(client, case.debtor_id)
    page = client.get(f"/pay/cases/{case.id}").text
    url = f"/pay/cases/{case.id}/letters/{email.id}"
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert email.subject in response.text
    assert case.reference in response.text  # the reminder's own text, read back from the .eml
    assert "sanne@example.test" in response.text


def test_a_letter_opens_as_the_pdf_that_was_posted(client, sent):
    _email, letter = sent
    case = case_of(letter)
    sign_in_debtor(client, case.debtor_id)
    assert f"/pay/cases/{case.id}/letters/{letter.id}" in client.get(f"/pay/cases/{case.id}").text
    response = client.get(f"/pay/cases/{case.id}/letters/{letter.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_notice_not_sent_is_not_shown(client, make):
    queued = make_notice(make, channel=Channel.LETTER)  # never delivered
    case = case_of(queued)
    sign_in_debtor(client, case.debtor_id)
    page = client.get(f"/pay/cases/{case.id}").text
    assert f"/letters/{queued.id}" not in page
    assert 'class="letter-list"' not in page  # the empty list says so in words instead
    assert client.get(f"/pay/cases/{case.id}/letters/{queued.id}").status_code == 404


@pytest.mark.parametrize("who", ["other debtor", "own case, other case's notice"])
def test_another_cases_notice_answers_404(client, make, sent, who):
    email, letter = sent  # two different debtors (make_notice makes a debtor each)
    if who == "other debtor":
        sign_in_debtor(client, case_of(letter).debtor_id)
        url = f"/pay/cases/{case_of(email).id}/letters/{email.id}"
    else:
        own = case_of(letter)
        sign_in_debtor(client, own.debtor_id)
        url = f"/pay/cases/{own.id}/letters/{email.id}"
    response = client.get(url)
    assert response.status_code == 404
    assert email.subject not in response.text
