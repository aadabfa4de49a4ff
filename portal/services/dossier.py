"""The dossier for the bailiff or lawyer, made when a case is handed over to legal.

One PDF with the claim (client, debtor, reference, invoices, and principal / interest /
costs / paid / total as the ledger sums them), every ledger entry, every letter and email
with its date and channel, and the case's audit trail. It is written in the agency's own
language (BABEL_DEFAULT_LOCALE: the lawyers it works with are Dutch), not the debtor's.
Flushes, never commits: portal.jobs.dossier commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from portal import dunning_templates
from portal.documents.pdf import html_to_pdf
from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import Case, CaseStatus, Document, DocumentKind, Notice
from portal.services import audit, batches, case_queries, ledger
from portal.services.notices import address_block, agency_today


def build_dossier(case: Case) -> Document:
    """Render the case's dossier to PDF and store it as a DOSSIER document. Flushes."""
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        html = render_template("documents/dossier.html", **_context(case, language))
    document = save_document(DocumentKind.DOSSIER, f"dossier-{case.reference}.pdf",
                             "application/pdf", html_to_pdf(html), case_id=case.id)
    audit.record("case.dossier", f"Dossier for the legal handover made ({document.filename})",
                 case=case, client_visible=False, document_id=document.id)
    return document


def _context(case: Case, language: str) -> dict:
    labels = dunning_templates.labels(language)
    # Oldest first: a lawyer reads the history of a claim from its start.
    notices: list[Notice] = sorted(batches.case_notices(case.id), key=lambda n: (n.dated, n.id))
    events = sorted(case_queries.timeline(case), key=lambda e: (e.occurred_at, e.id))
    return {
        "case": case,
        "client": case.client,
        "debtor": case.debtor,
        "debtor_lines": address_block(case.debtor, labels, language),
        "agency_name": current_app.config["AGENCY_NAME"],
        "balance": ledger.balance(case),
        "entries": ledger.entries(case),
        "notices": notices,
        "events": events,
        "made_on": agency_today(),
    }


def cases_without_dossier(case_ids: Sequence[int]) -> list[int]:
    """Of these cases, the ones handed over to legal that have no dossier yet, in id order."""
    has_dossier = select(Document.case_id).where(
        Document.kind == DocumentKind.DOSSIER, Document.case_id.is_not(None))
    return list(db.session.scalars(
        select(Case.id)
        .where(Case.id.in_(case_ids), Case.status == CaseStatus.LEGAL,
               Case.id.not_in(has_dossier))
        .order_by(Case.id)
    ))
