"""MT940 statements (ABN AMRO, ING, Rabobank style), read with the `mt940` library.

The library splits the tags and the :61: line; Dutch banks pack counterparty and description
into :86: subfields (/NAME/, /IBAN/, /REMI/, or ING and Rabo's //CNTP/iban/bic/name/city), which
this module reads itself.
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import mt940

from portal.banking.entries import ParsedEntry, ParsedStatement, StatementError

_CODES = ("TRTP", "IBAN", "BIC", "NAME", "REMI", "EREF", "CNTP", "MARF", "CSID", "ORDP",
          "BENM", "ID", "ADDR", "PURP", "RTRN", "ISDT", "ULTC", "ULTD", "ULTB", "SVCL", "ACCW")
_SUBFIELD = re.compile(r"/(" + "|".join(_CODES) + r")/")
_REMI_PREFIX = re.compile(r"^(USTD|STRD)/+(CUR/)?")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_NO_REFERENCE = {"", "NONREF", "NOTPROVIDED"}


def parse(data: bytes) -> ParsedStatement:
    """Every transaction in an MT940 file (one account per file)."""
    text = _decode(data)
    try:
        # A handle, never the bytes: the library reads bytes that name an existing file.
        transactions = mt940.parse(io.StringIO(text))
    except Exception as error:  # the library raises bare ValueErrors and worse on bad input
        raise StatementError(f"The MT940 file could not be read ({error}).") from None
    if not transactions.data.get("account_identification"):
        raise StatementError("The file is not an MT940 bank statement (no account line :25:).")
    if not len(transactions) and ":61:" in text:
        raise StatementError("The MT940 file has transaction lines that could not be read.")
    entries = [_entry(number, tx.data) for number, tx in enumerate(transactions, start=1)]
    return ParsedStatement(format="mt940",
                           account_iban=_account(transactions.data["account_identification"]),
                           statement_ref=_statement_ref(transactions.data), entries=entries)


def _decode(data: bytes) -> str:
    text = data.decode("utf-8-sig", errors="strict") if _utf8(data) else data.decode("cp1252",
                                                                                     "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _entry(number: int, data: dict) -> ParsedEntry:
    amount = data.get("amount")
    booked = data.get("entry_date") or data.get("date")
    if amount is None or booked is None:
        raise StatementError(f"Entry {number} has no amount or no date.")
    cents = Decimal(str(amount.amount)) * 100
    if cents != cents.to_integral_value():
        raise StatementError(f"Entry {number}: the amount {amount.amount} is not in cents.")
    details = _details(data.get("transaction_details") or "")
    bank_ref = (data.get("bank_reference") or "").strip()
    return ParsedEntry(
        bank_ref=None if bank_ref.upper() in _NO_REFERENCE else bank_ref,
        booked_on=_as_date(booked),
        value_on=_as_date(data["date"]) if data.get("date") else None,
        amount_cents=int(cents),
        currency=(amount.currency or data.get("currency") or "EUR").upper(),
        counterparty_name=details["name"],
        counterparty_iban=details["iban"],
        remittance_info=details["remittance"],
    )


def _as_date(value: date) -> date:
    return date(value.year, value.month, value.day)  # a plain date, not the library's subclass


def _details(raw: str) -> dict[str, str | None]:
    structured = bool(_SUBFIELD.search(raw))
    # Banks wrap :86: at 65 characters wherever it falls, mid-word for structured lines.
    text = raw.replace("\n", "" if structured else " ")
    if not structured:
        return {"name": None, "iban": None, "remittance": _clean(text)}
    fields = _subfields(text)
    name, iban = fields.get("NAME"), fields.get("IBAN")
    if "CNTP" in fields:  # ING, Rabobank: CNTP/iban/bic/name/city
        parts = (fields["CNTP"].split("/") + ["", "", ""])[:3]
        iban, name = iban or parts[0], name or parts[2]
    remi = fields.get("REMI")
    remittance = _clean(_REMI_PREFIX.sub("", remi.strip("/")).replace("/", " ")) if remi else None
    iban = "".join((iban or "").split()).upper()
    return {"name": _clean(name), "iban": iban if _IBAN.match(iban) else None,
            "remittance": remittance}


def _subfields(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    marks = list(_SUBFIELD.finditer(text))
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        end = after.start() if after else len(text)
        found.setdefault(mark[1], text[mark.end():end].strip("/"))
    return found


def _account(raw: str) -> str | None:
    account = "".join(raw.split()).upper().split("/")[-1]
    if len(account) > 18 and account[-3:].isalpha() and _IBAN.match(account[:-3]):
        account = account[:-3]  # ING and Rabo add the currency: NL..EUR
    return account or None


def _statement_ref(data: dict) -> str | None:
    number = str(data.get("statement_number") or "").strip()
    reference = (data.get("transaction_reference") or "").strip()
    return " ".join(str(part) for part in (reference, number) if part) or None


def _clean(text: str | None) -> str | None:
    return " ".join((text or "").split()) or None
