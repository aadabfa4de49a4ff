"""Presumed receipt and the 14-day term, every expected date counted by hand in the comments.

Delivery days are Tuesday to Saturday; the default rules also skip Good Friday and 5 May in
every year (Atw art. 3). "d1"/"d2" mark the first and second delivery day after posting.
"""

from datetime import date, timedelta

import holidays
import pytest
from holidays.constants import OPTIONAL, PUBLIC

from portal.domain.deadlines import (
    FIRST_YEAR,
    HolidayRules,
    LiberationDay,
    costs_chargeable_from,
    easter_sunday,
    fourteen_day_term,
    is_delivery_day,
    is_public_holiday,
    is_working_day,
    kings_day,
    presumed_receipt,
    public_holidays,
)

D = date.fromisoformat
POST_DELIVERS_GOOD_FRIDAY = HolidayRules(good_friday=False)
LUSTRUM = HolidayRules(liberation_day=LiberationDay.LUSTRUM)
NO_LIBERATION_DAY = HolidayRules(liberation_day=LiberationDay.NEVER)


@pytest.mark.parametrize(
    ("posted", "received", "rules"),
    [
        ("2024-03-08", "2024-03-12", None),  # Fri: Sat d1, Sun, Mon, Tue d2
        ("2024-03-09", "2024-03-13", None),  # Sat: Sun, Mon, Tue d1, Wed d2
        ("2024-03-10", "2024-03-13", None),  # Sun: Mon, Tue d1, Wed d2
        ("2024-03-11", "2024-03-13", None),  # Mon: Tue d1, Wed d2
        ("2024-03-12", "2024-03-14", None),  # Tue: Wed d1, Thu d2
        ("2024-03-07", "2024-03-09", None),  # Thu: Fri d1, Sat d2 (Saturday counts)
        # Easter 2024: Good Friday 29 March, Easter Monday 1 April.
        ("2024-03-27", "2024-03-30", None),  # Wed: Thu d1, Good Friday, Sat d2
        ("2024-03-27", "2024-03-29", POST_DELIVERS_GOOD_FRIDAY),  # Thu d1, Fri d2
        ("2024-03-28", "2024-04-02", None),  # Thu: Fri, Sat d1, Sun, Easter Mon, Tue d2
        ("2024-03-28", "2024-03-30", POST_DELIVERS_GOOD_FRIDAY),  # Fri d1, Sat d2
        # Christmas 2024 on Wed and Thu; 2023 on Mon and Tue.
        ("2024-12-23", "2024-12-27", None),  # Mon: Tue 24 d1, 25, 26, Fri 27 d2
        ("2024-12-24", "2024-12-28", None),  # Tue: 25, 26, Fri 27 d1, Sat 28 d2
        ("2023-12-22", "2023-12-27", None),  # Fri: Sat 23 d1, Sun, 25, 26, Wed 27 d2
        # King's Day: Sat 27 April 2024; 2025's 27th is a Sunday, so Sat 26 April; Thu 2023.
        ("2024-04-25", "2024-04-30", None),  # Thu: Fri 26 d1, Sat 27, Sun, Mon, Tue 30 d2
        ("2025-04-24", "2025-04-29", None),  # Thu: Fri 25 d1, Sat 26, Sun, Mon, Tue 29 d2
        ("2023-04-26", "2023-04-29", None),  # Wed: Thu 27, Fri 28 d1, Sat 29 d2
        # Liberation Day: Tue 5 May 2026 (no lustrum) and Tue 5 May 2020 (lustrum).
        ("2026-05-02", "2026-05-07", None),  # Sat: Sun, Mon, 5 May, Wed 6 d1, Thu 7 d2
        ("2026-05-02", "2026-05-06", LUSTRUM),  # 2026 is no lustrum: Tue 5 d1, Wed 6 d2
        ("2020-05-02", "2020-05-07", LUSTRUM),  # 2020 is: Sun, Mon, 5 May, Wed d1, Thu d2
        ("2020-05-02", "2020-05-06", NO_LIBERATION_DAY),  # Tue 5 d1, Wed 6 d2
        # New Year: Wed 1 January 2025.
        ("2024-12-28", "2025-01-02", None),  # Sat: Sun, Mon, Tue 31 d1, 1 Jan, Thu 2 d2
        ("2024-12-31", "2025-01-03", None),  # Tue: 1 Jan, Thu 2 d1, Fri 3 d2
        # Ascension Day: Thu 9 May 2024.
        ("2024-05-08", "2024-05-11", None),  # Wed: Ascension, Fri 10 d1, Sat 11 d2
        # Leap day.
        ("2024-02-27", "2024-02-29", None),  # Tue: Wed 28 d1, Thu 29 d2
        ("2024-02-28", "2024-03-01", None),  # Wed: Thu 29 d1, Fri 1 March d2
        ("2023-02-27", "2023-03-01", None),  # Mon: Tue 28 d1, Wed 1 March d2 (no 29th)
    ],
)
def test_presumed_receipt(posted, received, rules):
    kwargs = {} if rules is None else {"rules": rules}
    assert presumed_receipt(D(posted), **kwargs) == D(received)


# (posted, presumed receipt, last day of the term, costs chargeable from)
TERMS = [
    # The example of the issue: Tue 12 + 14 = Tue 26 March.
    ("2024-03-08", "2024-03-12", "2024-03-26", "2024-03-27"),
    # Thu: received Sat 9, + 14 = Sat 23 March, extended over Sun to Mon 25.
    ("2024-03-07", "2024-03-09", "2024-03-25", "2024-03-26"),
    # Ends on Ascension Day: Thu 25 April + 14 = Thu 9 May, extended to Fri 10.
    ("2024-04-23", "2024-04-25", "2024-05-10", "2024-05-11"),
    # Ends on Christmas: Wed 11 Dec + 14 = Wed 25, then Boxing Day, extended to Fri 27.
    ("2024-12-09", "2024-12-11", "2024-12-27", "2024-12-28"),
    # Ends on Good Friday: Fri 15 March + 14 = Fri 29; Sat, Sun, Easter Monday: Tue 2 April.
    ("2024-03-13", "2024-03-15", "2024-04-02", "2024-04-03"),
    # Ends on New Year's Day: Wed 18 Dec + 14 = Wed 1 Jan 2025, extended to Thu 2.
    ("2024-12-16", "2024-12-18", "2025-01-02", "2025-01-03"),
    # Ends on King's Day 2025 (Sat 26 April): Sat 12 + 14 = Sat 26, Sun, to Mon 28.
    ("2025-04-10", "2025-04-12", "2025-04-28", "2025-04-29"),
    # Over the leap day: Thu 15 Feb + 14 = Thu 29 Feb 2024.
    ("2024-02-13", "2024-02-15", "2024-02-29", "2024-03-01"),
    # The same in 2023: Thu 16 Feb + 14 = Thu 2 March.
    ("2023-02-14", "2023-02-16", "2023-03-02", "2023-03-03"),
    # Over Christmas and New Year: Wed 27 Dec 2023 + 14 = Wed 10 Jan 2024.
    ("2023-12-22", "2023-12-27", "2024-01-10", "2024-01-11"),
]


@pytest.mark.parametrize(("posted", "received", "last_day", "costs_from"), TERMS)
def test_fourteen_day_term(posted, received, last_day, costs_from):
    assert fourteen_day_term(D(posted)) == (D(received), D(last_day))
    assert costs_chargeable_from(D(posted)) == D(costs_from)


@pytest.mark.parametrize(
    ("posted", "last_day"),
    [
        ("2024-03-08", "2024-03-26"),  # ends on a Tuesday: nothing to extend
        ("2024-03-07", "2024-03-23"),  # Saturday stays
        ("2024-04-23", "2024-05-09"),  # Ascension Day stays
        ("2024-12-09", "2024-12-25"),  # Christmas stays
    ],
)
def test_term_without_the_atw_extension(posted, last_day):
    _, end = fourteen_day_term(D(posted), extend_to_working_day=False)
    assert end == D(last_day)
    chargeable = costs_chargeable_from(D(posted), extend_to_working_day=False)
    assert chargeable == D(last_day) + timedelta(days=1)


def test_days_equated_by_decree_extend_the_term():
    # Fri 10 May 2024, the day after Ascension, is an equated day (Atw art. 3 lid 3):
    # the term of 2024-04-23 then runs over Sat and Sun to Mon 13 May.
    rules = HolidayRules(extra_days=frozenset({D("2024-05-10")}))
    assert fourteen_day_term(D("2024-04-23"), rules=rules) == (D("2024-04-25"), D("2024-05-13"))
    assert costs_chargeable_from(D("2024-04-23"), rules=rules) == D("2024-05-14")


def test_good_friday_as_a_working_day_shortens_the_term():
    # Fri 15 March + 14 = Good Friday 29 March, a working day when the setting says so.
    term = fourteen_day_term(D("2024-03-13"), rules=POST_DELIVERS_GOOD_FRIDAY)
    assert term == (D("2024-03-15"), D("2024-03-29"))


def _days(start, end):
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@pytest.mark.parametrize("extend", [True, False])
def test_term_invariants_over_three_years(extend):
    """For every posting day: receipt is a delivery day with exactly one before it, the term
    has 14 full days, and only an extended term ends on a day that is not a working day."""
    for posted in _days(D("2024-01-01"), D("2026-12-31")):
        received, last_day = fourteen_day_term(posted, extend_to_working_day=extend)
        between = _days(posted + timedelta(days=1), received - timedelta(days=1))
        assert is_delivery_day(received)
        assert sum(map(is_delivery_day, between)) == 1
        assert last_day >= received + timedelta(days=14)
        if extend:
            assert is_working_day(last_day)
            assert not any(
                map(
                    is_working_day,
                    _days(received + timedelta(days=14), last_day - timedelta(days=1)),
                )
            )
        else:
            assert last_day == received + timedelta(days=14)


@pytest.mark.parametrize(
    ("day", "delivery", "working"),
    [
        ("2024-03-09", True, False),  # Saturday: post comes, offices closed
        ("2024-03-10", False, False),  # Sunday
        ("2024-03-11", False, True),  # Monday: no letters, but a working day
        ("2024-03-12", True, True),  # Tuesday
        ("2024-03-29", False, False),  # Good Friday
        ("2024-04-01", False, False),  # Easter Monday
        ("2025-04-26", False, False),  # King's Day on Saturday (27 April is a Sunday)
        ("2025-04-28", False, True),  # the Monday after: an ordinary Monday
        ("2026-05-05", False, False),  # Liberation Day in a year that is no lustrum
        ("2024-05-09", False, False),  # Ascension Day
        ("2024-05-20", False, False),  # Whit Monday
        ("2024-12-25", False, False),
        ("2024-12-26", False, False),
        ("2025-01-01", False, False),
        ("2024-12-31", True, True),  # New Year's Eve is an ordinary day
    ],
)
def test_delivery_and_working_days(day, delivery, working):
    assert is_delivery_day(D(day)) is delivery
    assert is_working_day(D(day)) is working


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, "2024-03-31"),
        (2025, "2025-04-20"),
        (2019, "2019-04-21"),
        (2008, "2008-03-23"),  # the earliest of this century
        (2038, "2038-04-25"),  # the latest possible date
        (2285, "2285-03-22"),  # the earliest possible date
    ],
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == D(easter)


@pytest.mark.parametrize(
    ("year", "day"),
    [
        (2024, "2024-04-27"),
        (2025, "2025-04-26"),  # 27th is a Sunday: the Saturday before
        (2014, "2014-04-26"),  # the first King's Day, also moved from a Sunday
        (2013, "2013-04-30"),  # the last Queen's Day
        (2006, "2006-04-29"),  # Queen's Day on a Sunday moved back too
    ],
)
def test_kings_day(year, day):
    assert kings_day(year) == D(day)


def _package_days(year, categories):
    # Sundays (Easter Sunday, Whit Sunday, a holiday that falls on one) count either way.
    found = holidays.country_holidays("NL", years=year, categories=categories)
    return {day for day in found if day.weekday() != 6}


def _our_days(year, rules):
    return {day for day in public_holidays(year, rules) if day.weekday() != 6}


@pytest.mark.parametrize("year", range(FIRST_YEAR, 2101))
def test_holidays_match_the_holidays_package(year):
    # The package's PUBLIC calendar has 5 May in lustrum years only, OPTIONAL has it every year.
    assert _our_days(year, HolidayRules()) == _package_days(year, (PUBLIC, OPTIONAL))
    assert _our_days(year, LUSTRUM) == _package_days(year, (PUBLIC,))


def test_holiday_names_and_settings():
    days = public_holidays(2025)
    assert days[D("2025-04-26")] == "Koningsdag"
    assert days[D("2025-05-05")] == "Bevrijdingsdag"
    assert days[D("2025-04-18")] == "Goede Vrijdag"
    assert D("2025-04-18") not in public_holidays(2025, POST_DELIVERS_GOOD_FRIDAY)
    assert not is_public_holiday(D("2026-05-05"), LUSTRUM)
    assert not is_public_holiday(D("2025-05-05"), NO_LIBERATION_DAY)
    assert public_holidays(2013)[D("2013-04-30")] == "Koninginnedag"


def test_years_before_the_model_are_refused():
    with pytest.raises(ValueError):
        is_delivery_day(date(FIRST_YEAR - 1, 6, 1))
