"""Outgoing email over SMTP (Flask-Mail). Callers send only after their commit."""

from __future__ import annotations

from flask import render_template
from flask_mail import Message

from portal.extensions import mail


def send_templated(to: str, subject: str, template: str, **context) -> Message:
    """Render `<template>.txt` (and `<template>.html` when it exists) and send it."""
    from jinja2 import TemplateNotFound

    message = Message(subject=subject, recipients=[to])
    message.body = render_template(f"{template}.txt", **context)
    try:
        message.html = render_template(f"{template}.html", **context)
    except TemplateNotFound:
        pass
    mail.send(message)
    return message
