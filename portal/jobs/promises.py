"""The morning promise check (cron, on `calls`): kept promises close, broken ones resume dunning
and put the case on the call queue."""

from __future__ import annotations

from portal.extensions import db
from portal.jobs import job_logger
from portal.services import promises
from portal.services.notices import agency_today


def watch_promises_job() -> dict[str, int]:
    """Settle the promises due or paid (services.promises.watch_promises); one commit."""
    log = job_logger(__name__)
    counts = promises.watch_promises(agency_today())
    db.session.commit()
    log.info("promises watched: %s", counts)
    return counts
