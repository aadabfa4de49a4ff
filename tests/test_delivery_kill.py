"""A mail worker killed with SIGKILL halfway through a run's emails, then a second worker:
every notice ends SENT once in the database, and the SMTP sink got each one at least once and
at most twice (the message in flight at the kill, received but not yet recorded as sent).

Needs a real Redis server (TEST_REDIS_URL) and a real `worker.py` on the `mail` queue; the SMTP
sink is slowed down (0.2 s a message) so the kill lands mid-way.
"""

from __future__ import annotations

import asyncio
import email
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from portal.config import ROOT
from portal.extensions import db
from portal.jobs import dunning as dunning_jobs
from portal.models import Channel, DeliveryStatus, Notice, utcnow
from portal.services import delivery
from tests.conftest import _free_port
from tests.test_dunning_batch import DUE, STEP_DAYS, _case
from tests.test_jobs import _worker_env

pytestmark = pytest.mark.redis
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
EMAILS = 12
KILL_AFTER = 4  # messages received before the first worker is killed
NOTICE_ID = re.compile(r"<notice-(\d+)\.")


class _SlowSink:
    """An SMTP server that takes 0.2 s per message and notes each Message-ID on arrival."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(email.message_from_bytes(envelope.content)["Message-ID"])
        await asyncio.sleep(0.2)  # the window in which a kill leaves a message unrecorded
        return "250 OK"


@pytest.fixture
def sink():
    handler = _SlowSink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def redis_server_url() -> str:
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15)")
    return TEST_REDIS_URL


def _record_a_run(make, monkeypatch) -> list[tuple]:
    """A real morning run (in-process) over EMAILS first reminders; returns the delivery
    jobs' arguments it handed to the `mail` queue."""
    for n in range(EMAILS):
        _case(make, make.client(), make.debtor(name=f"Debtor {n}"), (100_00 + n, DUE))
    db.session.commit()
    handed: list = []
    monkeypatch.setattr("portal.queue._enqueue_all", handed.extend)
    monkeypatch.setattr(dunning_jobs, "agency_today", lambda: STEP_DAYS[0])
    dunning_jobs.morning_batch()
    for _queue, name, args, _kwargs in list(handed):
        if name == dunning_jobs.RUN_CHUNK:
            dunning_jobs.run_chunk(*args)
    jobs = [(queue, args) for queue, name, args, _kwargs in handed
            if name == dunning_jobs.DELIVER_NOTICES]
    assert {queue for queue, _args in jobs} == {"mail"}
    return [args for _queue, args in jobs]


def _enqueue(queue: Queue, deliveries: list[tuple]) -> None:
    queue.empty()  # a shared server: nothing left by another run may reach this database
    for args in deliveries:
        queue.enqueue(dunning_jobs.DELIVER_NOTICES, *args)


def _wait_for(probe, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not probe() and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(probe())


def _kill_with_its_children(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and every process it started, as a machine that dies. The worker
    sends itself; its child, RQ's scheduler, runs in a session of its own and would outlive
    it."""
    children = f"/proc/{worker.pid}/task/{worker.pid}/children"
    with open(children) as file:
        pids = [int(pid) for pid in file.read().split()]
    worker.kill()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=30)
    for pid in pids:
        _wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 10)


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rsplit(")", 1)[1].split()[0] == "Z"


def _statuses() -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(select(Notice.status)))


def test_a_mail_worker_killed_mid_way_sends_each_email_once_more_at_most(
    app, make, monkeypatch, sink, redis_server_url, tmp_path
):
    deliveries = _record_a_run(make, monkeypatch)
    notice_ids = sorted(i for args in deliveries for i in args[0])
    assert len(notice_ids) == EMAILS
    assert set(db.session.scalars(select(Notice.channel))) == {Channel.EMAIL}
    queue = Queue("mail", connection=Redis.from_url(redis_server_url))
    _enqueue(queue, deliveries)
    env = {**_worker_env(app, redis_server_url, tmp_path / "instance"),
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port)}
    received = sink.handler.received

    first = subprocess.Popen([sys.executable, "worker.py", "mail"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(received) >= KILL_AFTER), "the first worker sent nothing"
    finally:
        _kill_with_its_children(first)
    killed_at = len(received)
    before = _statuses()
    sent_before = before[DeliveryStatus.SENT]
    assert KILL_AFTER - 1 <= sent_before < EMAILS, "the kill should land mid-way"

    # The claim lease passes (aged here rather than waited for), and the run's jobs are
    # handed out again, as a requeue of the killed job or a re-run of the day would.
    db.session.execute(update(Notice).where(Notice.status == DeliveryStatus.SENDING)
                       .values(claimed_at=utcnow() - delivery.CLAIM_LEASE - timedelta(seconds=1)))
    db.session.commit()
    _enqueue(queue, deliveries)
    second = subprocess.run([sys.executable, "worker.py", "--burst", "mail"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr

    assert _statuses() == Counter({DeliveryStatus.SENT: EMAILS})
    per_notice = Counter(int(NOTICE_ID.match(mid).group(1)) for mid in received)
    assert sorted(per_notice) == notice_ids  # every notice reached the sink
    assert max(per_notice.values()) <= 2
    # A resend carries the Message-ID of the first send, so the receiver can recognise it.
    assert all(len({m for m in received if m.startswith(f"<notice-{i}.")}) == 1
               for i in notice_ids)
    duplicates = sum(count - 1 for count in per_notice.values())
    # Only the message in flight at the kill (received, not yet recorded) can go out twice.
    assert duplicates == killed_at - sent_before <= 1, (killed_at, sent_before, before)
    print(f"killed after {killed_at} received, {sent_before} recorded: {duplicates} duplicate(s)")
