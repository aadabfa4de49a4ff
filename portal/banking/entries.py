"""What a parsed bank statement looks like, whatever file it came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date


class StatementError(ValueError):
    """A statement file that cannot be read; the message is shown to the admin as is."""


@dataclass(frozen=True)
class ParsedEntry:
    bank_ref: str | None
    booked_on: date
    value_on: date | None
    amount_cents: int  # credit positive, debit negative
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance_info: str | None


@dataclass
class ParsedStatement:
    format: str  # "camt053" | "mt940"
    account_iban: str | None
    statement_ref: str | None
    entries: list[ParsedEntry] = field(default_factory=list)


def entry_key(account_iban: str | None, entry: ParsedEntry) -> str:
    """The key that recognises a statement line when it is uploaded again.

    The bank's own reference within the account when there is one; otherwise a digest of what
    the line says, so the same line in an overlapping file still gives the same key.
    """
    account = (account_iban or "").replace(" ", "").upper()
    if entry.bank_ref:
        return f"{account}:{entry.bank_ref.strip()}"[:200]
    parts = [account, entry.booked_on.isoformat(), str(entry.amount_cents), entry.currency,
             entry.counterparty_iban or "", entry.counterparty_name or "",
             " ".join((entry.remittance_info or "").split())]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"sha:{digest}"
