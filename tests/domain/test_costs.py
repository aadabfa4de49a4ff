from decimal import Decimal

import pytest

from portal.domain.costs import BIK_BANDS, VAT_RATE, statutory_collection_costs


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (100_00, 40_00),  # 15 % = 15.00, raised to the EUR 40 minimum
        (266_67, 40_00),  # 15 % = 40.0005 -> 40.00
        (266_68, 40_00),  # 15 % = 40.002 -> 40.00
        (266_70, 40_01),  # 15 % = 40.005 -> 40.01 (half up)
        (1_000_00, 150_00),  # 15 % of 1,000
        (2_500_00, 375_00),  # top of the first band: 15 % of 2,500
        (3_000_00, 425_00),  # 375 + 10 % of 500
        (5_000_00, 625_00),  # 375 + 250
        (5_000_01, 625_00),  # 625 + 5 % of 0.01 = 625.0005 -> 625.00
        (10_000_00, 875_00),  # 375 + 250 + 250
        (10_010_00, 875_10),  # 875 + 1 % of 10
        (200_000_00, 2_775_00),  # 875 + 1 % of 190,000
        (200_000_01, 2_775_00),  # 2,775 + 0.5 % of 0.01 = 2,775.00005 -> 2,775.00
        (200_001_00, 2_775_01),  # 2,775 + 0.5 % of 1.00 = 2,775.005 -> 2,775.01
        (300_000_00, 3_275_00),  # 2,775 + 0.5 % of 100,000
        (999_999_99, 6_775_00),  # 2,775 + 0.5 % of 799,999.99 = 6,774.99995 -> 6,775.00
        (1_000_000_00, 6_775_00),  # 2,775 + 0.5 % of 800,000: exactly the maximum
        (2_000_000_00, 6_775_00),  # scale says 2,775 + 9,000 = 11,775; capped at 6,775
        (1, 40_00),  # one cent still owes the minimum
        (0, 0),  # no principal, no claim, no costs
    ],
)
def test_bik_scale(principal, expected):
    assert statutory_collection_costs(principal) == expected


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (1_000_00, 181_50),  # 150.00 + 21 % (31.50)
        (100_00, 48_40),  # the minimum first: 40.00 + 8.40
        (266_70, 48_41),  # 40.01 + 21 % of 40.01 = 8.4021 -> 8.40
        (3_000_00, 514_25),  # 425.00 + 89.25
        (2_000_000_00, 8_197_75),  # the maximum first: 6,775.00 + 1,422.75
        (0, 0),
    ],
)
def test_bik_scale_with_vat(principal, expected):
    assert statutory_collection_costs(principal, vat=True) == expected


def test_vat_rate():
    assert Decimal("0.21") == VAT_RATE


def test_bands_rise_and_end_open():
    tops = [band.upto_cents for band in BIK_BANDS]
    assert tops[-1] is None
    assert tops[:-1] == sorted(tops[:-1])


def test_negative_principal_is_refused():
    with pytest.raises(ValueError):
        statutory_collection_costs(-1)
