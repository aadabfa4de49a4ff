"""API tokens of a client: shown once in plain text, kept only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import ApiToken, Client, User, utcnow
from portal.services import audit

PREFIX = "ip_"
DISPLAY_CHARS = 10  # "ip_" and seven more: enough to tell a client's tokens apart
LAST_USED_EVERY = timedelta(minutes=1)  # a busy token does not write on every request


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def issue(client: Client, name: str, user: User | None) -> tuple[ApiToken, str]:
    """Make a token for `client`; returns it with the plain text, which exists only now."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(client_id=client.id, name=name.strip()[:100] or "API",
                     prefix=plain[:DISPLAY_CHARS], token_hash=token_hash(plain),
                     created_by_id=user.id if user else None)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.issued", f"API token {token.prefix}… issued", user=user,
                 client_id=client.id, client_visible=False, token_id=token.id)
    return token, plain


def authenticate(plain: str | None) -> ApiToken | None:
    """The live token `plain` stands for, or None (unknown, malformed or revoked).

    A lookup by hash: the plain text is never compared, so no timing leaks it.
    """
    if not plain or not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(plain)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at + LAST_USED_EVERY <= now:
        token.last_used_at = now
        db.session.flush()
    return token


def revoke(token: ApiToken, user: User | None) -> None:
    """Stop the token working from now on (kept, for the list of who used what)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", f"API token {token.prefix}… revoked", user=user,
                     client_id=token.client_id, client_visible=False, token_id=token.id)
        db.session.flush()


def for_client(client_id: int) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.client_id == client_id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))

