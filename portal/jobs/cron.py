"""The schedule for `rq cron portal.jobs.cron --url $REDIS_URL` (RQ's built-in cron scheduler).

Times are in the scheduler's local time zone; `flask up` and production run it with
TZ set to AGENCY_TIMEZONE. The scheduler only enqueues (it builds no app and opens no
database): `worker.py` runs the jobs, each in its own app context.
"""

import os

from rq import cron

from portal.jobs.arrangements import watch_instalments_job
from portal.jobs.dunning import morning_batch
from portal.jobs.housekeeping import nightly_housekeeping

# The scheduler builds no app, so it cannot read the Flask config: the dunning batch's time
# comes straight from the environment variable DUNNING_CRON (a cron expression).
DUNNING_CRON = os.environ.get("DUNNING_CRON") or "30 6 * * *"
# The instalment watch (reminders, misses, broken plans), after the batch: INSTALMENTS_CRON.
INSTALMENTS_CRON = os.environ.get("INSTALMENTS_CRON") or "0 7 * * *"

cron.register(nightly_housekeeping, "housekeeping", cron="15 2 * * *", job_timeout=600)
cron.register(morning_batch, "dunning", cron=DUNNING_CRON, job_timeout=600)
cron.register(watch_instalments_job, "default", cron=INSTALMENTS_CRON, job_timeout=600)
