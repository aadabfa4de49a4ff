from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, render_template, request
from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from sqlalchemy import select

from portal import htmx
from portal.client import bp
from portal.documents import charts
from portal.extensions import db
from portal.models import Case, CaseStatus
from portal.services import (
    arrangements,
    case_queries,
    client_actions,
    client_figures,
    disputes,
    ledger,
    notices,
)


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
    locale = str(get_locale() or "en")
    found = client_figures.figures(current_user.client_id, today=notices.agency_today(),
                                   language=locale)
    return render_template(
        "client/dashboard.html",
        counts=case_queries.status_counts(scoped_cases()),
        figures=found,
        recovery=format_percent(found.recovery_rate, format="#,##0.0%"),
        chart=collected_chart(found.collected_by_month),
    )


def collected_chart(months: list[tuple[str, int]]) -> Markup:
    """The payments per month as an inline SVG bar chart, labelled in the reader's language."""
    points = [(format_date(date.fromisoformat(f"{ym}-01"), "MMM"), cents) for ym, cents in months]
    # bar_chart_svg escapes every label and value it writes.
    return Markup(charts.bar_chart_svg(  # noqa: S704
        points, title=_("Collected per month"),
        value_label=lambda cents: "€" + format_decimal(round(cents / 100), format="#,##0"),
    ))


def list_filters() -> case_queries.CaseFilters:
    """The case list's search and status filter (the list and its CSV export share them)."""
    return case_queries.CaseFilters(
        q=request.args.get("q", "")[:100], status=request.args.get("status", "")
    )


@bp.get("/cases")
def cases():
    filters = list_filters()
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
        client_timeline=client_actions.client_timeline(case, current_user.client_id),
        hold_max=notices.agency_today() + timedelta(days=client_actions.MAX_HOLD_DAYS),
        arrangement=arrangements.latest_arrangement(case),
        **disputes.with_evidence(case, kinds=disputes.ALL_FILES),
    )
