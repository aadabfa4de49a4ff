"""The collection agency portal: `create_app()` reads like a table of contents."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from portal.config import CONFIGS, INSTANCE, ROOT


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _load_config(app, test_config)
    _register_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_handlers(app)
    _register_response_headers(app)
    _register_commands(app)
    return app


def _load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    env = "testing" if test_config else os.environ.get("PORTAL_ENV", "development")
    config = CONFIGS[env]
    if hasattr(config, "check"):
        config.check()
    app.config.from_object(config)
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)


def _register_extensions(app: Flask) -> None:
    from portal import i18n, queue
    from portal.auth.loader import init_login
    from portal.extensions import babel, csrf, db, limiter, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    init_login(app)
    queue.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from portal.agency import bp as agency_bp
    from portal.auth import bp as auth_bp
    from portal.client import bp as client_bp
    from portal.debtor import bp as debtor_bp
    from portal.payments.views import bp as payments_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(agency_bp, url_prefix="/agency")
    app.register_blueprint(client_bp, url_prefix="/client")
    app.register_blueprint(debtor_bp, url_prefix="/pay")
    app.register_blueprint(payments_bp, url_prefix="/payments")

    from portal.api import bp as api_bp
    from portal.extensions import csrf

    csrf.exempt(api_bp)  # token-authenticated JSON, no cookies: nothing to forge
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def _register_template_helpers(app: Flask) -> None:
    from portal import templating

    templating.init_app(app)


def _register_error_handlers(app: Flask) -> None:
    from portal import errors

    errors.init_app(app)


def _register_response_headers(app: Flask) -> None:
    from portal import htmx

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return htmx.add_vary(response)


def _register_commands(app: Flask) -> None:
    from portal.cli import register

    register(app)
