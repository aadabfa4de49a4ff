"""The dunning batches: each run, its progress while it runs, its failures; run now, retry."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from portal import htmx
from portal.auth.loader import guard_roles
from portal.extensions import db
from portal.models import BatchRun, Channel, Notice, Role
from portal.queue import enqueue_after_commit
from portal.services import batches, delivery, dunning_runs
from portal.services.notices import agency_today

bp = Blueprint("batches", __name__)
guard_roles(bp, [Role.ADMIN, Role.SUPERVISOR])

RUN_PLANNED = "portal.jobs.dunning.run_planned"
DELIVER_NOTICES = "portal.jobs.delivery.deliver_notices"
SENDING_QUEUE = {Channel.EMAIL: "mail", Channel.LETTER: "letters"}


def _runs_context() -> dict:
    page = db.paginate(select(BatchRun).order_by(BatchRun.id.desc()), per_page=20,
                       error_out=False)
    return {
        "page": page,
        "delivered": batches.delivery_counts([run.id for run in page.items]),
        "polling": batches.runs_in_progress(),
    }


@bp.get("/")
def index():
    return render_template("agency/batches/index.html", **_runs_context())


@bp.get("/runs")
def runs():
    """The runs table alone; it polls itself while a run is in progress."""
    if not htmx.is_htmx():
        return redirect(url_for(".index"))
    return render_block("agency/batches/index.html", "runs", **_runs_context())


@bp.post("/run")
def run_now():
    if current_user.role != Role.ADMIN:
        abort(403)
    run = dunning_runs.request_run(agency_today(), trigger="manual", user=current_user)
    enqueue_after_commit("dunning", RUN_PLANNED, run.id)
    db.session.commit()
    flash(_("The batch is starting. Its progress appears below."), "success")
    return redirect(url_for(".index"))


@bp.get("/<int:run_id>")
def show(run_id: int):
    run = db.get_or_404(BatchRun, run_id)
    return render_template(
        "agency/batches/show.html",
        run=run,
        steps=batches.step_counts(run),
        delivered=batches.delivery_counts([run.id])[run.id],
        problems=batches.problem_notices(run),
    )


@bp.post("/<int:run_id>/retry")
def retry(run_id: int):
    if current_user.role != Role.ADMIN:
        abort(403)
    run = db.get_or_404(BatchRun, run_id)
    ids = batches.retry_failed(run, current_user)
    for channel, queue in SENDING_QUEUE.items():
        of_channel = [n.id for n in db.session.scalars(
            select(Notice).where(Notice.id.in_(ids), Notice.channel == channel))]
        if of_channel:
            enqueue_after_commit(queue, DELIVER_NOTICES, of_channel)
    db.session.commit()
    flash(_("%(count)s notice(s) will be sent again.", count=len(ids)), "success")
    return redirect(request.referrer or url_for(".show", run_id=run.id))


@bp.post("/<int:run_id>/post-room")
def post_room(run_id: int):
    """The run day's letters merged into one PDF for the post room, made in the request: a
    day's letters take a few seconds at most, and the admin wants the file now."""
    run = db.get_or_404(BatchRun, run_id)
    document = delivery.post_room_pdf(run.run_on)
    if document is None:
        flash(_("There are no letters for this day."), "info")
        return redirect(url_for(".show", run_id=run.id))
    db.session.commit()
    return redirect(url_for("agency.document", document_id=document.id))
