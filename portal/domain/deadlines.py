"""Dutch calendar deadlines: presumed receipt of post and the term of the 14-day letter.

Art. 6:96 lid 6 BW: a consumer owes collection costs only after a reminder that gives a term of
14 days "aanvangende de dag na aanmaning", i.e. starting the day after the letter reaches the
debtor (Hoge Raad 13 June 2014, ECLI:NL:HR:2014:1405). Receipt of ordinary post is presumed
on the second day after posting, where Sundays, Mondays and public holidays do not count (the
post delivers letters Tuesday to Saturday). That is a presumption of practice, not of statute:
when the debtor disputes receipt the creditor must prove it (art. 3:37 lid 3 BW).

Public holidays are those of the Algemene termijnenwet (Atw), art. 3: lid 1 New Year's Day,
Easter Monday, Ascension Day, Whit Monday, Christmas and Boxing Day, the King's birthday as
celebrated (27 April, 26 April when the 27th is a Sunday; Queen's Day 30 April / 29 April
before 2014) and 5 May; lid 2 adds Good Friday. Easter Sunday and Whit Sunday are Sundays.

Decisions, each a setting in `HolidayRules` (see its docstring):
- 5 May counts EVERY year by default. The Atw lists it without condition; "a day off once in
  five years" is a rule of collective labour agreements, not of the law (the `holidays`
  package puts it in its PUBLIC calendar only in lustrum years, in OPTIONAL every year).
- Good Friday counts by default (Atw art. 3 lid 2), although the post is delivered that day.
- Both choices can only push the dates later. A later presumed receipt lengthens the term,
  which never harms the letter; an earlier one could make us charge costs the court refuses.
- Days equated with holidays by decree under Atw art. 3 lid 3 (bridge days, published every
  three years) are not computed: pass them in `extra_days`.

This module is pure Python (the layering test allows only the standard library here), so the
holidays are computed, not taken from the `holidays` package; the tests check every year from
1990 to 2100 against that package.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

FIRST_YEAR = 1990  # the rules before then (Queen's Day moves, 5 May in the Atw) are not modelled
TERM_DAYS = 14  # art. 6:96 lid 6 BW
RECEIPT_DELIVERY_DAYS = 2  # presumed receipt: the second delivery day after posting

SUNDAY, MONDAY, SATURDAY = 6, 0, 5  # date.weekday() numbers


class LiberationDay(StrEnum):
    """When 5 May (Bevrijdingsdag) counts as a public holiday."""

    ALWAYS = "always"  # Atw art. 3 lid 1: the default
    LUSTRUM = "lustrum"  # only in years divisible by 5 (2020, 2025, ...), as many CAOs do
    NEVER = "never"


@dataclass(frozen=True)
class HolidayRules:
    """Which days count as public holidays; the defaults follow the Atw and are the safe side.

    `liberation_day`: when 5 May counts (see LiberationDay). `good_friday`: whether Good
    Friday counts (Atw art. 3 lid 2; set False to follow the post, which delivers that day).
    `extra_days`: days equated with holidays by decree (Atw art. 3 lid 3) or days the post did
    not deliver, added as they are published.
    """

    liberation_day: LiberationDay = LiberationDay.ALWAYS
    good_friday: bool = True
    extra_days: frozenset[date] = frozenset()


STATUTORY = HolidayRules()


def easter_sunday(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """The King's (before 2014 the Queen's) birthday as celebrated: a Sunday moves one day back."""
    day = date(year, 4, 27) if year >= 2014 else date(year, 4, 30)
    return day - timedelta(days=1) if day.weekday() == SUNDAY else day


def public_holidays(year: int, rules: HolidayRules = STATUTORY) -> dict[date, str]:
    """The public holidays of one year under `rules`, by date, with their Dutch names.

    Years before FIRST_YEAR raise ValueError rather than give an unverified answer.
    """
    return dict(_public_holidays(year, rules))


@functools.lru_cache(maxsize=256)
def _public_holidays(year: int, rules: HolidayRules) -> tuple[tuple[date, str], ...]:
    if year < FIRST_YEAR:
        raise ValueError(f"public holidays before {FIRST_YEAR} are not modelled")
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Nieuwjaarsdag",
        easter + timedelta(days=1): "Tweede Paasdag",
        kings_day(year): "Koningsdag" if year >= 2014 else "Koninginnedag",
        easter + timedelta(days=39): "Hemelvaartsdag",
        easter + timedelta(days=50): "Tweede Pinksterdag",
        date(year, 12, 25): "Eerste Kerstdag",
        date(year, 12, 26): "Tweede Kerstdag",
    }
    if rules.good_friday:
        days[easter - timedelta(days=2)] = "Goede Vrijdag"
    if _liberation_day_counts(year, rules.liberation_day):
        days[date(year, 5, 5)] = "Bevrijdingsdag"
    days.update((day, "gelijkgestelde dag") for day in rules.extra_days if day.year == year)
    return tuple(sorted(days.items()))


def _liberation_day_counts(year: int, setting: LiberationDay) -> bool:
    if setting is LiberationDay.LUSTRUM:
        return year % 5 == 0
    return setting is LiberationDay.ALWAYS


def is_public_holiday(day: date, rules: HolidayRules = STATUTORY) -> bool:
    """Whether `day` is a public holiday under `rules`."""
    return any(holiday == day for holiday, _ in _public_holidays(day.year, rules))


def is_delivery_day(day: date, *, rules: HolidayRules = STATUTORY) -> bool:
    """Whether ordinary post counts as delivered on `day`: Tuesday to Saturday, not a holiday."""
    return day.weekday() not in (SUNDAY, MONDAY) and not is_public_holiday(day, rules)


def is_working_day(day: date, *, rules: HolidayRules = STATUTORY) -> bool:
    """A day that is not a Saturday, Sunday or public holiday (Atw art. 1 lid 1)."""
    return day.weekday() < SATURDAY and not is_public_holiday(day, rules)


def presumed_receipt(posted_on: date, *, rules: HolidayRules = STATUTORY) -> date:
    """The day a letter posted on `posted_on` is presumed received: the second delivery day after.

    The posting day itself never counts, even when it is a delivery day.
    """
    day, counted = posted_on, 0
    while counted < RECEIPT_DELIVERY_DAYS:
        day += timedelta(days=1)
        counted += is_delivery_day(day, rules=rules)
    return day


@functools.lru_cache(maxsize=4096)
def fourteen_day_term(
    posted_on: date, *, extend_to_working_day: bool = True, rules: HolidayRules = STATUTORY
) -> tuple[date, date]:
    """(presumed receipt, last day of the term) for a 14-day letter posted on `posted_on`.

    The term runs 14 days from the day after receipt, so its last day is receipt + 14: posted
    Friday 2024-03-08, received Tuesday 2024-03-12, term 2024-03-13 up to and including
    2024-03-26.

    `extend_to_working_day`: Atw art. 1 lid 1 extends "a term set in a law" that ends on a
    Saturday, Sunday or public holiday up to and including the next working day. The 14-day
    term is set by art. 6:96 lid 6 BW, so it most likely applies; no ruling that says so for
    this term was found, and since extending only delays the costs, it is on by default. The
    Atw's other rules cannot bite here: art. 2 (at least two working days in a term) always
    holds for 14 days, and art. 4 excludes only terms longer than three months.
    """
    receipt = presumed_receipt(posted_on, rules=rules)
    last_day = receipt + timedelta(days=TERM_DAYS)
    if extend_to_working_day:
        while not is_working_day(last_day, rules=rules):
            last_day += timedelta(days=1)
    return receipt, last_day


def costs_chargeable_from(
    posted_on: date, *, extend_to_working_day: bool = True, rules: HolidayRules = STATUTORY
) -> date:
    """The first day collection costs may be charged to a consumer: the day after the term."""
    _, last_day = fourteen_day_term(
        posted_on, extend_to_working_day=extend_to_working_day, rules=rules
    )
    return last_day + timedelta(days=1)
