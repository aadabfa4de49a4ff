from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import func, select

from portal import htmx
from portal.agency import bp, disputes
from portal.documents.responses import document_response
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, CaseStatus, Client, Debtor, Document, Role
from portal.queue import enqueue_after_commit
from portal.services import arrangements, batches, calls, case_queries, ledger
from portal.services.payments import for_case as payments_for_case

MAKE_DOSSIER = "portal.jobs.dossier.make_dossier"


@bp.get("/")
def dashboard():
    all_cases = select(Case)
    counts = case_queries.status_counts(all_cases)
    open_ids = select(Case.id).where(Case.status.in_(OPEN_STATUSES))
    outstanding = ledger.total_outstanding(open_ids)
    return render_template(
        "agency/dashboard.html",
        counts=counts,
        open_count=sum(counts.get(str(s), 0) for s in OPEN_STATUSES),
        total_count=sum(counts.values()),
        outstanding=outstanding,
        client_count=db.session.scalar(select(func.count(Client.id))),
        debtor_count=db.session.scalar(select(func.count(Debtor.id))),
    )


@bp.get("/cases")
def cases():
    filters = case_queries.CaseFilters(
        q=request.args.get("q", ""),
        status=request.args.get("status", ""),
        client_id=request.args.get("client", type=int),
    )
    page = db.paginate(
        case_queries.search(select(Case), filters),
        per_page=current_app.config["CASES_PER_PAGE"],
        error_out=False,
    )
    context = {
        "page": page,
        "filters": filters,
        "balances": ledger.balances(c.id for c in page.items),
        "clients": db.session.scalars(select(Client).order_by(Client.name)).all(),
        "statuses": list(CaseStatus),
    }
    if htmx.wants_fragment():
        return render_block("agency/cases/index.html", "results", **context)
    return render_template("agency/cases/index.html", **context)


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    case = db.get_or_404(Case, case_id)
    parts = disputes.case_parts(case)  # viewing the case marks the debtor's messages read
    db.session.commit()
    return render_template(
        "agency/cases/show.html",
        **parts,
        case=case,
        balance=ledger.balance(case),
        entries=ledger.entries(case),
        events=case_queries.timeline(case),
        notices=batches.case_notices(case.id),
        documents=batches.case_documents(case.id),
        payments=payments_for_case(case),
        arrangement=arrangements.latest_arrangement(case),
        call_logs=calls.calls_for_case(case),
    )


@bp.post("/cases/<int:case_id>/dossier")
def make_dossier(case_id: int):
    """Make a legal case's dossier again (on the `letters` queue): for admins and supervisors."""
    if current_user.role not in (Role.ADMIN, Role.SUPERVISOR):
        abort(403)
    case = db.get_or_404(Case, case_id)
    if case.status != CaseStatus.LEGAL:
        abort(409)
    enqueue_after_commit("letters", MAKE_DOSSIER, case.id)
    db.session.commit()
    flash(_("The dossier is being made. It appears under Documents in a moment."), "success")
    return redirect(url_for(".case", case_id=case.id))


@bp.get("/documents/<int:document_id>")
def document(document_id: int):
    """A letter, email or dossier as it was made, for the agency's staff."""
    doc = db.get_or_404(Document, document_id)
    return document_response(doc, attachment=False)
