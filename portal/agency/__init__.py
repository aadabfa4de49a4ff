"""The agency's own pages: admins, supervisors and callers."""

from flask import Blueprint

from portal.agency.batches import bp as batches_bp
from portal.agency.outbox import bp as outbox_bp
from portal.agency.settings import bp as settings_bp
from portal.agency.workflows import bp as workflows_bp
from portal.auth.loader import guard_roles
from portal.models import STAFF_ROLES
from portal.services import messages

bp = Blueprint("agency", __name__)
guard_roles(bp, STAFF_ROLES)
bp.register_blueprint(settings_bp, url_prefix="/settings")
bp.register_blueprint(batches_bp, url_prefix="/batches")
bp.register_blueprint(outbox_bp, url_prefix="/outbox")
bp.register_blueprint(workflows_bp, url_prefix="/workflows")


@bp.context_processor
def inbox_count() -> dict:
    """The unread debtor messages, for the badge in the menu (one indexed count)."""
    return {"unread_messages": messages.unread_count_for_agency()}

from portal.agency import (  # noqa: E402,F401  (the routes register themselves)
    arrangements,
    bank,
    call_board,
    call_settings,
    client_reports,
    clients,
    disputes,
    invoices,
    queue,
    remittances,
    views,
)
