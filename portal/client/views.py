from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from portal import htmx
from portal.client import bp
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, CaseStatus
from portal.services import arrangements, case_queries, disputes, ledger


def scoped_cases():
    """Every case query of this blueprint starts here: the signed-in user's client only."""
    return select(Case).where(Case.client_id == current_user.client_id)


def case_or_404(case_id: int) -> Case:
    """Another client's case answers exactly like a case that does not exist."""
    case = db.session.scalar(scoped_cases().where(Case.id == case_id))
    if case is None:
        abort(404)
    return case


@bp.get("/")
def dashboard():
    counts = case_queries.status_counts(scoped_cases())
    open_ids = scoped_cases().where(Case.status.in_(OPEN_STATUSES)).with_only_columns(Case.id)
    return render_template(
        "client/dashboard.html",
        counts=counts,
        open_count=sum(counts.get(str(s), 0) for s in OPEN_STATUSES),
        outstanding=ledger.total_outstanding(open_ids),
        collected=ledger.total_paid(scoped_cases().with_only_columns(Case.id)),
    )


@bp.get("/cases")
def cases():
    filters = case_queries.CaseFilters(
        q=request.args.get("q", ""), status=request.args.get("status", "")
    )
    page = db.paginate(
        case_queries.search(scoped_cases(), filters),
        per_page=current_app.config["CASES_PER_PAGE"],
        error_out=False,
    )
    context = {
        "page": page,
        "filters": filters,
        "balances": ledger.balances(c.id for c in page.items),
        "statuses": list(CaseStatus),
    }
    if htmx.wants_fragment():
        return render_block("client/cases/index.html", "results", **context)
    return render_template("client/cases/index.html", **context)


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    case = case_or_404(case_id)
    return render_template(
        "client/cases/show.html",
        case=case,
        balance=ledger.balance(case),
        events=case_queries.timeline(case, client_view=True),
        arrangement=arrangements.latest_arrangement(case),
        **disputes.with_evidence(case),
    )
