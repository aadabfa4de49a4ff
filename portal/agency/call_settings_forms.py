"""Reading the call settings form: the priority weights and each jurisdiction's contact rules,
checked field by field (errors keyed by the field's name)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.agency.call_words import TASK_REASON_LABELS
from portal.domain.calls import DEFAULT_WEIGHTS
from portal.models import CallOutcome
from portal.services import calls

# Always offered: the Netherlands and the US (Regulation F); the configured one is added.
JURISDICTIONS = ("NL", "US")
WEIGHT_LIMIT = 1000
CAP_LIMIT = 3650
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# (name, label, kind, low, high)
RULE_FIELDS = (
    ("start", _l("Calls from (debtor's local time)"), "time", None, None),
    ("end", _l("Calls until (debtor's local time)"), "time", None, None),
    ("max_attempts", _l("Most call attempts per case"), "int", 1, 50),
    ("window_days", _l("... within this many days"), "int", 1, 60),
    ("quiet_days_after_conversation", _l("Days without calls after a conversation"),
     "int", 0, 60),
)


WEIGHT_LABELS = {
    "balance": _l("Balance: points per tenfold in euros"),
    "days_overdue": _l("Days overdue: points per day"),
    "days_overdue_cap": _l("Days overdue: counted up to (days)"),
    "promise_broken": _l("A broken promise"),
    "promise_due_today": _l("A promise due today"),
    "days_since_contact": _l("Days since the last call: points per day"),
    "days_since_contact_cap": _l("Days since the last call: counted up to (days)"),
    "never_contacted": _l("Never called"),
    "last_outcome": _l("Last call ended with"),
    "attempts": _l("Per call attempt this week"),
    "phone_ok": _l("A usable phone number"),
    "no_phone": _l("No usable phone number"),
    "answer_rate": _l("Answered every past call (scaled by the answer rate)"),
    "reason": _l("Task reason"),
}


def _entry_label(key: str, sub: str | None) -> Any:
    """A weight table's entry in words (lazy: read in the page's language when shown)."""
    if key == "last_outcome":
        return calls.OUTCOME_LABELS.get(CallOutcome(sub), sub)
    if key == "reason":
        return TASK_REASON_LABELS.get(sub, sub)
    return sub


def weight_fields(weights: Mapping[str, Any]) -> list[tuple[str, Any, str | None, Any, Any]]:
    """(field name, label, table entry in words or None, value, default) for the form."""
    return [(weight_field(key, sub), WEIGHT_LABELS.get(key, key), _entry_label(key, sub), value,
             default)
            for (key, sub, value), (_k, _s, default) in zip(
                weight_rows(weights), weight_rows(DEFAULT_WEIGHTS), strict=True)]


def jurisdictions(configured: str) -> list[str]:
    places = list(JURISDICTIONS)
    if configured.upper() not in places:
        places.append(configured.upper())
    return places


def weight_rows(weights: Mapping[str, Any]) -> list[tuple[str, str | None, Any]]:
    """(factor, table entry or None, value) for every weight, in the defaults' order."""
    rows: list[tuple[str, str | None, Any]] = []
    for key, default in DEFAULT_WEIGHTS.items():
        value = weights.get(key, default)
        if isinstance(default, dict):
            given = value if isinstance(value, dict) else {}
            rows.extend((key, sub, given.get(sub, d)) for sub, d in default.items())
        else:
            rows.append((key, None, value))
    return rows


def weight_field(key: str, sub: str | None) -> str:
    return f"w-{key}-{sub}" if sub else f"w-{key}"


def _number(raw: str | None, *, whole: bool, low: float, high: float) -> tuple[Any, str | None]:
    text = (raw or "").strip().replace(",", ".")
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        if whole:
            return None, _("Fill in a whole number.")
        return None, _("Fill in a number, like 12 or 0.5.")
    if not low <= value <= high:
        return None, _("Between %(low)s and %(high)s.", low=low, high=high)
    return value, None


def parse_weights(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The weights from the form, and the errors by field name."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, sub, _default in weight_rows(DEFAULT_WEIGHTS):
        name = weight_field(key, sub)
        whole = key.endswith("_cap")
        low, high = (0, CAP_LIMIT) if whole else (-WEIGHT_LIMIT, WEIGHT_LIMIT)
        value, error = _number(form.get(name), whole=whole, low=low, high=high)
        if error:
            errors[name] = error
        elif sub:
            values.setdefault(key, {})[sub] = value
        else:
            values[key] = value
    return values, errors


def parse_rules(form: Mapping[str, str], place: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One jurisdiction's contact rules from the form, and the errors by field name."""
    values: dict[str, Any] = {"enabled": form.get(f"r-{place}-enabled") in ("on", "1", "y")}
    errors: dict[str, str] = {}
    for name, _label, kind, low, high in RULE_FIELDS:
        field = f"r-{place}-{name}"
        raw = (form.get(field) or "").strip()
        if kind == "time":
            if TIME.match(raw):
                values[name] = raw
            else:
                errors[field] = _("A time like 08:00.")
            continue
        value, error = _number(raw, whole=True, low=low, high=high)
        if error:
            errors[field] = error
        else:
            values[name] = value
    if "start" in values and "end" in values and values["start"] >= values["end"]:
        errors[f"r-{place}-end"] = _("The end must be later than the start.")
    return values, errors
