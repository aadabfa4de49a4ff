"""Remittance statements: the lines and totals against a small book added up by hand, the
summary under each set of terms, the PDF text, the email sent once (and again after a failed
send), and the client's pages (approved only, scoped to the client)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from email import message_from_bytes

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.documents.storage import read_document
from portal.domain.remittance import Collected, Terms, settle
from portal.extensions import db
from portal.jobs import remittances as remittance_jobs
from portal.models import (
    Beneficiary,
    Bucket,
    Document,
    DocumentKind,
    EntryCause,
    Remittance,
    RemittanceItem,
    RemittanceRun,
    RemittanceStatus,
    Role,
)
from portal.services import ledger
from portal.services import remittance_statements as statements

FEB = (date(2026, 2, 1), date(2026, 2, 28))
EXECUTION = date(2026, 3, 5)
IBAN = "NL91ABNA0417164300"


def paid(case, bucket: Bucket, cents: int, day: int):
    entry = ledger.book(case, bucket, -cents, EntryCause.PAYMENT, "Payment",
                        booked_on=date(2026, 2, day))
    db.session.flush()
    return entry


def run_of(status: RemittanceStatus) -> RemittanceRun:
    run = RemittanceRun(period_start=FEB[0], period_end=FEB[1], execution_date=EXECUTION,
                        status=status)
    db.session.add(run)
    db.session.flush()
    return run


def remit(run: RemittanceRun, client, entries, reference: str) -> Remittance:
    """A remittance of these payment entries, its figures settled under the client's terms."""
    by_bucket = {bucket: sum(-e.amount_cents for e in entries if e.bucket == bucket)
                 for bucket in Bucket}
    collected = Collected(by_bucket[Bucket.PRINCIPAL], by_bucket[Bucket.INTEREST],
                          by_bucket[Bucket.COSTS], by_bucket[Bucket.FEES])
    settled = settle(collected, Terms(client.commission_bp, client.commission_vat_percent,
                                      str(client.interest_to), str(client.costs_to)))
    remittance = Remittance(
        run_id=run.id, client_id=client.id, reference=reference,
        commission_bp=client.commission_bp, commission_vat_percent=client.commission_vat_percent,
        interest_to=client.interest_to, costs_to=client.costs_to,
        principal_cents=collected.principal, interest_cents=collected.interest,
        costs_cents=collected.costs, fees_cents=collected.fees,
        commission_cents=settled.commission, commission_vat_cents=settled.commission_vat,
        payout_cents=settled.payout, iban=IBAN, account_name=client.name)
    db.session.add(remittance)
    db.session.flush()
    db.session.add_all(RemittanceItem(remittance_id=remittance.id, ledger_entry_id=e.id,
                                      case_id=e.case_id, bucket=e.bucket,
                                      amount_cents=-e.amount_cents, booked_on=e.booked_on)
                       for e in entries)
    db.session.flush()
    return remittance


@pytest.fixture
def book(make):
    """Client A (15 % commission, 21 % VAT, interest to the client, costs to the agency):
    Aaltje paid 100.00 principal, 5.00 interest and 40.00 costs; Bram paid 200.00 principal in
    two payments. Collected 345.00; commission 45.00, VAT 9.45, the agency keeps the 40.00
    costs: 250.55 is paid out. A later draft run holds Chris's 70.00. Client B's remittance
    (Dirk, 80.00) must never show to A."""
    a = make.client("Bakkerij Jansen B.V.", email="boekhouding@jansen.nl",
                    address="Dorpsstraat 1\n9711 AA Groningen",
                    report_recipients="piet@jansen.nl, anna@jansen.nl")
    one, _ = make.case(a, make.debtor(name="Aaltje de Boer"), (100_00, 20_00))
    two, _ = make.case(a, make.debtor(name="Bram Visser"), (250_00,))
    three, _ = make.case(a, make.debtor(name="Chris Smit"), (70_00,))
    b = make.client("Other Client B.V.", email="info@other.nl")
    other, _ = make.case(b, make.debtor(name="Dirk Else"), (80_00,))
    approved = run_of(RemittanceStatus.APPROVED)
    entries = [paid(one, Bucket.PRINCIPAL, 100_00, 10), paid(one, Bucket.INTEREST, 5_00, 10),
               paid(one, Bucket.COSTS, 40_00, 10), paid(two, Bucket.PRINCIPAL, 120_00, 12),
               paid(two, Bucket.PRINCIPAL, 80_00, 20)]
    mine = remit(approved, a, entries, "R-2026-0001")
    theirs = remit(approved, b, [paid(other, Bucket.PRINCIPAL, 80_00, 11)], "R-2026-0002")
    draft = remit(run_of(RemittanceStatus.DRAFT), a,
                  [paid(three, Bucket.PRINCIPAL, 70_00, 25)], "R-2026-0003")
    db.session.commit()
    return {"client": a, "other": b, "cases": (one, two, three), "mine": mine,
            "theirs": theirs, "draft": draft}


def english_users(make, client, count: int = 1) -> None:
    for _ in range(count):
        make.user(Role.CLIENT, client=client, language="en")
    db.session.commit()


def pdf_text(document: Document) -> str:
    reader = PdfReader(io.BytesIO(read_document(document)))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_lines_and_totals_match_the_book_by_hand(app, book):
    one, two, _three = book["cases"]
    mine = book["mine"]
    lines = statements.statement_lines(mine)
    by_ref = {line.reference: line for line in lines}
    assert [line.reference for line in lines] == sorted([one.reference, two.reference])
    first, second = by_ref[one.reference], by_ref[two.reference]
    assert (first.debtor, first.principal_cents, first.interest_cents, first.costs_fees_cents,
            first.total_cents) == ("Aaltje de Boer", 100_00, 5_00, 40_00, 145_00)
    assert (second.debtor, second.principal_cents, second.interest_cents,
            second.costs_fees_cents, second.total_cents) == ("Bram Visser", 200_00, 0, 0, 200_00)
    assert first.invoices == tuple(invoice.number for invoice in one.invoices)
    assert len(first.invoices) == 2
    totals = statements.totals(lines)
    assert (totals.principal_cents, totals.interest_cents, totals.costs_fees_cents,
            totals.total_cents) == (300_00, 5_00, 40_00, 345_00)
    # ... which are the figures stored on the remittance (and paid).
    assert totals.principal_cents == mine.principal_cents
    assert totals.interest_cents == mine.interest_cents
    assert totals.costs_fees_cents == mine.costs_cents + mine.fees_cents
    assert totals.total_cents == mine.collected_cents
    assert (mine.commission_cents, mine.commission_vat_cents, mine.payout_cents) == (
        45_00, 9_45, 250_55)


@pytest.mark.parametrize(("interest_to", "costs_to", "kept", "payout"), [
    (Beneficiary.CLIENT, Beneficiary.AGENCY, [40_00], 250_55),
    (Beneficiary.AGENCY, Beneficiary.AGENCY, [5_00, 40_00], 245_55),
    (Beneficiary.CLIENT, Beneficiary.CLIENT, [], 290_55),
    (Beneficiary.AGENCY, Beneficiary.CLIENT, [5_00], 285_55),
])
def test_summary_walks_from_collected_to_the_payout(app, interest_to, costs_to, kept, payout):
    """Principal 300.00, interest 5.00, costs 30.00 and fees 10.00 under 15 % and 21 % VAT."""
    terms = Terms(1500, 21, str(interest_to), str(costs_to))
    settled = settle(Collected(300_00, 5_00, 30_00, 10_00), terms)
    remittance = Remittance(
        commission_bp=1500, commission_vat_percent=21, interest_to=interest_to,
        costs_to=costs_to, principal_cents=300_00, interest_cents=5_00, costs_cents=30_00,
        fees_cents=10_00, commission_cents=settled.commission,
        commission_vat_cents=settled.commission_vat, payout_cents=settled.payout)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        steps = statements.summary(remittance)
        terms_text = " ".join(statements.terms_in_words(remittance))
    assert [s.cents for s in steps[:4]] == [300_00, 5_00, 40_00, 345_00]
    deducted = [s.cents for s in steps if s.sign == "-"]
    assert deducted == [45_00, 9_45, *kept]
    assert steps[-1].cents == payout == settled.payout
    assert steps[3].cents - sum(deducted) == steps[-1].cents
    assert "15 % of the principal" in terms_text and "21 % VAT" in terms_text


def test_a_statement_that_does_not_add_up_is_refused(app, book):
    mine = book["mine"]
    mine.payout_cents += 1
    with pytest.raises(statements.StatementMismatch):
        statements.make_statement(mine, language="en")
    mine.payout_cents -= 1
    mine.principal_cents += 100
    with app.test_request_context(), pytest.raises(statements.StatementMismatch):
        statements.statement_context(mine)


def test_pdf_shows_the_figures_and_is_made_once(app, make, book):
    english_users(make, book["client"], 2)
    make.user(Role.CLIENT, client=book["client"], language="nl")  # outvoted
    language = statements.statement_language(book["client"].id)
    assert language == "en"
    mine = book["mine"]
    document = statements.make_statement(mine, language=language)
    db.session.commit()
    assert document.kind == DocumentKind.REMITTANCE
    assert mine.statement_document_id == document.id
    text = pdf_text(document)
    for expected in ("R-2026-0001", "Bakkerij Jansen B.V.", "Dorpsstraat 1", "Aaltje de Boer",
                     "Bram Visser", "€145.00", "€200.00", "€345.00", "€45.00", "€9.45",
                     "€40.00", "€250.55", "NL91 ABNA 0417 1643 00", "March 5, 2026",
                     "15 % of the principal", "kept by the agency"):
        assert expected in text, expected
    for absent in ("Chris Smit", "Dirk Else", "€70.00"):
        assert absent not in text
    again = statements.make_statement(mine, language="nl")
    assert again.id == document.id
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_pdf_in_dutch_for_dutch_client_users(app, make, book):
    make.user(Role.CLIENT, client=book["client"], language="nl")
    document = statements.make_statement(book["mine"],
                                         language=statements.statement_language(book["client"].id))
    assert "€ 250,55" in pdf_text(document).replace("\xa0", " ")


def test_the_csv_lists_every_case_and_adds_up_to_the_statement(app, client, book, signed_in):
    mine = book["mine"]
    answer = client.get(f"/client/remittances/{mine.id}/csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    lines = statements.statement_lines(mine)
    assert [row[0] for row in rows[1:]] == [line.reference for line in lines]
    assert sum(round(float(row[6]) * 100) for row in rows[1:]) == mine.collected_cents
    for hidden in (book["theirs"], book["draft"]):
        assert client.get(f"/client/remittances/{hidden.id}/csv").status_code == 404


def test_a_long_statement_lists_the_first_cases_and_points_to_the_csv(app, book, monkeypatch):
    monkeypatch.setattr(statements, "PDF_MAX_LINES", 1)
    text = pdf_text(statements.make_statement(book["mine"], language="en"))
    assert "lists the first 1 of 2 cases" in text
    assert "Aaltje de Boer" in text and "Bram Visser" not in text
    assert "€345.00" in text  # the totals are those of all cases


def test_job_emails_the_statement_once(app, make, book, outbox):
    english_users(make, book["client"])
    mine_id = book["mine"].id
    for _ in range(2):  # a retry, or the job enqueued twice
        assert remittance_jobs.send_statement(mine_id) == mine_id
    mine = db.session.get(Remittance, mine_id)
    assert mine.emailed_at is not None and mine.statement_document_id is not None
    assert sorted(m["To"] for m in outbox) == ["anna@jansen.nl", "piet@jansen.nl"]
    message = message_from_bytes(outbox[0].as_bytes())
    assert "R-2026-0001" in message["Subject"]
    files = {p.get_filename(): p for p in message.walk() if p.get_filename()}
    assert list(files) == ["remittance-statement-R-2026-0001.pdf",
                           "remittance-R-2026-0001-cases.csv"]
    rows = files["remittance-R-2026-0001-cases.csv"].get_payload(decode=True).decode("utf-8-sig")
    assert rows.splitlines()[0] == (
        "Case,Debtor,Your invoices,Principal,Interest,Costs and fees,Total")
    part = files["remittance-statement-R-2026-0001.pdf"]
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True).startswith(b"%PDF")
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()
    assert "€250.55" in text and f"/client/remittances/{mine_id}" in text


def test_a_failed_send_releases_the_claim(app, make, book, outbox, monkeypatch):
    mine_id = book["mine"].id

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(remittance_jobs, "send_templated", refuse)
    with pytest.raises(ConnectionRefusedError):
        remittance_jobs.send_statement(mine_id)
    mine = db.session.get(Remittance, mine_id)
    assert mine.emailed_at is None
    assert mine.statement_document_id is not None  # the PDF made before the send is kept
    monkeypatch.undo()
    remittance_jobs.send_statement(mine_id)
    db.session.refresh(mine)
    assert mine.emailed_at is not None and len(outbox) == 2


def test_job_leaves_a_draft_alone(app, book, outbox):
    draft_id = book["draft"].id
    remittance_jobs.send_statement(draft_id)
    draft = db.session.get(Remittance, draft_id)
    assert draft.statement_document_id is None and draft.emailed_at is None
    assert outbox == []


# -- pages ----------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, make, login, book):
    user = make.user(Role.CLIENT, client=book["client"], language="en")
    db.session.commit()
    login(user)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


def test_list_shows_approved_remittances_only(app, client, book, signed_in):
    page = client.get("/client/remittances")
    assert page.status_code == 200
    mine, draft, theirs = book["mine"], book["draft"], book["theirs"]
    assert f"/client/remittances/{mine.id}/pdf" in page.text and "€250.55" in page.text
    assert "€54.45" in page.text  # commission and its VAT
    for hidden in (draft, theirs):
        assert f"/client/remittances/{hidden.id}" not in page.text
    fragment = client.get("/client/remittances", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "€250.55" in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


def test_list_is_newest_first(app, client, make, book, signed_in):
    later = RemittanceRun(period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                          execution_date=date(2026, 4, 5), status=RemittanceStatus.APPROVED,
                          approved_at=datetime(2026, 4, 1, tzinfo=UTC))
    db.session.add(later)
    db.session.flush()
    newer = remit(later, book["client"], [paid(book["cases"][2], Bucket.FEES, 10_00, 27)],
                  "R-2026-0004")
    db.session.commit()
    text = client.get("/client/remittances").text
    assert text.index(f"/client/remittances/{newer.id}/pdf") < text.index(
        f"/client/remittances/{book['mine'].id}/pdf")


def test_statement_page_shows_lines_and_summary(app, client, book, signed_in):
    one, two, _three = book["cases"]
    page = client.get(f"/client/remittances/{book['mine'].id}")
    assert page.status_code == 200
    for expected in (one.reference, two.reference, "Aaltje de Boer", "€145.00", "€345.00",
                     "€45.00", "€9.45", "€250.55", "NL91 ABNA 0417 1643 00", "R-2026-0001"):
        assert expected in page.text, expected
    assert "Chris Smit" not in page.text


def test_other_clients_and_drafts_answer_404(app, client, book, signed_in):
    for remittance in (book["theirs"], book["draft"]):
        for suffix in ("", "/pdf"):
            assert client.get(f"/client/remittances/{remittance.id}{suffix}").status_code == 404
    assert client.get("/client/remittances/999999").status_code == 404
    db.session.refresh(book["draft"])
    assert book["draft"].statement_document_id is None  # the 404 made nothing


def test_pdf_download_makes_the_statement_if_the_job_has_not(app, client, book, signed_in):
    mine_id = book["mine"].id
    response = client.get(f"/client/remittances/{mine_id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert "remittance-statement-R-2026-0001.pdf" in response.headers["Content-Disposition"]
    db.session.expire_all()  # the view ran in its own session
    stored = db.session.get(Remittance, mine_id).statement_document_id
    assert stored is not None  # committed by the view
    client.get(f"/client/remittances/{mine_id}/pdf")
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_agency_users_cannot_reach_the_client_pages(app, client, make, login, book):
    login(make.user(Role.ADMIN))
    db.session.commit()
    assert client.get("/client/remittances").status_code in (302, 403)


def test_approving_a_planned_run_sends_each_statement(app, make, outbox, queued_jobs):
    """The whole way through the lead's service: plan, approve, the queued job emails the PDF."""
    from portal.services import remittances

    app.config["AGENCY_IBAN"] = "NL02ABNA0123456789"
    client = make.client("Slagerij Bos B.V.", email="info@bos.nl", iban=IBAN)
    english_users(make, client)
    case, _ = make.case(client, make.debtor(name="Eva Kok"), (500_00,))
    paid(case, Bucket.PRINCIPAL, 200_00, 14)
    admin = make.user(Role.ADMIN)
    run = remittances.plan_run(*FEB, EXECUTION, admin)
    db.session.commit()
    assert queued_jobs.jobs == []  # a draft sends nothing
    remittances.approve_run(run, admin, today=date(2026, 3, 2))
    db.session.commit()
    assert queued_jobs.names == [("reports", "portal.jobs.remittances.send_statement")]
    queued_jobs.run()
    remittance = db.session.scalar(select(Remittance).where(Remittance.client_id == client.id))
    db.session.refresh(remittance)
    assert remittance.emailed_at is not None
    assert [m["To"] for m in outbox] == ["info@bos.nl"]
    text = pdf_text(db.session.get(Document, remittance.statement_document_id))
    # 200.00 less 15 % commission (30.00) and 21 % VAT on it (6.30): 163.70.
    for expected in (remittance.reference, "Eva Kok", "€200.00", "€30.00", "€6.30", "€163.70"):
        assert expected in text, expected
