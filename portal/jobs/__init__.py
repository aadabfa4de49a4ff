"""RQ entry points: ids and plain values in, a service call, one commit, a job-id logger."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from rq import get_current_job


class JobLogger(logging.LoggerAdapter):
    """Prefixes every line with `[job <id>]`, so the id shows under any formatter.

    The id is also the record's `job_id` attribute, for a formatter that wants a column.
    """

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        job_id = (self.extra or {}).get("job_id", "-")
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return f"[job {job_id}] {msg}", kwargs


def job_logger(name: str) -> JobLogger:
    """A logger whose lines carry the current job's id ("-" outside a job)."""
    job = get_current_job()
    return JobLogger(logging.getLogger(name), {"job_id": job.id if job else "-"})
