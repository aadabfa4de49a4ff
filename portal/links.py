"""Links built without a request (jobs, the CLI, services): on PUBLIC_URL, never from the
Host header of whoever happens to be asking."""

from __future__ import annotations

from flask import current_app


def public_url() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/")


def path_for(endpoint: str, **values: object) -> str:
    """The path of `endpoint`, like url_for but with or without a request."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def public_link(endpoint: str, **values: object) -> str:
    """An absolute link for an email or a payment provider."""
    return public_url() + path_for(endpoint, **values)
