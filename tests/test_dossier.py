"""The legal dossier: its PDF text traced to the ledger and the notices, the batch that
enqueues it at the legal handover, and the case page's "make the dossier again"."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from portal.documents.storage import read_document
from portal.extensions import db
from portal.jobs import dossier as dossier_job
from portal.jobs import dunning as dunning_jobs
from portal.models import (
    BatchRun,
    Bucket,
    CaseStatus,
    Channel,
    Communication,
    DeliveryStatus,
    Document,
    DocumentKind,
    EntryCause,
    Notice,
    Role,
    StepAction,
)
from portal.services import dossier, ledger
from portal.templating import day, money
from tests.pages import csrf_token
from tests.test_dunning_batch import LEGAL_DAY, _build_book, _walk

D = date.fromisoformat


def _text(document: Document) -> str:
    """The PDF's text with its whitespace folded, so a wrapped line still matches."""
    reader = PdfReader(io.BytesIO(read_document(document)))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


def _notice(case, channel: Channel, action: StepAction, dated: date, **fields) -> Notice:
    notice = Notice(key=f"k{case.id}:{channel}:{dated}", debtor_id=case.debtor_id,
                    client_id=case.client_id, action=action, channel=channel,
                    template_key=str(action), language="nl", dated=dated, **fields)
    db.session.add(notice)
    db.session.flush()
    db.session.add(Communication(idempotency_key=f"case:{case.id}:n:{notice.id}",
                                 case_id=case.id, notice_id=notice.id, position=1))
    return notice


@pytest.fixture
def legal_case(app, make):
    """A case of two invoices with interest, costs and a part payment, two notices, in legal."""
    case, _code = make.case(amounts=(1234_56, 500_00))
    booked = D("2026-05-26")
    ledger.book(case, Bucket.INTEREST, 31_17, EntryCause.INTEREST, "Wettelijke rente",
                booked_on=booked)
    ledger.book(case, Bucket.COSTS, 259_37, EntryCause.COLLECTION_COSTS, "Incassokosten",
                booked_on=booked)
    ledger.book(case, Bucket.PRINCIPAL, -100_00, EntryCause.PAYMENT, "Betaling",
                booked_on=D("2026-04-01"))
    _notice(case, Channel.EMAIL, StepAction.EMAIL_REMINDER, D("2026-03-10"),
            status=DeliveryStatus.SENT, subject="Herinnering", to_address="d@example.test",
            sent_at=datetime(2026, 3, 10, 8, tzinfo=UTC))
    _notice(case, Channel.LETTER, StepAction.FOURTEEN_DAY_LETTER, D("2026-04-07"),
            status=DeliveryStatus.SENT, sent_at=datetime(2026, 4, 7, 8, tzinfo=UTC))
    case.status = CaseStatus.LEGAL
    db.session.commit()
    return case


def test_the_dossier_states_the_claim_as_the_ledger_sums_it(app, legal_case):
    document = dossier.build_dossier(legal_case)
    db.session.commit()
    assert (document.kind, document.case_id) == (DocumentKind.DOSSIER, legal_case.id)
    text = _text(document)
    balance = ledger.balance(legal_case)
    assert (balance.paid, balance.total) == (100_00, 1734_56 + 31_17 + 259_37 - 100_00)
    with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        figures = [money(value).replace("\xa0", " ") for value in (
            balance.principal, balance.interest, balance.costs, balance.paid, balance.total)]
    assert legal_case.reference in text and legal_case.client.name in text
    assert legal_case.debtor.name in text
    for invoice in legal_case.invoices:
        assert invoice.number in text
    for figure in figures:
        assert figure in text, figure


@pytest.mark.parametrize(("channel", "dated", "label"), [
    ("email", D("2026-03-10"), "E-mail"),
    ("letter", D("2026-04-07"), "Brief"),
])
def test_the_dossier_lists_each_notice_with_its_date_and_channel(app, legal_case, channel,
                                                                  dated, label):
    text = _text(dossier.build_dossier(legal_case))
    with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        shown = day(dated).replace("\xa0", " ")
    assert f"{shown} {label}" in text


def test_the_dossier_lists_the_ledger_entries_and_the_timeline(app, legal_case):
    text = _text(dossier.build_dossier(legal_case))
    for description in ("Wettelijke rente", "Incassokosten", "Betaling"):
        assert description in text
    opened = len(legal_case.invoices)
    assert f"{opened} facturen" in text  # the case.opened audit event, in Dutch


def test_the_job_stores_the_dossier_in_one_commit_and_records_it(app, legal_case):
    document_id = dossier_job.make_dossier(legal_case.id)
    db.session.rollback()  # nothing left uncommitted: the document survives
    document = db.session.get(Document, document_id)
    assert document.filename == f"dossier-{legal_case.reference}.pdf"
    assert read_document(document).startswith(b"%PDF")
    assert dossier.cases_without_dossier([legal_case.id]) == []


def test_only_legal_cases_without_a_dossier_are_picked(app, make, legal_case):
    active, _code = make.case()
    db.session.commit()
    assert dossier.cases_without_dossier([active.id, legal_case.id]) == [legal_case.id]
    dossier.build_dossier(legal_case)
    assert dossier.cases_without_dossier([active.id, legal_case.id]) == []


# -- the batch enqueues it ---------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    """What jobs enqueued after their commits: (queue, function, args) in order."""
    sent: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: sent.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    return sent


@pytest.fixture
def run_day(enqueued, monkeypatch):
    def run(day: date) -> BatchRun:
        monkeypatch.setattr(dunning_jobs, "agency_today", lambda: day)
        start = len(enqueued)
        run_id = dunning_jobs.morning_batch()
        for _queue, name, args in list(enqueued[start:]):
            if name == dunning_jobs.RUN_CHUNK:
                dunning_jobs.run_chunk(*args)
        return db.session.get(BatchRun, run_id)
    return run


def _dossier_jobs(enqueued) -> list[tuple[str, tuple]]:
    return [(queue, args) for queue, name, args in enqueued if name == dunning_jobs.MAKE_DOSSIER]


def test_the_batch_enqueues_a_dossier_for_each_case_it_hands_over(app, make, enqueued, run_day):
    book = _build_book(make)
    _walk(run_day, LEGAL_DAY - date.resolution)
    assert _dossier_jobs(enqueued) == []
    start = len(enqueued)
    run_day(LEGAL_DAY)
    legal = sorted(db.session.scalars(
        select(Notice.id).where(Notice.action == StepAction.LEGAL_HANDOVER)))
    assert legal, "the book reaches the legal handover"
    handed = dossier.cases_without_dossier(vars(book).values())
    assert book.b1 in handed
    assert _dossier_jobs(enqueued[start:]) == [("letters", (case_id,)) for case_id in handed]
    # Each job makes its dossier; a re-run of the day enqueues none again.
    for _queue, (case_id,) in _dossier_jobs(enqueued[start:]):
        dossier_job.make_dossier(case_id)
    again = len(enqueued)
    run_day(LEGAL_DAY)
    assert _dossier_jobs(enqueued[again:]) == []


# -- the case page -----------------------------------------------------------------------------


@pytest.fixture
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def test_a_supervisor_makes_the_dossier_again_from_the_case_page(
        app, client, make, login, legal_case, enqueued, english):
    login(make.user(Role.SUPERVISOR, language="en"))
    document = dossier.build_dossier(legal_case)
    db.session.commit()
    page = client.get(f"/agency/cases/{legal_case.id}").text
    assert f"/agency/documents/{document.id}" in page and "Make the dossier again" in page
    url = f"/agency/cases/{legal_case.id}/dossier"
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert _dossier_jobs(enqueued) == [("letters", (legal_case.id,))]


def test_a_caller_may_not_make_the_dossier(app, client, make, login, legal_case, enqueued,
                                           english):
    login(make.user(Role.CALLER, language="en"))
    db.session.commit()
    page = client.get(f"/agency/cases/{legal_case.id}").text
    assert "Make the dossier again" not in page
    token = csrf_token(page)  # the layout's sign-out form
    response = client.post(f"/agency/cases/{legal_case.id}/dossier", data={"csrf_token": token})
    assert response.status_code == 403
    assert _dossier_jobs(enqueued) == []
