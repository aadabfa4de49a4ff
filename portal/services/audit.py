"""Writing the audit trail."""

from __future__ import annotations

from typing import Any

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
