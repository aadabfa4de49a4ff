"""The client business's pages: only their own cases, ever."""

from flask import Blueprint

from portal.auth.loader import guard_roles
from portal.models import Role

bp = Blueprint("client", __name__)
guard_roles(bp, [Role.CLIENT])

from portal.client import (  # noqa: E402,F401  (the routes register themselves)
    api_settings,
    arrangements,
    disputes,
    follow,
    imports,
    invoices,
    remittances,
    reports,
    views,
)
