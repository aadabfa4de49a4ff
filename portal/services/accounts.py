"""Staff and client accounts: passwords, sign-in, and reset by an emailed, expiring token."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import Client, Role, User, utcnow
from portal.services import audit

MIN_PASSWORD_LENGTH = 10
# A constant hash to compare against when the email is unknown, so timing does not tell.
_DUMMY_HASH = "scrypt:1024:8:1$dummy$" + "0" * 128


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_user(
    email: str, name: str, password: str, role: Role, *, client: Client | None = None
) -> User:
    """Add a user; a client user must name their client, staff must not."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if (role == Role.CLIENT) != (client is not None):
        raise ValueError("client users belong to exactly one client; staff to none")
    user = User(
        email=email.strip().lower(),
        name=name,
        password_hash=hash_password(password),
        role=role,
        client=client,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", f"User {user.email} ({role}) created", client_id=user.client_id)
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same work either way)."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    audit.record("user.signed_in", "Signed in", user=user, client_id=user.client_id,
                 client_visible=False)
    return user


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def reset_token(user: User) -> str:
    # Binding the token to the password makes it single-use: a new password voids it.
    return _reset_serializer().dumps({"id": user.id, "fp": user.password_fingerprint})


def user_for_reset_token(token: str) -> User | None:
    """The user a valid, unexpired, unused token was made for; None otherwise."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("id"))
    if user is None or not user.active or data.get("fp") != user.password_fingerprint:
        return None
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    audit.record("user.password_changed", "Password changed", user=user,
                 client_id=user.client_id, client_visible=False)
