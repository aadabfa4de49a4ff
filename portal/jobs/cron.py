"""The schedule for `rq cron portal.jobs.cron --url $REDIS_URL` (RQ's built-in cron scheduler).

Times are in the scheduler's local time zone; `flask up` and production run it with
TZ set to AGENCY_TIMEZONE. The scheduler only enqueues (it builds no app and opens no
database): `worker.py` runs the jobs, each in its own app context.
"""

import os

from rq import cron

from portal.jobs.arrangements import watch_instalments_job
from portal.jobs.calls import build_call_queue, release_stale_claims
from portal.jobs.dunning import morning_batch
from portal.jobs.housekeeping import nightly_housekeeping
from portal.jobs.promises import watch_promises_job
from portal.jobs.reports import send_due_reports
from portal.jobs.webhooks import retry_due_webhooks

# The scheduler builds no app, so it cannot read the Flask config: the dunning batch's time
# comes straight from the environment variable DUNNING_CRON (a cron expression).
DUNNING_CRON = os.environ.get("DUNNING_CRON") or "30 6 * * *"
# The instalment watch (reminders, misses, broken plans), after the batch: INSTALMENTS_CRON.
INSTALMENTS_CRON = os.environ.get("INSTALMENTS_CRON") or "0 7 * * *"
# The promise check (kept promises close, broken ones resume dunning): PROMISES_CRON. Then the
# call queue build, last, so that broken promises, missed instalments and call steps of the
# morning are on it: CALLS_CRON.
PROMISES_CRON = os.environ.get("PROMISES_CRON") or "5 7 * * *"
CALLS_CRON = os.environ.get("CALLS_CRON") or "15 7 * * *"

cron.register(nightly_housekeeping, "housekeeping", cron="15 2 * * *", job_timeout=600)
cron.register(morning_batch, "dunning", cron=DUNNING_CRON, job_timeout=600)
cron.register(watch_instalments_job, "default", cron=INSTALMENTS_CRON, job_timeout=600)
cron.register(watch_promises_job, "calls", cron=PROMISES_CRON, job_timeout=600)
cron.register(build_call_queue, "calls", cron=CALLS_CRON, job_timeout=1800)
# "Next case" returns stale claims too; this keeps the supervisor's counts true between calls.
cron.register(release_stale_claims, "calls", cron="*/5 * * * *", job_timeout=60)
# Status reports (weekly on Mondays, monthly on the 1st): REPORTS_CRON, after the morning jobs.
REPORTS_CRON = os.environ.get("REPORTS_CRON") or "0 8 * * *"
cron.register(send_due_reports, "reports", cron=REPORTS_CRON, job_timeout=600)
# Webhook deliveries whose next try has come (backoff 1 min, 5, 30, 2 h, 12 h; then given up).
cron.register(retry_due_webhooks, "default", cron="* * * * *", job_timeout=120)
