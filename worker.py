"""The RQ worker: the app is built once; each job runs in a fresh app context.

    python worker.py [--burst] [queue ...]     # every queue in QUEUE_NAMES when none are named
    rq worker-pool -w worker.AppWorker ...     # the same worker class under RQ's own CLI

Importing this module builds nothing. The worker process builds the app (which opens no
database connection) and forks a work horse per job; the horse alone talks to the database
and closes its connections before it exits, so no connection is shared between processes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class AppWorker(Worker):
    """A forking worker whose work horse runs every job inside its own application context."""

    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RQ's CLI makes the worker without an app (`rq worker -w worker.AppWorker`).
        self.app = app if app is not None else _create_app()

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """Run the job in a fresh app context; called in the forked horse (main_work_horse)."""
        from portal.extensions import db

        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()
                # The horse leaves through os._exit, which skips every cleanup: close the
                # connections now so the database server sees a clean goodbye.
                db.engine.dispose()


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
