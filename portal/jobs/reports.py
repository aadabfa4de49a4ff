"""Status reports on the `reports` queue: the morning cron finds the clients whose weekly or
monthly report falls due and enqueues one job each; each job builds the report (once per client
and period) and emails it with the PDF and the CSV attached, once."""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.documents.storage import read_document
from portal.extensions import db
from portal.jobs import job_logger
from portal.links import public_link
from portal.mail import send_templated
from portal.models import Client, Document, StatusReport, User, utcnow
from portal.models.client_portal import ReportFrequency
from portal.queue import enqueue_after_commit
from portal.services import reports
from portal.services.notices import agency_today

MAKE_AND_SEND = "portal.jobs.reports.make_and_send_report"
MAKE = "portal.jobs.reports.make_report"
_SEPARATORS = re.compile(r"[\s,;]+")


def send_due_reports() -> int:
    """Cron, each morning: enqueue a report job for every client whose report is due today."""
    log = job_logger(__name__)
    today = agency_today()
    due = [client for client in db.session.scalars(
        select(Client).where(Client.active.is_(True),
                             Client.report_frequency != ReportFrequency.NONE.value))
           if reports.is_due(client.report_frequency, today)]
    for client in due:
        start, end = reports.report_period(client.report_frequency, today)
        enqueue_after_commit("reports", MAKE_AND_SEND, client.id, start.isoformat(),
                             end.isoformat(), job_timeout=600)
    db.session.commit()  # nothing written: the commit sends the jobs
    log.info("%d status report(s) due", len(due))
    return len(due)


def make_and_send_report(client_id: int, start_iso: str, end_iso: str) -> int:
    """Build the scheduled report (idempotent) and email it once; returns the report's id."""
    log = job_logger(__name__)
    client = _client(client_id)
    report = reports.build_report(client, date.fromisoformat(start_iso),
                                  date.fromisoformat(end_iso), scheduled=True,
                                  today=agency_today())
    db.session.commit()
    recipients = report_recipients(client)
    if not recipients:
        log.warning("client %s has no valid report recipient: report %s not emailed",
                    client_id, report.id)
        return report.id
    # Claim the sending first: a second run (or a retry after it was sent) finds it claimed.
    # On a send failure the rollback releases the claim, so a retry sends again.
    claimed = db.session.execute(
        update(StatusReport).where(StatusReport.id == report.id,
                                   StatusReport.emailed_at.is_(None))
        .values(emailed_at=utcnow())
    ).rowcount
    if not claimed:
        db.session.rollback()
        log.info("report %s was emailed already", report.id)
        return report.id
    try:
        _email(report, client, recipients)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    log.info("report %s emailed to %d recipient(s)", report.id, len(recipients))
    return report.id


def make_report(report_id: int) -> int:
    """Make the files of an on-demand report asked for in the portal (no email)."""
    log = job_logger(__name__)
    report = db.session.get(StatusReport, report_id)
    if report is None:
        raise LookupError(f"no status report {report_id}")
    if report.pdf_document_id is None:
        user = db.session.get(User, report.requested_by_id) if report.requested_by_id else None
        reports.fill_report(report, today=agency_today(),
                            language=user.language if user else None)
        db.session.commit()
    log.info("status report %s made", report_id)
    return report.id


def report_recipients(client: Client) -> list[str]:
    """The client's report recipients (commas, semicolons, spaces or new lines between them),
    the valid ones normalised; none valid: the client's own address, if valid."""
    found = [_valid(part) for part in _SEPARATORS.split(client.report_recipients or "")]
    valid = list(dict.fromkeys(address for address in found if address))
    if not valid and client.email:
        valid = [address] if (address := _valid(client.email)) else []
    return valid


def _valid(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _email(report: StatusReport, client: Client, recipients: list[str]) -> None:
    files = [db.session.get(Document, report.pdf_document_id),
             db.session.get(Document, report.csv_document_id)]
    attachments = tuple((doc.filename, doc.content_type, read_document(doc)) for doc in files)
    language = report.figures.get("language") or current_app.config["BABEL_DEFAULT_LOCALE"]
    for address in recipients:
        send_templated(address, lambda: _("Status report %(name)s", name=client.name),
                       "client/email/status_report", language=language,
                       attachments=attachments, client=client, report=report,
                       reports_url=public_link("client.reports_index"))


def _client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    return client
