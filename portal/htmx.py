"""Every HX request header read and every HX response header written, in one place."""

from __future__ import annotations

import json

from flask import Response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def is_history_restore() -> bool:
    return request.headers.get("HX-History-Restore-Request") == "true"


def wants_fragment() -> bool:
    """Only a plain htmx request gets a fragment; boosted links and history restores get pages."""
    return is_htmx() and not is_boosted() and not is_history_restore()


def target() -> str | None:
    return request.headers.get("HX-Target")


def redirect(location: str, status: int = 204) -> Response:
    """Send the browser elsewhere after an hx-post (a 302 would be swapped into the target)."""
    response = Response(status=status)
    response.headers["HX-Redirect"] = location
    return response


def trigger(response: Response, event: str, detail: object | None = None) -> Response:
    """Fire an event in the browser that listening regions refresh on."""
    response.headers["HX-Trigger"] = json.dumps({event: detail}) if detail is not None else event
    return response


def push_url(response: Response, url: str) -> Response:
    response.headers["HX-Push-Url"] = url
    return response


def add_vary(response: Response) -> Response:
    """Pages that answer htmx with fragments must not be cached as one."""
    response.vary.add("HX-Request")
    return response
