"""Import jobs on the `imports` queue: a large claims file, all rows in one transaction."""

from __future__ import annotations

from rq import get_current_job

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import User, utcnow
from portal.models.client_portal import ImportBatch, ImportStatus
from portal.services import imports
from portal.services.notices import agency_today


def run_import(batch_id: int, user_id: int | None = None) -> str:
    """Import a queued batch. Progress goes to the RQ job's meta ("rows_done"), because the
    rows themselves are written in one transaction no other connection sees until it commits.
    On any failure nothing is imported and the batch says so (FAILED, with the reason)."""
    log = job_logger(__name__)
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status != ImportStatus.QUEUED:
        return "not queued"
    batch.status = ImportStatus.RUNNING
    db.session.commit()  # the page shows "running" while the rows go in
    user = db.session.get(User, user_id) if user_id else None
    try:
        imports.run(batch, user, today=agency_today(), progress=_report_progress)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("import %s failed", batch_id)
        batch = db.session.get(ImportBatch, batch_id)
        batch.status, batch.error, batch.finished_at = ImportStatus.FAILED, str(exc)[:500], utcnow()
        db.session.commit()
        return "failed"
    log.info("imported batch %s: %s cases", batch_id, batch.cases_created)
    return "done"


def _report_progress(rows_done: int) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["rows_done"] = rows_done
        job.save_meta()
