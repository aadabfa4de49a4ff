"""Statutory interest, with every expected figure worked out by hand in the comments.

Interest per period = base x rate x days / 365, rounded half up to the cent; amounts in cents.
"""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from portal.domain.interest import (
    DayCount,
    InterestPeriod,
    RateTable,
    anniversary,
    interest_breakdown,
    statutory_interest,
)

D = Decimal


def _periods(principal, start, end, **kwargs):
    return [
        (p.start, p.end, p.days, p.rate_percent, p.base_cents, p.interest_cents)
        for p in interest_breakdown(principal, start, end, **kwargs)
    ]


@pytest.mark.parametrize(
    ("principal", "start", "end", "commercial", "expected"),
    [
        # 1,000.00 at 7 % for all 366 days of 2024: 100000 x 0.07 x 366/365
        # = 2,562,000/365 = 7,019.18 -> 70.19
        (1_000_00, date(2024, 1, 1), date(2024, 12, 31), False, 70_19),
        # one day (start == end) at 7 %: 100000 x 0.07 / 365 = 19.18 -> 0.19
        (1_000_00, date(2024, 3, 15), date(2024, 3, 15), False, 19),
        # 10,000.00 commercial, June at 12.50 % and July at 12.25 %:
        # 1000000 x 0.125 x 30/365 = 10,273.97 -> 102.74
        # 1000000 x 0.1225 x 31/365 = 10,404.11 -> 104.04; together 206.78
        (10_000_00, date(2024, 6, 1), date(2024, 7, 31), True, 206_78),
        # 200.00 over the same dates: 20000 x 0.125 x 30/365 = 205.48 -> 2.05 and
        # 20000 x 0.1225 x 31/365 = 208.08 -> 2.08; 4.13, where rounding the
        # unrounded total (413.56) would have given 4.14
        (200_00, date(2024, 6, 1), date(2024, 7, 31), True, 4_13),
        # 2015 at 2 %, 365 days: 100000 x 0.02 = 2,000 -> 20.00
        (1_000_00, date(2015, 1, 1), date(2015, 12, 31), False, 20_00),
        (1_000_00, date(2024, 3, 15), date(2024, 3, 14), False, 0),  # end before start
        (0, date(2024, 1, 1), date(2024, 12, 31), False, 0),  # nothing owed
    ],
)
def test_statutory_interest(principal, start, end, commercial, expected):
    assert statutory_interest(principal, start, end, commercial=commercial) == expected


def test_two_rate_periods_are_rounded_separately():
    assert _periods(200_00, date(2024, 6, 1), date(2024, 7, 31), commercial=True) == [
        (date(2024, 6, 1), date(2024, 6, 30), 30, D("12.50"), 200_00, 2_05),
        (date(2024, 7, 1), date(2024, 7, 31), 31, D("12.25"), 200_00, 2_08),
    ]


def test_compounding_at_the_anniversary():
    # Year 1 (2023-07-01 .. 2024-06-30) on 1,000.00:
    #   2023-07-01 .. 2023-12-31, 184 days at 6 %: 100000 x 0.06 x 184/365 = 3,024.66 -> 30.25
    #   2024-01-01 .. 2024-06-30, 182 days at 7 %: 100000 x 0.07 x 182/365 = 3,490.41 -> 34.90
    # At the anniversary 30.25 + 34.90 = 65.15 is added: the base becomes 1,065.15.
    # Year 2: 2024-07-01 .. 2024-07-31, 31 days at 7 %:
    #   106515 x 0.07 x 31/365 = 633.25 -> 6.33 (on 1,000.00 it would be 5.95)
    # Total 65.15 + 6.33 = 71.48
    assert _periods(1_000_00, date(2023, 7, 1), date(2024, 7, 31), commercial=False) == [
        (date(2023, 7, 1), date(2023, 12, 31), 184, D("6.00"), 1_000_00, 30_25),
        (date(2024, 1, 1), date(2024, 6, 30), 182, D("7.00"), 1_000_00, 34_90),
        (date(2024, 7, 1), date(2024, 7, 31), 31, D("7.00"), 1_065_15, 6_33),
    ]
    assert statutory_interest(1_000_00, date(2023, 7, 1), date(2024, 7, 31),
                              commercial=False) == 71_48


def test_two_full_years_compound():
    # 2024: 70.19 as above. 2025 on 1,070.19 at 6 % for 365 days:
    # 107019 x 0.06 = 6,421.14 -> 64.21. Total 70.19 + 64.21 = 134.40.
    # The 2025-07-01 row repeats 6 %, so 2025 stays one period, marked unverified.
    periods = interest_breakdown(1_000_00, date(2024, 1, 1), date(2025, 12, 31),
                                 commercial=False)
    assert periods == [
        InterestPeriod(date(2024, 1, 1), date(2024, 12, 31), 366, D("7.00"), 1_000_00, 70_19,
                       True),
        InterestPeriod(date(2025, 1, 1), date(2025, 12, 31), 365, D("6.00"), 1_070_19, 64_21,
                       False),
    ]
    assert sum(p.interest_cents for p in periods) == 134_40


def test_leap_day_start_capitalises_on_the_first_of_march():
    # From 2024-02-29 the first year ends on 2025-02-28; year 2 starts 2025-03-01.
    #   2024-02-29 .. 2024-12-31, 307 days at 7 %: 100000 x 0.07 x 307/365 = 5,887.67 -> 58.88
    #   2025-01-01 .. 2025-02-28, 59 days at 6 %: 100000 x 0.06 x 59/365 = 969.86 -> 9.70
    #   base from 2025-03-01: 1,000.00 + 58.88 + 9.70 = 1,068.58
    #   2025-03-01, 1 day at 6 %: 106858 x 0.06 / 365 = 17.57 -> 0.18
    assert _periods(1_000_00, date(2024, 2, 29), date(2025, 3, 1), commercial=False) == [
        (date(2024, 2, 29), date(2024, 12, 31), 307, D("7.00"), 1_000_00, 58_88),
        (date(2025, 1, 1), date(2025, 2, 28), 59, D("6.00"), 1_000_00, 9_70),
        (date(2025, 3, 1), date(2025, 3, 1), 1, D("6.00"), 1_068_58, 18),
    ]


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 3, 1)),
        (date(2024, 2, 29), 3, date(2027, 3, 1)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),  # counted from the start, not chained
        (date(2024, 2, 28), 1, date(2025, 2, 28)),
        (date(2023, 7, 1), 1, date(2024, 7, 1)),
    ],
)
def test_anniversary(start, years, expected):
    assert anniversary(start, years) == expected


@pytest.mark.parametrize(
    ("principal", "start", "end", "commercial", "expected"),
    [
        # Dec 2023 at 6 %: 100000 x 0.06 x 31/365 = 509.59 -> 5.10
        # Jan 2024 at 7 %: 100000 x 0.07 x 31/366 = 592.90 -> 5.93 (actual/365: 5.95)
        (1_000_00, date(2023, 12, 1), date(2024, 1, 31), False, 11_03),
        # one run at 8 % across a year end: 100000 x 0.08 x (31/366 + 31/365)
        # = 8000 x 0.169631 = 1,357.05 -> 13.57 (actual/365: 8000 x 62/365 = 13.59)
        (1_000_00, date(2016, 12, 1), date(2017, 1, 31), True, 13_57),
    ],
)
def test_actual_actual_day_count(principal, start, end, commercial, expected):
    result = statutory_interest(principal, start, end, commercial=commercial,
                                day_count="actual/actual")
    assert result == expected
    assert result == statutory_interest(principal, start, end, commercial=commercial,
                                        day_count=DayCount.ACTUAL_ACTUAL)


def test_unknown_day_count_is_refused():
    with pytest.raises(ValueError):
        statutory_interest(1_000_00, date(2024, 1, 1), date(2024, 1, 2), commercial=False,
                           day_count="30/360")


@pytest.mark.parametrize("commercial", [False, True])
def test_a_day_before_the_first_rate_raises(commercial):
    with pytest.raises(ValueError, match="no .* interest rate known for 2014-12-31"):
        statutory_interest(1_000_00, date(2014, 12, 31), date(2015, 1, 31),
                           commercial=commercial)


def test_negative_principal_is_refused():
    with pytest.raises(ValueError):
        statutory_interest(-1, date(2024, 1, 1), date(2024, 1, 2), commercial=False)


def test_custom_table_with_an_admin_row():
    # The admin adds consumer 3.00 % from 2027-01-01 (a database record).
    admin = SimpleNamespace(kind="consumer", valid_from=date(2027, 1, 1),
                            rate_percent=D("3.00"), source="admin", verified=True)
    rates = RateTable.from_rows([*RateTable.shipped().rows, admin])
    # 2026-12-31 at 4 %: 100000 x 0.04 / 365 = 10.96 -> 0.11
    # 2027-01-01 .. 2027-01-02 at 3 %: 100000 x 0.03 x 2/365 = 16.44 -> 0.16
    assert _periods(1_000_00, date(2026, 12, 31), date(2027, 1, 2), commercial=False,
                    rates=rates) == [
        (date(2026, 12, 31), date(2026, 12, 31), 1, D("4.00"), 1_000_00, 11),
        (date(2027, 1, 1), date(2027, 1, 2), 2, D("3.00"), 1_000_00, 16),
    ]
    # Without the admin row the 4 % runs on: 100000 x 0.04 x 3/365 = 32.88 -> 0.33
    assert statutory_interest(1_000_00, date(2026, 12, 31), date(2027, 1, 2),
                              commercial=False) == 33


def test_small_custom_table_only():
    rates = RateTable.from_rows([
        SimpleNamespace(kind="commercial", valid_from=date(2000, 1, 1), rate_percent=D("10"),
                        source="test", verified=False),
    ])
    # 36,500.00 at 10 % for 10 days: 3650000 x 0.10 x 10/365 = 10,000 -> 100.00
    periods = interest_breakdown(36_500_00, date(2000, 3, 1), date(2000, 3, 10),
                                 commercial=True, rates=rates)
    assert [(p.interest_cents, p.verified) for p in periods] == [(100_00, False)]
    with pytest.raises(ValueError, match="there are none"):
        statutory_interest(1_00, date(2000, 3, 1), date(2000, 3, 10), commercial=False,
                           rates=rates)


def test_exact_half_cent_rounds_up():
    # 365 days at 10 % on 0.05: 5 x 0.10 = 0.5 cent -> 1 cent
    rates = RateTable.from_rows([
        SimpleNamespace(kind="consumer", valid_from=date(2001, 1, 1), rate_percent=D("10"),
                        source="test", verified=True),
    ])
    assert statutory_interest(5, date(2001, 1, 1), date(2001, 12, 31), commercial=False,
                              rates=rates) == 1
