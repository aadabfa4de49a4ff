"""Access codes are stored as a keyed hash (HMAC-SHA256), never in plain text.

Why not scrypt like passwords: a code is random (8 characters from 31, about 40 bits), it is
locked after five misses online, and offline it cannot be tried without the server's key,
which never sits in the database. A keyed hash keeps that protection while an import of
100,000 claims hashes its codes in well under a second instead of an hour.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

PREFIX = "hmac-sha256$"


def _key() -> bytes:
    # A key of its own, derived from the configured one, so the access-code hash never
    # shares a key with session signing.
    secret = current_app.config.get("ACCESS_CODE_KEY") or current_app.config["SECRET_KEY"]
    return hmac.new(secret.encode(), b"portal access codes v1", hashlib.sha256).digest()


def hash_code(reference: str, normalised_code: str) -> str:
    """The stored form of a case's code; the reference binds it to that case."""
    message = f"{reference}:{normalised_code}".encode()
    return PREFIX + hmac.new(_key(), message, hashlib.sha256).hexdigest()


def matches(stored: str, reference: str, normalised_code: str) -> bool:
    """Whether the code fits the stored hash, in constant time."""
    return hmac.compare_digest(stored, hash_code(reference, normalised_code))
