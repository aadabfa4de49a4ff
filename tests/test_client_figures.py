"""A client's key figures against a small book computed by hand, and the shared bar chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.documents.charts import bar_chart_svg, svg_data_uri
from portal.documents.pdf import html_to_pdf
from portal.extensions import db
from portal.models import (
    Bucket,
    CallLog,
    CallOutcome,
    CaseStatus,
    EntryCause,
    NonPaymentReason,
    Role,
)
from portal.services import client_figures, ledger

TODAY = date(2026, 3, 15)

# name: (opened on, amounts (cents), interest, payments [(day, cents)], paid in full on)
# The factory makes each invoice due 30 days before the case opened.
BOOK = {
    "c1": (date(2026, 1, 1), (100_000,), 0, [(date(2026, 2, 10), 40_000),
                                             (date(2026, 3, 5), 10_000)], None),
    "c2": (date(2026, 2, 1), (20_000,), 0, [(date(2026, 2, 21), 20_000)], date(2026, 2, 21)),
    "c3": (date(2026, 3, 1), (30_000,), 1_000, [], None),
    "c4": (date(2026, 3, 15), (5_000,), 0, [], None),
    "c5": (date(2025, 11, 1), (10_000,), 0, [(date(2025, 12, 1), 10_000)], date(2025, 12, 1)),
}
# case -> reasons its calls gave (a reason counts once per case)
CALLS = {"c1": ["lost_job"], "c3": ["lost_job", "lost_job"], "c4": ["quality"]}

EXPECTED = {
    "open_cases": 3,  # c1, c3, c4
    "outstanding_cents": 50_000 + 31_000 + 5_000,
    "collected_month_cents": 10_000,  # March: c1's second payment
    "collected_total_cents": 40_000 + 10_000 + 20_000 + 10_000,
    "handed_over_cents": 100_000 + 20_000 + 30_000 + 5_000 + 10_000,
    "avg_days_to_collect": 25.0,  # c2: 20 days, c5: 30 days
    "paid_cases": 2,
    # c4 30 days overdue, c3 44 days, c1 103 days
    "aging": {"0-30": (1, 5_000), "31-60": (1, 31_000), "61-90": (0, 0), "90+": (1, 50_000)},
    "reasons": [("Lost job", 2), ("Quality complaint", 1)],
}


def _build(make, client, book, calls, caller, reasons):
    cases = {}
    for name, (opened, amounts, interest, payments, paid_on) in book.items():
        case, _ = make.case(client, amounts=amounts, opened_on=opened)
        if interest:
            ledger.book(case, Bucket.INTEREST, interest, EntryCause.INTEREST, "interest",
                        booked_on=opened)
        for day, cents in payments:
            ledger.book(case, Bucket.PRINCIPAL, -cents, EntryCause.PAYMENT, "payment",
                        booked_on=day)
        if paid_on:
            case.status, case.closed_on = CaseStatus.PAID, paid_on
        cases[name] = case
    for name, codes in calls.items():
        for code in codes:
            db.session.add(CallLog(case_id=cases[name].id, caller_id=caller.id,
                                   started_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
                                   outcome=CallOutcome.REFUSED, reason_id=reasons[code].id))
    db.session.flush()
    return cases


@pytest.fixture
def reasons(app):
    found = {
        code: NonPaymentReason(code=code, label_en=en, label_nl=nl)
        for code, en, nl in [("lost_job", "Lost job", "Baan kwijt"),
                             ("quality", "Quality complaint", "Klacht over kwaliteit")]
    }
    db.session.add_all(found.values())
    db.session.flush()
    return found


def test_figures_match_the_book_computed_by_hand(make, reasons):
    client, other = make.client(), make.client()
    caller = make.user(Role.CALLER)
    _build(make, client, BOOK, CALLS, caller, reasons)
    # Another client's big book must change nothing.
    _build(make, other, {"x": (date(2026, 3, 1), (999_900,), 0, [(date(2026, 3, 2), 5_00)],
                               None)}, {"x": ["quality"]}, caller, reasons)

    got = client_figures.figures(client.id, today=TODAY)

    for key, expected in EXPECTED.items():
        assert getattr(got, key) == expected, key
    assert got.recovery_rate == pytest.approx(80_000 / 165_000)
    by_month = dict(got.collected_by_month)
    assert list(by_month)[0] == "2025-04" and list(by_month)[-1] == "2026-03"
    assert by_month == {**dict.fromkeys(by_month, 0),
                        "2025-12": 10_000, "2026-02": 60_000, "2026-03": 10_000}


def test_a_client_without_cases_has_empty_figures(make):
    got = client_figures.figures(make.client().id, today=TODAY)
    assert (got.open_cases, got.outstanding_cents, got.recovery_rate) == (0, 0, 0.0)
    assert got.avg_days_to_collect is None
    assert got.aging == {"0-30": (0, 0), "31-60": (0, 0), "61-90": (0, 0), "90+": (0, 0)}
    assert len(got.collected_by_month) == 12


@pytest.mark.parametrize(
    ("days_overdue", "bucket"),
    [(-10, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
     (91, "90+"), (400, "90+")],
)
def test_aging_bucket_edges(make, days_overdue, bucket):
    client = make.client()
    # The factory's invoice falls due 30 days before the case opens.
    make.case(client, amounts=(1_000,), opened_on=TODAY - timedelta(days=days_overdue - 30))
    aging = client_figures.figures(client.id, today=TODAY).aging
    assert aging[bucket] == (1, 1_000)
    assert sum(count for count, _ in aging.values()) == 1


def test_month_starts_cross_the_year():
    starts = client_figures.month_starts(date(2026, 2, 28), 3)
    assert starts == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_bar_chart_is_plain_svg_with_every_label():
    svg = bar_chart_svg([("Jan", 12_345), ("Feb", 0), ("<b>", 100)], title="Collected")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg
    assert svg.count("<rect") == 3
    assert "Jan" in svg and "€123" in svg and "&lt;b&gt;" in svg


def test_bar_chart_draws_in_a_pdf_through_a_data_uri(app):
    import io

    from pypdf import PdfReader

    svg = bar_chart_svg([("2026-01", 50_000), ("2026-02", 70_000)])
    pdf = html_to_pdf(f'<html><body><img src="{svg_data_uri(svg)}" width="640" '
                      f'height="220"/></body></html>')
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "2026-01" in text and "€700" in text
