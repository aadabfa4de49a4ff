"""The email telling a debtor the agency replied, on the `mail` queue."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.extensions import db
from portal.jobs import job_logger
from portal.mail import send_templated
from portal.models import Message, Party
from portal.services import debtor_access


def send_message_reply(message_id: int) -> str:
    """Email the agency's reply (its text included) to the debtor, unless they already read
    it on the portal by the time the worker runs."""
    log = job_logger(__name__)
    message = db.session.get(Message, message_id)
    if message is None or message.author == Party.DEBTOR or message.read_by_debtor_at:
        log.info("message %s: nothing to tell", message_id)
        return "skipped"
    case, debtor = message.case, message.case.debtor
    if not debtor.email:
        return "no address"
    send_templated(
        debtor.email,
        lambda: _("You have a new message about case %(reference)s", reference=case.reference),
        "debtor/email/message_reply", language=debtor.language, message=message, case=case,
        debtor=debtor, link=debtor_access.sign_in_link(case),
    )
    log.info("message %s: emailed to the debtor", message_id)
    return "sent"
