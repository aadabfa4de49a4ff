"""Writing the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from portal.extensions import db
from portal.models import ActorKind, AuditEvent, Case, User


def record(
    action: str,
    summary: str,
    *,
    case: Case | None = None,
    user: User | None = None,
    debtor_id: int | None = None,
    client_id: int | None = None,
    client_visible: bool = True,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event; the actor is the user, else the debtor, else the system."""
    if user is not None:
        kind = ActorKind.USER
    elif debtor_id is not None:
        kind = ActorKind.DEBTOR
    else:
        kind = ActorKind.SYSTEM
    event = AuditEvent(
        action=action,
        summary=summary,
        actor_kind=kind,
        actor_user_id=user.id if user is not None else None,
        actor_debtor_id=debtor_id,
        case_id=case.id if case is not None else None,
        client_id=client_id if client_id is not None else (case.client_id if case else None),
        client_visible=client_visible,
        detail=detail,
    )
    db.session.add(event)
    return event


def record_many(rows: Sequence[dict[str, Any]]) -> None:
    """Add many system events in one executemany, without an ORM object each (a batch writes
    thousands; a delivery job one or two per email). A row holds AuditEvent columns: action,
    summary, case_id, client_id, detail, and optionally client_visible; the actor is the
    system. A plain table insert: the ORM's bulk path costs more than the statement."""
    if rows:
        system = {"actor_kind": ActorKind.SYSTEM, "client_visible": True}
        db.session.execute(insert(AuditEvent.__table__), [{**system, **row} for row in rows])
