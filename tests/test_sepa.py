"""The pain.001 file for a remittance run: read back with lxml, checked against the XSD that
sepaxml ships (with xmlschema, independently of the module's own check)."""

import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from lxml import etree

from portal.banking import sepa
from portal.banking.sepa import Payout, SepaError, SepaSchemaError, credit_transfer

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
AGENCY_IBAN = "NL91ABNA0417164300"
APRIL_2 = date(2026, 4, 2)

PAYOUTS = [
    Payout("Bakkerij Smit B.V.", "nl44 rabo 0123 4567 89", 123456, "RM-12-1",
           "Remittance RM-12-1 01-03-2026 - 31-03-2026"),
    Payout("Garage De Vries", "DE89370400440532013000", 5, "RM-12-2", "Remittance RM-12-2"),
    Payout("Hoveniers Jansen", "BE68539007547034", 100000, "RM-12-3", "Remittance RM-12-3"),
]
# (IBAN, amount, EndToEndId, Ustrd) per transaction, as the bank must read them
EXPECTED = [
    ("NL44RABO0123456789", "1234.56", "RM-12-1", "Remittance RM-12-1 01-03-2026 - 31-03-2026"),
    ("DE89370400440532013000", "0.05", "RM-12-2", "Remittance RM-12-2"),
    ("BE68539007547034", "1000.00", "RM-12-3", "Remittance RM-12-3"),
]


def _build(**overrides):
    arguments = {"debtor_name": "Incassobureau Noord B.V.", "debtor_iban": AGENCY_IBAN,
                 "debtor_bic": "ABNANL2A", "payouts": PAYOUTS, "execution_date": APRIL_2,
                 "message_id": "PORTAL-RM-000012"}
    return credit_transfer(**{**arguments, **overrides})


def _root(document):
    return etree.fromstring(document)


def _text(root, path):
    return [element.text for element in root.xpath(path, namespaces=NS)]


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema10(str(XSD))


def test_header_and_batch():
    root = _root(_build())
    head = "p:CstmrCdtTrfInitn/p:GrpHdr/"
    assert _text(root, head + "p:MsgId") == ["PORTAL-RM-000012"]
    assert _text(root, head + "p:NbOfTxs") == ["3"]
    assert _text(root, head + "p:CtrlSum") == ["2234.61"]  # 1234.56 + 0.05 + 1000.00
    batches = root.xpath("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=NS)
    assert len(batches) == 1
    batch = batches[0]
    assert _text(batch, "p:PmtInfId") == ["PORTAL-RM-000012"]
    assert _text(batch, "p:PmtMtd") == ["TRF"]
    assert _text(batch, "p:BtchBookg") == ["true"]
    assert _text(batch, "p:NbOfTxs") == ["3"]
    assert _text(batch, "p:CtrlSum") == ["2234.61"]
    assert _text(batch, "p:PmtTpInf/p:SvcLvl/p:Cd") == ["SEPA"]
    assert _text(batch, "p:ReqdExctnDt") == ["2026-04-02"]
    assert _text(batch, "p:Dbtr/p:Nm") == ["Incassobureau Noord B.V."]
    assert _text(batch, "p:DbtrAcct/p:Id/p:IBAN") == [AGENCY_IBAN]
    assert _text(batch, "p:DbtrAgt/p:FinInstnId/p:BIC") == ["ABNANL2A"]
    assert _text(batch, "p:ChrgBr") == ["SLEV"]


def test_each_transaction():
    root = _root(_build())
    transactions = root.xpath("//p:CdtTrfTxInf", namespaces=NS)
    found = [(_text(tx, "p:CdtrAcct/p:Id/p:IBAN")[0], _text(tx, "p:Amt/p:InstdAmt")[0],
              _text(tx, "p:PmtId/p:EndToEndId")[0], _text(tx, "p:RmtInf/p:Ustrd")[0])
             for tx in transactions]
    assert found == EXPECTED
    assert {tx.find("p:Amt/p:InstdAmt", NS).get("Ccy") for tx in transactions} == {"EUR"}
    assert _text(root, "//p:CdtTrfTxInf/p:Cdtr/p:Nm") == [
        "Bakkerij Smit B.V.", "Garage De Vries", "Hoveniers Jansen"]
    # the payee's bank where schwifty knows it; IBAN-only otherwise (allowed within SEPA)
    assert [_text(tx, "p:CdtrAgt/p:FinInstnId/p:BIC") for tx in transactions] == [
        ["RABONL2U"], ["COBADEFFXXX"], []]


def test_output_matches_bundled_xsd(schema):
    schema.validate(_build())
    one = _build(payouts=PAYOUTS[1:2], debtor_bic=None, debtor_iban="BE68539007547034")
    schema.validate(one)
    assert _text(_root(one), "//p:DbtrAgt/p:FinInstnId/*") == []  # no BIC known: left out


@pytest.mark.parametrize(
    "breakage",
    [
        "//p:GrpHdr/p:NbOfTxs",  # a required element gone
        "//p:CdtTrfTxInf[1]/p:PmtId",
    ],
)
def test_the_xsd_check_catches_a_broken_file(schema, breakage):
    root = _root(_build())
    for element in root.xpath(breakage, namespaces=NS):
        element.getparent().remove(element)
    broken = etree.tostring(root)
    assert not schema.is_valid(broken)


def test_the_xsd_check_catches_a_bad_amount(schema):
    root = _root(_build())
    root.xpath("//p:InstdAmt", namespaces=NS)[0].text = "-1.00"
    assert not schema.is_valid(etree.tostring(root))


def test_a_file_failing_the_schema_is_not_handed_out(monkeypatch):
    good = _build()
    root = _root(good)
    for element in root.xpath("//p:GrpHdr/p:NbOfTxs", namespaces=NS):
        element.getparent().remove(element)
    monkeypatch.setattr(sepaxml.SepaTransfer, "export",
                        lambda self, validate=True: etree.tostring(root))
    with pytest.raises(SepaSchemaError, match="NbOfTxs|CtrlSum"):
        _build()


def test_same_input_same_file_but_the_time():
    def without_time(document):
        return re.sub(rb"<CreDtTm>[^<]*</CreDtTm>", b"", document)

    first, second = _build(), _build()
    assert b"<CreDtTm>" in first
    assert without_time(first) == without_time(second)


def test_accented_names_become_the_sepa_character_set(schema):
    payouts = [Payout("Bäckerei Müller & Söhne", "DE89370400440532013000", 1000, "RM-1-1",
                      "Afrekening geïncasseerde vorderingen – maart"),
               Payout("Crème Brûlée Café S.à r.l.", "LU280019400644750000", 2000, "RM-1-2",
                      "Remittance RM-1-2")]
    document = _build(payouts=payouts, debtor_name="Incassobureau Zuidoost Één")
    schema.validate(document)
    document.decode("ascii")  # nothing outside ASCII is left
    root = _root(document)
    assert _text(root, "//p:CdtTrfTxInf/p:Cdtr/p:Nm") == [
        "Backerei Muller & Sohne", "Creme Brulee Cafe S.a r.l."]
    assert _text(root, "//p:CdtTrfTxInf/p:RmtInf/p:Ustrd")[0] == (
        "Afrekening geincasseerde vorderingen - maart")
    assert _text(root, "//p:Dbtr/p:Nm") == ["Incassobureau Zuidoost Een"]


def test_a_long_name_is_cut_to_seventy_characters():
    long_name = "Stichting " + "Zeer Lange Naam " * 6
    root = _root(_build(payouts=[replace(PAYOUTS[0], name=long_name)]))
    assert _text(root, "//p:Cdtr/p:Nm") == [long_name[:70]]


SECOND = PAYOUTS[1]


@pytest.mark.parametrize(
    ("overrides", "reason", "payout", "detail"),
    [
        ({"payouts": []}, "no_payouts", None, None),
        ({"payouts": [replace(SECOND, amount_cents=0)]}, "amount", 0, None),
        ({"payouts": [PAYOUTS[0], replace(SECOND, amount_cents=-500)]}, "amount", 1, None),
        ({"payouts": [replace(SECOND, amount_cents=100_000_000_000)]}, "amount", 0, None),
        ({"payouts": [replace(SECOND, amount_cents=12.5)]}, "amount", 0, None),
        ({"payouts": [replace(SECOND, reference="R" * 36)]}, "reference", 0, None),
        ({"payouts": [replace(SECOND, reference="")]}, "reference", 0, None),
        ({"payouts": [replace(SECOND, reference="RM 12 2")]}, "reference", 0, None),
        ({"payouts": [replace(SECOND, reference="/RM-12-2")]}, "reference", 0, None),
        ({"payouts": [replace(SECOND, reference="RM//12")]}, "reference", 0, None),
        ({"payouts": [PAYOUTS[0], replace(SECOND, reference="RM-12-1")]},
         "duplicate_reference", 1, None),
        ({"payouts": [replace(SECOND, description="")]}, "description", 0, None),
        ({"payouts": [replace(SECOND, description="x" * 141)]}, "description", 0, None),
        ({"payouts": [replace(SECOND, name=" ")]}, "payee_name", 0, None),
        ({"payouts": [PAYOUTS[0], replace(SECOND, iban="NL92ABNA0417164300")]},
         "payee_iban", 1, "checksum"),
        ({"payouts": [replace(SECOND, iban="SA0380000000608010167519")]},
         "payee_iban", 0, "not_sepa"),
        ({"payouts": [replace(SECOND, iban="")]}, "payee_iban", 0, "empty"),
        ({"debtor_iban": "NL91ABNA041716430"}, "agency_iban", None, "length"),
        ({"debtor_iban": None}, "agency_iban", None, "empty"),
        ({"debtor_bic": "ABNA"}, "agency_bic", None, None),
        ({"debtor_name": ""}, "agency_name", None, None),
        ({"message_id": "M" * 36}, "message_id", None, None),
        ({"message_id": ""}, "message_id", None, None),
    ],
)
def test_refusals(overrides, reason, payout, detail):
    with pytest.raises(SepaError) as refused:
        _build(**overrides)
    error = refused.value
    assert error.reason == reason
    assert error.detail == detail
    if payout is None:
        assert error.payout is None
    else:
        expected = overrides["payouts"][payout]
        assert error.payout is expected
        assert f"{expected.reference!r} to {expected.name!r}" in str(error)


def test_a_bad_payee_iban_is_named_in_the_message():
    bad = replace(SECOND, name="Garage De Vries", iban="NL92ABNA0417164300")
    with pytest.raises(SepaError, match="Garage De Vries.*check digits"):
        _build(payouts=[PAYOUTS[0], bad])


def test_a_bic_with_spaces_and_lower_case_is_accepted():
    root = _root(_build(debtor_bic="abna nl2a"))
    assert _text(root, "//p:DbtrAgt/p:FinInstnId/p:BIC") == ["ABNANL2A"]


def test_no_agency_bic_falls_back_to_the_registry():
    root = _root(_build(debtor_bic=None))
    assert _text(root, "//p:DbtrAgt/p:FinInstnId/p:BIC") == ["ABNANL2A"]


def test_execution_date_must_be_a_date():
    with pytest.raises(TypeError):
        _build(execution_date=datetime(2026, 4, 2, 9, 0))  # noqa: DTZ001 - the wrong type on purpose


def test_module_validates_with_the_same_schema_file():
    assert sepa.SCHEMA_FILE == XSD
