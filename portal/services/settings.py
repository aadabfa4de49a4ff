"""Settings admins change without a deploy, stored as JSON under a key, with defaults in code.

Keys in use: "call.weights" (call priority weights), "call.rules.<JURISDICTION>" (the contact
rules of calls, per jurisdiction). A stored value is merged over its default, so a setting
added in a later release has its default until an admin changes it.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from portal.extensions import db
from portal.models import Setting, User, utcnow
from portal.services import audit

DEFAULTS: dict[str, dict[str, Any]] = {}


def register_default(key: str, value: dict[str, Any]) -> None:
    """Declare a setting's default (the module that reads the setting does this at import)."""
    DEFAULTS[key] = deepcopy(value)


def get(key: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored value merged over its default (a registered default, or `default`)."""
    base = deepcopy(default if default is not None else DEFAULTS.get(key, {}))
    stored = db.session.get(Setting, key)
    if stored is not None and isinstance(stored.value, dict):
        base.update(stored.value)
    return base


def put(key: str, value: dict[str, Any], *, user: User | None = None) -> Setting:
    """Store a whole setting (flushes) and audit who changed it."""
    setting = db.session.get(Setting, key)
    if setting is None:
        setting = Setting(key=key, value=value)
        db.session.add(setting)
    else:
        setting.value = value
    setting.updated_at = utcnow()
    setting.updated_by_id = user.id if user is not None else None
    audit.record("setting.changed", f"Setting {key} changed", user=user, client_visible=False,
                 key=key, value=value)
    db.session.flush()
    return setting
