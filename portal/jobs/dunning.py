"""The dunning batch on the `dunning` queue: start a run, then one job per chunk of cases.

A chunk job advances its cases and counts itself done in one commit; only then does it
enqueue the sending of its notices, in batches (emails on `mail`, letters on `letters`).
A chunk killed before its commit leaves its cases due, so the next run takes them; one
killed after it left queued notices, which the next run of the day enqueues again (the
sender claims each notice, so a notice enqueued twice still goes out once).
"""

from __future__ import annotations

from datetime import date

from flask import current_app

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import BatchRun, Channel, RunStatus, User, utcnow
from portal.queue import enqueue_after_commit
from portal.services import delivery, dossier, dunning, dunning_runs
from portal.services.dunning import QueuedNotice
from portal.services.notices import agency_today

# By name: the delivery module is not imported here (it renders and sends; we only record).
# Its batch form: emails in one job share an SMTP connection and one read of their cases, and
# each job costs a few Redis round trips, so one job per notice would cost more than sending.
DELIVER_NOTICES = "portal.jobs.delivery.deliver_notices"
SENDING_BATCH = 50  # notices per delivery job: small enough for two workers to share a chunk
RUN_CHUNK = "portal.jobs.dunning.run_chunk"
MAKE_DOSSIER = "portal.jobs.dossier.make_dossier"
SENDING_QUEUE = {Channel.EMAIL: "mail", Channel.LETTER: "letters"}
DEFAULT_CHUNK_SIZE = 500
CHUNK_TIMEOUT = 600  # seconds; a chunk of 500 takes a second or two


def morning_batch() -> int:
    """The cron entry: start today's run and enqueue its chunks; returns the run's id."""
    return _start(trigger="cron", user=None)


def run_now(user_id: int) -> int:
    """The admin's "run now": the same as the morning batch, recorded as started by them."""
    return _start(trigger="manual", user=db.session.get(User, user_id))


def run_planned(run_id: int) -> int:
    """Start a run the admin asked for on the batches page (it shows there as planned)."""
    run = db.session.get(BatchRun, run_id)
    if run is None:
        raise LookupError(f"no batch run {run_id}")
    if run.status != RunStatus.PLANNED:
        return run.id  # already started: a second delivery of this job does nothing
    user = db.session.get(User, run.started_by_id) if run.started_by_id else None
    return _enqueue_run(run, dunning_runs.plan_run(run, chunk_size=_chunk_size(), user=user))


def _chunk_size() -> int:
    return int(current_app.config.get("DUNNING_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def _start(*, trigger: str, user: User | None) -> int:
    today = agency_today()
    run, chunks = dunning_runs.start_run(today, trigger=trigger, user=user,
                                         chunk_size=_chunk_size())
    return _enqueue_run(run, chunks)


def _enqueue_run(run: BatchRun, chunks: list[list[int]]) -> int:
    """Enqueue the run's chunks and the day's leftover notices, after one commit."""
    log = job_logger(__name__)
    today = run.run_on
    for chunk in chunks:
        enqueue_after_commit(
            "dunning", RUN_CHUNK, run.id, chunk, today.isoformat(), job_timeout=CHUNK_TIMEOUT
        )
    # Notices an earlier run recorded but whose sending was lost (a killed worker, a Redis
    # hiccup after a commit): every run hands them to a sender again; the claim stops doubles.
    leftover = [QueuedNotice(i, channel) for i, channel in delivery.pending(utcnow())]
    _enqueue_sending(leftover)
    db.session.commit()
    log.info("dunning run %s for %s: %s case(s) due in %s chunk(s), %s notice(s) re-sent",
             run.id, today, run.cases_due, len(chunks), len(leftover))
    return run.id


def run_chunk(run_id: int, case_ids: list[int], today_iso: str) -> dict[str, int]:
    """Advance one chunk of a run in one transaction, then enqueue its notices' sending.

    A failure rolls the chunk back (its cases stay due), is counted on the run with its
    error, and is raised again so RQ shows the job as failed.
    """
    log = job_logger(__name__)
    today = date.fromisoformat(today_iso)
    run = db.session.get(BatchRun, run_id)
    if run is None:
        raise LookupError(f"no batch run {run_id}")
    if dunning_runs.chunk_finished(run_id, case_ids):
        log.info("dunning run %s: chunk from case %s already finished", run_id, case_ids[:1])
        return {}
    try:
        counts = dunning.advance_cases(run, case_ids, today)
        dunning_runs.finish_chunk(run_id, counts, case_ids=case_ids)
        _enqueue_sending(dunning.queued_notice_ids(run, case_ids=case_ids))
        for case_id in dossier.cases_without_dossier(case_ids):  # handed over to legal now
            enqueue_after_commit("letters", MAKE_DOSSIER, case_id)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        dunning_runs.finish_chunk(run_id, {"failed/chunks": 1, "failed/cases": len(case_ids)},
                             case_ids=case_ids,
                             error=f"chunk of {len(case_ids)} from case {case_ids[:1]}: {exc!r}")
        db.session.commit()
        log.exception("dunning run %s: chunk from case %s failed", run_id, case_ids[:1])
        raise
    log.info("dunning run %s: chunk of %s case(s) done: %s", run_id, len(case_ids), counts)
    return counts


def _enqueue_sending(notices: list[QueuedNotice]) -> None:
    """One delivery job per SENDING_BATCH notices of a channel, on that channel's queue."""
    for channel, queue in SENDING_QUEUE.items():
        ids = [notice.id for notice in notices if notice.channel is channel]
        for start in range(0, len(ids), SENDING_BATCH):
            enqueue_after_commit(queue, DELIVER_NOTICES, ids[start : start + SENDING_BATCH])
