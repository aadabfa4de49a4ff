"""The schedule for `rq cron portal.jobs.cron --url $REDIS_URL` (RQ's built-in cron scheduler).

Times are in the scheduler's local time zone; `flask up` and production run it with
TZ set to AGENCY_TIMEZONE. The scheduler only enqueues (it builds no app and opens no
database): `worker.py` runs the jobs, each in its own app context.
"""

from rq import cron

from portal.jobs.housekeeping import nightly_housekeeping

cron.register(nightly_housekeeping, "housekeeping", cron="15 2 * * *", job_timeout=600)
