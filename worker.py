"""The RQ worker: the app is built once; each job runs in a fresh app context.

    python worker.py [queue ...]        # all queues when none are named

Nothing touches the database before the work horse forks, so no connection is
shared between processes.
"""

from __future__ import annotations

import logging
import sys

from redis import Redis
from rq import Queue, Worker

from portal import create_app
from portal.queue import redis_url

app = create_app()


class AppWorker(Worker):
    """Runs every job inside its own application context, and cleans the session after it."""

    def perform_job(self, job, queue, execution):
        from portal.extensions import db

        with app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


def main(queue_names: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    connection = Redis.from_url(redis_url(app))
    names = queue_names or list(app.config["QUEUE_NAMES"])
    queues = [Queue(name, connection=connection) for name in names]
    AppWorker(queues, connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
