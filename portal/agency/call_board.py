"""The supervisor's board of the call team (admins and supervisors): today's progress, figures
per caller, queue health, and the queue list with reassign, pin, drop and add-by-hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal import htmx
from portal.agency import bp as agency_bp
from portal.agency.call_words import task_reason_label
from portal.auth.loader import guard_roles
from portal.extensions import db
from portal.models import CallTask, Role, TaskReason, TaskStatus, User
from portal.services import call_board
from portal.services.notices import agency_today

bp = Blueprint("call_board", __name__)
guard_roles(bp, [Role.ADMIN, Role.SUPERVISOR])

PER_PAGE = 25
PERIODS = {"today": 1, "week": 7, "month": 30}
TEMPLATE = "agency/calls/board.html"


def refusal_text(code: str) -> str:
    return {
        "closed": _("This task is no longer on the queue."),
        "not_a_caller": _("Choose someone from the list of callers."),
        "note_required": _("Say why the task is dropped."),
        "case_closed": _("This case is closed; only open cases can be called."),
        "already_open": _("This case is already on the call queue."),
        "unknown_case": _("No case has this reference."),
    }.get(code, code)


def labels() -> dict:
    """Words for the codes the board shows (task reasons, statuses, why a task waits)."""
    return {
        "reason_labels": {reason: task_reason_label(reason) for reason in TaskReason},
        "status_labels": {
            TaskStatus.OPEN: _("open"), TaskStatus.CLAIMED: _("on a caller's screen"),
            TaskStatus.DONE: _("done"), TaskStatus.DROPPED: _("dropped"),
        },
        "block_labels": {
            "do_not_call": _("Asked not to be called"),
            "no_phone": _("No usable phone number"),
            "disputed": _("Disputed"),
            "on_hold": _("Put on hold by the client"),
            "outside_hours": _("Outside calling hours at the debtor's location"),
            "attempt_cap": _("Call attempts used up for this week"),
            "after_conversation": _("Spoke with the debtor in the last days"),
        },
    }


class AddForm(FlaskForm):
    reference = StringField(_l("Case reference"), validators=[DataRequired(), Length(max=40)])
    caller = SelectField(_l("For caller (optional)"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note for the caller (optional)"),
                         validators=[Optional(), Length(max=1000)])


def _add_form() -> AddForm:
    form = AddForm(prefix="add")
    form.caller.choices = [("", _("anyone"))] + [(str(u.id), u.name)
                                                 for u in call_board.callers()]
    return form


def _filters() -> call_board.TaskFilters:
    status = request.args.get("status", "open")
    valid = {"open", ""} | set(TaskStatus._value2member_map_)
    return call_board.TaskFilters(
        reason=request.args.get("reason", ""),
        caller_id=request.args.get("caller", type=int),
        status=status if status in valid else "open",
    )


def _context(form: AddForm | None = None) -> dict:
    today = agency_today()
    period = request.args.get("period", "today")
    days = PERIODS.get(period, 1)
    filters = _filters()
    people = call_board.callers()
    return {
        "today": today,
        "period": period if period in PERIODS else "today",
        "progress": call_board.progress(today),
        "figures": call_board.caller_figures(today - timedelta(days=days - 1), today),
        "health": call_board.queue_health(datetime.now(UTC)),
        "page": db.paginate(call_board.listing(filters), per_page=PER_PAGE, error_out=False),
        "filters": filters,
        "callers": people,
        "names": {u.id: u.name for u in people},
        "reasons": list(TaskReason),
        "statuses": list(TaskStatus),
        "form": form or _add_form(),
        **labels(),
    }


@bp.get("/")
def index():
    context = _context()
    if htmx.wants_fragment():
        return htmx.add_vary(make_response(render_block(TEMPLATE, "results", **context)))
    return htmx.add_vary(make_response(render_template(TEMPLATE, **context)))


@bp.post("/add")
def add():
    form = _add_form()
    if form.validate_on_submit():
        code = None
        case = call_board.find_case(form.reference.data)
        caller = db.session.get(User, int(form.caller.data)) if (
            form.caller.data or "").isdigit() else None
        if case is None:
            code = "unknown_case"
        elif form.caller.data and caller is None:
            code = "not_a_caller"
        else:
            try:
                call_board.add_by_hand(case, agency_today(), by=current_user, caller=caller,
                                       note=form.note.data)
            except call_board.TaskRefused as refused:
                db.session.rollback()
                code = refused.code
        if code is None:
            db.session.commit()
            flash(_("%(reference)s is on the call queue.", reference=case.reference), "success")
            return redirect(url_for(".index"))
        form.reference.errors.append(refusal_text(code))
    return render_template(TEMPLATE, **_context(form)), 422


# -- task actions: htmx swaps the row; a plain form goes back to the board ----------------------


def _task(task_id: int) -> CallTask:
    return db.get_or_404(CallTask, task_id)


def _after(task: CallTask, action, done: str):
    error = None
    try:
        action()
    except call_board.TaskRefused as refused:
        db.session.rollback()
        error = refusal_text(refused.code)
    else:
        db.session.commit()
    status = 422 if error else 200
    if htmx.wants_fragment():
        task = db.session.get(CallTask, task.id)
        return render_template("agency/calls/_task_row.html", task=task, error=error,
                               callers=call_board.callers(), **labels()), status
    if error:
        flash(error, "error")
        return render_template(TEMPLATE, **_context()), 422
    flash(done, "success")
    return redirect(url_for(".index"))


@bp.post("/tasks/<int:task_id>/assign")
def assign(task_id: int):
    task = _task(task_id)
    raw = request.form.get("caller", "")
    caller = db.session.get(User, int(raw)) if raw.isdigit() else None

    def action():
        if raw and caller is None:
            raise call_board.TaskRefused("not_a_caller")
        call_board.reassign(task, caller, by=current_user)

    return _after(task, action, _("The task is reassigned."))


@bp.post("/tasks/<int:task_id>/pin")
def pin(task_id: int):
    task = _task(task_id)
    pinned = request.form.get("pinned") == "1"
    return _after(task, lambda: call_board.pin(task, pinned, by=current_user),
                  _("The task is pinned to the top.") if pinned else _("The task is unpinned."))


@bp.post("/tasks/<int:task_id>/drop")
def drop(task_id: int):
    task = _task(task_id)
    note = request.form.get("note", "")[:1000]
    return _after(task, lambda: call_board.drop(task, note, by=current_user,
                                                now=datetime.now(UTC)),
                  _("The task is dropped."))


agency_bp.register_blueprint(bp, url_prefix="/queue/board")
