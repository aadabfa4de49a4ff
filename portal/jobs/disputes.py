"""Dispute emails to the debtor, on the `mail` queue, enqueued after the commit that made them.

Each job sends only while the dispute is still in the state its email describes: a "received"
email for a dispute already resolved by the time the worker runs would mislead.
"""

from __future__ import annotations

from flask_babel import gettext as _

from portal.extensions import db
from portal.jobs import job_logger
from portal.mail import send_templated
from portal.models import Dispute, DisputeStatus
from portal.services import debtor_access


def send_dispute_received(dispute_id: int) -> str:
    """Tell the debtor their dispute was received and collection is paused."""
    return _send(dispute_id, DisputeStatus.OPEN, "dispute_received",
                 lambda ref: _("We received your dispute about %(reference)s", reference=ref))


def send_dispute_resolved(dispute_id: int) -> str:
    """Tell the debtor the outcome of their dispute, in the words the agency wrote."""
    return _send(dispute_id, DisputeStatus.RESOLVED, "dispute_resolved",
                 lambda ref: _("The outcome of your dispute about %(reference)s", reference=ref))


def _send(dispute_id: int, status: DisputeStatus, template: str, subject) -> str:
    log = job_logger(__name__)
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None or dispute.status != status:
        log.info("dispute %s: no longer %s, %s not sent", dispute_id, status, template)
        return "skipped"
    case, debtor = dispute.case, dispute.case.debtor
    if not debtor.email:
        log.info("dispute %s: the debtor has no email address", dispute_id)
        return "no address"
    send_templated(
        debtor.email, lambda: subject(case.reference), f"debtor/email/{template}",
        language=debtor.language, dispute=dispute, case=case, debtor=debtor,
        link=debtor_access.sign_in_link(case),
    )
    log.info("dispute %s: %s sent", dispute_id, template)
    return "sent"
