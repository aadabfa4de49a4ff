"""Reading dunning runs for the batches pages, and sending failed notices again."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    BatchRun,
    Communication,
    DeliveryStatus,
    Document,
    DocumentKind,
    Notice,
    RunStatus,
    User,
)
from portal.services import audit


@dataclass(frozen=True)
class DeliveryCounts:
    """Notices of a run by channel and status: {"email": {"sent": 12, ...}, ...}."""

    by_channel: dict[str, dict[str, int]]

    def total(self, status: str) -> int:
        return sum(statuses.get(status, 0) for statuses in self.by_channel.values())


def runs_in_progress() -> bool:
    """A run still deciding, or its notices still being sent: the batches page keeps polling."""
    running = select(BatchRun.id).where(
        BatchRun.status.in_([RunStatus.PLANNED, RunStatus.RUNNING]))
    sending = select(Notice.id).where(
        Notice.batch_run_id.is_not(None),
        Notice.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]))
    return bool(db.session.scalar(select(running.exists())) or
                db.session.scalar(select(sending.exists())))


def delivery_counts(run_ids: list[int]) -> dict[int, DeliveryCounts]:
    """How far the sending of each run got, in one query."""
    rows = db.session.execute(
        select(Notice.batch_run_id, Notice.channel, Notice.status, func.count(Notice.id))
        .where(Notice.batch_run_id.in_(run_ids))
        .group_by(Notice.batch_run_id, Notice.channel, Notice.status)
    )
    counts: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for run_id, channel, status, count in rows:
        counts[run_id][str(channel)][str(status)] = count
    return {run_id: DeliveryCounts(dict(counts.get(run_id, {}))) for run_id in run_ids}


def step_counts(run: BatchRun) -> list[tuple[str, str, int]]:
    """The run's counts as (kind, detail, n) rows: ("email_reminder", "email", 12), ...."""
    rows = []
    for key, count in sorted((run.counts or {}).items()):
        kind, _, detail = key.partition("/")
        rows.append((kind, detail, count))
    return rows


def problem_notices(run: BatchRun) -> list[Notice]:
    """The run's notices that failed or were cancelled at send time, with their errors."""
    return list(db.session.scalars(
        select(Notice)
        .where(Notice.batch_run_id == run.id,
               Notice.status.in_([DeliveryStatus.FAILED, DeliveryStatus.CANCELLED]))
        .order_by(Notice.id)
    ))


def retry_failed(run: BatchRun, user: User) -> list[int]:
    """Put the run's failed notices back in the queue with fresh attempts; returns their ids."""
    ids = list(db.session.scalars(
        select(Notice.id).where(Notice.batch_run_id == run.id,
                                Notice.status == DeliveryStatus.FAILED)
    ))
    if ids:
        db.session.execute(
            update(Notice).where(Notice.id.in_(ids))
            .values(status=DeliveryStatus.QUEUED, attempts=0, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        audit.record("dunning.retry", f"{len(ids)} failed notice(s) of run {run.id} sent again",
                     user=user, client_visible=False, run_id=run.id, notices=ids)
    return ids


def case_notices(case_id: int) -> list[Notice]:
    """Every notice that covered this case, newest first."""
    return list(db.session.scalars(
        select(Notice)
        .join(Communication, Communication.notice_id == Notice.id)
        .where(Communication.case_id == case_id)
        .order_by(Notice.dated.desc(), Notice.id.desc())
    ))


def case_documents(case_id: int) -> list[Document]:
    """The case's dossiers for legal, newest first (letters and emails show with their notice)."""
    return list(db.session.scalars(
        select(Document)
        .where(Document.case_id == case_id, Document.kind == DocumentKind.DOSSIER)
        .order_by(Document.created_at.desc(), Document.id.desc())
    ))
