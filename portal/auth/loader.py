"""Flask-Login wiring and the one guard each audience's blueprint installs."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from flask import Blueprint, Flask, abort, g, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db, login_manager
from portal.models import Role, User


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The session's user, unless their password changed since it began."""
        user_id, _, fingerprint = session_id.partition(".")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not hmac.compare_digest(fingerprint, user.password_fingerprint):
            return None
        return user


def guard_roles(bp: Blueprint, roles: Iterable[Role]) -> None:
    """Let only signed-in users with one of `roles` into any view of `bp`."""
    allowed = frozenset(roles)

    @bp.before_request
    def require_role():
        if not current_user.is_authenticated:
            # full_path ends in a bare "?" when there is no query string.
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("auth.login", next=here))
        if current_user.role not in allowed:
            abort(403)
        g.preferred_language = current_user.language


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    return url_for("client.dashboard") if user.role == Role.CLIENT else url_for("agency.dashboard")
