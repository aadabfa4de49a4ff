"""Remittance statements on the `reports` queue: approving a run enqueues one job per
remittance (after the commit); each job makes the statement PDF (once) and emails it to the
client's report recipients, once."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update

from portal.documents.storage import read_document
from portal.extensions import db
from portal.jobs import job_logger
from portal.jobs.reports import report_recipients
from portal.links import public_link
from portal.mail import send_templated
from portal.models import Document, Remittance, RemittanceStatus, utcnow
from portal.services import remittance_statements

SEND_STATEMENT = "portal.jobs.remittances.send_statement"


def send_statement(remittance_id: int) -> int:
    """Make the statement of an approved remittance (idempotent) and email it once.

    The sending is claimed first (a conditional UPDATE on `emailed_at`), so a second run finds
    it claimed; a failed send rolls the claim back, so RQ's retry sends it. A remittance of a
    draft run is left alone: drafts are never shown to a client. Returns the remittance's id.
    """
    log = job_logger(__name__)
    remittance = db.session.get(Remittance, remittance_id)
    if remittance is None:
        raise LookupError(f"no remittance {remittance_id}")
    if remittance.run.status != RemittanceStatus.APPROVED:
        log.warning("remittance %s belongs to a draft run: no statement sent", remittance_id)
        return remittance_id
    language = remittance_statements.statement_language(remittance.client_id)
    document = remittance_statements.make_statement(remittance, language=language)
    db.session.commit()
    recipients = report_recipients(remittance.client)
    if not recipients:
        log.warning("client %s has no valid report recipient: statement %s not emailed",
                    remittance.client_id, remittance.reference)
        return remittance_id
    claimed = db.session.execute(
        update(Remittance).where(Remittance.id == remittance_id, Remittance.emailed_at.is_(None))
        .values(emailed_at=utcnow())
    ).rowcount
    if not claimed:
        db.session.rollback()
        log.info("statement %s was emailed already", remittance.reference)
        return remittance_id
    try:
        _email(remittance, document, recipients, language)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    log.info("statement %s emailed to %d recipient(s)", remittance.reference, len(recipients))
    return remittance_id


def _email(remittance: Remittance, document: Document, recipients: list[str],
           language: str) -> None:
    with force_locale(language):
        cases = remittance_statements.statement_csv(remittance)
    attachments = ((document.filename, document.content_type, read_document(document)),
                   (f"remittance-{remittance.reference}-cases.csv", "text/csv", cases))
    for address in recipients:
        send_templated(address, lambda: _("Remittance statement %(reference)s",
                                          reference=remittance.reference),
                       "client/email/remittance_statement", language=language,
                       attachments=attachments, client=remittance.client,
                       remittance=remittance, run=remittance.run,
                       statement_url=public_link("client.remittance_show",
                                                 remittance_id=remittance.id))
