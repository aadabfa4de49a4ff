"""The priority of open call tasks: the factors read set-based (one grouped query each), scored
in Python by portal.domain.calls.score, written back with one executemany.

The weights are the setting "call.weights" (admins change them; defaults in the domain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select, update

from portal.domain.calls import DEFAULT_RULES, DEFAULT_WEIGHTS, Weights, score
from portal.extensions import db
from portal.models import (
    CallLog,
    CallTask,
    Case,
    Debtor,
    Invoice,
    LedgerEntry,
    PromiseStatus,
    PromiseToPay,
    TaskStatus,
)
from portal.services import settings

WEIGHTS_KEY = "call.weights"
settings.register_default(WEIGHTS_KEY, DEFAULT_WEIGHTS)
BROKEN_PROMISE_DAYS = 7  # a promise broken this recently still counts as "broken"
CHUNK = 5000  # tasks read and written per round (keeps IN lists and memory small)


def weights() -> Weights:
    return Weights.from_dict(settings.get(WEIGHTS_KEY))


@dataclass
class _Row:
    task_id: int
    case_id: int
    reason: str
    phone_ok: bool
    balance: int = 0
    oldest_due: date | None = None
    promise: str = "none"
    last_call_at: datetime | None = None
    last_outcome: str | None = None
    attempts: int = 0
    calls: int = 0
    conversations: int = 0


def _aware(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _tasks(task_ids: Sequence[int] | None) -> list[_Row]:
    phone_ok = (func.coalesce(func.trim(Debtor.phone), "") != "") & Debtor.phone_invalid.is_(False)
    stmt = (select(CallTask.id, CallTask.case_id, CallTask.reason, phone_ok)
            .join(Case, Case.id == CallTask.case_id).join(Debtor, Debtor.id == Case.debtor_id)
            .where(CallTask.status == TaskStatus.OPEN).order_by(CallTask.id))
    if task_ids is not None:
        stmt = stmt.where(CallTask.id.in_(task_ids))
    return [_Row(tid, cid, str(getattr(reason, "value", reason)), bool(ok))
            for tid, cid, reason, ok in db.session.execute(stmt)]


def _read_facts(rows: dict[int, _Row], today: date, now: datetime) -> None:
    """Fill the rows' facts with one grouped query per fact, over these cases only."""
    by_case = {row.case_id: row for row in rows.values()}
    cases = list(by_case)
    for cid, total in db.session.execute(
            select(LedgerEntry.case_id, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.case_id.in_(cases)).group_by(LedgerEntry.case_id)):
        by_case[cid].balance = int(total or 0)
    for cid, due in db.session.execute(
            select(Invoice.case_id, func.min(Invoice.due_date))
            .where(Invoice.case_id.in_(cases)).group_by(Invoice.case_id)):
        by_case[cid].oldest_due = due if isinstance(due, date) else date.fromisoformat(str(due))
    _read_promises(by_case, today)
    _read_calls(by_case, now)


def _read_promises(by_case: dict[int, _Row], today: date) -> None:
    stmt = select(PromiseToPay.case_id, PromiseToPay.status).where(
        PromiseToPay.case_id.in_(list(by_case)),
        or_((PromiseToPay.status == PromiseStatus.OPEN) & (PromiseToPay.due_on == today),
            (PromiseToPay.status == PromiseStatus.BROKEN)
            & (PromiseToPay.settled_on > today - timedelta(days=BROKEN_PROMISE_DAYS))))
    for cid, status in db.session.execute(stmt):
        row = by_case[cid]
        if status == PromiseStatus.BROKEN:
            row.promise = "broken"
        elif row.promise == "none":
            row.promise = "due_today"


def _read_calls(by_case: dict[int, _Row], now: datetime) -> None:
    since = now - timedelta(days=DEFAULT_RULES.window_days)
    stmt = (select(CallLog.case_id, func.count(CallLog.id),
                   func.sum(sql_case((CallLog.conversation.is_(True), 1), else_=0)),
                   func.sum(sql_case((CallLog.started_at > since, 1), else_=0)),
                   func.max(CallLog.id))
            .where(CallLog.case_id.in_(list(by_case))).group_by(CallLog.case_id))
    last_ids = []
    for cid, calls, conversations, attempts, last_id in db.session.execute(stmt):
        row = by_case[cid]
        row.calls, row.conversations, row.attempts = int(calls), int(conversations or 0), int(
            attempts or 0)
        last_ids.append(last_id)
    if last_ids:
        for cid, outcome, started in db.session.execute(
                select(CallLog.case_id, CallLog.outcome, CallLog.started_at)
                .where(CallLog.id.in_(last_ids))):
            by_case[cid].last_outcome = str(getattr(outcome, "value", outcome))
            by_case[cid].last_call_at = _aware(started)


def factors_of(row: _Row, today: date, now: datetime) -> dict[str, Any]:
    """The factor values of one task, as the domain's `score` takes them."""
    return {
        "reason": row.reason,
        "balance": round(max(row.balance, 0) / 100, 2),
        "days_overdue": max((today - row.oldest_due).days, 0) if row.oldest_due else 0,
        "promise": row.promise,
        "days_since_contact": (now - row.last_call_at).days if row.last_call_at else None,
        "last_outcome": row.last_outcome,
        "attempts": row.attempts,
        "reachability": "phone_ok" if row.phone_ok else "no_phone",
        "answer_rate": round(row.conversations / row.calls, 2) if row.calls else None,
    }


def score_tasks(today: date, now: datetime, *, task_ids: Sequence[int] | None = None) -> int:
    """Score the open tasks (all, or these) and store priority and factors; returns how many."""
    w = weights()
    rows = _tasks(task_ids)
    for start in range(0, len(rows), CHUNK):
        chunk = {row.task_id: row for row in rows[start:start + CHUNK]}
        _read_facts(chunk, today, now)
        updates = []
        for row in chunk.values():
            total, shown = score(factors_of(row, today, now), w)
            updates.append({"id": row.task_id, "priority": total,
                            "factors": [list(item) for item in shown]})
        db.session.execute(update(CallTask), updates)
    return len(rows)
