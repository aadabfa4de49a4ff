"""Status reports: figures against a small book computed by hand, the PDF text (snapshot), the
CSV of open cases, the scheduled email with both attachments, idempotency, and the pages."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, date, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.documents.storage import read_document
from portal.extensions import db
from portal.jobs import reports as report_jobs
from portal.models import (
    Bucket,
    CaseStatus,
    Document,
    EntryCause,
    Role,
    StatusReport,
)
from portal.services import audit, ledger, reports
from tests.pages import csrf_token

SNAPSHOTS = Path(__file__).parent / "snapshots"
TODAY = date(2026, 3, 2)  # a Monday
FEB = (date(2026, 2, 1), date(2026, 2, 28))


def at(day: int, month: int = 2) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


def pay(case, cents: int, booked_on: date) -> None:
    ledger.book(case, Bucket.PRINCIPAL, -cents, EntryCause.PAYMENT, "Payment",
                booked_on=booked_on)


def event(case, action: str, summary: str, when: datetime, *, visible: bool = True) -> None:
    audit.record(action, summary, case=case, client_visible=visible).occurred_at = when


@pytest.fixture
def book(make):
    """Client A: case 1 (100.00 handed over 10 Jan, 40.00 paid 10 Feb), case 2 (250.00 on
    5 Feb, paid in full 20 Feb), case 3 (50.00 on 15 Feb, nothing paid). Client B: one case
    with a payment in February that must not show anywhere in A's report."""
    a = make.client("Bakkerij Jansen B.V.", email="boekhouding@jansen.nl",
                    report_frequency="monthly",
                    report_recipients="Piet@Jansen.nl; not-an-address\nanna@jansen.nl")
    one, _ = make.case(a, make.debtor(name="Aaltje de Boer"), (100_00,),
                       opened_on=date(2026, 1, 10))
    two, _ = make.case(a, make.debtor(name="Bram Visser"), (250_00,), opened_on=date(2026, 2, 5))
    three, _ = make.case(a, make.debtor(name="Chris Smit"), (50_00,), opened_on=date(2026, 2, 15))
    pay(one, 40_00, date(2026, 2, 10))
    pay(two, 250_00, date(2026, 2, 20))
    two.status, two.closed_on = CaseStatus.PAID, date(2026, 2, 20)
    event(one, "note", "Payment of 40.00 received", at(10))
    event(one, "note", "Debtor asked for a copy of the invoice", at(12))
    event(one, "note", "Internal: caller note", at(13), visible=False)
    event(one, "note", "Reminder sent", at(3, 3))  # after the period
    event(two, "note", "Paid in full", at(20))
    b = make.client("Other Client B.V.", report_frequency="weekly")  # not due on a Sunday
    other, _ = make.case(b, make.debtor(name="Someone Else"), (999_00,),
                         opened_on=date(2026, 2, 1))
    pay(other, 500_00, date(2026, 2, 11))
    event(other, "note", "Other client's event", at(11))
    db.session.commit()
    return {"client": a, "other": b, "cases": (one, two, three)}


def pdf_text(report: StatusReport) -> str:
    data = read_document(db.session.get(Document, report.pdf_document_id))
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def csv_rows(report: StatusReport) -> list[list[str]]:
    data = read_document(db.session.get(Document, report.csv_document_id)).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data)))


def english_user(make, client):
    user = make.user(Role.CLIENT, client=client, language="en")
    db.session.commit()
    return user


@pytest.mark.parametrize(("frequency", "today", "period", "due"), [
    ("weekly", date(2026, 3, 2), (date(2026, 2, 23), date(2026, 3, 1)), True),
    ("weekly", date(2026, 3, 4), (date(2026, 2, 23), date(2026, 3, 1)), False),
    ("monthly", date(2026, 3, 1), (date(2026, 2, 1), date(2026, 2, 28)), True),
    ("monthly", date(2026, 1, 1), (date(2025, 12, 1), date(2025, 12, 31)), True),
    ("monthly", date(2024, 3, 15), (date(2024, 2, 1), date(2024, 2, 29)), False),
    ("none", date(2026, 3, 1), (date(2026, 2, 1), date(2026, 2, 28)), False),
])
def test_report_period_and_when_it_is_due(frequency, today, period, due):
    assert reports.report_period(frequency, today) == period
    assert reports.is_due(frequency, today) is due


def test_figures_match_the_book_computed_by_hand(app, make, book):
    user = english_user(make, book["client"])
    report = reports.build_report(book["client"], *FEB, scheduled=False, user=user, today=TODAY)
    db.session.commit()
    f = report.figures
    assert f["open_cases"] == 2
    assert f["outstanding_cents"] == 60_00 + 50_00
    assert f["collected_total_cents"] == 290_00
    assert f["collected_period_cents"] == 290_00  # both payments fell in February
    assert f["payments_count"] == 2
    assert f["recovery_rate"] == pytest.approx(290 / 400)
    assert f["avg_days_to_collect"] == 15  # case 2: 5 to 20 February
    assert f["new_cases"] == 2  # cases 2 and 3
    assert f["changed_cases"] == 2  # cases 1 and 2 (the hidden note and March do not count)
    assert f["aging"] == {"0-30": [0, 0], "31-60": [1, 50_00], "61-90": [1, 60_00],
                          "90+": [0, 0]}


def test_pdf_shows_the_figures_as_the_page_writes_them(app, make, book):
    user = english_user(make, book["client"])
    report = reports.build_report(book["client"], *FEB, scheduled=False, user=user, today=TODAY)
    db.session.commit()
    text = " ".join(pdf_text(report).split())
    for expected in ("€110.00", "€290.00", "72.5%", "Bakkerij Jansen B.V.",
                     "Debtor asked for a copy of the invoice", "Paid in full", "€40.00"):
        assert expected in text
    for absent in ("Someone Else", "Internal: caller note", "Reminder sent", "€500.00"):
        assert absent not in text


def test_pdf_in_dutch_writes_dutch_money(app, make, book):
    report = reports.build_report(book["client"], *FEB, scheduled=True, today=TODAY)
    db.session.commit()
    text = pdf_text(report)
    assert "€ 110,00" in text and "72,5%" in text.replace("\xa0", "")


def test_report_text_matches_its_snapshot(app, make, book):
    user = english_user(make, book["client"])
    report = reports.build_report(book["client"], *FEB, scheduled=False, user=user, today=TODAY)
    db.session.commit()
    # Only the case references depend on the run (the counter): write them as placeholders.
    text = re.sub(r"K-\d{4}-\d{6}", "K-YYYY-NNNNNN", pdf_text(report))
    assert_snapshot("status_report.txt", text)


def test_csv_lists_every_open_case_with_its_money(app, make, book):
    one, two, three = book["cases"]
    report = reports.build_report(book["client"], *FEB, scheduled=True, today=TODAY)
    db.session.commit()
    header, *rows = csv_rows(report)
    assert len(header) == 11
    by_ref = {row[0]: row for row in rows}
    assert set(by_ref) == {one.reference, three.reference}  # case 2 is paid: not open
    first = by_ref[one.reference]
    assert first[1] == "Aaltje de Boer"
    assert first[2] == one.invoices[0].number
    assert first[3:8] == ["100.00", "0.00", "0.00", "40.00", "60.00"]
    assert first[9] == "Debtor asked for a copy of the invoice" or first[9] == "Reminder sent"


def test_scheduled_email_has_both_attachments_and_goes_out_once(app, make, book, outbox,
                                                                 queued_jobs, monkeypatch):
    monkeypatch.setattr(report_jobs, "agency_today", lambda: date(2026, 3, 1))
    assert report_jobs.send_due_reports() == 1
    assert queued_jobs.names == [("reports", "portal.jobs.reports.make_and_send_report")]
    queued_jobs.jobs *= 2  # the same job twice (a retry, or two schedulers)
    queued_jobs.run()
    assert db.session.scalar(select(func.count()).select_from(StatusReport)) == 1
    report = db.session.scalar(select(StatusReport))
    assert (report.period_start, report.period_end) == FEB and report.scheduled
    assert report.emailed_at is not None
    # Two valid recipients (the bad one is skipped), each emailed once.
    assert sorted(m["To"] for m in outbox) == ["Piet@jansen.nl", "anna@jansen.nl"]
    message = message_from_bytes(outbox[0].as_bytes())
    files = {p.get_filename(): p for p in message.walk() if p.get_filename()}
    pdf_name = f"status-report-client-{book['client'].id}-2026-02-01-2026-02-28.pdf"
    assert set(files) == {pdf_name, f"open-cases-client-{book['client'].id}-2026-02-28.csv"}
    assert files[pdf_name].get_content_type() == "application/pdf"
    csv_part = next(p for name, p in files.items() if name.endswith(".csv"))
    assert csv_part.get_content_type() == "text/csv"
    csv_text = csv_part.get_payload(decode=True).decode("utf-8-sig")
    one, _two, three = book["cases"]
    assert one.reference in csv_text and three.reference in csv_text
    assert _two.reference not in csv_text


def test_no_valid_recipient_falls_back_to_the_client_address(app, make):
    client = make.client(email="info@client.nl", report_recipients="nonsense, ;")
    assert report_jobs.report_recipients(client) == ["info@client.nl"]
    client.email = None
    assert report_jobs.report_recipients(client) == []


def test_build_report_twice_for_a_scheduled_period_returns_the_first(app, make, book):
    first = reports.build_report(book["client"], *FEB, scheduled=True, today=TODAY)
    again = reports.build_report(book["client"], *FEB, scheduled=True, today=TODAY)
    on_demand = reports.build_report(book["client"], *FEB, scheduled=False, today=TODAY)
    db.session.commit()
    assert again.id == first.id and on_demand.id != first.id
    # On demand for the same period again: the same row, made again (one per period).
    remade = reports.build_report(book["client"], *FEB, scheduled=False, today=TODAY)
    db.session.commit()
    assert remade.id == on_demand.id
    assert db.session.scalar(select(func.count()).select_from(StatusReport)) == 2


def test_asking_again_for_a_period_makes_that_report_again(app, make, book):
    user = english_user(make, book["client"])
    first = reports.request_report(book["client"], *FEB, user=user)
    reports.fill_report(first, today=TODAY)
    db.session.commit()
    again = reports.request_report(book["client"], *FEB, user=user)
    db.session.commit()
    assert again.id == first.id and again.pdf_document_id is None  # being made again


# -- pages ----------------------------------------------------------------------------------


def test_client_makes_a_report_and_downloads_it(app, client, make, login, book, queued_jobs):
    user = login(english_user(make, book["client"]))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/client/reports")
    assert page.status_code == 200 and "Make a report now" in page.text
    token = csrf_token(page.text)
    bad = client.post("/client/reports", data={"csrf_token": token, "period_start": "2026-02-28",
                                               "period_end": "2026-02-01"})
    assert bad.status_code == 422
    response = client.post("/client/reports", data={"csrf_token": token,
                                                    "period_start": "2026-02-01",
                                                    "period_end": "2026-02-28"})
    assert response.status_code == 302
    pending = client.get("/client/reports", headers={"HX-Request": "true"})
    assert "Being made" in pending.text and 'hx-trigger="every 3s"' in pending.text
    assert "HX-Request" in pending.headers["Vary"]
    queued_jobs.run()
    report = db.session.scalar(select(StatusReport))
    assert report.requested_by_id == user.id and report.pdf_document_id
    listed = client.get("/client/reports")
    assert f"/client/reports/{report.id}/pdf" in listed.text and "every 3s" not in listed.text
    pdf = client.get(f"/client/reports/{report.id}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    csv_file = client.get(f"/client/reports/{report.id}/csv")
    assert csv_file.mimetype == "text/csv" and book["cases"][0].reference in csv_file.text


def test_another_clients_report_is_404(app, client, make, login, book):
    report = reports.build_report(book["other"], *FEB, scheduled=True, today=TODAY)
    db.session.commit()
    login(make.user(Role.CLIENT, client=book["client"]))
    db.session.commit()
    for path in ("pdf", "csv"):
        assert client.get(f"/client/reports/{report.id}/{path}").status_code == 404
    assert client.get("/client/reports/999999/pdf").status_code == 404


def test_admin_sets_frequency_and_recipients(app, client, make, login, book):
    login(make.user(Role.ADMIN, language="en"))
    db.session.commit()
    url = f"/agency/clients/{book['client'].id}/reports"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf_token(page.text)
    bad = client.post(url, data={"csrf_token": token, "report_frequency": "weekly",
                                 "report_recipients": "a@b.nl\nnope"})
    assert bad.status_code == 422 and "nope" in bad.text
    good = client.post(url, data={"csrf_token": token, "report_frequency": "weekly",
                                  "report_recipients": "a@b.nl, c@d.nl"})
    assert good.status_code == 302
    db.session.refresh(book["client"])
    assert book["client"].report_frequency == "weekly"
    assert book["client"].report_recipients == "a@b.nl\nc@d.nl"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER])
def test_only_admins_set_report_schedules(app, client, make, login, book, role):
    login(make.user(role))
    db.session.commit()
    assert client.get(f"/agency/clients/{book['client'].id}/reports").status_code == 403


def assert_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name>; UPDATE_SNAPSHOTS=1 writes it instead."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8")
