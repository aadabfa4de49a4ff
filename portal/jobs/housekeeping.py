"""The nightly housekeeping job (on the `housekeeping` queue)."""

from __future__ import annotations

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import utcnow
from portal.services import housekeeping


def nightly_housekeeping() -> int:
    """Clear expired debtor lockouts; returns the number cleared. Safe to run twice."""
    log = job_logger(__name__)
    cleared = housekeeping.clear_expired_lockouts(utcnow())
    db.session.commit()
    log.info("housekeeping cleared %s expired lock(s)", cleared)
    return cleared
