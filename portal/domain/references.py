"""Case references (K-2026-000123) and the access codes printed on letters."""

from __future__ import annotations

import re
import secrets

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_REFERENCE = re.compile(r"^\s*K\s*-?\s*(\d{4})\s*-?\s*(\d{1,9})\s*$", re.IGNORECASE)


def case_reference(year: int, number: int) -> str:
    return f"K-{year}-{number:06d}"


def parse_case_reference(text: str) -> tuple[int, int] | None:
    match = _REFERENCE.match(text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def new_access_code() -> str:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def normalise_access_code(text: str) -> str:
    return re.sub(r"[\s-]", "", text or "").upper()
