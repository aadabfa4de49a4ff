"""The debtor's pages under /pay: one debtor per session, never anyone else's case."""

from flask import Blueprint, abort, g, redirect, request, session, url_for
from sqlalchemy import select

from portal.extensions import db
from portal.models import Case, Debtor

bp = Blueprint("debtor", __name__)

PUBLIC_ENDPOINTS = frozenset({"debtor.sign_in", "debtor.link"})


@bp.before_request
def require_debtor():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    debtor_id = session.get("debtor_id")
    debtor = db.session.get(Debtor, debtor_id) if debtor_id else None
    if debtor is None:
        session.pop("debtor_id", None)
        return redirect(url_for("debtor.sign_in"))
    g.debtor = debtor
    g.preferred_language = debtor.language
    return None


def load_case(case_id: int) -> Case:
    """The signed-in debtor's case, or 404: the one way a debtor page loads a case by id
    (someone else's case answers exactly like a missing one)."""
    case = db.session.scalar(select(Case).where(Case.id == case_id, Case.debtor_id == g.debtor.id))
    if case is None:
        abort(404)
    return case


from portal.debtor import (  # noqa: E402,F401  (the routes register themselves)
    arrangements,
    disputes,
    invoices,
    letters,
    payments,
    views,
)
