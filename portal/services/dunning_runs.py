"""The runs of the dunning batch: which cases are due today, split into chunks (a debtor's cases
never apart), and each run's record of its chunks and counts. What a chunk does with its cases
is portal.services.dunning; the jobs in portal.jobs.dunning tie the two together.
Services flush and never commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select, update

from portal.extensions import db
from portal.models import BatchChunk, BatchRun, Case, RunStatus, User, utcnow
from portal.services import audit
from portal.services.dunning import DUNNING_STATUSES


def _due(today: date, *columns: Any) -> Select:
    """Cases whose next step date has come; closed, paid, withdrawn and legal ones left out,
    paused ones kept in (the run counts them under "skipped/<reason>")."""
    return select(*columns).where(Case.next_step_on <= today, Case.status.in_(DUNNING_STATUSES))


def due_case_ids(today: date, *, limit: int | None = None) -> list[int]:
    """Ids of the cases due today, in id order (one query on the next_step_on index)."""
    stmt = _due(today, Case.id).order_by(Case.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def plan_chunks(today: date, chunk_size: int) -> list[list[int]]:
    """The due cases in chunks of about `chunk_size`, a debtor's cases never split: the cases
    of one notice must be decided together (one letter, and costs on their summed principal).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    stmt = _due(today, Case.id, Case.debtor_id).order_by(Case.debtor_id, Case.id)
    rows = db.session.execute(stmt)
    chunks: list[list[int]] = []
    previous = None
    for case_id, debtor_id in rows:
        if not chunks or (len(chunks[-1]) >= chunk_size and debtor_id != previous):
            chunks.append([])
        chunks[-1].append(case_id)
        previous = debtor_id
    return chunks


def start_run(
    today: date, *, trigger: str, user: User | None = None, chunk_size: int = 500
) -> tuple[BatchRun, list[list[int]]]:
    """Record a run for `today` with its due cases split into chunks; returns both. Flushes."""
    run = request_run(today, trigger=trigger, user=user)
    return run, plan_run(run, chunk_size=chunk_size, user=user)


def request_run(today: date, *, trigger: str, user: User | None = None) -> BatchRun:
    """A planned run, shown at once on the batches page; `plan_run` fills it in. Flushes."""
    run = BatchRun(run_on=today, trigger=trigger, started_by_id=user.id if user else None,
                   status=RunStatus.PLANNED, counts={})
    db.session.add(run)
    db.session.flush()
    return run


def plan_run(run: BatchRun, *, chunk_size: int = 500, user: User | None = None) -> list[list[int]]:
    """Find the run's due cases and split them into chunks; the run starts (or is done when
    nothing is due). Flushes."""
    today, trigger = run.run_on, run.trigger
    chunks = plan_chunks(today, chunk_size)
    due = sum(len(chunk) for chunk in chunks)
    run.status = RunStatus.RUNNING if chunks else RunStatus.DONE
    run.finished_at = None if chunks else utcnow()
    run.cases_due, run.chunks_total, run.chunks_done = due, len(chunks), 0
    db.session.flush()
    audit.record(
        "dunning.run_started", f"Dunning run for {today.isoformat()}: {due} case(s) due",
        user=user, client_visible=False, run_id=run.id, trigger=trigger,
    )
    return chunks


def chunk_finished(run_id: int, case_ids: Sequence[int]) -> bool:
    """Whether this chunk of the run already finished (its job is being delivered again)."""
    return bool(case_ids) and db.session.scalar(select(BatchChunk.id).where(
        BatchChunk.run_id == run_id, BatchChunk.first_case_id == case_ids[0])) is not None


def finish_chunk(run_id: int, counts: dict[str, int], *, case_ids: Sequence[int] = (),
                 error: str | None = None) -> BatchRun:
    """Count a chunk as done and add its counts; the last chunk closes the run. Flushes.

    With `case_ids` the chunk is recorded (BatchChunk), so a second delivery of its job
    finds it (`chunk_finished`) and counts nothing twice.

    The UPDATE ... chunks_done + 1 comes first: it locks the run's row (PostgreSQL) or the
    database (SQLite) until commit, so concurrent chunks merge their counts one at a time.
    """
    done, total = db.session.execute(
        update(BatchRun)
        .where(BatchRun.id == run_id)
        .values(chunks_done=BatchRun.chunks_done + 1)
        .returning(BatchRun.chunks_done, BatchRun.chunks_total)
        .execution_options(synchronize_session=False)
    ).one()
    run = db.session.get(BatchRun, run_id, populate_existing=True)
    assert run is not None
    if case_ids:
        db.session.add(BatchChunk(run_id=run_id, first_case_id=case_ids[0], size=len(case_ids),
                                  failed=error is not None))
    merged = Counter(run.counts or {})
    merged.update(counts)
    run.counts = dict(sorted(merged.items()))
    if error:
        run.error = error if not run.error else f"{run.error}\n{error}"
    if done >= total:
        run.status = RunStatus.FAILED if merged.get("failed/chunks") else RunStatus.DONE
        run.finished_at = utcnow()
    db.session.flush()
    return run
