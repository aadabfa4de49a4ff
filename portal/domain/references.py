"""Case references and debtor access codes, as printed on letters and typed back by debtors."""

from __future__ import annotations

import re
import secrets

REFERENCE_PREFIX = "K"
# No 0/O, 1/I/L: a code read off paper must not be mistyped.
ACCESS_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ACCESS_CODE_LENGTH = 8

# After normalising: K, a four-digit year, the number; the dashes are optional. Nine digits
# is far beyond any year's cases and stops a pasted wall of digits from reaching int().
_REFERENCE = re.compile(r"K-?(\d{4})-?(\d{1,9})")
# Debtors copy from PDFs and word processors, which turn '-' into these.
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2212": "-"})


def case_reference(year: int, number: int) -> str:
    """Format a case reference: case_reference(2026, 123) == "K-2026-000123".

    The number is padded to six digits and simply grows longer past 999999, never truncated.
    """
    if not 1000 <= year <= 9999:
        raise ValueError(f"year must have four digits, got {year}")
    if number < 1:
        raise ValueError(f"case number must be positive, got {number}")
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


def parse_case_reference(text: str | None) -> tuple[int, int] | None:
    """(year, number) from a reference as a debtor might type it, or None if it is not one.

    Accepts lower case, spaces anywhere, missing dashes and missing zero padding:
    "k 2026 123", "K2026000123" and "K-2026-000123" all give (2026, 123).
    """
    compact = "".join((text or "").translate(_DASHES).split()).upper()
    match = _REFERENCE.fullmatch(compact)
    if match is None:
        return None
    year, number = int(match[1]), int(match[2])
    if year < 1000 or number < 1:
        return None
    return year, number


def new_access_code() -> str:
    """A fresh random access code formatted for printing, like "ABCD-EFGH".

    Store and compare it through `normalise_access_code`, which drops the dash.
    """
    chars = "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))
    half = ACCESS_CODE_LENGTH // 2
    return f"{chars[:half]}-{chars[half:]}"


def normalise_access_code(text: str | None) -> str:
    """The code as compared: upper case, without spaces or dashes ("abcd-efgh" -> "ABCDEFGH")."""
    return "".join((text or "").translate(_DASHES).split()).replace("-", "").upper()


def _iso7064_digits(text: str) -> int:
    """The text as ISO 7064 reads it: digits stay, A=10 ... Z=35."""
    return int("".join(str(int(char, 36)) for char in text))


def rf_reference(case_reference_text: str) -> str:
    """The ISO 11649 creditor reference for a case: "RF" + check digits + its letters and digits.

    rf_reference("K-2026-000123") == "RF" + two check digits + "K2026000123"; banks accept it
    in the structured description field, and it survives their rewriting of free text.
    """
    body = "".join(char for char in case_reference_text.upper() if char.isalnum())
    if not 1 <= len(body) <= 21 or not body.isascii():
        raise ValueError(f"not a reference that fits an RF reference: {case_reference_text!r}")
    check = 98 - _iso7064_digits(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_valid_rf_reference(text: str | None) -> bool:
    """Whether text (spaces allowed) is an RF creditor reference with correct check digits."""
    compact = "".join((text or "").split()).upper()
    if not (5 <= len(compact) <= 25 and compact.isascii() and compact.isalnum()):
        return False
    if not (compact.startswith("RF") and compact[2:4].isdigit()):
        return False
    return _iso7064_digits(compact[4:] + compact[:4]) % 97 == 1
