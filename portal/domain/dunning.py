"""Dunning policy: which workflow step is due for a case today, and what it may charge.

A workflow is an ordered list of steps. The first step falls due `delay_days` after the oldest
invoice's due date (a negative delay: before it, e.g. a friendly reminder or the invoice
itself); each later step `delay_days` after the step before it was taken. A case that is
paused (disputed, in an arrangement, under a promise, on hold, not to be contacted) keeps its
position and resumes where it stopped: a step whose date passed during the pause is due at once.

Collection costs (art. 6:96 BW): a consumer owes them only after a 14-day letter was posted
and its term has passed (art. 6:96 lid 6 BW, see portal.domain.deadlines); a business owes
them at the step the workflow says. Interest is charged where the step says, for both.

Everything here works on plain values, so the batch can decide a chunk of cases without
loading an object graph, and the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from portal.domain.deadlines import (
    RECEIPT_DELIVERY_DAYS,
    STATUTORY,
    TERM_DAYS,
    HolidayRules,
    costs_chargeable_from,
)

# Case statuses (portal.models.case.CaseStatus values) at which dunning has ended for good:
# paid, closed without payment, withdrawn by the client, or handed over to a bailiff or lawyer.
STOPPED_STATUSES = frozenset({"paid", "closed", "withdrawn", "legal"})
NO_FOURTEEN_DAY_LETTER = "costs not charged: no 14-day letter"
TERM_RUNNING = "costs not charged: the 14-day term has not passed"
# The earliest day after posting that costs can be charged: receipt two days after posting at
# the soonest, then the 14 days of the term; holidays and weekends only add to it.
MIN_DAYS_TO_COSTS = RECEIPT_DELIVERY_DAYS + TERM_DAYS + 1


class StepAction(StrEnum):
    INVOICE = "invoice"  # send the invoice itself on the client's behalf
    EMAIL_REMINDER = "email_reminder"
    LETTER = "letter"
    FOURTEEN_DAY_LETTER = "fourteen_day_letter"  # art. 6:96 lid 6 BW, consumers
    FINAL_DEMAND = "final_demand"
    CALL_TASK = "call_task"  # hand to the call team
    LEGAL_HANDOVER = "legal_handover"  # to a bailiff or lawyer, with a dossier PDF


class Channel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"


class SkipReason(StrEnum):
    """Why no step is taken today; listed in the order `decide` checks them."""

    CLOSED = "closed"
    DISPUTED = "disputed"
    ARRANGEMENT = "arrangement"
    PROMISE = "promise"
    ON_HOLD = "on_hold"
    DO_NOT_CONTACT = "do_not_contact"
    FINISHED = "finished"
    NOT_DUE = "not_due"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One workflow step. `delay_days`: after the oldest due date for the first step (may be
    negative), after the previous step for the others. `fallback_channel` is used when the
    channel is email and the debtor has no address; None means there is nothing to send to.
    """

    position: int  # 1-based; gaps are allowed (a deleted step), the order is what counts
    action: StepAction
    delay_days: int
    channel: Channel
    fallback_channel: Channel | None = Channel.LETTER
    charges_costs: bool = False
    charges_interest: bool = False

    def __post_init__(self) -> None:
        if self.position < 1:
            raise ValueError(f"step positions start at 1, not {self.position}")


@dataclass(frozen=True, kw_only=True)
class CaseState:
    """What the rule needs to know about a case, as plain values.

    `last_position` is the position of the last step taken (0: none yet) and `last_step_on`
    the day it was taken. `is_consumer` defaults to True, the stricter side of the law.
    """

    oldest_due_date: date
    last_position: int = 0
    last_step_on: date | None = None
    status: str = "active"
    promise_until: date | None = None  # the debtor promised to pay by this day
    arrangement_active: bool = False
    on_hold_until: date | None = None  # paused by the client up to and including this day
    disputed: bool = False
    do_not_contact: bool = False
    is_consumer: bool = True
    has_email: bool = True
    fourteen_day_letter_posted_on: date | None = None

    def __post_init__(self) -> None:
        if self.last_position < 0:
            raise ValueError("last_position cannot be negative")
        if self.last_position and self.last_step_on is None:
            raise ValueError("a case past step 0 needs the day of its last step")


@dataclass(frozen=True)
class Decision:
    """What to do for one case today.

    `step` is set only when it is to be taken now (then `skip_reason` is None); `due_on` is
    the day the next step falls due, also when it is skipped (None when the workflow is done).
    `channel` None with a step: the email has no fallback and the debtor no address.
    `warning` explains costs the step wanted but the law does not allow yet.
    """

    step: Step | None
    due_on: date | None
    skip_reason: SkipReason | None = None
    channel: Channel | None = None
    charge_costs: bool = False
    charge_interest: bool = False
    warning: str | None = None


class NoticeGroup(NamedTuple):
    """The cases that share one email or letter (see group_key)."""

    debtor_id: int
    client_id: int
    position: int


def next_step(steps: Sequence[Step], state: CaseState) -> Step | None:
    """The first step after the case's last position, or None when the workflow is done."""
    later = [step for step in steps if step.position > state.last_position]
    return min(later, key=lambda step: step.position, default=None)


def due_on(steps: Sequence[Step], state: CaseState) -> date | None:
    """The day the next step falls due, or None when there is no next step.

    The first step counts from the oldest due date, later ones from the last step taken.
    """
    step = next_step(steps, state)
    if step is None:
        return None
    start = state.oldest_due_date if state.last_position == 0 else state.last_step_on
    assert start is not None  # CaseState refuses a position without its date
    return start + timedelta(days=step.delay_days)


def may_charge_costs(
    state: CaseState,
    today: date,
    *,
    rules: HolidayRules = STATUTORY,
    extend_to_working_day: bool = True,
) -> bool:
    """Whether the law allows charging collection costs today (the step must want them too).

    Businesses: always. Consumers: only once the 14-day term of a posted 14-day letter has
    passed (art. 6:96 lid 6 BW); `rules` and `extend_to_working_day` go to the term's rule.
    """
    if not state.is_consumer:
        return True
    posted_on = state.fourteen_day_letter_posted_on
    if posted_on is None:
        return False
    chargeable_from = costs_chargeable_from(
        posted_on, extend_to_working_day=extend_to_working_day, rules=rules
    )
    return chargeable_from <= today


def skip_reason(state: CaseState, today: date) -> SkipReason | None:
    """Why the case is paused today, or None; the workflow position plays no part here."""
    checks = (
        (SkipReason.CLOSED, state.status in STOPPED_STATUSES),
        (SkipReason.DISPUTED, state.disputed or state.status == "disputed"),
        (SkipReason.ARRANGEMENT, state.arrangement_active or state.status == "arrangement"),
        (SkipReason.PROMISE, _until(state.promise_until, today)),
        (SkipReason.ON_HOLD, _on_hold(state, today)),
        (SkipReason.DO_NOT_CONTACT, state.do_not_contact),
    )
    return next((reason for reason, applies in checks if applies), None)


def _until(last_day: date | None, today: date) -> bool:
    return last_day is not None and today <= last_day


def _on_hold(state: CaseState, today: date) -> bool:
    """On hold up to and including `on_hold_until`; status on_hold without a date: until lifted."""
    if state.on_hold_until is not None:
        return today <= state.on_hold_until
    return state.status == "on_hold"


def resolve_channel(step: Step, *, has_email: bool) -> Channel | None:
    """The step's channel, or its fallback when it is email and the debtor has no address."""
    if step.channel is Channel.EMAIL and not has_email:
        return step.fallback_channel
    return step.channel


def decide(
    steps: Sequence[Step],
    state: CaseState,
    today: date,
    *,
    rules: HolidayRules = STATUTORY,
    extend_to_working_day: bool = True,
) -> Decision:
    """The decision for one case today: the step to take with its channel and charges, or
    why nothing happens (see SkipReason for the order of the checks).
    """
    when = due_on(steps, state)
    paused = skip_reason(state, today)
    if paused is None and when is None:
        paused = SkipReason.FINISHED
    elif paused is None and when is not None and today < when:
        paused = SkipReason.NOT_DUE
    if paused is not None:
        return Decision(step=None, due_on=when, skip_reason=paused)
    step = next_step(steps, state)
    assert step is not None  # a due date implies a next step
    allowed = may_charge_costs(
        state, today, rules=rules, extend_to_working_day=extend_to_working_day
    )
    return Decision(
        step=step,
        due_on=when,
        channel=resolve_channel(step, has_email=state.has_email),
        charge_costs=step.charges_costs and allowed,
        charge_interest=step.charges_interest,
        warning=_costs_warning(step, state, allowed),
    )


def _costs_warning(step: Step, state: CaseState, allowed: bool) -> str | None:
    if not step.charges_costs or allowed:
        return None
    if state.fourteen_day_letter_posted_on is None:
        return NO_FOURTEEN_DAY_LETTER
    return TERM_RUNNING


def group_key(debtor_id: int, client_id: int, position: int) -> NoticeGroup:
    """The key that puts a debtor's cases of one client at the same step in one notice.

    A client has one workflow, so the same position means the same step and template; the
    debtor's address and contact flags are shared. Grouping is also what the law asks for
    costs: claims that could go in one reminder go in one, and their principals are added up
    before the BIK scale (so costs are computed per group, not per case).
    """
    return NoticeGroup(debtor_id, client_id, position)


def workflow_problems(steps: Sequence[Step]) -> list[str]:
    """Problems in a workflow an admin should see before saving it (empty list: none).

    Checks: positions unique; later steps not before the previous one; a 14-day letter not
    before the due date (an invoice cannot be the letter: the debtor must be in default first),
    sent by post and not charging costs itself; a step charging costs with no 14-day letter
    before it, or sooner after it than the term can end (consumers would not be charged).
    """
    ordered = sorted(steps, key=lambda step: step.position)
    problems = []
    if len({step.position for step in ordered}) != len(ordered):
        problems.append("two steps share a position")
    days_after_due, days_after_letter = 0, None
    for index, step in enumerate(ordered):
        days_after_due += step.delay_days
        if days_after_letter is not None:
            days_after_letter += step.delay_days
        if index > 0 and step.delay_days < 0:
            problems.append(f"step {step.position}: a later step cannot come before the previous")
        if step.action is StepAction.FOURTEEN_DAY_LETTER:
            problems.extend(_fourteen_day_letter_problems(step, days_after_due))
            days_after_letter = 0
        elif step.charges_costs:
            problems.extend(_costs_problems(step, days_after_letter))
    return problems


def _fourteen_day_letter_problems(step: Step, days_after_due: int) -> list[str]:
    problems = []
    if days_after_due <= 0:
        problems.append(f"step {step.position}: a 14-day letter needs the due date passed")
    if step.channel is not Channel.LETTER:
        problems.append(f"step {step.position}: a 14-day letter goes by post")
    if step.charges_costs:
        problems.append(f"step {step.position}: a 14-day letter announces costs, not charges them")
    return problems


def _costs_problems(step: Step, days_after_letter: int | None) -> list[str]:
    if days_after_letter is None:
        return [f"step {step.position}: charges costs before any 14-day letter (consumers: none)"]
    if days_after_letter < MIN_DAYS_TO_COSTS:
        return [
            f"step {step.position}: charges costs {days_after_letter} days after the 14-day "
            f"letter; its term ends {MIN_DAYS_TO_COSTS} days after posting at the earliest"
        ]
    return []
