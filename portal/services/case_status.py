"""A case's status follows from what is running on it: a dispute, an arrangement, a promise,
a hold. Whatever starts or ends one of those calls `refresh`, so the case resumes dunning
where it stopped when the last pause ends (and no caller has to remember the order)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select

from portal.extensions import db
from portal.models import (
    Arrangement,
    ArrangementStatus,
    Case,
    CaseStatus,
    Dispute,
    DisputeStatus,
)
from portal.services import webhooks

# Statuses no pause decides: the case is finished, or with a bailiff or lawyer.
SETTLED = frozenset({CaseStatus.PAID, CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.LEGAL})


def has_open_dispute(case: Case) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Dispute.case_id == case.id, Dispute.status == DisputeStatus.OPEN))))


def has_active_arrangement(case: Case) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Arrangement.case_id == case.id, Arrangement.status == ArrangementStatus.ACTIVE))))


def paused_status(case: Case, today: date) -> CaseStatus | None:
    """The pause that applies today, strongest first (a dispute outranks everything)."""
    if has_open_dispute(case):
        return CaseStatus.DISPUTED
    if has_active_arrangement(case):
        return CaseStatus.ARRANGEMENT
    if case.on_hold_until is not None and case.on_hold_until >= today:
        return CaseStatus.ON_HOLD
    if case.promise_until is not None and case.promise_until >= today:
        return CaseStatus.PROMISED
    return None


def refresh(case: Case, today: date) -> CaseStatus:
    """Set the case's status from its pauses; returns it. Settled cases are left alone."""
    if case.status in SETTLED:
        return case.status
    before = case.status
    paused = paused_status(case, today)
    if paused is not None:
        case.status = paused
    elif case.status != CaseStatus.NEW:
        case.status = CaseStatus.ACTIVE
    db.session.flush()
    if case.status != before:
        webhooks.notify(case, "case.status_changed", {"old_status": str(before), "status": str(
            case.status), "on": today.isoformat()}, f"case:{case.id}:{case.status}:{today}")
    return case.status
