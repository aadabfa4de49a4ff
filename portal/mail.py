"""Outgoing email over SMTP (Flask-Mail). Callers send only after their commit (from a job)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext, suppress

from flask import render_template
from flask_babel import force_locale
from flask_mail import Message
from jinja2 import TemplateNotFound

from portal.extensions import mail


def send_templated(
    to: str,
    subject: str | Callable[[], str],
    template: str,
    *,
    language: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    **context,
) -> Message:
    """Render `<template>.txt` (and `<template>.html` when it exists) and send it.

    `language` renders the texts (and a callable `subject`, e.g. `lambda: _("...")`) in the
    recipient's language rather than the request's. `attachments`: (filename, type, bytes).
    """
    with force_locale(language) if language else nullcontext():
        message = Message(subject=subject() if callable(subject) else subject, recipients=[to])
        message.body = render_template(f"{template}.txt", **context)
        with suppress(TemplateNotFound):
            message.html = render_template(f"{template}.html", **context)
    for filename, content_type, data in attachments:
        message.attach(filename, content_type, data)
    mail.send(message)
    return message
