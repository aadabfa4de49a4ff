"""The supervisor's view of the call team: today's progress, figures per caller, queue health,
the queue list, and what a supervisor does to a task (reassign, pin, drop, add by hand).

Figures come from grouped queries (one per table, no query per row). Task actions flush and
write the audit trail; the view commits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, and_, func, select, type_coerce
from sqlalchemy import case as sql_case
from sqlalchemy.orm import contains_eager, joinedload

from portal.domain.calls import CallHistory, ContactRules, why_not_callable
from portal.domain.references import case_reference, parse_case_reference
from portal.extensions import db
from portal.models import (
    OPEN_TASK_STATUSES,
    CallLog,
    CallTask,
    Case,
    CaseStatus,
    Debtor,
    EntryCause,
    LedgerEntry,
    PromiseToPay,
    Role,
    TaskReason,
    TaskStatus,
    User,
)
from portal.services import audit, settings

CALLER_ROLES = (Role.CALLER, Role.SUPERVISOR, Role.ADMIN)


class TaskRefused(Exception):
    """A supervisor's change that cannot be made; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- time ---------------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The agency's calendar day as a UTC range [start, end)."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    start = datetime.combine(day, time(0), zone)
    return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=1)).astimezone(
        ZoneInfo("UTC"))


# -- progress -----------------------------------------------------------------------------------


@dataclass
class Progress:
    """Tasks done today and left, by reason and by caller."""

    done: int = 0
    left: int = 0
    by_reason: dict[str, tuple[int, int]] = field(default_factory=dict)  # reason: (done, left)
    by_caller: dict[int | None, tuple[int, int]] = field(default_factory=dict)


def progress(day: date) -> Progress:
    """Done = finished within `day`; left = open or claimed now (of any day)."""
    start, end = day_bounds(day)
    done = and_(CallTask.status == TaskStatus.DONE, CallTask.done_at >= start,
                CallTask.done_at < end)
    is_open = CallTask.status.in_(OPEN_TASK_STATUSES)
    counts = (func.sum(sql_case((done, 1), else_=0)), func.sum(sql_case((is_open, 1), else_=0)))
    relevant = select().where(done | is_open)
    result = Progress()
    for reason, n_done, n_left in db.session.execute(
            relevant.add_columns(CallTask.reason, *counts).group_by(CallTask.reason)):
        result.by_reason[str(reason)] = (int(n_done or 0), int(n_left or 0))
        result.done += int(n_done or 0)
        result.left += int(n_left or 0)
    # Done tasks count for whoever finished them; open ones for whom they are assigned to.
    who = sql_case((CallTask.status == TaskStatus.DONE, CallTask.claimed_by_id),
                   else_=func.coalesce(CallTask.claimed_by_id, CallTask.assigned_to_id))
    for user_id, n_done, n_left in db.session.execute(
            relevant.add_columns(who, *counts).group_by(who)):
        result.by_caller[user_id] = (int(n_done or 0), int(n_left or 0))
    return result


# -- per caller ---------------------------------------------------------------------------------


@dataclass
class CallerFigures:
    calls: int = 0
    conversations: int = 0
    promises: int = 0
    promised_cents: int = 0
    paid_on_promises_cents: int = 0


def caller_figures(first: date, last: date) -> dict[int, CallerFigures]:
    """Per caller, for calls and promises made from `first` to `last` (agency days):
    calls, conversations, promises and their amounts, and what was paid on those promises.

    "Paid on promises": payments booked on the promise's case after the promise was made (up to
    now), counted up to the promised amount per promise. One grouped query per table.
    """
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    figures: dict[int, CallerFigures] = defaultdict(CallerFigures)
    for caller_id, calls, talks in db.session.execute(
        select(CallLog.caller_id, func.count(),
               func.sum(sql_case((CallLog.conversation, 1), else_=0)))
        .where(CallLog.started_at >= start, CallLog.started_at < end)
        .group_by(CallLog.caller_id)
    ):
        figures[caller_id].calls = int(calls)
        figures[caller_id].conversations = int(talks or 0)
    paid = (
        select(func.coalesce(-func.sum(LedgerEntry.amount_cents), 0))
        .where(LedgerEntry.case_id == PromiseToPay.case_id,
               LedgerEntry.cause == EntryCause.PAYMENT,
               LedgerEntry.created_at >= PromiseToPay.created_at)
        .correlate(PromiseToPay).scalar_subquery()
    )
    for caller_id, amount, paid_cents in db.session.execute(
        select(PromiseToPay.created_by_id, PromiseToPay.amount_cents, paid)
        .where(PromiseToPay.created_at >= start, PromiseToPay.created_at < end,
               PromiseToPay.created_by_id.is_not(None))
    ):
        row = figures[caller_id]
        row.promises += 1
        row.promised_cents += amount
        row.paid_on_promises_cents += min(max(int(paid_cents or 0), 0), amount)
    return dict(figures)


def callers() -> list[User]:
    """Staff who can take calls, by name (for filters and the reassign select)."""
    return list(db.session.scalars(
        select(User).where(User.role.in_(CALLER_ROLES), User.active).order_by(User.name)))


# -- queue health -------------------------------------------------------------------------------


def _rules_by_country(countries: set[str | None]) -> dict[str | None, ContactRules]:
    fallback = current_app.config["JURISDICTION"]
    return {c: ContactRules.from_dict(settings.get(f"call.rules.{(c or fallback).upper()}"))
            for c in countries}


def queue_health(now: datetime) -> tuple[Counter[str], int]:
    """Open tasks that cannot be called now, counted per reason code (a task may have several),
    and how many open tasks can be called. One query for the tasks' columns, one for the call
    history; then the domain rule per row."""
    rows = db.session.execute(
        select(CallTask.case_id, Debtor.timezone, Debtor.country, Debtor.do_not_call,
               Debtor.do_not_contact, Debtor.phone, Debtor.phone_invalid, Case.status)
        .join(Case, Case.id == CallTask.case_id).join(Debtor, Debtor.id == Case.debtor_id)
        .where(CallTask.status == TaskStatus.OPEN)
    ).all()
    rules = _rules_by_country({row.country for row in rows})
    lookback = max([r.window_days for r in rules.values()]
                   + [r.quiet_days_after_conversation for r in rules.values()] + [1])
    history = _histories(now, {r.window_days for r in rules.values()}, lookback)
    blocked: Counter[str] = Counter()
    callable_now = 0
    for row in rows:
        rule = rules[row.country]
        counts, last_talk = history.get(row.case_id, ({}, None))
        reasons = why_not_callable(
            now, row.timezone, CallHistory(counts.get(rule.window_days, 0), last_talk), rule,
            do_not_call=bool(row.do_not_call or row.do_not_contact),
            phone_missing_or_invalid=not (row.phone or "").strip() or bool(row.phone_invalid),
            disputed=row.status == CaseStatus.DISPUTED, on_hold=row.status == CaseStatus.ON_HOLD)
        blocked.update(reasons)
        callable_now += not reasons
    return blocked, callable_now


def _histories(now: datetime, windows: set[int], lookback_days: int
               ) -> dict[int, tuple[dict[int, int], datetime | None]]:
    """Per case with an open task: attempts within each window, and the last conversation
    (within `lookback_days`: the quiet period can be longer than the window)."""
    windows = sorted(windows or {7})
    open_cases = select(CallTask.case_id).where(CallTask.status == TaskStatus.OPEN)
    columns = [func.sum(sql_case((CallLog.started_at > now - timedelta(days=w), 1), else_=0))
               for w in windows]
    last_talk = type_coerce(
        func.max(sql_case((CallLog.conversation, CallLog.started_at), else_=None)),
        CallLog.started_at.type)
    result = {}
    for case_id, talk, *counts in db.session.execute(
        select(CallLog.case_id, last_talk, *columns)
        .where(CallLog.case_id.in_(open_cases), CallLog.started_at <= now,
               CallLog.started_at > now - timedelta(days=lookback_days))
        .group_by(CallLog.case_id)
    ):
        result[case_id] = (dict(zip(windows, (int(c or 0) for c in counts), strict=True)), talk)
    return result


# -- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFilters:
    reason: str = ""
    caller_id: int | None = None  # assigned to (or claimed by)
    status: str = "open"  # "open" covers open and claimed; "" all


def listing(filters: TaskFilters) -> Select:
    """Tasks for the queue list, best first, with case, debtor and people loaded."""
    stmt = (select(CallTask).join(CallTask.case).join(Case.debtor)
            .options(contains_eager(CallTask.case).contains_eager(Case.debtor),
                     joinedload(CallTask.assigned_to), joinedload(CallTask.claimed_by)))
    if filters.status == "open":
        stmt = stmt.where(CallTask.status.in_(OPEN_TASK_STATUSES))
    elif filters.status in TaskStatus._value2member_map_:
        stmt = stmt.where(CallTask.status == TaskStatus(filters.status))
    if filters.reason in TaskReason._value2member_map_:
        stmt = stmt.where(CallTask.reason == TaskReason(filters.reason))
    if filters.caller_id:
        stmt = stmt.where((CallTask.assigned_to_id == filters.caller_id)
                          | (CallTask.claimed_by_id == filters.caller_id))
    return stmt.order_by(CallTask.pinned.desc(), CallTask.priority.desc(), CallTask.id)


# -- actions ------------------------------------------------------------------------------------


def _require_open(task: CallTask) -> None:
    if task.status not in OPEN_TASK_STATUSES:
        raise TaskRefused("closed")


def reassign(task: CallTask, caller: User | None, *, by: User) -> None:
    """Give the task to a caller (None: anyone may take it). Flushes and audits."""
    _require_open(task)
    if caller is not None and (caller.role not in CALLER_ROLES or not caller.active):
        raise TaskRefused("not_a_caller")
    task.assigned_to_id = caller.id if caller is not None else None
    audit.record("call_task.assigned",
                 f"Call task assigned to {caller.name}" if caller else "Call task unassigned",
                 case=task.case, user=by, client_visible=False, task_id=task.id,
                 assigned_to_id=task.assigned_to_id)
    db.session.flush()


def pin(task: CallTask, pinned: bool, *, by: User) -> None:
    """Put the task at the top of the queue, or take it off the top."""
    _require_open(task)
    task.pinned = pinned
    audit.record("call_task.pinned" if pinned else "call_task.unpinned",
                 "Call task pinned" if pinned else "Call task unpinned",
                 case=task.case, user=by, client_visible=False, task_id=task.id)
    db.session.flush()


def drop(task: CallTask, note: str, *, by: User, now: datetime) -> None:
    """Take the task off the queue, with the supervisor's note why."""
    _require_open(task)
    if not note.strip():
        raise TaskRefused("note_required")
    task.status = TaskStatus.DROPPED
    task.note = note.strip()
    task.done_at = now
    audit.record("call_task.dropped", "Call task dropped", case=task.case, user=by,
                 client_visible=False, task_id=task.id, note=task.note)
    db.session.flush()


def find_case(reference: str) -> Case | None:
    """The case a supervisor typed, by its reference (any spelling the parser accepts)."""
    parsed = parse_case_reference(reference.strip())
    if parsed is None:
        return None
    return db.session.scalar(select(Case).where(Case.reference == case_reference(*parsed)))


def add_by_hand(case: Case, day: date, *, by: User, caller: User | None = None,
                note: str | None = None) -> CallTask:
    """Put a case on the queue by hand (optionally for one caller). Raises TaskRefused with
    "case_closed" or "already_open"."""
    from portal.services import call_queue  # the queue helper's module

    if not case.is_open:
        raise TaskRefused("case_closed")
    if caller is not None and (caller.role not in CALLER_ROLES or not caller.active):
        raise TaskRefused("not_a_caller")
    task = call_queue.add_task(case, TaskReason.MANUAL, day, user=by, note=note or None)
    if task is None:
        raise TaskRefused("already_open")
    if caller is not None:  # add_task audited the addition; the assignment is audited here
        reassign(task, caller, by=by)
    return task
