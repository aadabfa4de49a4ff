"""Instalment jobs: the morning watch (on `default`) and the debtor's emails (on `mail`).

Every email job takes ids and a kind, checks the plan or instalment still says what the email
would tell, and sends once (services.arrangements.already_emailed / record_emailed).
"""

from __future__ import annotations

from flask_babel import gettext as _

from portal.extensions import db
from portal.jobs import job_logger
from portal.mail import send_templated
from portal.models import Arrangement, ArrangementStatus, Instalment, InstalmentStatus
from portal.queue import enqueue_after_commit
from portal.services import arrangements, debtor_access, ledger
from portal.services.notices import agency_today

# The status a plan must still have for each email to be true.
ARRANGEMENT_EMAILS = {
    "confirmed": (ArrangementStatus.ACTIVE, lambda: _("Your payment plan is agreed")),
    "pending": (ArrangementStatus.PENDING, lambda: _("We received your payment plan")),
    "approved": (ArrangementStatus.ACTIVE, lambda: _("Your payment plan is approved")),
    "rejected": (ArrangementStatus.REJECTED, lambda: _("About your payment plan")),
    "broken": (ArrangementStatus.BROKEN, lambda: _("Your payment plan has ended")),
}
# The instalment status each email needs (and the plan must still be running).
INSTALMENT_EMAILS = {
    "reminder": (InstalmentStatus.OPEN, lambda: _("Your next instalment is due soon")),
    "overdue": (InstalmentStatus.OPEN, lambda: _("Your instalment has not arrived yet")),
    "missed": (InstalmentStatus.MISSED, lambda: _("You missed an instalment")),
}


def watch_instalments_job() -> dict[str, int]:
    """The morning entry (cron): reminders, misses, broken plans; one commit, then the emails."""
    log = job_logger(__name__)
    result = arrangements.watch_instalments(agency_today())
    for kind, ids in (("reminder", result.reminded), ("overdue", result.overdue),
                      ("missed", result.missed)):
        for instalment_id in ids:
            enqueue_after_commit("mail", arrangements.SEND_INSTALMENT_EMAIL, instalment_id, kind)
    for arrangement_id in result.broken:
        enqueue_after_commit("mail", arrangements.SEND_ARRANGEMENT_EMAIL, arrangement_id,
                             "broken")
    db.session.commit()
    counts = {"reminded": len(result.reminded), "overdue": len(result.overdue),
              "missed": len(result.missed), "broken": len(result.broken)}
    log.info("instalments watched: %s", counts)
    return counts


def send_arrangement_email(arrangement_id: int, kind: str) -> str:
    """Tell the debtor about their plan (agreed, received, approved, rejected, broken)."""
    status, subject = ARRANGEMENT_EMAILS[kind]
    arrangement = db.session.get(Arrangement, arrangement_id)
    if arrangement is None or arrangement.status != status:
        return "no longer true"
    return _send(arrangement, kind, subject, None)


def send_instalment_email(instalment_id: int, kind: str) -> str:
    """Remind the debtor of one instalment (before, just after, or once it is missed)."""
    status, subject = INSTALMENT_EMAILS[kind]
    instalment = db.session.get(Instalment, instalment_id)
    if (instalment is None or instalment.status != status
            or instalment.arrangement.status != ArrangementStatus.ACTIVE):
        return "no longer true"
    return _send(instalment.arrangement, kind, subject, instalment)


def _send(arrangement: Arrangement, kind: str, subject, instalment: Instalment | None) -> str:
    log = job_logger(__name__)
    instalment_id = instalment.id if instalment is not None else None
    debtor = arrangement.case.debtor
    if not debtor.email:
        return "no email address"
    if arrangements.already_emailed(arrangement, kind, instalment_id):
        return "already sent"
    case = arrangement.case
    send_templated(
        debtor.email, subject, f"debtor/email/arrangement_{kind}", language=debtor.language,
        debtor=debtor, case=case, arrangement=arrangement, instalment=instalment,
        balance=ledger.balance(case), limit=case.client.max_missed_instalments,
        grace_days=case.client.instalment_grace_days,
        case_url=debtor_access.sign_in_link(case),
    )
    arrangements.record_emailed(arrangement, kind, instalment_id)
    db.session.commit()
    log.info("arrangement %s: %s email sent", arrangement.id, kind)
    return "sent"
