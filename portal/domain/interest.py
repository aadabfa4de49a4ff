"""Statutory interest on a constant principal (art. 6:119, 6:119a and 6:120 BW).

Interest runs for every day from `start` up to and including `end`, at the rate in force that
day, and compounds yearly: at each anniversary of `start` the interest of the year just ended
is added to the amount interest runs on (art. 6:119 lid 2 / 6:119a lid 3 BW). The law does not
fix a day count; actual/365 with rounding per period is common practice, so the basis is a
parameter the app can expose as a setting.

The calculation is kept as a list of periods so a page or letter can show how a figure arose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from portal.domain.money import round_half_up
from portal.domain.rates import RateKind, RateRow, RateRun, RateTable

__all__ = [
    "DayCount",
    "InterestPeriod",
    "RateKind",
    "RateRow",
    "RateTable",
    "anniversary",
    "interest_breakdown",
    "statutory_interest",
]


class DayCount(StrEnum):
    ACTUAL_365 = "actual/365"  # every day is 1/365 of a year, also in leap years
    ACTUAL_ACTUAL = "actual/actual"  # a day is 1/366 of a year in leap years


@dataclass(frozen=True)
class InterestPeriod:
    """Days at one rate on one base, with the interest for them rounded to the cent."""

    start: date
    end: date  # inclusive
    days: int
    rate_percent: Decimal  # per year
    base_cents: int  # principal plus the interest added at earlier anniversaries
    interest_cents: int
    verified: bool  # False when a rate behind this period was not checked by a person


def statutory_interest(
    principal_cents: int,
    start: date,
    end: date,
    *,
    commercial: bool,
    rates: RateTable | None = None,
    day_count: DayCount | str = DayCount.ACTUAL_365,
) -> int:
    """Statutory interest in cents on `principal_cents` from `start` to `end` inclusive.

    The sum of `interest_breakdown` with the same arguments; see there for the rules.
    """
    periods = interest_breakdown(
        principal_cents, start, end, commercial=commercial, rates=rates, day_count=day_count
    )
    return sum(period.interest_cents for period in periods)


def interest_breakdown(
    principal_cents: int,
    start: date,
    end: date,
    *,
    commercial: bool,
    rates: RateTable | None = None,
    day_count: DayCount | str = DayCount.ACTUAL_365,
) -> list[InterestPeriod]:
    """The periods behind the statutory interest, in date order.

    `commercial` picks the art. 6:119a rate over the art. 6:119 one. A period ends at a rate
    change and at an anniversary of `start`, and each period is rounded half up on its own.
    `start == end` is one day; `end < start` or a zero principal gives no periods. A negative
    principal or a day before the first known rate raises ValueError.
    """
    if principal_cents < 0:
        raise ValueError("principal cannot be negative")
    if end < start or principal_cents == 0:
        return []
    table = rates if rates is not None else RateTable.shipped()
    kind = RateKind.COMMERCIAL if commercial else RateKind.CONSUMER
    basis = DayCount(day_count)
    periods: list[InterestPeriod] = []
    base = principal_cents
    for year_start, year_end in _interest_years(start, end):
        year = [_period(run, base, basis) for run in table.runs(kind, year_start, year_end)]
        periods.extend(year)
        base += sum(period.interest_cents for period in year)
    return periods


def anniversary(start: date, years: int) -> date:
    """The day `years` years after `start`, on which that year's interest is capitalised.

    A 29 February start has its anniversary on 1 March in years without 29 February: the
    year then ends with the last day of February, as a period in years ends under
    art. 3(2)(c) of Regulation 1182/71. Choosing 28 February would add the interest to the
    base a day before a full year has run, which would cost the debtor more.
    """
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def _interest_years(start: date, end: date) -> list[tuple[date, date]]:
    """`start`..`end` cut at each anniversary: the stretches that share one base."""
    years: list[tuple[date, date]] = []
    year_start, count = start, 0
    while year_start <= end:
        count += 1
        next_start = anniversary(start, count)
        years.append((year_start, min(next_start - timedelta(days=1), end)))
        year_start = next_start
    return years


def _period(run: RateRun, base_cents: int, basis: DayCount) -> InterestPeriod:
    fraction = _year_fraction(run.start, run.end, basis)
    # One division at the end keeps the product exact, so a true half cent rounds up.
    exact = Decimal(base_cents) * run.rate_percent * fraction.numerator
    interest = round_half_up(exact / (fraction.denominator * 100))
    days = (run.end - run.start).days + 1
    return InterestPeriod(
        run.start, run.end, days, run.rate_percent, base_cents, interest, run.verified
    )


def _year_fraction(first: date, last: date, basis: DayCount) -> Fraction:
    """The part of a year that the days `first`..`last` (inclusive) make up."""
    if basis is DayCount.ACTUAL_365:
        return Fraction((last - first).days + 1, 365)
    fraction = Fraction(0)
    for year in range(first.year, last.year + 1):
        days = (min(last, date(year, 12, 31)) - max(first, date(year, 1, 1))).days + 1
        fraction += Fraction(days, (date(year + 1, 1, 1) - date(year, 1, 1)).days)
    return fraction
