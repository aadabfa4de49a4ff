"""Promises to pay, checked each morning: kept closes a promise, broken resumes dunning and puts
the case back on the call queue.

A promise is kept once the payments booked since it was made (the ledger's paid total less
`paid_before_cents`) reach its amount; that may happen before its day. It is broken when its day
plus the grace days has passed without that. Flush only: the job commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import PromiseStatus, PromiseToPay, TaskReason
from portal.services import audit, call_queue, case_status, ledger


def watch_promises(today: date) -> dict[str, int]:
    """Settle the open promises that are kept or past their grace days; returns counts."""
    promises = list(db.session.scalars(
        select(PromiseToPay).where(PromiseToPay.status == PromiseStatus.OPEN)
        .options(joinedload(PromiseToPay.case))))
    balances = ledger.balances({p.case_id for p in promises})  # one query for all cases
    counts = {"kept": 0, "broken": 0, "tasks": 0}
    for promise in promises:
        paid_since = balances[promise.case_id].paid - promise.paid_before_cents
        ended = promise.due_on + timedelta(days=promise.grace_days) < today
        if paid_since >= promise.amount_cents:
            _settle(promise, PromiseStatus.KEPT, today, ended=ended)
            counts["kept"] += 1
        elif ended:
            _settle(promise, PromiseStatus.BROKEN, today, ended=True)
            counts["broken"] += 1
            counts["tasks"] += call_queue.add_task(
                promise.case, TaskReason.PROMISE_BROKEN, today) is not None
    db.session.flush()
    return counts


def _settle(promise: PromiseToPay, status: PromiseStatus, today: date, *, ended: bool) -> None:
    """Mark the promise; once its time is over the pause ends and the case resumes dunning.
    A promise kept early keeps its pause until the agreed day (that is what was agreed)."""
    case = promise.case
    promise.status, promise.settled_on = status, today
    word = "kept" if status == PromiseStatus.KEPT else "broken"
    audit.record(f"promise.{word}", f"Promise to pay {promise.amount_cents / 100:.2f} "
                 f"by {promise.due_on.isoformat()} {word}", case=case, promise=promise.id,
                 amount_cents=promise.amount_cents, due_on=promise.due_on.isoformat())
    if ended and case.promise_until == promise.due_on + timedelta(days=promise.grace_days):
        case.promise_until = None
        case_status.refresh(case, today)
