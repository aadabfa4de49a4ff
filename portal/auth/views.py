from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm

from portal.auth import bp
from portal.auth.forms import ForgotPasswordForm, LoginForm, ResetPasswordForm
from portal.auth.loader import home_for
from portal.extensions import db, limiter
from portal.jobs.accounts import send_password_reset
from portal.queue import enqueue_after_commit
from portal.services import accounts


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _submitted_email() -> str:
    # Guessing one account's password from many addresses is throttled per account too.
    return "account:" + request.form.get("email", "").strip().lower()


def _safe_next(target: str | None) -> str | None:
    """Only follow a `next` that stays on this site."""
    if not target or not target.startswith("/"):
        return None
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/<backslash>evil"
    # and "/<tab>/evil" both become "//evil": another site.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def _form_status(form: FlaskForm) -> int:
    """A form sent back with errors answers 422; a first view of it 200."""
    return 422 if form.is_submitted() else 200


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_submitted_email)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            session.pop("debtor_id", None)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        form.password.errors.append(_("That email address and password do not match."))
        return render_template("auth/login.html", form=form), 422
    return render_template("auth/login.html", form=form), _form_status(form)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = accounts.find_by_email(form.email.data)
        if user is not None and user.active:
            enqueue_after_commit("mail", send_password_reset, user.id)
            db.session.commit()
        # The same answer whether or not the address is known: nothing to probe.
        flash(_("If that address has an account, we have emailed a link to reset the password. "
                "It works for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), _form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = accounts.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data)
        db.session.commit()
        flash(_("Your password is changed. You can sign in with it now."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset.html", form=form, min_length=accounts.MIN_PASSWORD_LENGTH
    ), _form_status(form)


@bp.post("/language/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.index"))
