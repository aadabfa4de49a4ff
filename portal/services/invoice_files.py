"""A client's own PDF of an invoice: checked, kept as a document, sent by the "invoice" step.

A client whose invoicing the agency does may hand over the PDF it made of each invoice; the
workflow's "invoice" step then sends that PDF on its behalf, and one made from the claim
data where there is none (notices.render_invoice_pdfs). The bytes must show a PDF, whatever
the file's name says; a new PDF replaces the old one for what is sent next, and the old
document stays kept (what went out before remains on record).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from portal.documents.pdf import page_count
from portal.documents.storage import save_document
from portal.domain import evidence
from portal.models import Case, Channel, Document, DocumentKind, Invoice, StepAction, User
from portal.services import audit, notices
from portal.templating import file_size

MAX_BYTES = 10 * 1024 * 1024


class InvoicePdfRejected(ValueError):
    """The file is not a PDF we can send; the message says why, in the user's words."""


def attach_pdf(invoice: Invoice, filename: str, data: bytes, *, user: User | None) -> Document:
    """Keep `data` as the invoice's PDF (flushed, not committed); InvoicePdfRejected when it
    is empty, too large, not a PDF or a PDF no reader can open."""
    max_bytes = current_app.config.get("INVOICE_PDF_MAX_BYTES", MAX_BYTES)
    if not data:
        raise InvoicePdfRejected(_("The file is empty."))
    if len(data) > max_bytes:
        raise InvoicePdfRejected(_("The file is larger than %(size)s.",
                                   size=file_size(max_bytes)))
    if evidence.sniff(data) != "application/pdf" or not _readable(data):
        raise InvoicePdfRejected(_("The file is not a PDF."))
    name = filename if filename.lower().endswith(".pdf") else f"invoice-{invoice.number}.pdf"
    document = save_document(DocumentKind.INVOICE, name, "application/pdf", data,
                             case_id=invoice.case_id)
    replaced = invoice.document_id is not None
    invoice.document_id = document.id
    audit.record("invoice.pdf",
                 f"Invoice {invoice.number}: PDF {'replaced' if replaced else 'added'}",
                 case=invoice.case, user=user, document_id=document.id)
    return document


def _readable(data: bytes) -> bool:
    try:
        return page_count(data) > 0
    except Exception:  # a damaged file fails in the PDF reader in many ways
        return False


def invoice_pdf(case: Case, invoice: Invoice, *, with_access_code: bool = True
                ) -> notices.InvoicePdf:
    """The invoice as its PDF would go out now: the client's, else one made from the claim
    data (with a placeholder where the case has no access code yet, or, without
    `with_access_code`, always: a client's download must not show the debtor's key)."""
    draft = notices.Draft(
        debtor=case.debtor, client=case.client, cases=(case,), action=StepAction.INVOICE,
        channel=Channel.LETTER, template_key="invoice",
        language=notices.document_language(case.debtor.language), dated=notices.agency_today(),
        preview=True,
    )
    [pdf] = notices.render_invoice_pdfs(draft, only=invoice,
                                        with_access_code=with_access_code)
    return pdf
