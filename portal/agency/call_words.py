"""Words for the call team's codes, shared by the caller's pages, the board and the settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

TASK_REASON_LABELS = {
    "workflow_call": _l("Call in the workflow"),
    "promise_due": _l("Promise due today"),
    "promise_broken": _l("Promise broken"),
    "missed_instalment": _l("Missed instalment"),
    "callback": _l("Callback"),
    "new_case": _l("New case"),
    "manual": _l("Added by a supervisor"),
}


def task_reason_label(reason: object) -> str:
    return str(TASK_REASON_LABELS.get(str(reason), reason))
