"""The call queue: the morning build over a small book, one open task per case, "next case"
claiming, stale claims, the rules per jurisdiction, and the cron job."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    Arrangement,
    ArrangementStatus,
    CallLog,
    CallOutcome,
    CallTask,
    CaseStatus,
    Instalment,
    InstalmentStatus,
    PromiseStatus,
    PromiseToPay,
    Role,
    TaskReason,
    TaskStatus,
)
from portal.services import call_queue, settings, workflows

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
PHONE = "+31 6 12345678"


@pytest.fixture
def book(make):
    """A small book: one case per reason to call, and cases that must stay off the queue."""
    client = make.client(call_new_cases_from_cents=500_00)
    cases = {}

    def case(name, amount=100_00, **debtor):
        debtor.setdefault("phone", PHONE)
        cases[name], _ = make.case(client=client, debtor=make.debtor(**debtor), amounts=(amount,))
        cases[name].status = CaseStatus.ACTIVE
        return cases[name]

    call_step = next(step for step in workflows.ensure_default_workflow().steps
                     if step.action == "call_task")
    at_call = case("workflow_call")
    at_call.workflow_position, at_call.last_step_on = call_step.position, TODAY
    called = case("workflow_call_already_called")
    called.workflow_position, called.last_step_on = call_step.position, TODAY - timedelta(days=2)
    caller = make.user(Role.CALLER)
    _call(called, caller, NOW - timedelta(days=1))
    db.session.add(PromiseToPay(case=case("promise_due"), amount_cents=50_00, due_on=TODAY))
    db.session.add(PromiseToPay(case=case("promise_broken"), amount_cents=50_00, due_on=TODAY
                                - timedelta(days=4), status=PromiseStatus.BROKEN,
                                settled_on=TODAY))
    # A case with both a due promise and a call step: the stronger reason (promise) wins.
    both = case("promise_and_step")
    both.workflow_position, both.last_step_on = call_step.position, TODAY
    db.session.add(PromiseToPay(case=both, amount_cents=10_00, due_on=TODAY))
    plan = Arrangement(case=case("missed_instalment"), status=ArrangementStatus.ACTIVE,
                       total_cents=100_00, instalment_count=2, start_on=TODAY - timedelta(days=40))
    plan.instalments.append(Instalment(number=1, due_on=TODAY - timedelta(days=10),
                                       amount_cents=50_00, status=InstalmentStatus.MISSED,
                                       missed_on=TODAY - timedelta(days=1)))
    db.session.add(plan)
    case("new_case", amount=600_00)
    case("new_case_below_threshold", amount=400_00)
    case("disputed", amount=900_00).status = CaseStatus.DISPUTED
    case("on_hold", amount=900_00).status = CaseStatus.ON_HOLD
    case("paid", amount=900_00).status = CaseStatus.PAID
    case("do_not_call", amount=900_00, do_not_call=True)
    callback = case("callback")
    db.session.add(CallTask(case=callback, day=TODAY - timedelta(days=1),
                            reason=TaskReason.CALLBACK, not_before=NOW + timedelta(hours=3)))
    db.session.flush()
    return cases


def _call(case, caller, at, outcome=CallOutcome.NO_ANSWER, conversation=False):
    db.session.add(CallLog(case_id=case.id, caller_id=caller.id, started_at=at, outcome=outcome,
                           conversation=conversation))
    db.session.flush()


def _open_tasks():
    rows = db.session.execute(select(CallTask.case_id, CallTask.reason).where(
        CallTask.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED))))
    return {case_id: reason for case_id, reason in rows}


def test_build_puts_each_reason_on_the_queue_once(book):
    counts = call_queue.build_queue(TODAY, NOW)
    by_case = {name: _open_tasks().get(case.id) for name, case in book.items()}
    assert by_case == {
        "workflow_call": TaskReason.WORKFLOW_CALL,
        "workflow_call_already_called": None,
        "promise_due": TaskReason.PROMISE_DUE,
        "promise_broken": TaskReason.PROMISE_BROKEN,
        "promise_and_step": TaskReason.PROMISE_DUE,
        "missed_instalment": TaskReason.MISSED_INSTALMENT,
        "new_case": TaskReason.NEW_CASE,
        "new_case_below_threshold": None,
        "disputed": None, "on_hold": None, "paid": None, "do_not_call": None,
        "callback": TaskReason.CALLBACK,
    }
    assert counts == {"workflow_call": 1, "promise_due": 2, "promise_broken": 1,
                      "missed_instalment": 1, "new_case": 1, "callback": 1}


def test_build_twice_adds_nothing_and_scores_every_task(book):
    call_queue.build_queue(TODAY, NOW)
    first = db.session.scalar(select(func.count(CallTask.id)))
    assert call_queue.build_queue(TODAY, NOW) == call_queue.build_queue(TODAY, NOW)
    assert db.session.scalar(select(func.count(CallTask.id))) == first == 7
    for task in db.session.scalars(select(CallTask)):
        assert task.priority == sum(points for _, _, points in task.factors) != 0
        assert [name for name, _, _ in task.factors][:2] == ["reason", "balance"]


def test_a_new_case_called_once_does_not_come_back(book, make):
    call_queue.build_queue(TODAY, NOW)
    task = db.session.scalar(select(CallTask).where(CallTask.case_id == book["new_case"].id))
    call_queue.finish(task, NOW)
    call_queue.build_queue(TODAY + timedelta(days=1), NOW + timedelta(days=1))
    assert book["new_case"].id not in _open_tasks()


def test_tasks_of_finished_cases_are_dropped(book):
    call_queue.build_queue(TODAY, NOW)
    book["promise_due"].status = CaseStatus.PAID
    call_queue.build_queue(TODAY, NOW)
    task = db.session.scalar(select(CallTask).where(CallTask.case_id == book["promise_due"].id))
    assert task.status == TaskStatus.DROPPED


def test_changing_the_weights_changes_the_order(book):
    call_queue.build_queue(TODAY, NOW)
    order = _order()
    assert order[0] == book["promise_broken"].id  # callbacks later today are not first yet
    settings.put("call.weights", {"reason": {"new_case": 500}})
    call_queue.build_queue(TODAY, NOW)
    assert _order()[0] == book["new_case"].id


def _order():
    return list(db.session.scalars(select(CallTask.case_id).where(
        CallTask.status == TaskStatus.OPEN, CallTask.not_before.is_(None))
        .order_by(CallTask.priority.desc())))


# -- next case -----------------------------------------------------------------------------------


def test_next_case_claims_the_best_callable_task_once(book, make):
    call_queue.build_queue(TODAY, NOW)
    ann, bob = make.user(Role.CALLER), make.user(Role.CALLER)
    first = call_queue.next_task(ann, NOW)
    assert (first.case_id, first.status, first.claimed_by_id) == (
        book["promise_broken"].id, TaskStatus.CLAIMED, ann.id)
    second = call_queue.next_task(bob, NOW)
    assert second.id != first.id
    got = {first.id, second.id}
    while (task := call_queue.next_task(ann, NOW)) is not None:
        assert task.id not in got
        got.add(task.id)
    # Six of seven: the callback is for later today.
    assert len(got) == 6
    for task in db.session.scalars(select(CallTask).where(CallTask.id.in_(got))):
        call_queue.finish(task, NOW)
    later = call_queue.next_task(ann, NOW + timedelta(hours=3))
    assert later.case_id == book["callback"].id


def test_next_case_passes_over_tasks_that_may_not_be_called_now(book, make):
    call_queue.build_queue(TODAY, NOW)
    caller = make.user(Role.CALLER)
    book["promise_broken"].debtor.timezone = "America/New_York"  # 04:00 there
    book["promise_due"].debtor.phone_invalid = True
    for hours in range(7):
        _call(book["missed_instalment"], caller, NOW - timedelta(hours=hours + 1))
    _call(book["new_case"], caller, NOW - timedelta(days=2), CallOutcome.REFUSED, True)
    task = call_queue.next_task(caller, NOW)
    assert task.case_id not in {book[n].id for n in (
        "promise_broken", "promise_due", "missed_instalment", "new_case")}
    skipped = db.session.scalar(select(CallTask).where(
        CallTask.case_id == book["promise_broken"].id))
    assert skipped.status == TaskStatus.OPEN
    assert call_queue.callability(skipped, NOW) == ["outside_hours"]
    assert call_queue.callability(skipped, NOW + timedelta(hours=5)) == []


def test_nothing_to_call_outside_hours(book, make):
    call_queue.build_queue(TODAY, NOW)
    late = datetime(2026, 3, 2, 21, tzinfo=UTC)  # 22:00 in Amsterdam
    assert call_queue.next_task(make.user(Role.CALLER), late) is None


def test_assigned_tasks_go_only_to_their_caller(book, make):
    call_queue.build_queue(TODAY, NOW)
    ann, bob = make.user(Role.CALLER), make.user(Role.CALLER)
    for task in db.session.scalars(select(CallTask)):
        task.assigned_to_id = ann.id
    assert call_queue.next_task(bob, NOW) is None
    assert call_queue.next_task(ann, NOW) is not None


def test_pinned_goes_first(book, make):
    call_queue.build_queue(TODAY, NOW)
    task = db.session.scalar(select(CallTask).where(CallTask.case_id == book["new_case"].id))
    task.pinned = True
    assert call_queue.next_task(make.user(Role.CALLER), NOW).id == task.id


def test_a_claim_left_alone_returns_to_the_queue(book, make, app):
    call_queue.build_queue(TODAY, NOW)
    ann, bob = make.user(Role.CALLER), make.user(Role.CALLER)
    task = call_queue.next_task(ann, NOW)
    assert call_queue.release_stale_claims(NOW + timedelta(minutes=19)) == 0
    assert call_queue.next_task(bob, NOW + timedelta(minutes=19)).id != task.id
    app.config["CALL_CLAIM_TIMEOUT_MINUTES"] = 20
    again = call_queue.next_task(bob, NOW + timedelta(minutes=21))
    assert again.id == task.id and again.claimed_by_id == bob.id


def test_release_and_finish(book, make):
    call_queue.build_queue(TODAY, NOW)
    caller = make.user(Role.CALLER)
    task = call_queue.next_task(caller, NOW)
    call_queue.release(task)
    assert (task.status, task.claimed_by_id) == (TaskStatus.OPEN, None)
    assert call_queue.next_task(caller, NOW).id == task.id
    call_queue.finish(task, NOW)
    assert (task.status, task.done_at) == (TaskStatus.DONE, NOW)
    assert call_queue.next_task(caller, NOW).id != task.id


def test_add_task_once_per_case(book, make):
    case = book["new_case_below_threshold"]
    supervisor = make.user(Role.SUPERVISOR)
    task = call_queue.add_task(case, TaskReason.MANUAL, TODAY, user=supervisor, note="VIP")
    assert task.priority > 0 and task.factors[0] == ["reason", "manual", 40]
    assert call_queue.add_task(case, TaskReason.CALLBACK, TODAY) is None
    call_queue.finish(task, NOW)
    assert call_queue.add_task(case, TaskReason.CALLBACK, TODAY,
                               not_before=NOW + timedelta(days=1)) is not None


def test_rules_are_per_jurisdiction(book):
    us = book["new_case"].debtor
    us.country = "US"
    settings.put("call.rules.US", {"max_attempts": 2})
    assert call_queue.rules_for(us).max_attempts == 2
    assert call_queue.rules_for(book["promise_due"].debtor).max_attempts == 7


def test_the_cron_job_builds_and_commits(book, app, monkeypatch):
    from portal.jobs import calls
    from portal.jobs.calls import build_call_queue

    monkeypatch.setattr(calls, "agency_today", lambda: TODAY)
    monkeypatch.setattr(calls, "utcnow", lambda: NOW)
    db.session.commit()
    with app.app_context():
        counts = build_call_queue()
    assert sum(counts.values()) == 7
    assert db.session.scalar(select(func.count(CallTask.id))) == 7


def test_sqlite_threads_never_share_a_task(app, make):
    """Four callers on their own connections press "next" until the queue is empty."""
    client = make.client()
    for _ in range(40):
        case, _ = make.case(client=client, debtor=make.debtor(phone=PHONE))
        db.session.add(CallTask(case=case, day=TODAY, reason=TaskReason.MANUAL))
    callers = [make.user(Role.CALLER).id for _ in range(4)]
    db.session.commit()
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(user_id):
        try:
            with app.app_context():
                from portal.models import User
                user = db.session.get(User, user_id)
                mine = got.setdefault(user_id, [])
                while (task := call_queue.next_task(user, NOW)) is not None:
                    mine.append(task.id)
                    call_queue.finish(task, NOW)
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(uid,)) for uid in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    every = [tid for ids in got.values() for tid in ids]
    assert len(every) == len(set(every)) == 40
