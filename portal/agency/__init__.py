"""The agency's own pages: admins, supervisors and callers."""

from flask import Blueprint

from portal.agency.settings import bp as settings_bp
from portal.auth.loader import guard_roles
from portal.models import STAFF_ROLES

bp = Blueprint("agency", __name__)
guard_roles(bp, STAFF_ROLES)
bp.register_blueprint(settings_bp, url_prefix="/settings")

from portal.agency import views  # noqa: E402,F401
