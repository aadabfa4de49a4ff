"""RQ entry points: ids and plain values in, a service call, one commit, a logger with the job id."""

from __future__ import annotations

import logging

from rq import get_current_job


def job_logger(name: str) -> logging.LoggerAdapter:
    """A logger whose lines carry the current job's id."""
    job = get_current_job()
    return logging.LoggerAdapter(logging.getLogger(name), {"job_id": job.id if job else "-"})
