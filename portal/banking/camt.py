"""CAMT.053 (ISO 20022 bank-to-customer statement), versions .02 to .08, read with lxml.

Namespace-agnostic: every lookup uses `{*}`, so a bank on .001.02 and one on .001.08 read alike.
The file comes from an admin's upload, so the parser refuses DTDs and entities outright and
never touches the network.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from portal.banking.entries import ParsedEntry, ParsedStatement, StatementError

_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOOKED = {"BOOK", ""}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, dtd_validation=False, remove_comments=True)


def parse(data: bytes) -> ParsedStatement:
    """Every booked entry of every statement in a CAMT.053 file (all for one account)."""
    if _DTD.search(data[:4096]) or _DTD.search(data):
        raise StatementError("The file contains a document type declaration, which a bank "
                             "statement never has; it was not read.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise StatementError(f"The file is not readable XML ({error.msg}).") from None
    statements = root.findall(".//{*}BkToCstmrStmt/{*}Stmt")
    if not statements:
        raise StatementError("The XML file is not a CAMT.053 bank statement (no statement in it).")
    accounts = {_iban(stmt.findtext("{*}Acct/{*}Id/{*}IBAN")) for stmt in statements}
    if len(accounts) > 1:
        raise StatementError("The file holds statements for more than one account; "
                             "upload one account per file.")
    first = statements[0]
    entries = [entry for stmt in statements for entry in _entries(stmt)]
    return ParsedStatement(format="camt053", account_iban=accounts.pop(),
                           statement_ref=_text(first.findtext("{*}Id")), entries=entries)


def _entries(stmt: etree._Element) -> list[ParsedEntry]:
    entries = []
    for number, ntry in enumerate(stmt.findall("{*}Ntry"), start=1):
        status = _text(ntry.findtext("{*}Sts/{*}Cd")) or _text(ntry.findtext("{*}Sts")) or ""
        if status.upper() not in _BOOKED:
            continue  # pending and information-only lines are not money yet
        try:
            entries.append(_entry(ntry))
        except StatementError as error:
            raise StatementError(f"Entry {number}: {error}") from None
    return entries


def _entry(ntry: etree._Element) -> ParsedEntry:
    credit = _credit(ntry.findtext("{*}CdtDbtInd"))
    amount = ntry.find("{*}Amt")
    if amount is None:
        raise StatementError("it has no amount.")
    cents = _cents(amount.text)
    tx = ntry.find("{*}NtryDtls/{*}TxDtls")
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    return ParsedEntry(
        bank_ref=_bank_ref(ntry, tx),
        booked_on=_date(ntry.find("{*}BookgDt"), required=True),
        value_on=_date(ntry.find("{*}ValDt"), required=False),
        amount_cents=cents if credit else -cents,
        currency=(amount.get("Ccy") or "EUR").upper(),
        counterparty_name=_party_name(tx, party),
        counterparty_iban=_iban(_find(tx, f"{{*}}RltdPties/{{*}}{account}/{{*}}Id/{{*}}IBAN")),
        remittance_info=_remittance(tx if tx is not None else ntry),
    )


def _bank_ref(ntry: etree._Element, tx: etree._Element | None) -> str | None:
    # EndToEndId is chosen by the payer (often "NOTPROVIDED" or reused), so it is no key: without
    # the bank's own reference, entry_key falls back to a digest of the line.
    return _text(ntry.findtext("{*}AcctSvcrRef")) or _text(_find(tx, "{*}Refs/{*}AcctSvcrRef"))


def _party_name(tx: etree._Element | None, party: str) -> str | None:
    return (_text(_find(tx, f"{{*}}RltdPties/{{*}}{party}/{{*}}Nm"))  # .02 to .07
            or _text(_find(tx, f"{{*}}RltdPties/{{*}}{party}/{{*}}Pty/{{*}}Nm")))  # .08


def _remittance(node: etree._Element) -> str | None:
    parts = [_text(el.text) for el in node.findall(".//{*}RmtInf/{*}Ustrd")]
    parts += [_text(el.text) for el in node.findall(".//{*}RmtInf/{*}Strd//{*}CdtrRefInf/{*}Ref")]
    joined = " ".join(part for part in parts if part)
    return joined or _text(node.findtext("{*}AddtlNtryInf"))


def _find(node: etree._Element | None, path: str) -> str | None:
    return None if node is None else node.findtext(path)


def _credit(indicator: str | None) -> bool:
    value = (indicator or "").strip().upper()
    if value not in {"CRDT", "DBIT"}:
        raise StatementError("it does not say whether money came in or went out.")
    return value == "CRDT"


def _cents(text: str | None) -> int:
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        raise StatementError(f"the amount {text!r} is not a number.") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise StatementError(f"the amount {text!r} is not an amount in cents.")
    return int(amount * 100)


def _date(node: etree._Element | None, *, required: bool) -> date | None:
    text = None if node is None else (node.findtext("{*}Dt") or node.findtext("{*}DtTm"))
    if not text:
        if required:
            raise StatementError("it has no booking date.")
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise StatementError(f"the date {text!r} is not a date.") from None


def _iban(text: str | None) -> str | None:
    return "".join((text or "").split()).upper() or None


def _text(text: str | None) -> str | None:
    return " ".join((text or "").split()) or None
