from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from portal.banking import ParsedEntry, StatementError, entry_key, parse_statement, swift
from portal.domain.references import rf_reference

SAMPLES = Path(__file__).parent / "fixtures" / "bank"
RF_124 = rf_reference("K-2026-000124")
MARCH_2 = date(2026, 3, 2)


def _parse(name):
    return parse_statement((SAMPLES / name).read_bytes(), name)


def _lines(statement):
    return [(e.bank_ref, e.booked_on, e.amount_cents, e.counterparty_name, e.counterparty_iban,
             e.remittance_info) for e in statement.entries]


ABN_DAY = [
    ("0302A1B2C3D4E5F6", MARCH_2, 12550, "J. JANSEN", "NL44RABO0123456789", "K-2026-000123"),
    ("0302B7C8D9E0F1A2", MARCH_2, 4000, "MW. A. JANSEN-DE BOER", "NL20INGB0001234567",
     "betaling kenmerk k2026 000123 bedankt"),
    ("0302C3D4E5F6A7B8", MARCH_2, 31000, "BAKKERIJ SMIT B.V.", "NL02ABNA0123456789", RF_124),
    ("0302D5E6F7A8B9C0", MARCH_2, 25000, "P DE VRIES", "NL39RABO0300065264", "rekening maart"),
]


def test_camt053_v02():
    statement = _parse("camt053_v02.xml")
    assert (statement.format, statement.account_iban, statement.statement_ref) == (
        "camt053", "NL91ABNA0417164300", "2026-03-02-NL91ABNA0417164300")
    lines = _lines(statement)
    # names as the bank wrote them; the pending line (Sts PDNG) is not money yet
    assert [line[:3] + line[4:] for line in lines[:4]] == [line[:3] + line[4:] for line in ABN_DAY]
    assert lines[1][3] == "Mw. A. Jansen-de Boer"
    assert lines[4] == ("0302E7F8A9B0C1D2", MARCH_2, -1815, "ABN AMRO Bank N.V.",
                        "NL91ABNA0417164300", "Kosten betalingsverkeer februari")
    assert len(lines) == 5
    assert statement.entries[2].value_on == date(2026, 3, 3)
    assert {e.currency for e in statement.entries} == {"EUR"}


def test_camt053_v08():
    statement = _parse("camt053_v08.xml")
    assert (statement.format, statement.account_iban) == ("camt053", "NL69INGB0123456789")
    assert _lines(statement) == [
        ("INGB0304TX000001", date(2026, 3, 4), 7500, "Kees Bakker", "NL18RABO0123459876",
         "Dossier K 2026-123 deel 1"),
        (None, date(2026, 3, 4), 1234, "Onbekend", None, "gift"),
        ("INGB0304TX000003", date(2026, 3, 4), -50000, "Klant Woonstede B.V.",
         "NL56ABNA0987654321", "Afdracht februari"),
    ]


def test_mt940_abn_amro():
    statement = _parse("mt940_abn.sta")
    assert (statement.format, statement.account_iban) == ("mt940", "417164300")
    lines = _lines(statement)
    assert lines[:4] == ABN_DAY
    assert lines[4] == (None, MARCH_2, -1815, None, None,
                        "ABN AMRO Bank N.V. KOSTEN BETALINGSVERKEER FEBRUARI")
    assert all(type(e.booked_on) is date for e in statement.entries)


def test_mt940_ing():
    statement = _parse("mt940_ing.sta")
    assert (statement.format, statement.account_iban) == ("mt940", "NL69INGB0123456789")
    assert _lines(statement) == [
        ("INGB0304TX000001", date(2026, 3, 4), 7500, "Kees Bakker", "NL18RABO0123459876",
         "Dossier K 2026-123 deel 1"),
        (None, date(2026, 3, 4), 1234, "Onbekend", "NL11ASNB0707070707", "gift"),
        ("INGB0304TX000003", date(2026, 3, 4), -50000, "Klant Woonstede B.V.",
         "NL56ABNA0987654321", "Afdracht februari"),
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"Datum,Bedrag\n2026-03-02,12.50\n", "not a CAMT.053"),
        (b"<Document><BkToCstmrStmt>", "not readable XML"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.02'/>", "no statement"),
        (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1,50</Amt>"
         b"<CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt></Ntry>"
         b"</Stmt></BkToCstmrStmt></Document>", "Entry 1: the amount '1,50' is not a number"),
        (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1.50</Amt>"
         b"<CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt></BkToCstmrStmt></Document>",
         "no booking date"),
        (b":20:X\n:60F:C260301EUR1,00\n", "no account line"),
    ],
)
def test_broken_files_are_refused_in_plain_words(data, words):
    with pytest.raises(StatementError, match=words):
        parse_statement(data, "upload.txt")


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document><BkToCstmrStmt><Stmt><Id>&lol3;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Id>&secret;</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN>
</Id></Acct></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("data", [BOMB, EXTERNAL], ids=["entity bomb", "external entity"])
def test_entities_are_refused(data):
    with pytest.raises(StatementError, match="document type declaration"):
        parse_statement(data, "evil.xml")


def test_mt940_content_naming_a_file_is_not_read_as_a_path(tmp_path):
    # The library reads bytes that name an existing file; an upload must never do that.
    path = tmp_path / "statement.sta"
    path.write_bytes((SAMPLES / "mt940_ing.sta").read_bytes())
    with pytest.raises(StatementError, match="no account line"):
        swift.parse(str(path).encode())


def test_entry_key_is_stable_and_distinct():
    first = _parse("camt053_v02.xml")
    again = _parse("camt053_v02.xml")
    keys = [entry_key(first.account_iban, e) for e in first.entries]
    assert keys == [entry_key(again.account_iban, e) for e in again.entries]
    assert len(set(keys)) == len(keys)
    assert keys[0] == "NL91ABNA0417164300:0302A1B2C3D4E5F6"


def test_entry_key_without_bank_reference_is_a_digest_of_the_line():
    line = ParsedEntry(None, MARCH_2, None, 1234, "EUR", "Onbekend", None, "gift")
    key = entry_key("NL69 INGB 0123 4567 89", line)
    assert key.startswith("sha:")
    assert key == entry_key("NL69INGB0123456789", replace(line, value_on=date(2026, 3, 3)))
    others = [replace(line, amount_cents=1235), replace(line, booked_on=date(2026, 3, 3)),
              replace(line, remittance_info="gift 2"), replace(line, counterparty_name="X")]
    assert len({key, *(entry_key("NL69INGB0123456789", o) for o in others)}) == 5
    assert entry_key("NL02ABNA0123456789", line) != key  # another account, another line


def test_same_bank_reference_on_two_accounts_gives_two_keys():
    line = ParsedEntry("REF1", MARCH_2, None, 100, "EUR", None, None, None)
    assert entry_key("NL91ABNA0417164300", line) != entry_key("NL69INGB0123456789", line)
