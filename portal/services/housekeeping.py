"""Nightly housekeeping: lift expired debtor lockouts and record that the night ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from portal.extensions import db
from portal.models import Case
from portal.services import audit


def clear_expired_lockouts(now: datetime) -> int:
    """Forget failed-code counts and locks that have run out; return how many cases changed."""
    result = db.session.execute(
        update(Case)
        .where(Case.locked_until.is_not(None), Case.locked_until <= now)
        .values(locked_until=None, failed_code_attempts=0)
    )
    cleared = result.rowcount or 0
    audit.record(
        "housekeeping.ran",
        f"Nightly housekeeping cleared {cleared} expired lock(s)",
        client_visible=False,
        cleared=cleared,
    )
    db.session.flush()
    return cleared
