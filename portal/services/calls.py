"""Logging a call and acting on its outcome: a follow-up attempt, a flagged number, a promise to
pay, a dispute, a callback. Each call is a CallLog and a "call.logged" audit event (so it shows
in the case's timeline); the task is finished. Flush only: the view commits.

No answer / voicemail: the task is done and the case gets a fresh attempt task for the next
working day (not before 09:00 in the debtor's time zone). A new task, rather than the same one
kept open, keeps one task per queue day, so the supervisor's "done today" counts stay true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    UNANSWERED,
    CallLog,
    CallOutcome,
    CallTask,
    Case,
    DisputeReason,
    NonPaymentReason,
    PromiseStatus,
    PromiseToPay,
    TaskReason,
    TaskStatus,
    User,
)
from portal.services import (
    audit,
    call_queue,
    call_reasons,
    call_scripts,
    case_status,
    disputes,
    ledger,
)

Outcome = CallOutcome

OUTCOME_LABELS = {
    Outcome.NO_ANSWER: _l("No answer"),
    Outcome.VOICEMAIL: _l("Voicemail"),
    Outcome.WRONG_NUMBER: _l("Wrong number"),
    Outcome.PROMISE: _l("Promise to pay"),
    Outcome.ARRANGEMENT: _l("Payment plan"),
    Outcome.DISPUTE: _l("Dispute"),
    Outcome.CALLBACK: _l("Call back later"),
    Outcome.REFUSED: _l("Refuses to pay"),
    Outcome.PAID_ALREADY: _l("Says it is paid"),
    Outcome.DECEASED: _l("Deceased"),
    Outcome.OTHER: _l("Other"),
}

FIRST_CALL_HOUR = time(9, 0)
MAX_NOTE = 2000


class CallRefused(ValueError):
    """The call cannot be logged as entered; `messages` say why (keyed by form field)."""

    def __init__(self, messages: dict[str, object]) -> None:
        super().__init__(*messages.values())
        self.messages = messages


@dataclass(frozen=True)
class Effect:
    """What logging the call did, for the caller's confirmation."""

    log: CallLog
    follow_up: CallTask | None = None
    promise: PromiseToPay | None = None


def ensure_default_reasons() -> int:
    """Add the usual non-payment reasons that are missing; returns how many (the demo and
    tests call it; the list itself is kept by services.call_reasons)."""
    return call_reasons.add_defaults()


def active_reasons() -> list[NonPaymentReason]:
    return call_reasons.active_reasons()


def script_for(task: CallTask, caller: User) -> str:
    """The script for the task's reason in the debtor's language (the language of the call),
    names filled in."""
    case = task.case
    return call_scripts.script_for(task.reason, case.debtor.language, caller=caller.name,
                                   client=case.client.name, debtor=case.debtor.name)


def agency_day(now: datetime) -> date:
    return now.astimezone(ZoneInfo(current_app.config["AGENCY_TIMEZONE"])).date()


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def promise_grace_days() -> int:
    return int(current_app.config["PROMISE_GRACE_DAYS"])


def log_call(
    task: CallTask,
    caller: User,
    outcome: CallOutcome,
    *,
    now: datetime,
    started_at: datetime | None,
    reason_id: int | None,
    note: str | None,
    shareable: bool,
    promise_amount_cents: int | None = None,
    promise_due_on: date | None = None,
    callback_at: datetime | None = None,
    dispute_reason: str | None = None,
) -> Effect:
    """Log one call on a claimed task, act on its outcome and finish the task (flushes).

    Raises CallRefused, before anything changes, when the entry is incomplete."""
    case, today = task.case, agency_day(now)
    note = (note or "").strip()[:MAX_NOTE] or None
    reason = _check(outcome, reason_id=reason_id, note=note, today=today, now=now,
                    promise_amount_cents=promise_amount_cents, promise_due_on=promise_due_on,
                    callback_at=callback_at, dispute_reason=dispute_reason, case=case)
    log = CallLog(case_id=case.id, task_id=task.id, caller_id=caller.id,
                  phone=case.debtor.phone, started_at=started_at or now, ended_at=now,
                  outcome=outcome, conversation=outcome not in UNANSWERED,
                  reason_id=reason.id if reason else None, note=note, shareable=shareable)
    db.session.add(log)
    db.session.flush()
    call_queue.finish(task, now)
    effect = _act(outcome, log, task, caller, today=today, now=now,
                  promise_amount_cents=promise_amount_cents, promise_due_on=promise_due_on,
                  callback_at=callback_at, dispute_reason=dispute_reason)
    audit.record("call.logged", _summary(log, effect, reason), case=case, user=caller,
                 call_log=log.id, outcome=str(outcome), conversation=log.conversation,
                 reason=reason.code if reason else None,
                 amount_cents=promise_amount_cents if effect.promise else None,
                 note=note if shareable else None)
    db.session.flush()
    return effect


def _check(outcome, *, reason_id, note, today, now, promise_amount_cents, promise_due_on,
           callback_at, dispute_reason, case) -> NonPaymentReason | None:
    problems: dict[str, object] = {}
    reason = db.session.get(NonPaymentReason, reason_id) if reason_id else None
    if reason is not None and not reason.active:
        reason = None
    if outcome not in UNANSWERED and reason is None:
        problems["reason"] = _l("Choose why the debtor has not paid: you spoke to them.")
    if outcome == Outcome.PROMISE:
        if not promise_amount_cents or promise_amount_cents <= 0:
            problems["promise_amount"] = _l("Fill in the amount promised.")
        if promise_due_on is None or promise_due_on < today:
            problems["promise_due_on"] = _l("Fill in the day of payment: today or later.")
    if outcome == Outcome.CALLBACK and (callback_at is None or callback_at <= now):
        problems["callback_on"] = _l("Fill in a day and time to call back, later than now.")
    if outcome == Outcome.DISPUTE:
        if dispute_reason not in {str(r) for r in DisputeReason}:
            problems["dispute_reason"] = _l("Choose what the dispute is about.")
        elif case_status.has_open_dispute(case):
            problems["dispute_reason"] = _l("There is already an open dispute about this case.")
        if not note:
            problems["note"] = _l("Write down what the debtor disputes.")
    if outcome in (Outcome.OTHER, Outcome.DECEASED, Outcome.PAID_ALREADY) and not note:
        problems["note"] = _l("Write a short note on what was said.")
    if problems:
        raise CallRefused(problems)
    return reason


def _act(outcome, log, task, caller, *, today, now, promise_amount_cents, promise_due_on,
         callback_at, dispute_reason) -> Effect:
    case, debtor = task.case, task.case.debtor
    if outcome in (Outcome.NO_ANSWER, Outcome.VOICEMAIL):
        day = next_working_day(today)
        at = datetime.combine(day, FIRST_CALL_HOUR, ZoneInfo(debtor.timezone))
        return Effect(log, follow_up=call_queue.add_task(
            case, task.reason, day, user=caller, not_before=_utc(at)))
    if outcome == Outcome.WRONG_NUMBER:
        debtor.phone_invalid = True
        audit.record("debtor.phone_invalid", f"Phone number {debtor.phone} marked wrong",
                     case=case, user=caller, client_visible=False, phone=debtor.phone)
    elif outcome == Outcome.PROMISE:
        return Effect(log, promise=_promise(case, caller, log, today, promise_amount_cents,
                                            promise_due_on))
    elif outcome == Outcome.DISPUTE:
        disputes.open_dispute(case, DisputeReason(dispute_reason), log.note or "", [],
                              today=today, user=caller)
    elif outcome == Outcome.CALLBACK:
        local = callback_at.astimezone(ZoneInfo(debtor.timezone))
        return Effect(log, follow_up=call_queue.add_task(
            case, TaskReason.CALLBACK, local.date(), user=caller, not_before=_utc(callback_at),
            note=log.note))
    elif outcome == Outcome.PAID_ALREADY:
        audit.record("call.check_payments", "The debtor says it is paid: check the payments",
                     case=case, user=caller, client_visible=True, note=log.note)
    elif outcome == Outcome.DECEASED:
        debtor.do_not_call = True
        audit.record("debtor.deceased", "The debtor is reported deceased: no more calls",
                     case=case, user=caller, client_visible=True, note=log.note)
    return Effect(log)


def _promise(case: Case, caller: User, log: CallLog, today: date, amount_cents: int,
             due_on: date) -> PromiseToPay:
    """A new promise replaces an open one; dunning waits until the day plus grace days."""
    for old in db.session.scalars(select(PromiseToPay).where(
            PromiseToPay.case_id == case.id, PromiseToPay.status == PromiseStatus.OPEN)):
        old.status, old.settled_on = PromiseStatus.CANCELLED, today
    grace = promise_grace_days()
    promise = PromiseToPay(case_id=case.id, amount_cents=amount_cents, due_on=due_on,
                           grace_days=grace, paid_before_cents=ledger.balance(case).paid,
                           call_log_id=log.id, created_by_id=caller.id)
    db.session.add(promise)
    case.promise_until = due_on + timedelta(days=grace)
    db.session.flush()
    case_status.refresh(case, today)
    return promise


def _summary(log: CallLog, effect: Effect, reason: NonPaymentReason | None) -> str:
    text = f"Call: {str(log.outcome).replace('_', ' ')}"
    if effect.promise is not None:
        text += (f", {effect.promise.amount_cents / 100:.2f} by "
                 f"{effect.promise.due_on.isoformat()}")
    if reason is not None:
        text += f" ({reason.label_en})"
    return text


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC"))


def outcome_label(outcome: object) -> str:
    try:
        return str(OUTCOME_LABELS[CallOutcome(str(outcome))])
    except ValueError:
        return str(outcome)


def caller_may_log(task: CallTask, user: User) -> bool:
    """Only the caller who claimed the task logs on it (a supervisor reassigns instead)."""
    return task.status == TaskStatus.CLAIMED and task.claimed_by_id == user.id


def calls_for_case(case: Case) -> list[CallLog]:
    return list(db.session.scalars(select(CallLog).where(CallLog.case_id == case.id)
                                   .order_by(CallLog.started_at.desc(), CallLog.id.desc())))


def calls_today(caller: User, now: datetime) -> list[CallLog]:
    """The caller's calls since the start of the agency's day."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    start = datetime.combine(agency_day(now), time(0), zone)
    return list(db.session.scalars(select(CallLog).where(
        CallLog.caller_id == caller.id, CallLog.started_at >= _utc(start))
        .order_by(CallLog.started_at.desc())))


def open_promise(case: Case) -> PromiseToPay | None:
    return db.session.scalar(select(PromiseToPay).where(
        PromiseToPay.case_id == case.id, PromiseToPay.status == PromiseStatus.OPEN)
        .order_by(PromiseToPay.id.desc()).limit(1))
