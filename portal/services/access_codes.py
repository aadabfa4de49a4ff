"""Access codes: derived from the server's key, so every letter can print a case's code again,
and checked against a keyed hash (HMAC-SHA256); the code itself is never stored.

A case's code is a keyed function of its reference and a random nonce kept on the case;
a new nonce gives the case a new code (and voids the old one).

Why not scrypt like passwords: a code is random (8 characters from 31, about 40 bits), it is
locked after five misses online, and offline it cannot be tried without the server's key,
which never sits in the database. A keyed hash keeps that protection while an import of
100,000 claims hashes its codes in well under a second instead of an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

from portal.domain.references import (
    ACCESS_CODE_ALPHABET,
    ACCESS_CODE_LENGTH,
    normalise_access_code,
)

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


def new_nonce() -> str:
    return secrets.token_hex(8)


def code_for(reference: str, nonce: str) -> str:
    """The printable code of a case ("ABCD-EFGH"), the same every time it is asked for."""
    digest = hmac.new(_key(), f"code:{reference}:{nonce}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(ACCESS_CODE_LENGTH):
        number, index = divmod(number, len(ACCESS_CODE_ALPHABET))
        chars.append(ACCESS_CODE_ALPHABET[index])
    half = ACCESS_CODE_LENGTH // 2
    return "".join(chars[:half]) + "-" + "".join(chars[half:])


def issue(reference: str) -> tuple[str, str, str]:
    """A fresh (nonce, printable code, stored hash) for a case."""
    nonce = new_nonce()
    code = code_for(reference, nonce)
    return nonce, code, hash_code(reference, normalise_access_code(code))


def printable_code(case) -> str:
    """The code to print on a letter for `case` (a Case). A case from before codes were
    derivable (no nonce) gets a new code here, which voids its old random one."""
    if not case.access_code_nonce:
        case.access_code_nonce, code, case.access_code_hash = issue(case.reference)
        return code
    return code_for(case.reference, case.access_code_nonce)
