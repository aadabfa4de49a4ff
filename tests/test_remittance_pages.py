"""The admin's remittance pages: make a draft, read it, approve it, download the bank file;
throw a draft away; the trust account check; and who may not."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import RemittanceItem, RemittanceRun, RemittanceStatus, Role
from tests.pages import csrf_token, flashes
from tests.test_remittances import AGENCY_IBAN, NORTH_IBAN, owing, pay

TODAY = date(2026, 4, 2)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("portal.agency.remittances.agency_today", lambda: TODAY)


@pytest.fixture
def book(app, make, queued_jobs):
    app.config["AGENCY_IBAN"] = AGENCY_IBAN
    north = make.client("North B.V.", iban=NORTH_IBAN)  # 15 %, VAT 21 %: the defaults
    case = owing(make, north, 1000_00)
    pay(case, 400_00, date(2026, 3, 10))
    db.session.commit()
    queued_jobs.jobs.clear()
    return north


@pytest.fixture
def admin(make, login):
    user = make.user(Role.ADMIN, language="en")
    db.session.commit()
    login(user)
    return user


def make_run(client, **fields):
    page = client.get("/agency/remittances/")
    data = {"csrf_token": csrf_token(page.text), "period_start": "2026-03-01",
            "period_end": "2026-03-31", "execution_date": "2026-04-03", **fields}
    return client.post("/agency/remittances/", data=data)


def test_the_new_run_form_offers_last_month_and_the_clients_waiting(client, book, admin):
    page = client.get("/agency/remittances/")
    assert page.status_code == 200
    assert 'value="2026-03-01"' in page.text and 'value="2026-03-31"' in page.text
    assert 'value="2026-04-03"' in page.text  # the next working day (2 April is a Thursday)
    assert "North B.V." in page.text


def test_an_admin_makes_a_draft_reads_it_and_approves_it(client, book, admin, queued_jobs):
    made = make_run(client, clients=str(book.id))
    assert made.status_code == 302
    run = db.session.scalar(select(RemittanceRun))
    page = client.get(made.headers["Location"])
    # 15 % of 400.00 = 60.00, VAT 12.60, payout 327.40
    assert "€60.00" in page.text and "€12.60" in page.text and "€327.40" in page.text
    approved = client.post(f"/agency/remittances/{run.id}/approve",
                           data={"csrf_token": csrf_token(page.text)})
    assert approved.status_code == 302
    db.session.refresh(run)
    assert run.status == RemittanceStatus.APPROVED
    download = client.get(f"/agency/remittances/{run.id}/pain001.xml")
    assert download.status_code == 200
    assert download.mimetype == "application/xml"
    root = etree.fromstring(download.data)
    assert root.findtext(".//{*}CdtTrfTxInf//{*}InstdAmt") == "327.40"
    assert [name.rsplit(".", 1)[-1] for _queue, name in queued_jobs.names] == ["send_statement"]


def test_a_client_without_an_iban_blocks_approval_with_a_reason(client, book, admin):
    book.iban = None
    db.session.commit()
    made = make_run(client)
    page = client.get(made.headers["Location"])
    assert "North B.V. has no valid IBAN" in page.text
    run = db.session.scalar(select(RemittanceRun))
    answer = client.post(f"/agency/remittances/{run.id}/approve",
                         data={"csrf_token": csrf_token(page.text)}, follow_redirects=True)
    assert any("no valid IBAN" in f for f in flashes(answer.text))
    db.session.refresh(run)
    assert run.status == RemittanceStatus.DRAFT


def test_a_draft_thrown_away_frees_its_payments(client, book, admin):
    made = make_run(client)
    run_id = db.session.scalar(select(RemittanceRun.id))
    page = client.get(made.headers["Location"])
    client.post(f"/agency/remittances/{run_id}/discard",
                data={"csrf_token": csrf_token(page.text)})
    assert db.session.get(RemittanceRun, run_id) is None
    assert db.session.scalar(select(func.count()).select_from(RemittanceItem)) == 0


@pytest.mark.parametrize(("fields", "message"), [
    ({"period_end": "2026-02-01"}, "The period ends before it starts."),
    ({"period_end": "2026-04-30"}, "The period cannot end after today."),
    ({"execution_date": "2026-04-01"}, "The bank cannot pay on a day that has passed."),
    ({"period_start": "2026-01-01", "period_end": "2026-01-31"}, "There is nothing to remit"),
])
def test_a_run_that_cannot_be_made_says_why(client, book, admin, fields, message):
    answer = make_run(client, **fields)
    assert answer.status_code == 422
    assert message in answer.text
    assert db.session.scalar(select(func.count()).select_from(RemittanceRun)) == 0


def test_a_post_without_its_csrf_token_changes_nothing(app, client, book, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    answer = client.post("/agency/remittances/", data={
        "period_start": "2026-03-01", "period_end": "2026-03-31", "execution_date": "2026-04-03"})
    assert answer.status_code in (400, 422)
    assert db.session.scalar(select(func.count()).select_from(RemittanceRun)) == 0


def test_the_trust_page_shows_the_equation(client, book, admin):
    page = client.get("/agency/remittances/trust")
    assert page.status_code == 200
    assert "It adds up" in page.text
    assert "€400.00" in page.text


@pytest.mark.parametrize("role", [Role.CALLER, Role.SUPERVISOR])
def test_staff_other_than_admins_may_not(client, book, make, login, role):
    user = make.user(role)
    db.session.commit()
    login(user)
    for url in ("/agency/remittances/", "/agency/remittances/trust"):
        assert client.get(url).status_code == 403


def test_a_client_user_cannot_reach_the_agency_pages_nor_a_draft_statement(
        client, book, make, login):
    from portal.services import remittances

    run = remittances.plan_run(date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 3), None)
    db.session.commit()
    user = make.user(Role.CLIENT, client=book)
    db.session.commit()
    login(user)
    assert client.get("/agency/remittances/").status_code in (302, 403, 404)
    assert client.get(f"/agency/remittances/{run.id}").status_code in (302, 403, 404)


def test_after_a_run_the_form_starts_where_that_run_ended(client, book, admin):
    from portal.services import remittances

    remittances.plan_run(date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 3), None)
    db.session.commit()
    page = client.get("/agency/remittances/")
    # March is taken: the next run runs from 1 April up to today (2 April)
    assert 'value="2026-04-01"' in page.text and 'value="2026-04-02"' in page.text
    assert 'value="2026-03-01"' not in page.text
