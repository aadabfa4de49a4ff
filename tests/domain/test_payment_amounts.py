"""Amounts as debtors type them, and which amounts may be paid online."""

import pytest

from portal.domain.payment_amounts import parse_euros, refusal


@pytest.mark.parametrize(("typed", "cents"), [
    ("12", 12_00),
    ("12,5", 12_50),
    ("12,50", 12_50),
    ("12.50", 12_50),
    (" € 12,50 ", 12_50),
    ("12,50 EUR", 12_50),
    ("0,01", 1),
    ("1.234,56", 1234_56),
    ("1,234.56", 1234_56),
    ("1 234,56", 1234_56),
    ("1.000", 1000_00),  # a separator before three digits groups thousands
    ("12,345", 12345_00),
    ("1.000.000", 1_000_000_00),
])
def test_amounts_as_people_type_them(typed, cents):
    assert parse_euros(typed) == cents


@pytest.mark.parametrize("typed", [
    "", "   ", "twelve", "-5", "+5", "1.2345", "12,345,6", "1.234.56,7", "12.5.0",
    "1,234.567", "1.23,45", "12,-", "1e3",
])
def test_what_is_not_an_amount_is_refused(typed):
    with pytest.raises(ValueError):
        parse_euros(typed)


@pytest.mark.parametrize(("amount", "owed", "instalment_left", "reason"), [
    (50_00, 145_00, None, None),
    (10_00, 145_00, None, None),  # exactly the minimum
    (9_99, 145_00, None, "below_minimum"),
    (8_00, 8_00, None, None),  # the last bit may be smaller than the minimum
    (5_00, 145_00, 5_00, None),  # so may what is left of an instalment
    (4_00, 145_00, 5_00, "below_minimum"),
    (145_01, 145_00, None, "above_balance"),
    (0, 145_00, None, "not_positive"),
    (-1, 145_00, None, "not_positive"),
    (10_00, 0, None, "nothing_owed"),
    (10_00, -5_00, None, "nothing_owed"),  # a credit: nothing to pay
])
def test_which_amounts_may_be_paid(amount, owed, instalment_left, reason):
    assert refusal(amount, owed_cents=owed, minimum_cents=10_00,
                   instalment_left_cents=instalment_left) == reason
