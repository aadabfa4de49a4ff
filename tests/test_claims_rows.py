"""Checking one row of a claims file: normalised values or problems per field."""

from datetime import date

import pytest

from portal.services.claims_rows import check_row, guess_mapping, parse_date

GOOD = {
    "debtor_name": "Jan  Jansen", "debtor_kind": "particulier", "email": "Jan@Example.com",
    "phone": "+31 6 12345678", "address_line": "Dorpsstraat 1", "postal_code": "1234 AB",
    "city": "Utrecht", "country": "nl", "language": "", "invoice_number": "F-1",
    "invoice_date": "01-02-2026", "due_date": "2026-03-01", "amount": "1.234,56",
    "currency": "", "description": "",
}


def test_a_good_row_is_normalised():
    row, problems = check_row(GOOD)
    assert problems == []
    assert row.debtor_name == "Jan Jansen"
    assert row.debtor_kind == "person"
    assert row.email == "Jan@example.com"
    assert row.phone == "+31612345678"
    assert row.country == "NL" and row.language == "nl" and row.currency == "EUR"
    assert row.invoice_date == date(2026, 2, 1) and row.due_date == date(2026, 3, 1)
    assert row.amount_cents == 123456


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("amount", "1234.56", 123456),
    ("amount", "€ 12", 1200),
    ("amount", "1,234.56", 123456),
    ("debtor_kind", "Zakelijk", "business"),
    ("debtor_kind", "company", "business"),
    ("debtor_kind", "consumer", "person"),
    ("language", "EN", "en"),
    ("language", "Engels", "en"),
    ("country", "be", "BE"),
    ("invoice_date", "01/02/2026", date(2026, 2, 1)),
    ("invoice_date", "2026-02-01 00:00:00", date(2026, 2, 1)),
])
def test_accepted_spellings(field, value, expected):
    row, problems = check_row({**GOOD, field: value})
    assert problems == []
    attribute = {"amount": "amount_cents"}.get(field, field)
    assert getattr(row, attribute) == expected


def test_the_phone_region_follows_the_country():
    row, _ = check_row({**GOOD, "country": "BE", "phone": "0470 12 34 56"})
    assert row.phone == "+32470123456"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("debtor_name", "", "missing"),
    ("invoice_number", " ", "missing"),
    ("amount", "", "missing"),
    ("amount", "twelve", "bad_amount"),
    ("amount", "0", "not_positive"),
    ("amount", "-5", "bad_amount"),
    ("email", "jan@", "bad_email"),
    ("phone", "12", "bad_phone"),
    ("phone", "06 1234", "bad_phone"),
    ("invoice_date", "31-02-2026", "bad_date"),
    ("due_date", "March 1st", "bad_date"),
    ("due_date", "2026-01-01", "due_before_invoice"),
    ("country", "Nederlandia", "bad_country"),
    ("country", "XX", "bad_country"),
    ("language", "de", "bad_language"),
    ("debtor_kind", "alien", "bad_kind"),
    ("currency", "USD", "bad_currency"),
    ("debtor_name", "x" * 201, "too_long"),
])
def test_problems_name_the_field(field, value, code):
    row, problems = check_row({**GOOD, field: value})
    assert row is None
    assert problems == [(field, code)]


def test_every_problem_of_a_row_is_listed():
    _row, problems = check_row({**GOOD, "email": "x", "amount": "abc", "invoice_number": ""})
    assert sorted(problems) == [("amount", "bad_amount"), ("email", "bad_email"),
                                ("invoice_number", "missing")]


@pytest.mark.parametrize(("headers", "expected"), [
    (["Naam", "E-mailadres", "Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag"],
     {"debtor_name": 0, "email": 1, "invoice_number": 2, "invoice_date": 3, "due_date": 4,
      "amount": 5}),
    (["Customer name", "Invoice No.", "Due date", "Amount", "Country", "Phone number"],
     {"debtor_name": 0, "invoice_number": 1, "due_date": 2, "amount": 3, "country": 4,
      "phone": 5}),
    (["something", "else"], {}),
])
def test_guess_mapping(headers, expected):
    assert guess_mapping(headers) == expected


def test_parse_date_refuses_nonsense():
    with pytest.raises(ValueError):
        parse_date("2026/13/01")


def test_a_national_number_is_read_in_the_rows_country():
    row, _ = check_row({**GOOD, "phone": "06 12345678"})
    assert row.phone == "+31612345678"
    _row, problems = check_row({**GOOD, "phone": "06 12345678", "country": "BE"})
    assert problems == [("phone", "bad_phone")]
