"""The morning call queue build (cron, on `calls`), after the dunning batch and the promise
check: a step that became a call today and a promise broken today are on the queue at once."""

from __future__ import annotations

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import utcnow
from portal.services import call_queue
from portal.services.notices import agency_today


def build_call_queue() -> dict[str, int]:
    """Build today's call queue (services.call_queue.build_queue); one commit. Returns the
    open tasks by reason. Run twice on one day, it adds nothing new and scores again."""
    log = job_logger(__name__)
    counts = call_queue.build_queue(agency_today(), utcnow())
    db.session.commit()
    log.info("call queue built: %s", counts)
    return counts


def release_stale_claims() -> int:
    """Claimed tasks left alone past the timeout go back to the queue; one commit."""
    released = call_queue.release_stale_claims(utcnow())
    db.session.commit()
    return released
