"""Status reports for a client: a PDF (key figures, chart, aging, the cases that changed and the
payments received in a period) and a CSV of every open case, stored as documents and listed in
the client portal. A scheduled report exists once per client and period (the second build
returns the first); on-demand reports may repeat a period. Flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, format_percent
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.documents.charts import bar_chart_svg, svg_data_uri
from portal.documents.pdf import html_to_pdf
from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DocumentKind,
    EntryCause,
    LedgerEntry,
    StatusReport,
    User,
    utcnow,
)
from portal.models.client_portal import ReportFrequency
from portal.services import audit, client_figures
from portal.services.report_csv import open_cases_csv
from portal.templating import event_label

# The PDF lists at most this many changed cases and payments each (newest first); the CSV
# carries every open case, so the PDF stays readable (and quick: xhtml2pdf's time grows with
# table rows) for a client with 10,000 cases.
MAX_LINES = 100
# An on-demand report still without its PDF after this long has failed; the list says so.
PENDING_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class ChangedCase:
    reference: str
    debtor: str
    status: CaseStatus
    last_action: str
    last_action_on: date  # in the agency's calendar


@dataclass(frozen=True)
class PaymentLine:
    booked_on: date
    reference: str
    debtor: str
    amount_cents: int


def report_period(frequency: str, today: date) -> tuple[date, date]:
    """The period a report made today covers: last Monday..Sunday (weekly), else last month."""
    if frequency == ReportFrequency.WEEKLY:
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=6)
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def is_due(frequency: str, today: date) -> bool:
    """Whether a scheduled report falls due today: Mondays (weekly), the 1st (monthly)."""
    if frequency == ReportFrequency.WEEKLY:
        return today.weekday() == 0
    return frequency == ReportFrequency.MONTHLY and today.day == 1


def existing_report(client_id: int, start: date, end: date, *, scheduled: bool = True
                    ) -> StatusReport | None:
    """The client's report of this kind for exactly this period, if made before."""
    return db.session.scalar(select(StatusReport).where(
        StatusReport.client_id == client_id, StatusReport.period_start == start,
        StatusReport.period_end == end, StatusReport.scheduled.is_(scheduled)))


def request_report(client: Client, start: date, end: date, *, user: User) -> StatusReport:
    """An on-demand report, recorded at once without its files (the `reports` job makes them).

    The table keeps one on-demand report per period (its unique key includes `scheduled`), so
    asking again for the same period makes that report again, as of today.
    """
    report = existing_report(client.id, start, end, scheduled=False)
    if report is None:
        report = StatusReport(client_id=client.id, period_start=start, period_end=end,
                              scheduled=False)
        db.session.add(report)
    report.requested_by_id, report.created_at = user.id, utcnow()
    report.pdf_document_id = report.csv_document_id = None
    db.session.flush()
    audit.record("report.requested", f"Status report {start}..{end} asked for", user=user,
                 client_id=client.id, client_visible=False, report_id=report.id)
    return report


def build_report(client: Client, period_start: date, period_end: date, *, scheduled: bool,
                 user: User | None = None, today: date) -> StatusReport:
    """Make and store a report. A scheduled one that exists already is returned as it is; an
    on-demand one for a period asked for before is made again (one per period, see above)."""
    existing = existing_report(client.id, period_start, period_end, scheduled=scheduled)
    if existing is not None and scheduled:
        return existing
    try:
        with db.session.begin_nested():
            report = existing or StatusReport(client_id=client.id, period_start=period_start,
                                              period_end=period_end, scheduled=scheduled)
            report.requested_by_id = user.id if user else None
            report.created_at = utcnow()
            db.session.add(report)
            db.session.flush()
            fill_report(report, today=today, language=_language(user))
    except IntegrityError:  # another worker made the same report a moment ago
        existing = existing_report(client.id, period_start, period_end, scheduled=scheduled)
        if existing is None:
            raise
        return existing
    return report


def fill_report(report: StatusReport, *, today: date, language: str | None = None) -> None:
    """Render the report's PDF and CSV and store both; its figures keep what the PDF shows."""
    language = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    client = report.client
    with force_locale(language):
        context = report_context(report, today=today, language=language)
        pdf = html_to_pdf(render_template("documents/status_report.html", **context))
        csv_bytes = open_cases_csv(client.id)
    name = f"status-report-{_slug(client)}-{report.period_start}-{report.period_end}"
    report.pdf_document_id = save_document(
        DocumentKind.REPORT, f"{name}.pdf", "application/pdf", pdf, case_id=None).id
    report.csv_document_id = save_document(
        DocumentKind.REPORT, f"open-cases-{_slug(client)}-{report.period_end}.csv",
        "text/csv", csv_bytes, case_id=None).id
    report.figures = {**context["figures"].as_dict(), **context["period"], "language": language}
    audit.record("report.made", f"Status report {report.period_start}..{report.period_end} made",
                 client_id=client.id, client_visible=False, report_id=report.id)
    db.session.flush()


def report_context(report: StatusReport, *, today: date, language: str) -> dict:
    """Everything the PDF template shows, each list from one query."""
    start, end = report.period_start, report.period_end
    figures = client_figures.figures(report.client_id, today=today, language=language)
    changed, changed_count = changed_cases(report.client_id, start, end)
    payments, paid_count, paid_cents = payments_received(report.client_id, start, end)
    return {
        "report": report,
        "client": report.client,
        "figures": figures,
        "period": {"collected_period_cents": paid_cents, "payments_count": paid_count,
                   "changed_cases": changed_count,
                   "new_cases": new_cases(report.client_id, start, end)},
        "chart": svg_data_uri(bar_chart_svg(figures.collected_by_month, width=480, height=170)),
        "changed": changed,
        "payments": payments,
        "ratio": ratio,
        "made_on": today,
    }


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's first and after-last moment in UTC, counted in the agency's calendar."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


def changed_cases(client_id: int, start: date, end: date) -> tuple[list[ChangedCase], int]:
    """The client's cases with something the client may see happen in the period, each with
    its last such event, newest first (at most MAX_LINES), and how many there were."""
    since, until = _window(start, end)
    last = (
        select(func.max(AuditEvent.id).label("id"))
        .where(AuditEvent.client_id == client_id, AuditEvent.case_id.is_not(None),
               AuditEvent.client_visible.is_(True),
               AuditEvent.occurred_at >= since, AuditEvent.occurred_at < until)
        .group_by(AuditEvent.case_id)
        .subquery()
    )
    count = db.session.scalar(select(func.count()).select_from(last)) or 0
    rows = db.session.execute(
        select(Case.reference, Debtor.name, Case.status, AuditEvent.action,
               AuditEvent.detail, AuditEvent.summary, AuditEvent.occurred_at)
        .join(last, last.c.id == AuditEvent.id)
        .join(Case, Case.id == AuditEvent.case_id)
        .join(Debtor, Debtor.id == Case.debtor_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(MAX_LINES)
    ).all()
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    return [ChangedCase(row.reference, row.name, row.status, event_label(row),
                        row.occurred_at.astimezone(zone).date()) for row in rows], int(count)


def payments_received(client_id: int, start: date, end: date
                      ) -> tuple[list[PaymentLine], int, int]:
    """Payments booked in the period on the client's cases (newest first, at most MAX_LINES),
    with their number and total in cents."""
    in_period = (LedgerEntry.cause == EntryCause.PAYMENT, LedgerEntry.booked_on >= start,
                 LedgerEntry.booked_on <= end, Case.client_id == client_id)
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(Case, Case.id == LedgerEntry.case_id).where(*in_period)
    ).one()
    rows = db.session.execute(
        select(LedgerEntry.booked_on, Case.reference, Debtor.name, -LedgerEntry.amount_cents)
        .join(Case, Case.id == LedgerEntry.case_id)
        .join(Debtor, Debtor.id == Case.debtor_id)
        .where(*in_period)
        .order_by(LedgerEntry.booked_on.desc(), LedgerEntry.id.desc())
        .limit(MAX_LINES)
    ).all()
    return [PaymentLine(*row) for row in rows], int(count), -int(total or 0)


def new_cases(client_id: int, start: date, end: date) -> int:
    return int(db.session.scalar(select(func.count()).where(
        Case.client_id == client_id, Case.opened_on >= start, Case.opened_on <= end)) or 0)


def client_reports(client_id: int, limit: int = 50) -> list[StatusReport]:
    """The client's reports, newest first."""
    return list(db.session.scalars(
        select(StatusReport).where(StatusReport.client_id == client_id)
        .order_by(StatusReport.created_at.desc(), StatusReport.id.desc()).limit(limit)))


def is_pending(report: StatusReport, now: datetime) -> bool:
    """Still being made (no PDF yet, asked for recently)."""
    return report.pdf_document_id is None and now - report.created_at < PENDING_FOR


def ratio(value: float) -> str:
    """A share as the reader writes percentages, one decimal: 45.5% or 45,5%."""
    return format_percent(value, "#,##0.0%")


def _language(user: User | None) -> str | None:
    return user.language if user is not None else None


def _slug(client: Client) -> str:
    return f"client-{client.id}"


def set_schedule(client: Client, user: User, *, frequency: str, recipients: list[str]) -> None:
    """How often the client gets a report, and to whom (validated addresses). Flushes."""
    client.report_frequency = ReportFrequency(frequency).value
    client.report_recipients = "\n".join(recipients) or None
    audit.record("client.report_schedule", f"Status reports: {frequency}", user=user,
                 client_id=client.id, client_visible=False, recipients=len(recipients))
    db.session.flush()
