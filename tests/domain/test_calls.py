"""Contact rules (hours in the debtor's zone, caps, quiet days, flags) and the priority score."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.calls import (
    DEFAULT_WEIGHTS,
    CallHistory,
    ContactRules,
    Weights,
    attempts_in_window,
    score,
    why_not_callable,
)

RULES = ContactRules()
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 13:00 in Amsterdam (CET)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# -- hours ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("now", "zone", "callable_"), [
    # Amsterdam in winter is UTC+1: 08:00 local is 07:00 UTC.
    (utc(2026, 3, 2, 6, 59), "Europe/Amsterdam", False),  # 07:59 local
    (utc(2026, 3, 2, 7, 0), "Europe/Amsterdam", True),  # 08:00 local
    (utc(2026, 3, 2, 19, 59), "Europe/Amsterdam", True),  # 20:59 local
    (utc(2026, 3, 2, 20, 0), "Europe/Amsterdam", False),  # 21:00 local
    # Summer (CEST, UTC+2): the same UTC hour is an hour later on the wall.
    (utc(2026, 7, 1, 6, 0), "Europe/Amsterdam", True),  # 08:00 local
    (utc(2026, 7, 1, 19, 0), "Europe/Amsterdam", False),  # 21:00 local
    # DST switch day (29 March 2026, clocks 02:00 -> 03:00): 08:00 local is already 06:00 UTC.
    (utc(2026, 3, 29, 5, 59), "Europe/Amsterdam", False),  # 07:59 CEST
    (utc(2026, 3, 29, 6, 0), "Europe/Amsterdam", True),  # 08:00 CEST
    (utc(2026, 3, 28, 6, 0), "Europe/Amsterdam", False),  # the day before: 07:00 CET
    # New York (EST, UTC-5): midday in Amsterdam is 07:00 there.
    (utc(2026, 3, 2, 12, 0), "America/New_York", False),
    (utc(2026, 3, 2, 13, 0), "America/New_York", True),  # 08:00 EST
    (utc(2026, 3, 3, 1, 59), "America/New_York", True),  # 20:59 EST, the next UTC day
    (utc(2026, 3, 3, 2, 0), "America/New_York", False),  # 21:00 EST
    # Tokyo (UTC+9, no DST): 23:00 UTC is 08:00 the next day there.
    (utc(2026, 3, 1, 22, 59), "Asia/Tokyo", False),
    (utc(2026, 3, 1, 23, 0), "Asia/Tokyo", True),
    (utc(2026, 3, 2, 12, 0), "Asia/Tokyo", False),  # 21:00 Tokyo
    # An unknown zone falls back to the agency's (Amsterdam).
    (utc(2026, 3, 2, 7, 0), "Mars/Olympus", True),
    (utc(2026, 3, 2, 6, 59), None, False),
])
def test_hours_in_the_debtors_time_zone(now, zone, callable_):
    reasons = why_not_callable(now, zone, CallHistory(), RULES)
    assert (reasons == []) is callable_
    assert reasons in ([], ["outside_hours"])


def test_hours_are_a_setting():
    rules = ContactRules.from_dict({"start": "09:00", "end": "17:30", "ignored": 1})
    assert why_not_callable(utc(2026, 3, 2, 7, 30), "Europe/Amsterdam", CallHistory(), rules) == [
        "outside_hours"]
    assert why_not_callable(utc(2026, 3, 2, 16, 29), "Europe/Amsterdam", CallHistory(),
                            rules) == []
    assert why_not_callable(utc(2026, 3, 2, 16, 30), "Europe/Amsterdam", CallHistory(),
                            rules) == ["outside_hours"]


# -- attempts and conversations -----------------------------------------------------------------

@pytest.mark.parametrize(("attempts", "max_attempts", "reasons"), [
    (0, 7, []),
    (6, 7, []),  # the 7th attempt may be made
    (7, 7, ["attempt_cap"]),  # the 8th may not
    (9, 7, ["attempt_cap"]),
    (1, 2, []),  # Massachusetts-style: 2 in 7 days
    (2, 2, ["attempt_cap"]),
])
def test_attempt_cap(attempts, max_attempts, reasons):
    rules = ContactRules(max_attempts=max_attempts)
    assert why_not_callable(NOW, "Europe/Amsterdam", CallHistory(attempts), rules) == reasons


def test_attempts_older_than_the_window_do_not_count():
    times = [NOW - timedelta(days=d, hours=1) for d in range(10)]  # 1 h, 1 d 1 h, ... 9 d 1 h ago
    assert attempts_in_window(times, NOW, 7) == 7  # 0..6 days back are inside
    assert attempts_in_window([NOW - timedelta(days=7)], NOW, 7) == 0  # exactly 7 days: out
    assert attempts_in_window([NOW - timedelta(days=7) + timedelta(seconds=1)], NOW, 7) == 1
    assert attempts_in_window([NOW + timedelta(minutes=1)], NOW, 7) == 0  # the future: not yet


@pytest.mark.parametrize(("ago", "reasons"), [
    (timedelta(minutes=5), ["after_conversation"]),
    (timedelta(days=6, hours=23, minutes=59), ["after_conversation"]),
    (timedelta(days=7), []),
    (timedelta(days=30), []),
])
def test_no_call_within_seven_days_after_a_conversation(ago, reasons):
    history = CallHistory(last_conversation_at=NOW - ago)
    assert why_not_callable(NOW, "Europe/Amsterdam", history, RULES) == reasons


@pytest.mark.parametrize(("flag", "code"), [
    ("do_not_call", "do_not_call"),
    ("phone_missing_or_invalid", "no_phone"),
    ("disputed", "disputed"),
    ("on_hold", "on_hold"),
])
def test_flags(flag, code):
    assert why_not_callable(NOW, "Europe/Amsterdam", CallHistory(), RULES, **{flag: True}) == [
        code]


def test_every_reason_is_listed():
    late = utc(2026, 3, 2, 22, 0)
    history = CallHistory(attempts_in_window=7, last_conversation_at=late - timedelta(days=1))
    reasons = why_not_callable(late, "Europe/Amsterdam", history, RULES, do_not_call=True,
                               phone_missing_or_invalid=True, disputed=True, on_hold=True)
    assert reasons == ["do_not_call", "no_phone", "disputed", "on_hold", "outside_hours",
                       "attempt_cap", "after_conversation"]


def test_rules_switched_off_keep_the_debtors_wishes():
    rules = ContactRules(enabled=False)
    late = utc(2026, 3, 2, 23, 0)
    assert why_not_callable(late, "Europe/Amsterdam", CallHistory(50), rules) == []
    assert why_not_callable(late, "Europe/Amsterdam", CallHistory(50), rules,
                            do_not_call=True) == ["do_not_call"]


def test_rules_round_trip_as_a_setting():
    rules = ContactRules(start="09:00", max_attempts=2)
    assert ContactRules.from_dict(rules.as_dict()) == rules
    assert ContactRules.from_dict(None) == ContactRules()


# -- scoring -------------------------------------------------------------------------------------

BASE = {"reason": "workflow_call", "balance": 0, "days_overdue": 0, "promise": "none",
        "days_since_contact": None, "last_outcome": None, "attempts": 0,
        "reachability": "phone_ok", "answer_rate": None}


@pytest.mark.parametrize(("factor", "value", "points"), [
    ("reason", "callback", 100),
    ("reason", "promise_broken", 80),
    ("reason", "promise_due", 70),
    ("reason", "new_case", 10),
    ("reason", "unknown", 0),
    ("balance", 0, 0),
    ("balance", 9, 12),  # log10(10) = 1 tenfold
    ("balance", 99, 24),
    ("balance", 9_999, 48),
    ("balance", -50, 0),  # a credit balance scores nothing
    ("days_overdue", 30, 6),
    ("days_overdue", 365, 73),
    ("days_overdue", 1000, 73),  # capped at a year
    ("promise", "broken", 60),
    ("promise", "due_today", 40),
    ("promise", "none", 0),
    ("days_since_contact", None, 20),  # never called
    ("days_since_contact", 0, 0),
    ("days_since_contact", 12, 12),
    ("days_since_contact", 90, 30),  # capped
    ("last_outcome", "callback", 15),
    ("last_outcome", "refused", -10),
    ("last_outcome", "wrong_number", -20),
    ("last_outcome", None, 0),
    ("attempts", 0, 0),
    ("attempts", 3, -12),  # more attempts: lower
    ("reachability", "phone_ok", 10),
    ("reachability", "no_phone", -50),
    ("answer_rate", None, 0),
    ("answer_rate", 0.5, 10),
    ("answer_rate", 1, 20),
])
def test_factor_points(factor, value, points):
    total, shown = score({factor: value})
    assert shown == [(factor, value, points)]
    assert total == points


def test_the_total_is_the_sum_of_what_is_shown_in_a_fixed_order():
    factors = {**BASE, "reason": "promise_due", "balance": 1234.56, "days_overdue": 45,
               "promise": "due_today", "attempts": 2, "days_since_contact": 3,
               "last_outcome": "promise", "answer_rate": 0.25}
    total, shown = score(factors)
    assert [name for name, _, _ in shown] == ["reason", "balance", "days_overdue", "promise",
                                              "days_since_contact", "last_outcome", "attempts",
                                              "reachability", "answer_rate"]
    assert shown[0] == ("reason", "promise_due", 70)
    assert shown[1] == ("balance", 1234.56, 37)  # 12 * log10(1235.56) = 37.1
    assert total == sum(points for _, _, points in shown) == 70 + 37 + 9 + 40 + 3 + 10 - 8 + 10 + 5


@pytest.mark.parametrize(("stronger", "weaker"), [
    ({"promise": "broken"}, {"promise": "due_today"}),
    ({"promise": "due_today"}, {"promise": "none"}),
    ({"balance": 5000}, {"balance": 50}),
    ({"days_overdue": 120}, {"days_overdue": 10}),
    ({"attempts": 1}, {"attempts": 5}),
    ({"reachability": "phone_ok"}, {"reachability": "no_phone"}),
    ({"answer_rate": 0.9}, {"answer_rate": 0.1}),
    ({"reason": "callback"}, {"reason": "workflow_call"}),
    ({"days_since_contact": 20}, {"days_since_contact": 1}),
])
def test_order_between_two_tasks(stronger, weaker):
    assert score({**BASE, **stronger})[0] > score({**BASE, **weaker})[0]


def test_changing_a_weight_changes_the_order():
    big_balance = {**BASE, "balance": 50_000, "reason": "new_case"}
    broken = {**BASE, "balance": 100, "promise": "broken", "reason": "new_case"}
    default = Weights()
    assert score(big_balance, default)[0] < score(broken, default)[0]
    heavy_balance = Weights.from_dict({"balance": 40})
    assert score(big_balance, heavy_balance)[0] > score(broken, heavy_balance)[0]


def test_weights_merge_over_the_defaults():
    weights = Weights.from_dict({"reason": {"callback": 5}, "attempts": -10})
    assert weights["reason"]["callback"] == 5
    assert weights["reason"]["promise_due"] == DEFAULT_WEIGHTS["reason"]["promise_due"]
    assert weights["attempts"] == -10
    assert weights["balance"] == DEFAULT_WEIGHTS["balance"]
