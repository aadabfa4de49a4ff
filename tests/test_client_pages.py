"""The client's case pages: dashboard, list export, timeline and the actions on a case."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.domain.dunning import CaseState, SkipReason, skip_reason
from portal.extensions import db
from portal.models import (
    Bucket,
    CallLog,
    CallOutcome,
    Case,
    CaseStatus,
    Dispute,
    DisputeReason,
    Document,
    DocumentKind,
    EntryCause,
    Role,
)
from portal.models.client_portal import CaseNote
from portal.services import ledger
from portal.services.notices import agency_today
from tests.pages import csrf_token, flashes


@pytest.fixture
def setup(make, login, client):
    """A client user (English) with one case, and another client's case."""
    mine = make.client("Mine B.V.")
    user = make.user(Role.CLIENT, client=mine, language="en")
    case, _ = make.case(mine, amounts=(100_00,))
    other, _ = make.case(make.client("Other B.V."))
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(user)
    return {"user_id": user.id, "case_id": case.id, "other_id": other.id}


def _post(client, case_id, path, data=None, **kwargs):
    token = csrf_token(client.get(f"/client/cases/{case_id}").get_data(as_text=True))
    return client.post(f"/client/cases/{case_id}{path}", data={"csrf_token": token,
                                                               **(data or {})}, **kwargs)


def _case(case_id) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_dashboard_shows_the_figures_and_the_chart(client, setup):
    page = client.get("/client/").get_data(as_text=True)
    assert "<svg" in page and "Collected per month" in page
    assert "€100.00" in page  # outstanding: the one open case
    assert "recovery rate" in page


def test_hold_pauses_collection_and_ending_it_resumes(client, setup):
    until = agency_today() + timedelta(days=30)
    response = _post(client, setup["case_id"], "/hold", {"until": until.isoformat()})
    assert response.status_code == 302
    case = _case(setup["case_id"])
    assert (case.status, case.on_hold_until) == (CaseStatus.ON_HOLD, until)
    state = CaseState(oldest_due_date=case.invoices[0].due_date, status=str(case.status),
                      on_hold_until=case.on_hold_until)
    assert skip_reason(state, agency_today()) == SkipReason.ON_HOLD
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Put on hold by the client until" in page and "End the hold now" in page

    assert _post(client, setup["case_id"], "/hold/end").status_code == 302
    case = _case(setup["case_id"])
    assert case.on_hold_until is None and case.status != CaseStatus.ON_HOLD


@pytest.mark.parametrize("days", [0, 91, -1])
def test_hold_dates_out_of_range_are_refused(client, setup, days):
    until = agency_today() + timedelta(days=days)
    response = _post(client, setup["case_id"], "/hold", {"until": until.isoformat()})
    assert response.status_code == 422
    assert flashes(response.get_data(as_text=True))
    assert _case(setup["case_id"]).on_hold_until is None


def test_withdraw_clears_the_balance_and_closes_the_case(client, setup):
    response = _post(client, setup["case_id"], "/withdraw", {"reason": "Settled directly"})
    assert response.status_code == 302
    case = _case(setup["case_id"])
    assert (case.status, case.closed_on) == (CaseStatus.WITHDRAWN, agency_today())
    balance = ledger.balance(case)
    assert balance.total == 0 and balance.principal == 0  # cleared by a correction
    causes = {e.cause for e in ledger.entries(case)}
    assert EntryCause.CORRECTION in causes
    # Withdrawn once: a second time is refused and books nothing more.
    assert _post(client, setup["case_id"], "/withdraw", {"reason": "again"}).status_code == 422
    assert len(ledger.entries(_case(setup["case_id"]))) == 2


def test_a_note_appears_in_the_timeline(client, setup):
    _post(client, setup["case_id"], "/notes", {"body": "Debtor called us directly",
                                                "shareable": "1"})
    note = db.session.scalar(select(CaseNote))
    assert note.shareable and note.author_id == setup["user_id"]
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Debtor called us directly" in page


def test_an_empty_note_is_refused_with_422(client, setup):
    assert _post(client, setup["case_id"], "/notes", {"body": "  "}).status_code == 422
    assert db.session.scalar(select(CaseNote)) is None


def test_caller_notes_show_only_when_shareable(client, setup, make):
    caller = make.user(Role.CALLER)
    for note, shareable in (("Shared with client", True), ("Internal only", False)):
        db.session.add(CallLog(case_id=setup["case_id"], caller_id=caller.id,
                               started_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
                               outcome=CallOutcome.REFUSED, note=note, shareable=shareable))
    db.session.add(CaseNote(case_id=setup["case_id"], author_id=caller.id,
                            body="Agency private note", shareable=False))
    db.session.commit()
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Shared with client" in page
    assert "Internal only" not in page and "Agency private note" not in page


def test_dispute_answer_is_visible_on_the_agency_page(client, setup, make, login, app):
    dispute = Dispute(case_id=setup["case_id"], reason=DisputeReason.NOT_DELIVERED,
                      description="Never got it")
    db.session.add(dispute)
    db.session.commit()
    response = _post(client, setup["case_id"], f"/disputes/{dispute.id}/answer",
                     {"answer": "Delivered on 3 March, signed for"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).client_response.startswith("Delivered")

    staff = app.test_client()
    staff.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(make.user(Role.ADMIN, language="en"), staff)
    db.session.commit()
    agency_page = staff.get(f"/agency/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Delivered on 3 March, signed for" in agency_page


def test_the_clients_files_go_to_the_agency_not_to_the_debtor(client, setup, make, login, app):
    dispute = Dispute(case_id=setup["case_id"], reason=DisputeReason.NOT_DELIVERED,
                      description="Never got it")
    db.session.add(dispute)
    db.session.commit()
    proof = (io.BytesIO(b"%PDF-1.4 signed delivery note"), "afleverbon.pdf")
    response = _post(client, setup["case_id"], f"/disputes/{dispute.id}/answer",
                     {"answer": "Delivered, see the note", "files": proof},
                     content_type="multipart/form-data")
    assert response.status_code == 302
    document = db.session.scalars(select(Document).where(
        Document.dispute_id == dispute.id)).one()
    assert document.kind == DocumentKind.ANSWER
    own = client.get(f"/client/cases/{setup['case_id']}/evidence/{document.id}")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")

    staff = app.test_client()
    login(make.user(Role.ADMIN, language="en"), staff)
    db.session.commit()
    assert "afleverbon.pdf" in staff.get(f"/agency/cases/{setup['case_id']}").text

    debtor = app.test_client()
    with debtor.session_transaction() as session:
        session["debtor_id"] = _case(setup["case_id"]).debtor_id
    assert "afleverbon.pdf" not in debtor.get(f"/pay/cases/{setup['case_id']}").text
    url = f"/pay/cases/{setup['case_id']}/evidence/{document.id}"
    assert debtor.get(url).status_code == 404


@pytest.mark.parametrize("path,data", [
    ("/hold", {"until": "2026-04-01"}),
    ("/hold/end", {}),
    ("/withdraw", {"reason": "x"}),
    ("/notes", {"body": "x"}),
    ("/disputes/1/answer", {"answer": "x"}),
])
def test_another_clients_case_is_404_for_every_action(client, setup, path, data):
    token = csrf_token(client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True))
    response = client.post(f"/client/cases/{setup['other_id']}{path}",
                           data={"csrf_token": token, **data})
    assert response.status_code == 404
    other = _case(setup["other_id"])
    assert other.status == CaseStatus.NEW and other.on_hold_until is None


def test_csv_export_has_only_own_cases_and_the_columns(client, setup, make):
    mine = _case(setup["case_id"])
    ledger.book(mine, Bucket.PRINCIPAL, -25_00, EntryCause.PAYMENT, "paid",
                booked_on=agency_today())
    db.session.commit()
    response = client.get("/client/cases.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["reference", "debtor", "status", "principal", "interest", "costs",
                       "paid", "balance", "opened", "last action", "last action on"]
    assert len(rows) == 2
    other = _case(setup["other_id"])
    assert rows[1][0] == mine.reference and other.reference not in response.get_data(True)
    assert rows[1][3:8] == ["100.00", "0.00", "0.00", "25.00", "75.00"]


def test_csv_export_follows_the_filters(client, setup):
    assert len(client.get("/client/cases.csv?status=paid").get_data(True).splitlines()) == 1
    assert len(client.get("/client/cases.csv?status=open").get_data(True).splitlines()) == 2
