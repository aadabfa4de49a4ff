"""IBANs checked with schwifty: the check digits, the length and layout per country, and
whether the account can receive a SEPA credit transfer. No Flask, no database."""

from __future__ import annotations

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBankCode,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)


class IbanError(ValueError):
    """Why a text is not an IBAN we can pay to. `reason` is one of REASONS (pages put it in
    the user's words); str() is an English sentence for logs and the command line."""

    REASONS = {
        "empty": "No IBAN is filled in.",
        "checksum": "The check digits of this IBAN do not match: a typing error?",
        "length": "This IBAN has too many or too few characters for its country.",
        "country": "This IBAN does not start with a known country code.",
        "bank": "This IBAN names a bank code that does not exist.",
        "structure": "This is not an IBAN.",
        "not_sepa": "This account is outside the SEPA area: a SEPA transfer cannot reach it.",
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.REASONS[reason])
        self.reason = reason


# Countries whose bank codes schwifty's registry lists in full (the Dutch list is short and
# closed): an unknown code there is a typing error. Elsewhere the registry may lag behind.
CLOSED_BANK_LISTS = frozenset({"NL"})

_REASON_BY_ERROR = (
    (InvalidChecksumDigits, "checksum"),
    (InvalidLength, "length"),
    (InvalidCountryCode, "country"),
    (InvalidBankCode, "bank"),
)


def clean_iban(text: str | None) -> str:
    """The IBAN in `text` in its compact form (NL91ABNA0417164300), or IbanError.

    Spaces and lower case are forgiven; anything a bank would refuse is not.
    """
    compact = "".join((text or "").split()).upper()
    if not compact:
        raise IbanError("empty")
    try:
        iban = IBAN(compact)
    except SchwiftyException as exc:
        reason = next((name for kind, name in _REASON_BY_ERROR if isinstance(exc, kind)),
                      "structure")
        raise IbanError(reason) from exc
    if not iban.in_sepa_zone:
        raise IbanError("not_sepa")
    if iban.country_code in CLOSED_BANK_LISTS and iban.bank is None:
        raise IbanError("bank")
    return str(iban.compact)


def is_valid_iban(text: str | None) -> bool:
    try:
        clean_iban(text)
    except IbanError:
        return False
    return True


def bic_for(iban: str) -> str | None:
    """The bank's BIC, where schwifty's bank registry knows the bank (not needed for SEPA
    inside the EEA, where the IBAN alone routes the payment)."""
    bic = IBAN(iban, allow_invalid=True).bic
    return str(bic) if bic else None
