"""Staff account emails on the `mail` queue: the request answers at once and the same for every
address, so neither the answer nor its timing tells whether an account exists."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.extensions import db
from portal.jobs import job_logger
from portal.links import public_link
from portal.mail import send_templated
from portal.models import User
from portal.services import accounts


def send_password_reset(user_id: int) -> bool:
    """Email a reset link to an active user; returns whether one was sent."""
    log = job_logger(__name__)
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        log.info("no reset email: user %s is gone or inactive", user_id)
        return False
    link = public_link("auth.reset_password", token=accounts.reset_token(user))
    send_templated(user.email, lambda: _("Reset your password"), "auth/email/reset",
                   language=user.language, user=user, link=link)
    log.info("reset email sent to user %s", user_id)
    return True
