from decimal import Decimal

import pytest

from portal.domain.money import cents_to_decimal, round_half_up, to_cents


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (Decimal("4000.2"), 4000),
        (Decimal("4000.5"), 4001),  # an exact half goes up
        (Decimal("4000.4999"), 4000),
        (Decimal("0.5"), 1),
        (Decimal("-0.5"), -1),  # half up is away from zero, so credits mirror charges
        (Decimal("-2.4"), -2),
        (Decimal("7019.178082191780821917808219"), 7019),
        (Decimal(0), 0),
    ],
)
def test_round_half_up(cents, expected):
    assert round_half_up(cents) == expected


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity")])
def test_round_half_up_refuses_non_finite(bad):
    with pytest.raises(ValueError):
        round_half_up(bad)


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (123456, Decimal("1234.56")),
        (100, Decimal("1.00")),
        (5, Decimal("0.05")),
        (0, Decimal("0.00")),
        (-150, Decimal("-1.50")),
    ],
)
def test_cents_to_decimal(cents, expected):
    result = cents_to_decimal(cents)
    assert result == expected
    assert str(result) == str(expected)  # two decimals, ready to print


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", 123456),
        ("1234.5", 123450),
        ("1234", 123400),
        (" 12.30 ", 1230),
        ("0.01", 1),
        ("-5.25", -525),
        ("1.230", 123),  # a trailing zero is not a third decimal of value
        (Decimal("1234.56"), 123456),
        (Decimal("300"), 30000),
        (Decimal("1.5E+3"), 150000),
    ],
)
def test_to_cents(value, expected):
    assert to_cents(value) == expected


@pytest.mark.parametrize(
    "value",
    ["1.234", "1.005", Decimal("0.001"), "1.234,56", "1,50", "1 000", "1_000", "€5", "", ".5",
     "5.", "abc", "NaN", Decimal("NaN"), Decimal("-Infinity")],
)
def test_to_cents_refuses(value):
    with pytest.raises(ValueError):
        to_cents(value)


@pytest.mark.parametrize("value", [1.5, 150, True, None])
def test_to_cents_refuses_other_types(value):
    with pytest.raises(TypeError):
        to_cents(value)
