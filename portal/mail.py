"""Outgoing email over SMTP (Flask-Mail). Callers send only after their commit."""

from __future__ import annotations

from contextlib import suppress

from flask import render_template
from flask_mail import Message
from jinja2 import TemplateNotFound

from portal.extensions import mail


def send_templated(to: str, subject: str, template: str, **context) -> Message:
    """Render `<template>.txt` (and `<template>.html` when it exists) and send it."""
    message = Message(subject=subject, recipients=[to])
    message.body = render_template(f"{template}.txt", **context)
    with suppress(TemplateNotFound):
        message.html = render_template(f"{template}.html", **context)
    mail.send(message)
    return message
