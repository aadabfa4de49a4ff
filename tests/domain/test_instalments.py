"""Instalment schedules and the arrangement policy, as tables."""

from datetime import date

import pytest

from portal.domain.instalments import (
    BELOW_MINIMUM,
    DOWN_PAYMENT_TOO_HIGH,
    DOWN_PAYMENT_TOO_LOW,
    NO_INSTALMENTS,
    START_IN_PAST,
    START_TOO_LATE,
    TOO_MANY_INSTALMENTS,
    TOO_MANY_MONTHS,
    Policy,
    add_months,
    build_schedule,
    count_for_monthly_amount,
    policy_problems,
)

D = date.fromisoformat
TODAY = D("2026-03-02")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-01-31", 2, "2026-03-31"),  # back to the original day after a short month
        ("2028-01-31", 1, "2028-02-29"),  # leap year
        ("2026-03-30", 11, "2027-02-28"),
        ("2026-11-15", 2, "2027-01-15"),  # over the year end
        ("2026-05-01", 0, "2026-05-01"),
        ("2026-12-31", 12, "2027-12-31"),
    ],
)
def test_months_are_added_on_the_start_day_clipped_to_the_month_end(start, months, expected):
    assert add_months(D(start), months) == D(expected)


@pytest.mark.parametrize(
    ("total", "count", "start", "down", "expected"),
    [
        # the cents that do not divide go on the last instalment
        (100_00, 3, "2026-04-01", 0,
         [(1, "2026-04-01", 33_33), (2, "2026-05-01", 33_33), (3, "2026-06-01", 33_34)]),
        (90_00, 3, "2026-01-31", 0,
         [(1, "2026-01-31", 30_00), (2, "2026-02-28", 30_00), (3, "2026-03-31", 30_00)]),
        (50_01, 1, "2026-03-10", 0, [(1, "2026-03-10", 50_01)]),
        # a down payment is number 0 on the start date; instalments start a month later
        (100_00, 2, "2026-03-15", 20_00,
         [(0, "2026-03-15", 20_00), (1, "2026-04-15", 40_00), (2, "2026-05-15", 40_00)]),
        (10_00, 3, "2026-03-15", 1,
         [(0, "2026-03-15", 1), (1, "2026-04-15", 3_33), (2, "2026-05-15", 3_33),
          (3, "2026-06-15", 3_33)]),
        (7, 4, "2026-03-02", 0,
         [(1, "2026-03-02", 1), (2, "2026-04-02", 1), (3, "2026-05-02", 1),
          (4, "2026-06-02", 4)]),
    ],
)
def test_schedule(total, count, start, down, expected):
    schedule = build_schedule(total, count, D(start), down_payment_cents=down)
    assert [(n, d.isoformat(), a) for n, d, a in schedule] == expected
    assert sum(row.amount_cents for row in schedule) == total


@pytest.mark.parametrize(("count", "down"), [(0, 0), (3, 100_00), (3, -1)])
def test_a_schedule_refuses_what_cannot_be_a_plan(count, down):
    with pytest.raises(ValueError):
        build_schedule(100_00, count, TODAY, down_payment_cents=down)


@pytest.mark.parametrize(
    ("total", "monthly", "count"),
    [(100_00, 25_00, 4), (100_00, 30_00, 4), (100_00, 33_33, 4), (100_00, 33_34, 3),
     (100_00, 200_00, 1), (1, 1, 1)],
)
def test_count_for_a_monthly_amount_never_asks_more_than_that_amount(total, monthly, count):
    assert count_for_monthly_amount(total, monthly) == count
    assert max(a for _, _, a in build_schedule(total, count, TODAY)) <= monthly


POLICY = Policy(max_instalments=6, min_instalment_cents=25_00, max_arrangement_months=6,
                down_payment_percent=0)
WITH_DOWN = Policy(max_instalments=6, min_instalment_cents=25_00, max_arrangement_months=6,
                   down_payment_percent=10)


@pytest.mark.parametrize(
    ("policy", "total", "count", "start", "down", "problems"),
    [
        (POLICY, 300_00, 6, "2026-04-01", 0, []),
        (POLICY, 300_00, 7, "2026-04-01", 0, [TOO_MANY_INSTALMENTS, TOO_MANY_MONTHS]),
        (POLICY, 100_00, 4, "2026-04-01", 0, []),  # exactly the minimum
        (POLICY, 99_99, 4, "2026-04-01", 0, [BELOW_MINIMUM]),
        (POLICY, 300_00, 0, "2026-04-01", 0, [NO_INSTALMENTS]),
        (POLICY, 300_00, 6, "2026-03-02", 0, []),  # starting today
        (POLICY, 300_00, 6, "2026-03-01", 0, [START_IN_PAST]),
        (POLICY, 300_00, 6, "2026-04-01", 0, []),  # 30 days away
        (POLICY, 300_00, 6, "2026-04-02", 0, [START_TOO_LATE]),
        (POLICY, 300_00, 6, "2026-04-01", 30_00, [TOO_MANY_MONTHS]),  # 7 months with it
        (POLICY, 300_00, 2, "2026-04-01", 300_00, [BELOW_MINIMUM, DOWN_PAYMENT_TOO_HIGH]),
        (WITH_DOWN, 300_00, 5, "2026-04-01", 30_00, []),
        (WITH_DOWN, 300_00, 5, "2026-04-01", 29_99, [DOWN_PAYMENT_TOO_LOW]),
        (WITH_DOWN, 300_00, 5, "2026-04-01", 0, [DOWN_PAYMENT_TOO_LOW]),
        (WITH_DOWN, 333_35, 5, "2026-04-01", 33_34, []),  # 10 % rounded half up: 33.335 -> 33.34
        (WITH_DOWN, 333_35, 5, "2026-04-01", 33_33, [DOWN_PAYMENT_TOO_LOW]),
    ],
)
def test_policy_problems(policy, total, count, start, down, problems):
    assert policy_problems(policy, total, count, D(start), down, TODAY) == problems


def test_a_policy_is_read_from_the_client_columns():
    class Client:
        max_instalments, min_instalment_cents = 9, 10_00
        max_arrangement_months, down_payment_percent = 10, 5

    assert Policy.of(Client()) == Policy(9, 10_00, 10, 5)
