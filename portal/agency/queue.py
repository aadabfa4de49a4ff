"""The caller's pages: the queue home with "Next case", the task screen with everything about the
case, the outcome form, and the payment plan builder after an "arrangement" call.

Every staff member may use them. A task's screen is for the caller who claimed it; admins and
supervisors may look at any task (read only unless they claimed it themselves).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from portal import htmx
from portal.agency import bp as agency_bp
from portal.agency.call_words import task_reason_label
from portal.agency.queue_forms import OUTCOME_KEYS, ArrangementForm, OutcomeForm
from portal.extensions import db
from portal.models import (
    OPEN_TASK_STATUSES,
    CallOutcome,
    CallTask,
    Role,
    TaskStatus,
    utcnow,
)
from portal.services import (
    arrangements,
    call_queue,
    calls,
    case_queries,
    disputes,
    ledger,
)
from portal.services.notices import agency_today
from portal.services.payments import for_case as payments_for_case

bp = Blueprint("queue", __name__)
OVERSEERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
WHY_NOT = {
    "outside_hours": _l("outside calling hours where the debtor lives"),
    "attempt_cap": _l("called too often this week"),
    "after_conversation": _l("spoken to recently"),
    "do_not_call": _l("asked not to be called"),
    "no_phone": _l("no usable phone number"),
    "disputed": _l("disputed"),
    "on_hold": _l("on hold"),
}
WHY_SAMPLE = 500  # open tasks looked at to explain an empty "next"


@bp.get("/")
def home():
    now = utcnow()
    mine = calls.calls_today(current_user, now)
    context = {
        "left": _tasks_left(),
        "mine": mine,
        "conversations": sum(1 for c in mine if c.conversation),
        "current": _claimed_by_me(),
        "why": _why_nothing(now) if request.args.get("nothing") else None,
    }
    return render_template("agency/queue/home.html", **context)


@bp.post("/next")
def next_case():
    task = call_queue.next_task(current_user, utcnow())
    db.session.commit()
    if task is None:
        flash(_("There is nothing to call right now."), "success")
        return redirect(url_for(".home", nothing=1))
    return redirect(url_for(".task", task_id=task.id))


@bp.get("/tasks/<int:task_id>")
def task(task_id: int):
    task = _load(task_id)
    return render_template("agency/queue/task.html", **_screen(task, OutcomeForm(formdata=None)))


@bp.get("/tasks/<int:task_id>/fields")
def fields(task_id: int):
    """The fields the chosen outcome needs (htmx swaps them in when a radio changes)."""
    task = _load(task_id)
    form = OutcomeForm(request.args, meta={"csrf": False})
    return htmx.add_vary(make_response(render_block(
        "agency/queue/task.html", "outcome_fields", form=form, task=task,
        chosen=form.outcome.data)))


@bp.post("/tasks/<int:task_id>/log")
def log(task_id: int):
    task = _load(task_id)
    if not calls.caller_may_log(task, current_user):
        abort(409)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            effect = calls.log_call(task, current_user, CallOutcome(form.outcome.data),
                                    now=utcnow(), **form.service_values(task))
        except calls.CallRefused as refused:
            db.session.rollback()
            form.add_errors(refused.messages)
        else:
            db.session.commit()
            flash(_logged_message(effect), "success")
            return redirect(url_for(".task", task_id=task.id))
    task = _load(task_id)  # after a rollback
    return render_template("agency/queue/task.html", **_screen(task, form)), 422


@bp.post("/tasks/<int:task_id>/arrangement")
def arrangement(task_id: int):
    """The staff version of the instalment builder: inside the policy the plan is active at
    once, outside it waits for approval."""
    task = _load(task_id)
    if task.claimed_by_id != current_user.id and current_user.role not in OVERSEERS:
        abort(403)
    plan_form = ArrangementForm()
    if plan_form.validate_on_submit():
        try:
            plan = arrangements.propose(task.case, plan_form.count.data, plan_form.start_on.data,
                                        today=agency_today(), by_user=current_user)
        except arrangements.ArrangementRefused as refused:
            db.session.rollback()
            plan_form.start_on.errors = [str(m) for m in refused.messages]
        else:
            db.session.commit()
            flash(_("The payment plan is active.") if plan.status == "active"
                  else _("The payment plan waits for approval."), "success")
            return redirect(url_for(".task", task_id=task.id))
    task = _load(task_id)
    screen = _screen(task, OutcomeForm(formdata=None))
    screen["plan_form"] = plan_form
    return render_template("agency/queue/task.html", **screen), 422


@bp.app_template_global()
def call_outcome_label(outcome: object) -> str:
    return calls.outcome_label(outcome)


bp.add_app_template_global(task_reason_label)


# -- helpers ----------------------------------------------------------------------------------


def _load(task_id: int) -> CallTask:
    """The task, for the caller who claimed it or an admin/supervisor; 403 for other callers."""
    task = db.get_or_404(CallTask, task_id)
    if task.claimed_by_id != current_user.id and current_user.role not in OVERSEERS:
        abort(403)
    return task


def _screen(task: CallTask, form: OutcomeForm) -> dict:
    case = task.case
    form.reason.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(r.id, r.label(str(get_locale()))) for r in calls.active_reasons()]
    last = _last_log(task)
    return {
        "task": task, "case": case, "form": form, "keys": OUTCOME_KEYS,
        "may_log": calls.caller_may_log(task, current_user),
        "chosen": form.outcome.data if request.method == "POST" else None,
        "script": calls.script_for(task, current_user),
        "balance": ledger.balance(case),
        "events": case_queries.timeline(case),
        "call_logs": calls.calls_for_case(case),
        "payments": payments_for_case(case),
        "promise": calls.open_promise(case),
        "arrangement": arrangements.latest_arrangement(case),
        "dispute": disputes.open_dispute_of(case),
        "last_log": last,
        "plan_form": _plan_form(task, last),
        "local_time": datetime.now(ZoneInfo(case.debtor.timezone)),
        "why_not": call_queue.callability(task, utcnow()) if task.status != "done" else [],
        "why_labels": WHY_NOT,
        "outcome_label": calls.outcome_label,
    }


def _plan_form(task: CallTask, last) -> ArrangementForm | None:
    """The builder shows after an "arrangement" call while the case has no plan running."""
    if last is None or last.outcome != CallOutcome.ARRANGEMENT:
        return None
    case = task.case
    if arrangements.active_arrangement(case) or arrangements.pending_arrangement(case):
        return None
    return ArrangementForm(formdata=None)


def _last_log(task: CallTask):
    logs = [c for c in calls.calls_for_case(task.case) if c.task_id == task.id]
    return logs[0] if logs else None


def _tasks_left() -> int:
    return db.session.scalar(select(func.count(CallTask.id)).where(
        CallTask.status.in_(OPEN_TASK_STATUSES), CallTask.day <= agency_today())) or 0


def _claimed_by_me() -> CallTask | None:
    return db.session.scalar(select(CallTask).where(
        CallTask.status == TaskStatus.CLAIMED, CallTask.claimed_by_id == current_user.id)
        .order_by(CallTask.claimed_at.desc()).limit(1))


def _why_nothing(now: datetime) -> list[tuple[str, int]]:
    """Why the open tasks cannot be called now: (reason in words, tasks), most first."""
    open_tasks = db.session.scalars(select(CallTask).where(
        CallTask.status == TaskStatus.OPEN).limit(WHY_SAMPLE))
    counts: Counter[str] = Counter()
    for open_task in open_tasks:
        reasons = call_queue.callability(open_task, now)
        if not reasons and open_task.not_before and open_task.not_before > now:
            reasons = ["later"]
        counts.update(reasons or ["claimable"])
    labels = {**WHY_NOT, "later": _l("a callback or next try later today or after"),
              "claimable": _l("callable: press Next case again")}
    return [(str(labels.get(code, code)), n) for code, n in counts.most_common()]


def _logged_message(effect: calls.Effect) -> str:
    text = _("Call logged: %(outcome)s.", outcome=calls.outcome_label(effect.log.outcome))
    if effect.follow_up is not None and effect.follow_up.not_before is not None:
        text += " " + _("Next try on %(day)s.", day=effect.follow_up.day.isoformat())
    return text


agency_bp.register_blueprint(bp, url_prefix="/queue")
