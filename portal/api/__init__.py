"""The JSON API for a client's accounting system, at /api/v1.

Guarded once: every request but the OpenAPI document carries `Authorization: Bearer <token>`
of a live client token (401 otherwise); `g.api_client_id` scopes every query. Errors are
problem objects: {"error": code, "message": plain words, "fields": {...}}.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from portal.extensions import limiter
from portal.services import api_tokens

bp = Blueprint("api", __name__)
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


def problem(status: int, error: str, message: str, **extra):
    """A JSON error answer; `extra` (fields, invoices, ...) goes into the body as is."""
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _rate_key() -> str:
    # Per token (its hash: the plain text never lands in Redis); no token: per address.
    header = request.headers.get("Authorization", "")
    if header:
        return "api:" + hashlib.sha256(header.encode()).hexdigest()
    return "api-ip:" + (request.remote_addr or "-")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


limiter.limit(_rate_limit, key_func=_rate_key)(bp)


@bp.before_request
def require_token():
    g.preferred_language = "en"  # the API speaks English; the messages are for developers
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, plain = request.headers.get("Authorization", "").partition(" ")
    token = api_tokens.authenticate(plain.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        return problem(401, "unauthorized",
                       "Send a valid API token: Authorization: Bearer <token>.")
    g.api_token, g.api_client_id = token, token.client_id
    return None


@bp.errorhandler(HTTPException)
def http_problem(error: HTTPException):
    codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
             413: "too_large", 429: "rate_limited"}
    messages = {404: "There is no such resource, or it is not yours.",
                429: "Too many requests with this token; slow down and retry later."}
    code = error.code or 500
    return problem(code, codes.get(code, "error"),
                   messages.get(code, error.description or "The request failed."))


from portal.api import views  # noqa: E402,F401
