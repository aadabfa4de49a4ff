"""Disputes: opening one pauses the batch, evidence is checked before anything is kept, the
files reach only those allowed, and resolving tells the debtor and resumes or closes the case."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import disputes as dispute_jobs
from portal.models import (
    Bucket,
    CaseStatus,
    Dispute,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Document,
    EntryCause,
    LedgerEntry,
    Notice,
    Role,
)
from portal.services import disputes, dunning, dunning_runs, ledger
from tests.domain.test_evidence import JPEG, PDF, PNG, ZIP
from tests.pages import csrf_token, flashes

RECEIVED = "portal.jobs.disputes.send_dispute_received"
RESOLVED = "portal.jobs.disputes.send_dispute_resolved"


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs enqueued after commits, as (queue, function name, args)."""
    sent: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: sent.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    return sent


@pytest.fixture
def case(make):
    debtor = make.debtor(name="Anna de Boer", language="en")
    case, _code = make.case(debtor=debtor, amounts=(250_00,))
    db.session.commit()
    return case


def as_debtor(test_client, debtor_id: int) -> None:
    with test_client.session_transaction() as session:
        session["debtor_id"] = debtor_id
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def post_dispute(test_client, case, files=(), **fields):
    token = csrf_token(test_client.get(f"/pay/cases/{case.id}/dispute").text)
    data = {"reason": "invoice_error", "description": "The invoice counts two chairs; I got one.",
            "csrf_token": token, **fields,
            "evidence": [(io.BytesIO(data), name) for name, data in files]}
    return test_client.post(f"/pay/cases/{case.id}/dispute", data=data,
                            content_type="multipart/form-data")


def run_job(app, job, *args):
    """Run a job as a worker does: in an app context (and database session) of its own."""
    with app.app_context():
        return job(*args)


def fresh(record):
    """The record as the database has it now (requests ran in their own sessions)."""
    db.session.refresh(record)
    return record


def stored_files(app) -> list[Path]:
    root = Path(app.config["DOCUMENTS_PATH"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def open_by_service(case, files=(), today=None):
    dispute = disputes.open_dispute(case, DisputeReason.NOT_DELIVERED, "Never arrived.",
                                    list(files), today=today, debtor_id=case.debtor_id)
    db.session.commit()
    return dispute


# -- the batch pauses and resumes -------------------------------------------------------------

def batch_notices(case_id: int, today) -> tuple[dict[str, int], int]:
    run = dunning_runs.request_run(today, trigger="test")
    counts = dunning.advance_cases(run, [case_id], today)
    db.session.commit()
    return counts, db.session.scalar(select(func.count(Notice.id)))


def test_a_dispute_pauses_the_batch_and_a_rejection_resumes_it(app, case, make, today, enqueued):
    assert case.id in dunning_runs.due_case_ids(today)
    dispute = open_by_service(case, today=today)
    assert case.status == CaseStatus.DISPUTED

    counts, notices = batch_notices(case.id, today)
    assert counts == {"skipped/disputed": 1}
    assert notices == 0

    supervisor = make.user(Role.SUPERVISOR)
    disputes.resolve(dispute, DisputeOutcome.REJECTED, "The invoice is right.", supervisor,
                     today=today)
    db.session.commit()
    assert case.status == CaseStatus.ACTIVE
    counts, notices = batch_notices(case.id, today)
    assert "skipped/disputed" not in counts
    assert notices == 1
    assert [name for _q, name, _a in enqueued] == [RECEIVED, RESOLVED]


def test_a_second_dispute_is_refused_while_one_is_open(app, case, today, enqueued):
    open_by_service(case, today=today)
    with pytest.raises(disputes.DisputeRefused):
        open_by_service(case, today=today)


# -- the debtor's form and their evidence ----------------------------------------------------

def test_the_debtor_opens_a_dispute_with_a_pdf_and_a_photo(app, client, case, enqueued, outbox):
    as_debtor(client, case.debtor_id)
    page = client.get(f"/pay/cases/{case.id}")
    assert "Disagree with this claim?" in page.text

    response = post_dispute(client, case, [("bon.pdf", PDF), ("photo.jpg", JPEG)])
    assert response.status_code == 302
    page = client.get(response.location)
    assert any("paused collection" in text for text in flashes(page.text))
    assert "We are looking into your dispute" in page.text
    assert "Disagree with this claim?" not in page.text

    dispute = db.session.scalar(select(Dispute))
    assert (dispute.case_id, dispute.reason, dispute.status) == (
        case.id, DisputeReason.INVOICE_ERROR, DisputeStatus.OPEN)
    documents = db.session.scalars(select(Document).order_by(Document.id)).all()
    assert [(d.filename, d.content_type, d.dispute_id, d.case_id) for d in documents] == [
        ("bon.pdf", "application/pdf", dispute.id, case.id),
        ("photo.jpg", "image/jpeg", dispute.id, case.id)]
    assert fresh(case).status == CaseStatus.DISPUTED

    assert enqueued == [("mail", RECEIVED, (dispute.id,))]
    assert run_job(app, dispute_jobs.send_dispute_received, dispute.id) == "sent"
    assert len(outbox) == 1
    assert outbox[0]["To"] == case.debtor.email
    assert case.reference in outbox[0]["Subject"]
    assert "paused collection" in outbox[0].get_payload(decode=True).decode()


def test_the_type_comes_from_the_bytes_not_the_name(app, client, case, enqueued):
    as_debtor(client, case.debtor_id)
    assert post_dispute(client, case, [("scan.pdf", PNG)]).status_code == 302
    document = db.session.scalar(select(Document))
    assert document.content_type == "image/png"
    response = client.get(f"/pay/cases/{case.id}/evidence/{document.id}")
    assert response.mimetype == "image/png"


@pytest.mark.parametrize(("files", "messages"), [
    ([("scan.pdf", ZIP)], ["scan.pdf is not a PDF or a photo."]),
    ([("holiday.docx", ZIP)], ["holiday.docx is not a PDF or a photo."]),
    ([("cat.jpg", b"<html><script>alert(1)</script></html>")],
     ["cat.jpg is not a PDF or a photo."]),
    ([("big.pdf", PDF + b"x" * 2048)], ["big.pdf is larger than 1 KB."]),
    ([("empty.pdf", b"")], ["empty.pdf is empty."]),
    ([(f"p{n}.pdf", PDF) for n in range(6)], ["Please send at most 5 files."]),
    ([("good.pdf", PDF), ("bad.docx", ZIP), ("huge.jpg", JPEG + b"x" * 2048)],
     ["bad.docx is not a PDF or a photo.", "huge.jpg is larger than 1 KB."]),
])
def test_a_refused_upload_says_why_and_stores_nothing(app, client, case, enqueued, files,
                                                      messages):
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    as_debtor(client, case.debtor_id)
    response = post_dispute(client, case, files)
    assert response.status_code == 422
    for message in messages:
        assert message in response.text
    assert db.session.scalar(select(func.count(Document.id))) == 0
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    assert stored_files(app) == []
    assert fresh(case).status == CaseStatus.NEW
    assert enqueued == []


def test_a_body_larger_than_all_files_together_is_refused_unread(app, client, case, enqueued):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    as_debtor(client, case.debtor_id)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = post_dispute(client, case, [("huge.pdf", PDF + b"x" * 8192)])
    assert response.status_code == 413
    assert "Please send fewer or smaller files" in response.text
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    assert stored_files(app) == []


@pytest.mark.parametrize(("fields", "field_error"), [
    ({"description": "   "}, "Please tell us what happened."),
    ({"reason": "made_up"}, "Not a valid choice"),
])
def test_a_form_with_a_missing_answer_is_shown_again(app, client, case, fields, field_error):
    as_debtor(client, case.debtor_id)
    response = post_dispute(client, case, [("bon.pdf", PDF)], **fields)
    assert response.status_code == 422
    assert field_error in response.text
    assert db.session.scalar(select(func.count(Document.id))) == 0
    assert stored_files(app) == []


def test_a_post_without_its_csrf_token_is_refused(app, client, case):
    as_debtor(client, case.debtor_id)
    response = client.post(f"/pay/cases/{case.id}/dispute",
                           data={"reason": "other", "description": "x"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


# -- who may see the evidence ----------------------------------------------------------------

@pytest.fixture
def evidence(app, case, make, today, enqueued):
    dispute = open_by_service(case, [("bon.pdf", PDF)], today=today)
    document = db.session.scalar(select(Document).where(Document.dispute_id == dispute.id))
    other_debtor = make.debtor()
    other_case, _ = make.case(debtor=other_debtor)  # another client too
    db.session.commit()
    return dispute, document, other_case


def assert_served(response, content_type="application/pdf"):
    assert response.status_code == 200
    assert response.mimetype == content_type
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == PDF


def test_the_debtor_the_agency_and_the_cases_client_may_open_the_evidence(
        app, client, case, make, login, evidence):
    _dispute, document, _other = evidence
    as_debtor(client, case.debtor_id)
    assert_served(client.get(f"/pay/cases/{case.id}/evidence/{document.id}"))
    assert "bon.pdf" in client.get(f"/pay/cases/{case.id}").text

    staff = app.test_client()
    login(make.user(Role.CALLER), staff)
    db.session.commit()
    page = staff.get(f"/agency/cases/{case.id}").text
    assert f"/agency/documents/{document.id}" in page
    assert_served(staff.get(f"/agency/documents/{document.id}"))

    client_user = app.test_client()
    login(make.user(Role.CLIENT, client=case.client), client_user)
    db.session.commit()
    page = client_user.get(f"/client/cases/{case.id}").text
    assert "Never arrived." in page
    assert_served(client_user.get(f"/client/cases/{case.id}/evidence/{document.id}"))


def test_nobody_else_opens_the_evidence(app, client, case, make, login, evidence):
    _dispute, document, other_case = evidence
    as_debtor(client, other_case.debtor_id)
    assert client.get(f"/pay/cases/{case.id}/evidence/{document.id}").status_code == 404
    # Their own case id with this document's id: still not theirs.
    assert client.get(f"/pay/cases/{other_case.id}/evidence/{document.id}").status_code == 404

    other_client_user = app.test_client()
    login(make.user(Role.CLIENT, client=other_case.client), other_client_user)
    db.session.commit()
    for case_id in (case.id, other_case.id):
        response = other_client_user.get(f"/client/cases/{case_id}/evidence/{document.id}")
        assert response.status_code == 404


def test_a_document_that_is_not_evidence_is_not_served_as_evidence(app, client, case, evidence):
    from portal.documents.storage import save_document
    from portal.models import DocumentKind
    letter = save_document(DocumentKind.LETTER, "letter.pdf", "application/pdf", PDF,
                           case_id=case.id)
    db.session.commit()
    as_debtor(client, case.debtor_id)
    assert client.get(f"/pay/cases/{case.id}/evidence/{letter.id}").status_code == 404


# -- resolving -------------------------------------------------------------------------------

def resolve_form(staff, case, dispute, **fields):
    token = csrf_token(staff.get(f"/agency/cases/{case.id}").text)
    return staff.post(f"/agency/cases/{case.id}/disputes/{dispute.id}/resolve",
                      data={"csrf_token": token, **fields})


def test_a_caller_reads_but_does_not_resolve(app, client, case, make, login, evidence):
    dispute, _document, _other = evidence
    login(make.user(Role.CALLER))
    db.session.commit()
    assert "Resolve the dispute" not in client.get(f"/agency/cases/{case.id}").text
    response = resolve_form(client, case, dispute, outcome="rejected", resolution="No.")
    assert response.status_code == 403
    assert fresh(dispute).is_open


def test_partly_upheld_credits_the_invoices_and_resumes(app, client, case, make, login,
                                                         evidence, enqueued, outbox, today):
    dispute, _document, _other = evidence
    login(make.user(Role.SUPERVISOR))
    db.session.commit()
    response = resolve_form(client, case, dispute, outcome="partly_upheld", credit="100,50",
                            resolution="We credit one chair.")
    assert response.status_code == 302
    credit = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.cause == EntryCause.CREDIT_NOTE))
    assert (credit.bucket, credit.amount_cents, credit.cause_ref) == (
        Bucket.PRINCIPAL, -100_50, f"dispute:{dispute.id}")
    case = fresh(case)
    assert case.status == CaseStatus.ACTIVE
    assert ledger.balance(case).total == 149_50

    assert enqueued[-1] == ("mail", RESOLVED, (dispute.id,))
    assert run_job(app, dispute_jobs.send_dispute_resolved, dispute.id) == "sent"
    body = outbox[-1].get_payload(decode=True).decode()
    assert "We credit one chair." in body
    assert "partly right" in body
    # The "received" email, run late, no longer describes the dispute: it is not sent.
    assert run_job(app, dispute_jobs.send_dispute_received, dispute.id) == "skipped"
    assert len(outbox) == 1


def test_upheld_withdraws_what_is_open_and_closes_the_case(app, case, make, evidence, today):
    dispute, _document, _other = evidence
    ledger.book(case, Bucket.INTEREST, 3_21, EntryCause.INTEREST, "Interest", booked_on=today)
    db.session.commit()
    disputes.resolve(dispute, DisputeOutcome.UPHELD, "You are right.", make.user(Role.ADMIN),
                     today=today)
    db.session.commit()
    assert ledger.balance(case).total == 0
    assert (case.status, case.closed_on) == (CaseStatus.CLOSED, today)
    credits = db.session.scalars(select(LedgerEntry.bucket).where(
        LedgerEntry.cause == EntryCause.CREDIT_NOTE)).all()
    assert sorted(credits) == sorted([Bucket.PRINCIPAL, Bucket.INTEREST])


@pytest.mark.parametrize(("fields", "message"), [
    ({"outcome": "rejected", "credit": "10", "resolution": "No."},
     "A rejected dispute gets no credit."),
    ({"outcome": "partly_upheld", "credit": "", "resolution": "Some."}, "The credit must be"),
    ({"outcome": "partly_upheld", "credit": "999", "resolution": "Some."}, "The credit must be"),
    ({"outcome": "partly_upheld", "credit": "ten", "resolution": "Some."}, "as an amount in euros"),
    ({"outcome": "rejected", "resolution": " "}, "This field is required."),
])
def test_a_resolution_that_does_not_add_up_is_refused(app, client, case, make, login, evidence,
                                                      fields, message):
    dispute, _document, _other = evidence
    user = make.user(Role.ADMIN)
    user.language = "en"
    login(user)
    db.session.commit()
    response = resolve_form(client, case, dispute, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert fresh(dispute).is_open
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.cause == EntryCause.CREDIT_NOTE)) == 0


def test_the_debtor_reads_the_outcome_in_plain_words(app, client, case, make, evidence, today):
    dispute, _document, _other = evidence
    disputes.resolve(dispute, DisputeOutcome.REJECTED, "The delivery was signed for.",
                     make.user(Role.ADMIN), today=today)
    db.session.commit()
    as_debtor(client, case.debtor_id)
    page = client.get(f"/pay/cases/{case.id}").text
    assert "The claim stands" in page
    assert "The delivery was signed for." in page
    assert "Disagree with this claim?" in page  # a new dispute may be opened


# -- the agency's list -----------------------------------------------------------------------

def test_the_agency_list_shows_open_disputes_first(app, client, make, login, today, enqueued):
    cases = [make.case()[0] for _ in range(3)]
    db.session.commit()
    first, second, third = (open_by_service(c, today=today) for c in cases)
    disputes.resolve(first, DisputeOutcome.REJECTED, "No.", make.user(Role.ADMIN), today=today)
    db.session.commit()
    login(make.user(Role.CALLER))
    db.session.commit()
    text = client.get("/agency/disputes").text
    refs = [c.reference for c in cases]
    positions = [text.index(ref) for ref in (refs[2], refs[1], refs[0])]
    assert positions == sorted(positions), "open ones first, newest first"
    resolved = client.get("/agency/disputes?status=resolved").text
    assert refs[0] in resolved and refs[1] not in resolved
    opened = client.get("/agency/disputes?status=open").text
    assert refs[0] not in opened and refs[1] in opened
