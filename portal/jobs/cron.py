"""The schedule for `rq cron portal.jobs.cron` (RQ's built-in cron scheduler).

Times are in the scheduler's local time zone; `flask up` and production run it with
TZ set to AGENCY_TIMEZONE. The scheduler only enqueues: workers run the jobs.
"""

from rq import cron

from portal.jobs.housekeeping import nightly_housekeeping

cron.register(nightly_housekeeping, "housekeeping", cron="15 2 * * *", job_timeout=600)
