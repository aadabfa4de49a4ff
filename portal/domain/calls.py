"""Calls: whether a debtor may be called at this moment, and how urgent a call task is.

The contact rules follow US Regulation F (12 CFR 1006.14) as the default everywhere: calls only
between 08:00 and 21:00 at the debtor's location, at most 7 call attempts in 7 days per case,
and none within 7 days after a conversation. They are a setting per jurisdiction (a state may be
stricter); `enabled=False` switches the hours and caps off, never the debtor's own wishes or a
paused case (asked not to be called, no usable number, disputed, on hold).

The priority score is a sum of points per factor, each factor shown with its value and points so
a caller and a supervisor can see why a task is where it is. The weights are a setting.

Everything here works on plain values: no database, no Flask.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Why a task cannot be called now, in the order they are checked.
OUTSIDE_HOURS = "outside_hours"
ATTEMPT_CAP = "attempt_cap"
AFTER_CONVERSATION = "after_conversation"
DO_NOT_CALL = "do_not_call"
NO_PHONE = "no_phone"
DISPUTED = "disputed"
ON_HOLD = "on_hold"
REASON_CODES = (DO_NOT_CALL, NO_PHONE, DISPUTED, ON_HOLD, OUTSIDE_HOURS, ATTEMPT_CAP,
                AFTER_CONVERSATION)
FALLBACK_TIMEZONE = "Europe/Amsterdam"


@dataclass(frozen=True)
class ContactRules:
    """The call limits of one jurisdiction (times are the debtor's local wall clock)."""

    start: str = "08:00"
    end: str = "21:00"
    max_attempts: int = 7
    window_days: int = 7
    quiet_days_after_conversation: int = 7
    enabled: bool = True

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> ContactRules:
        """Rules from a stored setting; unknown keys are ignored, missing ones keep defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        return time.fromisoformat(self.end)


DEFAULT_RULES = ContactRules()


@dataclass(frozen=True)
class CallHistory:
    """What the rules need to know of a case's calls."""

    attempts_in_window: int = 0
    last_conversation_at: datetime | None = None


def attempts_in_window(attempt_times: Iterable[datetime], now_utc: datetime,
                       window_days: int) -> int:
    """How many attempts fall within the last `window_days` days (a rolling window)."""
    since = now_utc - timedelta(days=window_days)
    return sum(1 for at in attempt_times if since < at <= now_utc)


def local_time(now_utc: datetime, timezone: str | None) -> datetime:
    """The debtor's wall clock; an unknown zone falls back to the agency's."""
    try:
        zone = ZoneInfo(timezone or FALLBACK_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(FALLBACK_TIMEZONE)
    return now_utc.astimezone(zone)


def within_hours(now_utc: datetime, timezone: str | None, rules: ContactRules) -> bool:
    """Start inclusive, end exclusive: 08:00 may be called, 21:00 may not."""
    wall = local_time(now_utc, timezone).time().replace(tzinfo=None)
    return rules.start_time <= wall < rules.end_time


def why_not_callable(now_utc: datetime, debtor_timezone: str | None, history: CallHistory,
                     rules: ContactRules, *, do_not_call: bool = False,
                     phone_missing_or_invalid: bool = False, disputed: bool = False,
                     on_hold: bool = False) -> list[str]:
    """The reasons a call may not be made now; an empty list means it may."""
    reasons = [code for code, flag in ((DO_NOT_CALL, do_not_call),
                                       (NO_PHONE, phone_missing_or_invalid),
                                       (DISPUTED, disputed), (ON_HOLD, on_hold)) if flag]
    if not rules.enabled:
        return reasons
    if not within_hours(now_utc, debtor_timezone, rules):
        reasons.append(OUTSIDE_HOURS)
    if history.attempts_in_window >= rules.max_attempts:
        reasons.append(ATTEMPT_CAP)
    last = history.last_conversation_at
    if last is not None and now_utc - last < timedelta(days=rules.quiet_days_after_conversation):
        reasons.append(AFTER_CONVERSATION)
    return reasons


# -- priority score ------------------------------------------------------------------------------

DEFAULT_WEIGHTS: dict[str, Any] = {
    "balance": 12.0,  # points per tenfold of the balance in euros (EUR 100: 24, EUR 10,000: 48)
    "days_overdue": 0.2,  # points per day overdue ...
    "days_overdue_cap": 365,  # ... counted up to this many days
    "promise_broken": 60.0,
    "promise_due_today": 40.0,
    "days_since_contact": 1.0,  # points per day since the last call ...
    "days_since_contact_cap": 30,  # ... up to this many days
    "never_contacted": 20.0,
    "last_outcome": {  # points for how the last call ended
        "no_answer": 0, "voicemail": 0, "wrong_number": -20, "promise": 10,
        "arrangement": 0, "dispute": -30, "callback": 15, "refused": -10,
        "paid_already": -20, "deceased": -50, "other": 0,
    },
    "attempts": -4.0,  # points per attempt in the contact window (more attempts: lower)
    "phone_ok": 10.0,
    "no_phone": -50.0,
    "answer_rate": 20.0,  # points at a 100 % past answer rate
    "reason": {  # callbacks and promises first
        "callback": 100, "promise_broken": 80, "promise_due": 70, "missed_instalment": 50,
        "manual": 40, "workflow_call": 20, "new_case": 10,
    },
}


@dataclass(frozen=True)
class Weights:
    """Weights of the priority factors (the setting "call.weights")."""

    values: dict[str, Any] = field(default_factory=lambda: _merged({}))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Weights:
        return cls(_merged(values or {}))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def table(self, key: str, name: str | None) -> float:
        return float(self.values[key].get(name, 0)) if name else 0.0


def _merged(values: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, default in DEFAULT_WEIGHTS.items():
        given = values.get(key, default)
        merged[key] = {**default, **given} if isinstance(default, dict) and isinstance(
            given, dict) else given
    return merged


# The factors a task's score is made of, in the order they are shown.
FACTORS = ("reason", "balance", "days_overdue", "promise", "days_since_contact",
           "last_outcome", "attempts", "reachability", "answer_rate")


def _points(name: str, value: Any, w: Weights) -> float:
    if name == "reason":
        return w.table("reason", value)
    if name == "balance":  # value: euros
        return float(w["balance"]) * math.log10(1 + max(float(value or 0), 0))
    if name == "days_overdue":
        return float(w["days_overdue"]) * min(max(int(value or 0), 0), int(w["days_overdue_cap"]))
    if name == "promise":  # "broken" | "due_today" | "none"
        return float(w[f"promise_{value}"]) if value in ("broken", "due_today") else 0.0
    if name == "days_since_contact":  # None: never called
        if value is None:
            return float(w["never_contacted"])
        return float(w["days_since_contact"]) * min(int(value), int(w["days_since_contact_cap"]))
    if name == "last_outcome":
        return w.table("last_outcome", value)
    if name == "attempts":
        return float(w["attempts"]) * int(value or 0)
    if name == "reachability":  # "phone_ok" | "no_phone"
        return float(w[value]) if value in ("phone_ok", "no_phone") else 0.0
    if name == "answer_rate":  # 0..1, None when never called
        return 0.0 if value is None else float(w["answer_rate"]) * float(value)
    raise KeyError(name)


def score(factors: Mapping[str, Any], weights: Weights | None = None
          ) -> tuple[int, list[tuple[str, Any, int]]]:
    """The priority (higher first) and each factor as (name, value, points).

    Factors not given are left out; points are rounded to whole numbers so that what is shown
    adds up to the total.
    """
    w = weights or Weights()
    shown = [(name, factors[name], round(_points(name, factors[name], w)))
             for name in FACTORS if name in factors]
    return sum(points for _, _, points in shown), shown
