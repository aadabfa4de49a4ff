"""The client's status reports: the list with downloads, and "make a report now" (a job on the
`reports` queue; the list polls itself while one is being made)."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import DateField
from wtforms.validators import InputRequired, ValidationError

from portal import htmx
from portal.client import bp
from portal.documents.responses import document_response
from portal.extensions import db
from portal.jobs.reports import MAKE
from portal.models import Document, StatusReport, utcnow
from portal.queue import enqueue_after_commit
from portal.services import reports
from portal.services.notices import agency_today

MAX_DAYS = 366


class ReportForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[InputRequired()])
    period_end = DateField(_l("To"), validators=[InputRequired()])

    def validate_period_end(self, field) -> None:
        start = self.period_start.data
        if field.data > agency_today():
            raise ValidationError(_("The period cannot end after today."))
        if start and field.data < start:
            raise ValidationError(_("The period must end on or after its first day."))
        if start and (field.data - start).days >= MAX_DAYS:
            raise ValidationError(_("A report covers at most a year."))


def _report_or_404(report_id: int) -> StatusReport:
    """Another client's report answers exactly like one that does not exist."""
    report = db.session.get(StatusReport, report_id)
    if report is None or report.client_id != current_user.client_id:
        abort(404)
    return report


def _page(form: ReportForm, status: int = 200):
    items = reports.client_reports(current_user.client_id)
    now = utcnow()
    context = {"reports": items, "form": form,
               "pending": {r.id for r in items if reports.is_pending(r, now)}}
    if htmx.wants_fragment():
        response = Response(render_block("client/reports/index.html", "list", **context))
    else:
        response = Response(render_template("client/reports/index.html", **context), status)
    return htmx.add_vary(response)


@bp.get("/reports")
def reports_index():
    form = ReportForm()
    start, end = reports.report_period("monthly", agency_today())
    form.period_start.data, form.period_end.data = start, end
    return _page(form)


@bp.post("/reports")
def reports_request():
    form = ReportForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    report = reports.request_report(current_user.client, form.period_start.data,
                                    form.period_end.data, user=current_user)
    enqueue_after_commit("reports", MAKE, report.id, job_timeout=600)
    db.session.commit()
    flash(_("The report is being made. It appears in the list in a moment."), "success")
    return redirect(url_for(".reports_index"))


@bp.get("/reports/<int:report_id>/pdf")
def report_pdf(report_id: int):
    return download(_report_or_404(report_id).pdf_document_id)


@bp.get("/reports/<int:report_id>/csv")
def report_csv(report_id: int):
    return download(_report_or_404(report_id).csv_document_id)


def download(document_id: int | None) -> Response:
    """A client's stored file as a download (404 when there is none)."""
    document = db.session.get(Document, document_id) if document_id else None
    if document is None:
        abort(404)
    return document_response(document)

