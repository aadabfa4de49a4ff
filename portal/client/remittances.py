"""The client's remittances: the list of what the agency paid out (approved runs only), each
statement as a page, and its PDF. Every remittance is loaded through the client's own approved
ones: another client's, or a draft, answers 404."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_babel import force_locale
from flask_login import current_user
from jinja2_fragments.flask import render_block

from portal import htmx
from portal.client import bp
from portal.client.reports import download
from portal.extensions import db
from portal.models import Remittance
from portal.services import remittance_statements

PER_PAGE = 25


def _remittance_or_404(remittance_id: int) -> Remittance:
    """Another client's remittance, or one of a draft run, answers like one that does not exist."""
    remittance = db.session.scalar(
        remittance_statements.client_remittances(current_user.client_id)
        .where(Remittance.id == remittance_id))
    if remittance is None:
        abort(404)
    return remittance


@bp.get("/remittances")
def remittances_index():
    page = db.paginate(remittance_statements.client_remittances(current_user.client_id),
                       per_page=PER_PAGE, error_out=False)
    template = "client/remittances/index.html"
    if htmx.wants_fragment():
        response = Response(render_block(template, "results", page=page))
    else:
        response = Response(render_template(template, page=page))
    return htmx.add_vary(response)


@bp.get("/remittances/<int:remittance_id>")
def remittance_show(remittance_id: int):
    remittance = _remittance_or_404(remittance_id)
    return render_template("client/remittances/show.html",
                           **remittance_statements.statement_context(remittance))


@bp.get("/remittances/<int:remittance_id>/csv")
def remittance_csv(remittance_id: int):
    """Every case of the statement, for the client's own books (made from the items)."""
    remittance = _remittance_or_404(remittance_id)
    with force_locale(remittance_statements.statement_language(remittance.client_id)):
        data = remittance_statements.statement_csv(remittance)
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="remittance-{remittance.reference}.csv"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@bp.get("/remittances/<int:remittance_id>/pdf")
def remittance_pdf(remittance_id: int):
    remittance = _remittance_or_404(remittance_id)
    if remittance.statement_document_id is None:
        # The job has not made it yet: make it now, in the language the job would use (once:
        # the job then finds it made).
        language = remittance_statements.statement_language(remittance.client_id)
        remittance_statements.make_statement(remittance, language=language)
        db.session.commit()
    return download(remittance.statement_document_id)
