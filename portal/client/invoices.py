"""The invoices of a client's case as PDFs: download each as the debtor gets it, and hand
over the client's own PDF of an invoice while the case is open."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.client import bp
from portal.client.follow import action_done, action_refused
from portal.client.views import case_or_404
from portal.documents.responses import file_response
from portal.models import Case, Invoice
from portal.services import case_queries, invoice_files


def _invoice_or_404(case_id: int, invoice_id: int) -> tuple[Case, Invoice]:
    case = case_or_404(case_id)
    invoice = case_queries.invoice_of(case, invoice_id)
    if invoice is None:
        abort(404)
    return case, invoice


@bp.get("/cases/<int:case_id>/invoices/<int:invoice_id>/pdf")
def invoice_pdf(case_id: int, invoice_id: int):
    """The invoice as the "invoice" step would send it now: the client's own PDF, else one
    made from the claim data, which must not show the debtor's access code to the client."""
    case, invoice = _invoice_or_404(case_id, invoice_id)
    pdf = invoice_files.invoice_pdf(case, invoice, with_access_code=False)
    return file_response(pdf.data, pdf.filename, "application/pdf", attachment=False)


@bp.post("/cases/<int:case_id>/invoices/<int:invoice_id>/pdf")
def upload_invoice_pdf(case_id: int, invoice_id: int):
    case, invoice = _invoice_or_404(case_id, invoice_id)
    if not case.is_open:  # the page offers no form then; a page left open may still send it
        return action_refused(case, invoice_files.InvoicePdfRejected(
            _("This case is closed; its invoices can no longer change.")))
    upload = request.files.get("pdf")
    filename, data = (upload.filename or "", upload.read()) if upload else ("", b"")
    try:
        invoice_files.attach_pdf(invoice, filename, data, user=current_user)
    except invoice_files.InvoicePdfRejected as rejected:
        return action_refused(case, rejected)
    return action_done(case, _("Your PDF of invoice %(number)s is saved; we send it from now on.",
                         number=invoice.number))
