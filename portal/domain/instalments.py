"""Instalment plans: the schedule a debtor proposes, and whether it fits the client's policy.

Pure rules, no Flask or SQLAlchemy. Amounts are integer cents.

- Instalments fall monthly on the start day; in a shorter month on its last day, and the
  next month goes back to the original day (31 Jan -> 28 Feb -> 31 Mar).
- The total is spread evenly; the cents that do not divide go on the LAST instalment, so
  every instalment but the last is the same and the sum is exact.
- A down payment is instalment number 0, due on the start date; the instalments then start
  one month later.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple, Protocol

from portal.domain.money import round_half_up

MAX_START_DAYS = 30  # a plan starts today or within this many days

# Problem codes policy_problems returns (the pages translate them).
TOO_MANY_INSTALMENTS = "too_many_instalments"
NO_INSTALMENTS = "no_instalments"
BELOW_MINIMUM = "instalment_below_minimum"
TOO_MANY_MONTHS = "too_many_months"
DOWN_PAYMENT_TOO_LOW = "down_payment_below_required"
DOWN_PAYMENT_TOO_HIGH = "down_payment_too_high"
START_IN_PAST = "start_in_past"
START_TOO_LATE = "start_too_late"
# Not a matter of approval: a plan with one of these cannot be proposed at all.
INVALID = frozenset({NO_INSTALMENTS, DOWN_PAYMENT_TOO_HIGH, START_IN_PAST, START_TOO_LATE})


class PolicyColumns(Protocol):
    max_instalments: int
    min_instalment_cents: int
    max_arrangement_months: int
    down_payment_percent: int


@dataclass(frozen=True)
class Policy:
    """A client's arrangement policy (the Client columns of the same names)."""

    max_instalments: int = 12
    min_instalment_cents: int = 2500
    max_arrangement_months: int = 12
    down_payment_percent: int = 0

    @classmethod
    def of(cls, client: PolicyColumns) -> Policy:
        return cls(
            max_instalments=client.max_instalments,
            min_instalment_cents=client.min_instalment_cents,
            max_arrangement_months=client.max_arrangement_months,
            down_payment_percent=client.down_payment_percent,
        )

    def required_down_payment(self, total_cents: int) -> int:
        """The smallest down payment the policy asks for (0 when it asks none)."""
        return round_half_up(Decimal(total_cents) * self.down_payment_percent / 100)


class Scheduled(NamedTuple):
    number: int  # 0 is the down payment
    due_on: date
    amount_cents: int


def add_months(start: date, months: int) -> date:
    """The start day `months` later, clipped to the end of a shorter month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def build_schedule(
    total_cents: int, count: int, start_on: date, *, down_payment_cents: int = 0
) -> list[Scheduled]:
    """The instalments of a plan: number, due date, amount; the amounts add up to the total."""
    if count < 1:
        raise ValueError("a plan has at least one instalment")
    if not 0 <= down_payment_cents < total_cents:
        raise ValueError("the down payment must be less than the total")
    rows = []
    first = 0
    if down_payment_cents:
        rows.append(Scheduled(0, start_on, down_payment_cents))
        first = 1
    rest = total_cents - down_payment_cents
    each, remainder = divmod(rest, count)
    for k in range(count):
        amount = each + (remainder if k == count - 1 else 0)
        rows.append(Scheduled(k + 1, add_months(start_on, first + k), amount))
    return rows


def count_for_monthly_amount(total_cents: int, monthly_cents: int) -> int:
    """How many instalments of at most `monthly_cents` pay `total_cents` (at least one)."""
    if monthly_cents <= 0:
        raise ValueError("a monthly amount must be positive")
    return max(1, -(-total_cents // monthly_cents))


def months_run(count: int, down_payment_cents: int = 0) -> int:
    """The months a plan has a payment in (the down payment takes a month of its own)."""
    return count + (1 if down_payment_cents else 0)


def policy_problems(
    policy: Policy,
    total_cents: int,
    count: int,
    start_on: date,
    down_payment_cents: int,
    today: date,
) -> list[str]:
    """Why a proposal falls outside the policy (codes above); empty when it fits."""
    problems = []
    if count < 1:
        problems.append(NO_INSTALMENTS)
    elif count > policy.max_instalments:
        problems.append(TOO_MANY_INSTALMENTS)
    if count >= 1 and (total_cents - down_payment_cents) // count < policy.min_instalment_cents:
        problems.append(BELOW_MINIMUM)
    if months_run(count, down_payment_cents) > policy.max_arrangement_months:
        problems.append(TOO_MANY_MONTHS)
    if down_payment_cents < policy.required_down_payment(total_cents):
        problems.append(DOWN_PAYMENT_TOO_LOW)
    if down_payment_cents and down_payment_cents >= total_cents:
        problems.append(DOWN_PAYMENT_TOO_HIGH)
    if start_on < today:
        problems.append(START_IN_PAST)
    elif start_on > today + timedelta(days=MAX_START_DAYS):
        problems.append(START_TOO_LATE)
    return problems
