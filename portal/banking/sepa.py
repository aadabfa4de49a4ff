"""SEPA credit transfer files (pain.001.001.03): the agency pays its clients in one batch.

Built with sepaxml, then checked against the pain.001.001.03 schema that sepaxml ships, so a
file that leaves here is one a bank's parser accepts. Version .03 because every Dutch bank
takes it. No Flask, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import sepaxml
import xmlschema
from lxml import etree
from sepaxml import SepaTransfer

from portal.banking.iban import IbanError, bic_for, clean_iban

SCHEMA = "pain.001.001.03"
SCHEMA_FILE = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
MAX_AMOUNT_CENTS = 99_999_999_999  # 999,999,999.99 euros: the most one SEPA transfer carries
MAX_NAME = 70  # longer names are cut by sepaxml, as the SEPA rulebook allows
MAX_DESCRIPTION = 140
# Identifiers (message id, end-to-end reference): at most 35 characters of the SEPA Latin set
# without the space, not starting or ending with '/' and without '//' (EPC usage rules).
_IDENTIFIER = re.compile(r"(?!/)(?!.*//)[A-Za-z0-9/?:().,'+-]{1,35}(?<!/)")
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")  # the schema's BICIdentifier
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class Payout:
    name: str  # the client's account name
    iban: str
    amount_cents: int  # > 0
    reference: str  # end-to-end id, <= 35 chars, e.g. "RM-12-3"
    description: str  # remittance information, <= 140 chars


class SepaError(ValueError):
    """Why no transfer file can be made from this input. `reason` is one of REASONS (pages
    put it in the user's words), `payout` the payout it concerns, if any, and `detail` the
    IbanError reason where an IBAN is refused. str() names the payee, for logs."""

    REASONS = {
        "no_payouts": "There is nothing to pay: a transfer file needs at least one payout.",
        "agency_name": "The agency's name is empty.",
        "agency_iban": "The agency's IBAN cannot be used to pay from.",
        "agency_bic": "The agency's BIC is not a valid BIC.",
        "message_id": "The file's message id must be 1 to 35 letters, digits or - / ? : ( ) "
                      ". , ' + (no spaces, no '//', no '/' at either end).",
        "payee_name": "The payee has no name.",
        "payee_iban": "The payee's IBAN cannot receive a SEPA transfer.",
        "amount": "An amount to pay must lie between 0.01 and 999,999,999.99 euros, in whole "
                  "cents.",
        "reference": "A payment reference must be 1 to 35 letters, digits or - / ? : ( ) . , "
                     "' + (no spaces, no '//', no '/' at either end).",
        "duplicate_reference": "Two payouts in one file have the same reference.",
        "description": "The description for the payee must be 1 to 140 characters.",
    }

    def __init__(self, reason: str, payout: Payout | None = None,
                 detail: str | None = None) -> None:
        message = self.REASONS[reason]
        if detail:
            message = f"{message} {IbanError.REASONS.get(detail, detail)}"
        if payout is not None:
            message = f"Payout {payout.reference!r} to {payout.name!r}: {message}"
        super().__init__(message)
        self.reason = reason
        self.payout = payout
        self.detail = detail


class SepaSchemaError(RuntimeError):
    """The file made does not match the pain.001 schema: a fault in this code, not in the
    input (which SepaError refuses first). Nothing is handed out."""


def credit_transfer(*, debtor_name: str, debtor_iban: str, debtor_bic: str | None,
                    payouts: list[Payout], execution_date: date, message_id: str) -> bytes:
    """One pain.001.001.03 file that pays every payout from the agency's account (the debtor)
    on `execution_date`: one batch-booked payment (PmtInf) holding all transactions.

    `message_id` becomes GrpHdr/MsgId and the payment's PmtInfId, so the same input gives the
    same file except the creation time. Payees' BICs are added where schwifty's registry knows
    the bank (IBAN-only is enough within the EEA). Raises SepaError for input a bank would
    refuse; SepaSchemaError if the output fails the schema anyway.
    """
    if isinstance(execution_date, datetime) or not isinstance(execution_date, date):
        raise TypeError("execution_date must be a date")
    debtor = _debtor(debtor_name, debtor_iban, debtor_bic)
    if not _IDENTIFIER.fullmatch(message_id or ""):
        raise SepaError("message_id")
    payments = _payments(payouts, execution_date)
    transfer = SepaTransfer({**debtor, "batch": True, "currency": "EUR"}, schema=SCHEMA)
    for payment in payments:
        transfer.add_payment(payment)
    document = _with_ids(transfer.export(validate=False), message_id)
    _validate(document)
    return document


def _debtor(name: str, iban: str, bic: str | None) -> dict[str, str]:
    if not (name or "").strip():
        raise SepaError("agency_name")
    try:
        compact = clean_iban(iban)
    except IbanError as exc:
        raise SepaError("agency_iban", detail=exc.reason) from exc
    debtor = {"name": name.strip(), "IBAN": compact}
    if bic is not None:
        bic = "".join(bic.split()).upper()
        if not _BIC.fullmatch(bic):
            raise SepaError("agency_bic")
    bic = bic or bic_for(compact)
    if bic:
        debtor["BIC"] = bic
    return debtor


def _payments(payouts: list[Payout], execution_date: date) -> list[dict]:
    if not payouts:
        raise SepaError("no_payouts")
    seen: set[str] = set()
    payments = []
    for payout in payouts:
        payments.append(_payment(payout, execution_date))
        if payout.reference in seen:
            raise SepaError("duplicate_reference", payout)
        seen.add(payout.reference)
    return payments


def _payment(payout: Payout, execution_date: date) -> dict:
    amount = payout.amount_cents
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT_CENTS:
        raise SepaError("amount", payout)
    if not _IDENTIFIER.fullmatch(payout.reference or ""):
        raise SepaError("reference", payout)
    if not (payout.name or "").strip():
        raise SepaError("payee_name", payout)
    description = " ".join((payout.description or "").split())
    if not 0 < len(description) <= MAX_DESCRIPTION:
        raise SepaError("description", payout)
    try:
        iban = clean_iban(payout.iban)
    except IbanError as exc:
        raise SepaError("payee_iban", payout, exc.reason) from exc
    payment = {"name": payout.name.strip(), "IBAN": iban, "amount": amount,
               "endtoend_id": payout.reference, "description": description,
               "execution_date": execution_date}
    bic = bic_for(iban)
    if bic and _BIC.fullmatch(bic):
        payment["BIC"] = bic
    return payment


def _with_ids(document: bytes, message_id: str) -> bytes:
    """sepaxml draws a random MsgId and PmtInfId; ours go in their place."""
    root = _parse(document)
    ns = {"p": NAMESPACE}
    for path in ("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", "p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId"):
        for element in root.xpath(path, namespaces=ns):
            element.text = message_id
    return _DECLARATION + etree.tostring(root, encoding="UTF-8")


def _parse(document: bytes) -> etree._Element:
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))


@cache
def _schema() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(SCHEMA_FILE))


def _validate(document: bytes) -> None:
    error = next(_schema().iter_errors(_parse(document)), None)
    if error is not None:
        raise SepaSchemaError(f"the {SCHEMA} file made does not match its schema: "
                              f"{error.reason} at {error.path}")
