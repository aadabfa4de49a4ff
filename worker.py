"""The RQ worker: the app is built once; each job runs in a fresh app context.

    python worker.py [--burst] [queue ...]     # every queue in QUEUE_NAMES when none are named
    rq worker-pool -w worker.AppWorker ...     # the same worker class under RQ's own CLI

Importing this module builds nothing. The worker process builds the app and runs every job
itself, one after the other, each in an application context of its own; it does not fork a
work horse per job. What one job warms stays warm for the next: the pooled database
connections, the compiled SQL, the compiled templates, xhtml2pdf's fonts. A fork per job
threw all that away, which cost a delivery job of fifty emails about half its time.

The price is isolation: a job that crashes the interpreter takes the worker down with it
(RQ's maintenance marks its job abandoned; a notice's claim lease hands it to the next
sender), and jobs share the process's memory. The session is removed after every job, so no
ORM state crosses from one job to the next. The one process forked from the worker, RQ's
scheduler, talks only to Redis and leaves through os._exit: it neither uses nor closes the
database connections it inherits.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class AppWorker(SimpleWorker):
    """A worker that runs every job in the worker process itself, in a fresh application context."""

    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RQ's CLI makes the worker without an app (`rq worker -w worker.AppWorker`).
        self.app = app if app is not None else _create_app()

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """Run the job in a fresh app context, and leave no session behind for the next."""
        from portal.extensions import db

        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the portal's RQ worker.")
    parser.add_argument("queues", nargs="*", help="queues to listen on, in priority order")
    parser.add_argument("--burst", action="store_true", help="quit once the queues are empty")
    return parser.parse_args(argv)


def queue_names(app: Flask, requested: list[str]) -> list[str]:
    """The queues to listen on: those asked for, else every configured one; unknown names fail."""
    configured = list(app.config["QUEUE_NAMES"])
    unknown = [name for name in requested if name not in configured]
    if unknown:
        raise SystemExit(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(configured)}")
    return requested or configured


def main(argv: list[str]) -> int:
    """Build the app once, then work the queues until stopped (or until empty with --burst)."""
    from portal.queue import redis_url

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    app = _create_app()
    connection = Redis.from_url(redis_url(app))
    queues = [Queue(name, connection=connection) for name in queue_names(app, args.queues)]
    worker = AppWorker(queues, connection=connection, app=app)
    worker.work(burst=args.burst, with_scheduler=True, log_format=LOG_FORMAT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
