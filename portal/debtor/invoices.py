"""The debtor's invoices as PDFs: what they owe and why, as the client's PDF or one made
from the claim data."""

from __future__ import annotations

from flask import abort

from portal.debtor import bp, load_case
from portal.documents.responses import file_response
from portal.services import case_queries, invoice_files


@bp.get("/cases/<int:case_id>/invoices/<int:invoice_id>/pdf")
def invoice_pdf(case_id: int, invoice_id: int):
    case = load_case(case_id)
    invoice = case_queries.invoice_of(case, invoice_id)
    if invoice is None:
        abort(404)
    pdf = invoice_files.invoice_pdf(case, invoice)  # their own access code: theirs to see
    return file_response(pdf.data, pdf.filename, "application/pdf", attachment=False)
