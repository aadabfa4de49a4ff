"""A case's invoices as PDFs for the agency's staff: each as the debtor gets it, and the
client's own PDF handed over by an admin or supervisor on the client's behalf."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.agency import bp
from portal.documents.responses import file_response
from portal.extensions import db
from portal.models import Case, Invoice, Role
from portal.services import case_queries, invoice_files

UPLOADERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


def _invoice_or_404(case_id: int, invoice_id: int) -> tuple[Case, Invoice]:
    case = db.get_or_404(Case, case_id)
    invoice = case_queries.invoice_of(case, invoice_id)
    if invoice is None:
        abort(404)
    return case, invoice


@bp.get("/cases/<int:case_id>/invoices/<int:invoice_id>/pdf")
def invoice_pdf(case_id: int, invoice_id: int):
    """The invoice exactly as the "invoice" step would send it now (access code included:
    staff see the letters that carry it too)."""
    case, invoice = _invoice_or_404(case_id, invoice_id)
    pdf = invoice_files.invoice_pdf(case, invoice)
    return file_response(pdf.data, pdf.filename, "application/pdf", attachment=False)


@bp.post("/cases/<int:case_id>/invoices/<int:invoice_id>/pdf")
def upload_invoice_pdf(case_id: int, invoice_id: int):
    if current_user.role not in UPLOADERS:
        abort(403)
    case, invoice = _invoice_or_404(case_id, invoice_id)
    upload = request.files.get("pdf")
    filename, data = (upload.filename or "", upload.read()) if upload else ("", b"")
    try:
        if not case.is_open:
            raise invoice_files.InvoicePdfRejected(
                _("This case is closed; its invoices can no longer change."))
        invoice_files.attach_pdf(invoice, filename, data, user=current_user)
    except invoice_files.InvoicePdfRejected as rejected:
        return _refused(case, str(rejected))
    db.session.commit()
    flash(_("The PDF of invoice %(number)s is saved; it is sent from now on.",
            number=invoice.number), "success")
    return redirect(url_for(".case", case_id=case.id))


def _refused(case: Case, message: str):
    """Nothing was saved: the case page again with the reason, as 422."""
    from portal.agency.views import case as case_page

    db.session.rollback()
    flash(message, "error")
    response = make_response(case_page(case.id))
    response.status_code = 422
    return response
