"""Payment plans for the client business: the ones waiting for its approval, approve/reject.

Every plan is loaded through the client's own cases: another client's plan answers 404."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.client import bp
from portal.extensions import db
from portal.models import Arrangement, Case
from portal.services import arrangements
from portal.services.notices import agency_today


def _plan_or_404(arrangement_id: int) -> Arrangement:
    arrangement = db.session.scalar(
        select(Arrangement).join(Case, Arrangement.case_id == Case.id)
        .where(Arrangement.id == arrangement_id, Case.client_id == current_user.client_id))
    if arrangement is None:
        abort(404)
    return arrangement


@bp.get("/arrangements")
def arrangements_index():
    waiting = db.paginate(arrangements.waiting_on_client(current_user.client_id),
                          per_page=25, error_out=False)
    return render_template("client/arrangements/index.html", page=waiting)


@bp.post("/arrangements/<int:arrangement_id>/approve")
def approve_arrangement(arrangement_id: int):
    plan = _plan_or_404(arrangement_id)
    return _decide(plan, lambda: arrangements.approve(plan, current_user, today=agency_today()),
                   _("You approved the plan."))


@bp.post("/arrangements/<int:arrangement_id>/reject")
def reject_arrangement(arrangement_id: int):
    plan = _plan_or_404(arrangement_id)
    note = request.form.get("note", "")[:1000]
    return _decide(plan, lambda: arrangements.reject(plan, current_user, note,
                                                     today=agency_today()),
                   _("You rejected the plan."))


def _decide(plan: Arrangement, action, done: str):
    try:
        action()
    except arrangements.ArrangementRefused as refused:
        db.session.rollback()
        flash(" ".join(str(m) for m in refused.messages), "error")
    else:
        db.session.commit()
        flash(done, "success")
    if request.form.get("from") == "case":
        return redirect(url_for("client.case", case_id=plan.case_id))
    return redirect(url_for("client.arrangements_index"))
