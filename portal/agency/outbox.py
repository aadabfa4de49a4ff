"""Development only: the emails the local SMTP sink caught (instance/outbox/*.eml)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

from portal.auth.loader import guard_roles
from portal.models import STAFF_ROLES

bp = Blueprint("outbox", __name__)
guard_roles(bp, STAFF_ROLES)
SHOWN = 200


def _folder() -> Path:
    """The outbox folder, or 404 where there is none (production sends for real)."""
    folder = current_app.config.get("MAIL_OUTBOX")
    if not folder or current_app.config.get("ENV_NAME") == "production":
        abort(404)
    return Path(folder)


def _read(path: Path):
    with path.open("rb") as file:
        return BytesParser(policy=policy.default).parse(file)


@bp.get("/")
def index():
    folder = _folder()
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    messages = [(path.name, _read(path)) for path in files[:SHOWN]]
    return render_template("agency/outbox/index.html", messages=messages, total=len(files))


@bp.get("/<name>")
def show(name: str):
    path = _folder() / name
    if path.suffix != ".eml" or path.name != name or not path.is_file():
        abort(404)
    message = _read(path)
    body = message.get_body(preferencelist=("plain", "html"))
    return render_template("agency/outbox/show.html", name=name, message=message,
                           text=body.get_content() if body else "")
