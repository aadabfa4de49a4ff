"""The list of reasons why a debtor has not paid, which admins keep and callers pick from.

A reason that was ever used on a call is never deleted (reports and old calls point at it): it
can only be deactivated, which takes it off the callers' list.
"""

from __future__ import annotations

import re

from sqlalchemy import exists, func, select

from portal.extensions import db
from portal.models import CallLog, NonPaymentReason, User
from portal.services import audit

# (code, English, Dutch): the usual list, added by `add_defaults` on a fresh install.
DEFAULT_REASONS = (
    ("cannot_pay_now", "Cannot pay now", "Kan nu niet betalen"),
    ("disagrees", "Disagrees with the invoice", "Is het niet eens met de factuur"),
    ("not_received", "Did not receive the invoice", "Heeft de factuur niet ontvangen"),
    ("forgot", "Forgot", "Vergeten"),
    ("business_trouble", "Business trouble", "Problemen in het bedrijf"),
    ("waiting_for_money", "Waiting for money from someone else", "Wacht op geld van een ander"),
    ("refuses", "Refuses to pay", "Weigert te betalen"),
    ("other", "Other", "Anders"),
)


class ReasonRefused(Exception):
    """The change cannot be made (a message for the admin)."""


def all_reasons() -> list[NonPaymentReason]:
    """Every reason, active first, in the admins' order."""
    return list(db.session.scalars(
        select(NonPaymentReason).order_by(NonPaymentReason.active.desc(),
                                          NonPaymentReason.position, NonPaymentReason.id)))


def active_reasons() -> list[NonPaymentReason]:
    """The reasons a caller picks from, in the admins' order."""
    return list(db.session.scalars(
        select(NonPaymentReason).where(NonPaymentReason.active)
        .order_by(NonPaymentReason.position, NonPaymentReason.id)))


def used_ids() -> set[int]:
    """The reasons some call recorded (one query)."""
    return set(db.session.scalars(
        select(CallLog.reason_id).where(CallLog.reason_id.is_not(None)).distinct()))


def is_used(reason: NonPaymentReason) -> bool:
    return bool(db.session.scalar(select(exists().where(CallLog.reason_id == reason.id))))


def _code_from(label: str) -> str:
    code = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:32] or "reason"
    taken = set(db.session.scalars(select(NonPaymentReason.code)))
    candidate, n = code, 2
    while candidate in taken:
        candidate, n = f"{code}_{n}", n + 1
    return candidate


def add(label_en: str, label_nl: str, *, user: User | None = None) -> NonPaymentReason:
    """Add a reason at the end of the list (flushes)."""
    last = db.session.scalar(select(func.max(NonPaymentReason.position))) or 0
    reason = NonPaymentReason(code=_code_from(label_en), label_en=label_en.strip(),
                              label_nl=label_nl.strip(), position=last + 1, active=True)
    db.session.add(reason)
    db.session.flush()
    audit.record("call_reason.added", f"Reason for not paying added: {reason.label_en}",
                 user=user, client_visible=False, reason_id=reason.id)
    return reason


def add_defaults(*, user: User | None = None) -> int:
    """Add the usual reasons whose code is not there yet; returns how many were added."""
    have = set(db.session.scalars(select(NonPaymentReason.code)))
    last = db.session.scalar(select(func.max(NonPaymentReason.position))) or 0
    added = 0
    for code, label_en, label_nl in DEFAULT_REASONS:
        if code not in have:
            added += 1
            db.session.add(NonPaymentReason(code=code, label_en=label_en, label_nl=label_nl,
                                            position=last + added))
    if added:
        audit.record("call_reason.added", f"{added} usual reasons for not paying added",
                     user=user, client_visible=False)
    db.session.flush()
    return added


def rename(reason: NonPaymentReason, label_en: str, label_nl: str, *,
           user: User | None = None) -> None:
    """Change a reason's words (its code stays, so reports keep counting it as one)."""
    reason.label_en, reason.label_nl = label_en.strip(), label_nl.strip()
    audit.record("call_reason.renamed", f"Reason for not paying renamed: {reason.label_en}",
                 user=user, client_visible=False, reason_id=reason.id)
    db.session.flush()


def set_active(reason: NonPaymentReason, active: bool, *, user: User | None = None) -> None:
    """Take a reason off the callers' list, or put it back."""
    reason.active = active
    action = "call_reason.activated" if active else "call_reason.deactivated"
    audit.record(action, f"Reason for not paying {'on' if active else 'off'}: {reason.label_en}",
                 user=user, client_visible=False, reason_id=reason.id)
    db.session.flush()


def move(reason: NonPaymentReason, step: int, *, user: User | None = None) -> None:
    """Move a reason one place up (step -1) or down (+1) among the active ones."""
    order = [r for r in all_reasons() if r.active == reason.active]
    index = order.index(reason)
    other = index + step
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        for position, row in enumerate(order, start=1):
            row.position = position
        audit.record("call_reason.moved", f"Reason for not paying moved: {reason.label_en}",
                     user=user, client_visible=False, reason_id=reason.id)
    db.session.flush()


def delete(reason: NonPaymentReason, *, user: User | None = None) -> None:
    """Delete a reason no call used; a used one raises ReasonRefused (deactivate it instead)."""
    if is_used(reason):
        raise ReasonRefused("used")
    audit.record("call_reason.deleted", f"Reason for not paying deleted: {reason.label_en}",
                 user=user, client_visible=False, code=reason.code)
    db.session.delete(reason)
    db.session.flush()
