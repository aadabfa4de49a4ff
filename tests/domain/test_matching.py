import pytest

from portal.domain.matching import Candidate, Match, match, names_resemble, references_in
from portal.domain.references import is_valid_rf_reference, rf_reference

RF_123 = rf_reference("K-2026-000123")
RF_124 = rf_reference("K-2026-000124")

JANSEN = Candidate(1, "K-2026-000123", RF_123, "J. Jansen", 12550)
SMIT = Candidate(2, "K-2026-000124", RF_124, "Bakkerij Smit B.V.", 31000)
DE_VRIES = Candidate(3, "K-2026-000125", None, "Pieter de Vries", 25000)
DE_VRIES_2 = Candidate(4, "K-2026-000126", None, "P. de Vries", 25000)
BOOK = [JANSEN, SMIT, DE_VRIES]


def test_rf_reference_is_iso_11649():
    assert RF_123.startswith("RF") and RF_123.endswith("K2026000123")
    assert is_valid_rf_reference(RF_123)
    assert is_valid_rf_reference("RF18 5390 0754 7034")  # the standard's own example
    assert not is_valid_rf_reference("RF19 5390 0754 7034")
    with pytest.raises(ValueError):
        rf_reference("K-2026-" + "9" * 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K-2026-000123", ["K-2026-000123"]),
        ("betaling kenmerk k2026 000123 bedankt", ["K-2026-000123"]),
        ("kenmerk K 2026 000123", ["K-2026-000123"]),
        ("Dossier K 2026-123 deel 1", ["K-2026-000123"]),
        ("K2026000123", ["K-2026-000123"]),
        ("K.2026.000123 en K-2026-000124", ["K-2026-000123", "K-2026-000124"]),
        ("BANK 2026 000123", []),  # the K of a word is no reference
        ("factuur 2026000123", []),
        (RF_124, [RF_124]),
        (f"ref {RF_124[:4]} {RF_124[4:8]} {RF_124[8:12]} {RF_124[12:]} dank", [RF_124]),
        (f"{RF_124.lower()} bedankt", [RF_124]),
        ("RF19 5390 0754 7034", []),  # wrong check digits
        ("RF18539007547034", ["RF18539007547034"]),
        ("", []),
        (None, []),
    ],
)
def test_references_in(text, expected):
    assert references_in(text) == expected


@pytest.mark.parametrize(
    ("amount", "name", "text", "expected"),
    [
        # exact case reference, whoever pays and whatever the amount
        (12550, "J. JANSEN", "K-2026-000123", Match(1, "reference", case_ids=(1,))),
        (4000, "iemand anders", "betaling kenmerk k2026 000123 bedankt",
         Match(1, "reference", case_ids=(1,))),
        # RF reference
        (31000, "BAKKERIJ SMIT", RF_124, Match(2, "rf", case_ids=(2,))),
        (100, "X", f"betaling {RF_124[:4]} {RF_124[4:8]} {RF_124[8:12]} {RF_124[12:]}",
         Match(2, "rf", case_ids=(2,))),
        # RF with wrong check digits is no RF; amount and name decide nothing here either
        (100, "X", "RF" + "00" + "K2026000124", Match(None, None)),
        # amount + name
        (25000, "P DE VRIES", "rekening maart", Match(3, "amount_name", case_ids=(3,))),
        (25000, "Vries, P. de", None, Match(3, "amount_name", case_ids=(3,))),
        # amount right, name wrong; name right, amount wrong
        (25000, "K. Bakker", "rekening maart", Match(None, None)),
        (24999, "P DE VRIES", "rekening maart", Match(None, None)),
        # two references to two cases: an admin decides
        (100, "X", "K-2026-000123 K-2026-000124", Match(None, "reference", True, (1, 2))),
        # a reference to a case not among the open ones falls through to amount + name
        (25000, "P de Vries", "K-2025-000001", Match(3, "amount_name", case_ids=(3,))),
        # money going out is never matched
        (-12550, "J. JANSEN", "K-2026-000123", Match(None, None)),
        (0, "J. JANSEN", "K-2026-000123", Match(None, None)),
        # nothing at all
        (1234, "Onbekend", "gift", Match(None, None)),
    ],
)
def test_match(amount, name, text, expected):
    assert match(amount, name, text, BOOK) == expected


def test_amount_and_name_on_two_cases_is_ambiguous():
    result = match(25000, "DE VRIES P", "maart", [*BOOK, DE_VRIES_2])
    assert result == Match(None, "amount_name", ambiguous=True, case_ids=(3, 4))


def test_reference_wins_over_amount_and_name():
    assert match(25000, "P de Vries", "K-2026-000123", BOOK).case_id == 1


def test_two_cases_of_one_debtor_by_reference_is_not_ambiguous():
    assert match(100, "X", "K-2026-000124 K-2026-000124", BOOK) == Match(2, "reference",
                                                                         case_ids=(2,))


@pytest.mark.parametrize(
    ("debtor", "payer", "expected"),
    [
        ("J. Jansen", "J JANSEN", True),
        ("Pieter de Vries", "DE VRIES P", True),
        ("José Müller", "JOSE MULLER", True),
        ("A. Jansen-de Boer", "Mw. A. Boer", True),
        ("Jansen", "Janssen", False),
        ("J. de Vries", "J. de Boer", False),  # initials and particles tell nothing
        ("J. Jansen", None, False),
        ("", "", False),
    ],
)
def test_names_resemble(debtor, payer, expected):
    assert names_resemble(debtor, payer) is expected
