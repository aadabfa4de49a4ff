"""The call queue: the day's tasks, built set-based each morning, and "next case" for a caller.

One open (or claimed) task per case, enforced by the partial unique index
uq_call_tasks_open_case: the build inserts with ON CONFLICT DO NOTHING, strongest reason first,
so a case that qualifies twice gets the stronger reason. "Next case" claims a task so that no
other caller can get it: FOR UPDATE SKIP LOCKED on PostgreSQL, a conditional UPDATE on SQLite.
Whether a task may be called is checked at that moment (portal.domain.calls).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, literal, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.calls import DEFAULT_RULES, CallHistory, ContactRules, why_not_callable
from portal.extensions import db
from portal.models import (
    Arrangement,
    ArrangementStatus,
    CallLog,
    CallTask,
    Case,
    CaseStatus,
    Client,
    Debtor,
    Instalment,
    InstalmentStatus,
    LedgerEntry,
    PromiseStatus,
    PromiseToPay,
    StepAction,
    TaskReason,
    TaskStatus,
    User,
    WorkflowStep,
)
from portal.services import audit, call_scores, settings

RULES_KEY = "call.rules.{}"
settings.register_default(RULES_KEY.format("NL"), DEFAULT_RULES.as_dict())
settings.register_default(RULES_KEY.format("US"), DEFAULT_RULES.as_dict())

# Strongest first: the build inserts in this order, so a case keeps its strongest reason.
REASON_ORDER = (TaskReason.CALLBACK, TaskReason.PROMISE_BROKEN, TaskReason.PROMISE_DUE,
                TaskReason.MISSED_INSTALMENT, TaskReason.MANUAL, TaskReason.WORKFLOW_CALL,
                TaskReason.NEW_CASE)
# Case statuses the build puts on the queue (disputed and on-hold cases are not called).
CALLABLE_STATUSES = (CaseStatus.NEW, CaseStatus.ACTIVE, CaseStatus.PROMISED,
                     CaseStatus.ARRANGEMENT)
# Statuses after which a task has no point: it is dropped at the next build.
FINISHED_STATUSES = (CaseStatus.PAID, CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.LEGAL)
MISSED_INSTALMENT_DAYS = 3  # a missed instalment is called about for this many days
NEXT_BATCH = 5  # candidates locked and looked at per round of "next case"
NEXT_ROUNDS = 20
DEFAULT_CLAIM_TIMEOUT_MINUTES = 20


# -- rules -------------------------------------------------------------------------------------


def rules_for(debtor: Debtor) -> ContactRules:
    """The contact rules of the debtor's jurisdiction (the setting "call.rules.<XX>")."""
    jurisdiction = (debtor.country or current_app.config.get("JURISDICTION") or "NL").upper()
    return ContactRules.from_dict(
        settings.get(RULES_KEY.format(jurisdiction), DEFAULT_RULES.as_dict()))


def history(case_id: int, now: datetime, window_days: int) -> CallHistory:
    """Attempts in the rolling window and the last conversation of a case (one query on the
    (case_id, started_at) index)."""
    since = now - timedelta(days=window_days)
    in_window = and_(CallLog.started_at > since, CallLog.started_at <= now)
    attempts, last = db.session.execute(select(
        func.count(CallLog.id).filter(in_window),
        func.max(CallLog.started_at).filter(CallLog.conversation.is_(True)),
    ).where(CallLog.case_id == case_id)).one()
    if last is not None and not isinstance(last, datetime):  # SQLite: an aggregate is text
        last = datetime.fromisoformat(str(last))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return CallHistory(attempts_in_window=int(attempts or 0), last_conversation_at=last)


def callability(task: CallTask, now: datetime,
                rules: dict[str, ContactRules] | None = None) -> list[str]:
    """Why the task's case may not be called now ([] = it may); checked at dial time.
    `rules` caches the rules per jurisdiction over several tasks."""
    case = task.case
    debtor = case.debtor
    cache = rules if rules is not None else {}
    key = debtor.country or ""
    if key not in cache:
        cache[key] = rules_for(debtor)
    return why_not_callable(
        now, debtor.timezone, history(case.id, now, cache[key].window_days), cache[key],
        do_not_call=debtor.do_not_call or debtor.do_not_contact,
        phone_missing_or_invalid=not (debtor.phone or "").strip() or debtor.phone_invalid,
        disputed=case.status == CaseStatus.DISPUTED,
        on_hold=case.status == CaseStatus.ON_HOLD,
    )


# -- claiming ----------------------------------------------------------------------------------


def _claim_timeout() -> timedelta:
    minutes = current_app.config.get("CALL_CLAIM_TIMEOUT_MINUTES", DEFAULT_CLAIM_TIMEOUT_MINUTES)
    return timedelta(minutes=int(minutes))


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _status_is(status: TaskStatus) -> Any:
    """`status = 'open'` as an inline literal, not a bound parameter: only then can SQLite and
    a generic PostgreSQL plan use the partial indexes (WHERE status = 'open' / 'claimed')."""
    return CallTask.status == literal_column(f"'{status.value}'")


def release_stale_claims(now: datetime) -> int:
    """Tasks claimed longer than CALL_CLAIM_TIMEOUT_MINUTES go back to the queue; returns how
    many. On PostgreSQL rows another transaction holds are skipped, not waited for."""
    stale = select(CallTask.id).where(_status_is(TaskStatus.CLAIMED),
                                      CallTask.claimed_at < now - _claim_timeout())
    if _postgres():
        stale = stale.with_for_update(skip_locked=True)
    result = db.session.execute(
        update(CallTask).where(CallTask.id.in_(stale.scalar_subquery()))
        .values(status=TaskStatus.OPEN, claimed_by_id=None, claimed_at=None)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def _candidates(caller: User, now: datetime, skip: list[int]) -> Any:
    stmt = (
        select(CallTask.id)
        .where(_status_is(TaskStatus.OPEN),
               or_(CallTask.assigned_to_id.is_(None), CallTask.assigned_to_id == caller.id),
               or_(CallTask.not_before.is_(None), CallTask.not_before <= now))
        .order_by(CallTask.pinned.desc(), CallTask.priority.desc(), CallTask.id.desc())
        .limit(NEXT_BATCH)
    )
    if skip:
        stmt = stmt.where(CallTask.id.not_in(skip))
    if _postgres():
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def next_task(caller: User, now: datetime) -> CallTask | None:
    """Claim the best open task that may be called now, for this caller only (flushes).

    PostgreSQL locks a batch of candidates with SKIP LOCKED (rows other callers are looking at
    are passed over, never waited for); SQLite claims with `UPDATE ... WHERE status = 'open'`
    and takes the next candidate when another caller was first. Candidates that may not be
    called now stay open for later.
    """
    release_stale_claims(now)
    skip: list[int] = []
    rules: dict[str, ContactRules] = {}
    for _ in range(NEXT_ROUNDS):
        ids = list(db.session.scalars(_candidates(caller, now, skip)))
        tasks = {task.id: task for task in db.session.scalars(
            select(CallTask).where(CallTask.id.in_(ids)).options(
                joinedload(CallTask.case, innerjoin=True).joinedload(Case.debtor,
                                                                     innerjoin=True)))}
        for task_id in ids:  # in priority order
            task = tasks.get(task_id)
            if task is None or callability(task, now, rules):
                continue
            if _claim(task_id, caller, now):
                for name, value in (("status", TaskStatus.CLAIMED), ("claimed_by_id", caller.id),
                                    ("claimed_at", now)):
                    set_committed_value(task, name, value)
                return task
        if len(ids) < NEXT_BATCH:
            return None
        skip.extend(ids)
    return None


def _claim(task_id: int, caller: User, now: datetime) -> bool:
    result = db.session.execute(
        update(CallTask)
        .where(CallTask.id == task_id, CallTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CLAIMED, claimed_by_id=caller.id, claimed_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def release(task: CallTask) -> None:
    """Put a claimed task back on the queue (the caller skipped it)."""
    task.status = TaskStatus.OPEN
    task.claimed_by_id = None
    task.claimed_at = None
    db.session.flush()


def finish(task: CallTask, now: datetime) -> None:
    """The task is done (an outcome was logged)."""
    task.status = TaskStatus.DONE
    task.done_at = now
    db.session.flush()


# -- adding and building -----------------------------------------------------------------------


def open_task(case_id: int) -> CallTask | None:
    return db.session.scalar(select(CallTask).where(
        CallTask.case_id == case_id, CallTask.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED))))


def add_task(case: Case, reason: TaskReason, day: date, *, user: User | None = None,
             not_before: datetime | None = None, note: str | None = None) -> CallTask | None:
    """Put one case on the queue (a callback, a supervisor's addition, a broken promise);
    None when the case already has an open task. Scores it at once (flushes)."""
    if open_task(case.id) is not None:
        return None
    task = CallTask(case_id=case.id, day=day, reason=reason, status=TaskStatus.OPEN,
                    not_before=not_before, note=note, factors=[],
                    added_by_id=user.id if user is not None else None)
    db.session.add(task)
    db.session.flush()
    call_scores.score_tasks(day, datetime.now(UTC), task_ids=[task.id])
    db.session.refresh(task)
    audit.record("call_task.added", f"Call task added: {reason.value}", case=case, user=user,
                 client_visible=False, reason=reason.value, task_id=task.id)
    return task


def _eligible(stmt: Any) -> Any:
    """Only cases that may be on the queue: open and not paused, debtor not opted out."""
    return (stmt.join(Debtor, Debtor.id == Case.debtor_id)
            .where(Case.status.in_(CALLABLE_STATUSES), Debtor.do_not_call.is_(False),
                   Debtor.do_not_contact.is_(False)))


def _no_call_since(day_column: Any) -> Any:
    return ~exists().where(CallLog.case_id == Case.id,
                           func.date(CallLog.started_at) >= day_column)


def _candidate_selects(today: date) -> dict[TaskReason, Any]:
    """One SELECT of case ids per reason."""
    workflow_call = (
        select(Case.id).join(WorkflowStep, and_(WorkflowStep.workflow_id == Case.workflow_id,
                                                WorkflowStep.position == Case.workflow_position))
        .where(WorkflowStep.action == StepAction.CALL_TASK, Case.last_step_on.is_not(None),
               _no_call_since(Case.last_step_on)))
    promise_due = select(PromiseToPay.case_id).join(Case, Case.id == PromiseToPay.case_id).where(
        PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.due_on == today)
    promise_broken = select(PromiseToPay.case_id).join(Case, Case.id == PromiseToPay.case_id).where(
        PromiseToPay.status == PromiseStatus.BROKEN, PromiseToPay.settled_on == today)
    missed = (
        select(Arrangement.case_id)
        .join(Instalment, Instalment.arrangement_id == Arrangement.id)
        .join(Case, Case.id == Arrangement.case_id)
        .where(Arrangement.status == ArrangementStatus.ACTIVE,
               Instalment.status == InstalmentStatus.MISSED,
               Instalment.missed_on > today - timedelta(days=MISSED_INSTALMENT_DAYS),
               _no_call_since(Instalment.missed_on)))
    balance = (select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
               .where(LedgerEntry.case_id == Case.id).scalar_subquery())
    new_case = (
        select(Case.id).join(Client, Client.id == Case.client_id)
        .where(Client.call_new_cases_from_cents.is_not(None),
               balance >= Client.call_new_cases_from_cents,
               ~exists().where(CallLog.case_id == Case.id),
               # NOT IN, not a correlated NOT EXISTS: no index leads with call_tasks.case_id
               # for every status, and SQLite builds the subquery's set once.
               Case.id.not_in(select(CallTask.case_id).where(
                   CallTask.reason == TaskReason.NEW_CASE))))
    return {TaskReason.PROMISE_BROKEN: promise_broken, TaskReason.PROMISE_DUE: promise_due,
            TaskReason.MISSED_INSTALMENT: missed, TaskReason.WORKFLOW_CALL: workflow_call,
            TaskReason.NEW_CASE: new_case}


def _insert_tasks(reason: TaskReason, case_ids: Any, today: date, now: datetime) -> int:
    """INSERT INTO call_tasks (...) SELECT ... ON CONFLICT DO NOTHING; returns rows added."""
    table = CallTask.__table__
    source = _eligible(case_ids).distinct()
    source = select(
        source.subquery().c[0], literal(today, table.c.day.type),
        literal(reason, table.c.reason.type), literal(TaskStatus.OPEN, table.c.status.type),
        literal(0), literal([], table.c.factors.type), literal(False),
        literal(now, table.c.created_at.type),
    ).where(literal(True))  # SQLite needs a WHERE before ON CONFLICT (parser ambiguity)
    columns = ["case_id", "day", "reason", "status", "priority", "factors", "pinned", "created_at"]
    dialect = postgresql if _postgres() else sqlite
    stmt = dialect.insert(table).from_select(columns, source).on_conflict_do_nothing()
    return db.session.execute(stmt).rowcount or 0


def _drop_finished() -> int:
    """Open tasks of cases that were paid, closed, withdrawn or handed to legal are dropped."""
    finished = select(Case.id).where(Case.status.in_(FINISHED_STATUSES))
    result = db.session.execute(
        update(CallTask).where(CallTask.status == TaskStatus.OPEN,
                               CallTask.case_id.in_(finished))
        .values(status=TaskStatus.DROPPED).execution_options(synchronize_session=False))
    return result.rowcount or 0


def build_queue(today: date, now: datetime) -> dict[str, int]:
    """Build the day's call queue: add a task for every case with a reason to call (strongest
    reason first, one open task per case), keep the open ones (callbacks included), drop those
    of finished cases, and score every open task. Returns the open tasks by reason (flushes)."""
    db.session.flush()
    added = {reason.value: _insert_tasks(reason, stmt, today, now)
             for reason, stmt in _candidate_selects(today).items()}
    dropped = _drop_finished()
    scored = call_scores.score_tasks(today, now)
    if _postgres():
        # The build rewrote most of the table: fresh statistics, or the planner (guessing a
        # handful of open rows) sorts them all for "next case" instead of walking the index.
        db.session.execute(text("ANALYZE call_tasks"))
    counts = Counter(dict(db.session.execute(
        select(CallTask.reason, func.count()).where(CallTask.status == TaskStatus.OPEN)
        .group_by(CallTask.reason)).all()))
    audit.record("call_queue.built", "Call queue built", client_visible=False,
                 day=today.isoformat(), added=added, dropped=dropped, scored=scored)
    db.session.flush()
    return {str(getattr(reason, "value", reason)): n for reason, n in counts.items()}
