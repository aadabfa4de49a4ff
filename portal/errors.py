"""Error pages in the reader's words, for every audience."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something in the request was wrong"), _("Please go back and try again.")),
        403: (_("Not allowed"), _("Your account cannot open this page.")),
        404: (_("Not found"), _("This page does not exist, or it is not yours to see.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (
            _("The files are too large"),
            _("Together they are more than we can take at once. Please send fewer or smaller "
              "files (a photo of a page is often small enough)."),
        ),
        429: (
            _("Too many attempts"),
            _("Please wait a few minutes before you try again."),
        ),
        500: (_("Something went wrong on our side"), _("Please try again in a moment.")),
    }


def render_error(code: int, detail: str | None = None):
    title, message = _messages().get(code, _messages()[500])
    return render_template("errors/error.html", title=title, message=detail or message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, _("This form had expired or was sent from elsewhere. Please reload and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (301, 302, 303, 307, 308):
            return error
        return render_error(error.code or 500)
