"""The caller's workspace: outcomes and their effects, the caller screen, the promise job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Bucket,
    CallLog,
    CallOutcome,
    CallTask,
    CaseStatus,
    Dispute,
    EntryCause,
    NonPaymentReason,
    PromiseStatus,
    PromiseToPay,
    Role,
    TaskReason,
    TaskStatus,
)
from portal.services import call_queue, calls, ledger, promises
from tests.pages import csrf_token

# Monday 2 March 2026, 10:00 in Amsterdam: inside calling hours.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.fixture
def setup(app, make):
    calls.ensure_default_reasons()
    caller = make.user(Role.CALLER, language="en")
    case, _code = make.case(debtor=make.debtor(phone="+31201234567"), amounts=(500_00,))
    case.status = CaseStatus.ACTIVE
    task = call_queue.add_task(case, TaskReason.WORKFLOW_CALL, TODAY)
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.CLAIMED, caller.id, NOW
    db.session.commit()
    return caller, case, task


def _agency_today() -> date:
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def _reason_id() -> int:
    return db.session.scalar(select(NonPaymentReason.id).where(NonPaymentReason.code == "forgot"))


def _open_tasks(case) -> list[CallTask]:
    return list(db.session.scalars(select(CallTask).where(
        CallTask.case_id == case.id, CallTask.status == TaskStatus.OPEN)))


# outcome, extra kwargs, expected (follow-up reason or None, case status, debtor flags)
EFFECTS = [
    ("no_answer", {}, TaskReason.WORKFLOW_CALL, CaseStatus.ACTIVE, {}),
    ("voicemail", {}, TaskReason.WORKFLOW_CALL, CaseStatus.ACTIVE, {}),
    ("wrong_number", {}, None, CaseStatus.ACTIVE, {"phone_invalid": True}),
    ("promise", {"promise_amount_cents": 100_00, "promise_due_on": TODAY + timedelta(days=5)},
     None, CaseStatus.PROMISED, {}),
    ("arrangement", {}, None, CaseStatus.ACTIVE, {}),
    ("dispute", {"dispute_reason": "invoice_error", "note": "Wrong amount"}, None,
     CaseStatus.DISPUTED, {}),
    ("callback", {"callback_at": NOW + timedelta(days=1)}, TaskReason.CALLBACK,
     CaseStatus.ACTIVE, {}),
    ("refused", {}, None, CaseStatus.ACTIVE, {}),
    ("paid_already", {"note": "Paid last week"}, None, CaseStatus.ACTIVE, {}),
    ("deceased", {"note": "Told by a relative"}, None, CaseStatus.ACTIVE, {"do_not_call": True}),
    ("other", {"note": "Something"}, None, CaseStatus.ACTIVE, {}),
]


@pytest.mark.parametrize(("outcome", "extra", "follow_up", "status", "flags"), EFFECTS)
def test_outcome_effects(setup, outcome, extra, follow_up, status, flags):
    caller, case, task = setup
    kwargs = {"note": None, "shareable": False, **extra}
    outcome = CallOutcome(outcome)
    reason_id = None if outcome in ("no_answer", "voicemail", "wrong_number") else _reason_id()
    effect = calls.log_call(task, caller, outcome, now=NOW, started_at=NOW,
                            reason_id=reason_id, **kwargs)
    db.session.commit()

    assert task.status == TaskStatus.DONE
    assert effect.log.conversation is (outcome not in ("no_answer", "voicemail", "wrong_number"))
    open_tasks = _open_tasks(case)
    assert [t.reason for t in open_tasks] == ([follow_up] if follow_up else [])
    if outcome in ("no_answer", "voicemail"):  # next working day, 09:00 in Amsterdam
        assert open_tasks[0].day == date(2026, 3, 3)
        assert open_tasks[0].not_before == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    if outcome == "callback":
        assert open_tasks[0].not_before == NOW + timedelta(days=1)
    assert case.status == status
    for name, value in flags.items():
        assert getattr(case.debtor, name) is value
    promise = db.session.scalar(select(PromiseToPay).where(PromiseToPay.case_id == case.id))
    assert (promise is not None) is (outcome == "promise")
    if promise is not None:
        assert promise.amount_cents == 100_00 and promise.grace_days == 3
        assert case.promise_until == TODAY + timedelta(days=8)
    dispute = db.session.scalar(select(Dispute).where(Dispute.case_id == case.id))
    assert (dispute is not None) is (outcome == "dispute")
    events = [e.action for e in db.session.scalars(
        select(calls.audit.AuditEvent).where(calls.audit.AuditEvent.case_id == case.id))]
    assert "call.logged" in events


def test_a_conversation_needs_a_reason(setup):
    caller, case, task = setup
    with pytest.raises(calls.CallRefused) as refused:
        calls.log_call(task, caller, CallOutcome.REFUSED, now=NOW, started_at=NOW,
                       reason_id=None, note=None, shareable=False)
    assert "reason" in refused.value.messages


def _sign_in(client, login, user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(user)


def test_caller_screen_and_logging_through_the_form(setup, client, login):
    caller, case, task = setup
    _sign_in(client, login, caller)
    page = client.get(f"/agency/queue/tasks/{task.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="tel:+31201234567"' in html
    assert "caller-keys.js" in html and 'data-key="3"' in html

    token = csrf_token(html)
    refused = client.post(f"/agency/queue/tasks/{task.id}/log",
                          data={"csrf_token": token, "outcome": "refused"})
    assert refused.status_code == 422
    assert "Choose why the debtor has not paid" in refused.get_data(as_text=True)

    done = client.post(f"/agency/queue/tasks/{task.id}/log", data={
        "csrf_token": token, "outcome": "promise", "reason": str(_reason_id()),
        "promise_amount": "75,50",
        "promise_due_on": (_agency_today() + timedelta(days=3)).isoformat()},
        follow_redirects=True)
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert 'data-key="n"' in html  # "Next case" is the next step
    promise = db.session.scalar(select(PromiseToPay))
    assert promise.amount_cents == 75_50
    log = db.session.scalar(select(CallLog))
    assert log.caller_id == caller.id and log.outcome == CallOutcome.PROMISE
    case_page = client.get(f"/agency/cases/{case.id}").get_data(as_text=True)
    assert 'id="calls"' in case_page and "Promise to pay" in case_page


def test_the_outcome_fields_follow_the_choice(setup, client, login):
    caller, _case, task = setup
    _sign_in(client, login, caller)
    fragment = client.get(f"/agency/queue/tasks/{task.id}/fields?outcome=callback",
                          headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and 'id="outcome-fields"' in html
    assert 'name="callback_on"' in html and 'name="promise_amount"' not in html


def test_someone_elses_task_is_forbidden(setup, client, login, make):
    _caller, _case, task = setup
    other = make.user(Role.CALLER)
    supervisor = make.user(Role.SUPERVISOR)
    db.session.commit()
    _sign_in(client, login, other)
    assert client.get(f"/agency/queue/tasks/{task.id}").status_code == 403
    token = csrf_token(client.get("/agency/queue/").get_data(as_text=True))
    assert client.post(f"/agency/queue/tasks/{task.id}/log",
                       data={"csrf_token": token, "outcome": "no_answer"}).status_code == 403
    _sign_in(client, login, supervisor)
    page = client.get(f"/agency/queue/tasks/{task.id}")
    assert page.status_code == 200 and "Save the outcome" not in page.get_data(as_text=True)


def test_next_case_claims_or_explains(setup, client, login, make):
    caller, case, task = setup
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.OPEN, None, None
    db.session.commit()
    _sign_in(client, login, caller)
    assert "caller-keys.js" in client.get("/agency/queue/").get_data(as_text=True)
    home = client.get("/agency/queue/").get_data(as_text=True)
    response = client.post("/agency/queue/next", data={"csrf_token": csrf_token(home)})
    assert response.status_code == 302
    if response.location.endswith(f"/tasks/{task.id}"):  # inside calling hours
        assert db.session.get(CallTask, task.id).claimed_by_id == caller.id
    else:  # the test runs outside the debtor's hours: the page says why
        page = client.get(response.location).get_data(as_text=True)
        assert "Why there is nothing to call" in page


def test_the_shortcut_script_exists():
    source = (STATIC / "caller-keys.js").read_text()
    assert 'data-key="' in source and "requestSubmit" in source


# -- the promise job ----------------------------------------------------------------------------


def _promise(setup, due_on: date, amount: int = 100_00):
    caller, case, task = setup
    effect = calls.log_call(task, caller, CallOutcome.PROMISE, now=NOW, started_at=NOW,
                            reason_id=_reason_id(), note=None, shareable=False,
                            promise_amount_cents=amount, promise_due_on=due_on)
    db.session.commit()
    assert case.status == CaseStatus.PROMISED
    return case, effect.promise


def _pay(case, cents: int, on: date) -> None:
    ledger.book(case, Bucket.PRINCIPAL, -cents, EntryCause.PAYMENT, "Payment", booked_on=on)


def test_a_broken_promise_resumes_dunning_and_calls(setup):
    case, promise = _promise(setup, TODAY + timedelta(days=2))
    _pay(case, 40_00, TODAY + timedelta(days=1))  # not enough
    counts = promises.watch_promises(TODAY + timedelta(days=6))  # due 4th + 3 grace < 8th
    db.session.commit()
    assert counts == {"kept": 0, "broken": 1, "tasks": 1}
    assert promise.status == PromiseStatus.BROKEN
    assert promise.settled_on == TODAY + timedelta(days=6)
    assert case.promise_until is None and case.status == CaseStatus.ACTIVE
    assert [t.reason for t in _open_tasks(case)] == [TaskReason.PROMISE_BROKEN]


def test_a_kept_promise_closes(setup):
    case, promise = _promise(setup, TODAY + timedelta(days=2))
    _pay(case, 100_00, TODAY + timedelta(days=2))
    counts = promises.watch_promises(TODAY + timedelta(days=6))
    db.session.commit()
    assert counts["kept"] == 1 and promise.status == PromiseStatus.KEPT
    assert case.status == CaseStatus.ACTIVE and _open_tasks(case) == []


def test_a_promise_not_yet_due_is_left_alone(setup):
    case, promise = _promise(setup, TODAY + timedelta(days=2))
    counts = promises.watch_promises(TODAY + timedelta(days=5))  # the last grace day
    assert counts == {"kept": 0, "broken": 0, "tasks": 0}
    assert promise.status == PromiseStatus.OPEN and case.status == CaseStatus.PROMISED


def test_the_promise_job_commits(setup, app):
    from portal.jobs.promises import watch_promises_job

    case, promise = _promise(setup, TODAY)
    promise.due_on = _agency_today() - timedelta(days=10)
    case.promise_until = promise.due_on + timedelta(days=3)
    db.session.commit()
    assert watch_promises_job()["broken"] == 1
    db.session.expire_all()
    assert db.session.get(PromiseToPay, promise.id).status == PromiseStatus.BROKEN


@pytest.mark.parametrize(("debtor_language", "says"), [("en", "am I speaking with"),
                                                       ("nl", "spreek ik met")])
def test_the_script_is_in_the_debtors_language_with_the_names_filled_in(
        app, make, debtor_language, says):
    caller = make.user(Role.CALLER, language="nl", name="Sanne Mulder")
    client = make.client("Kookhuis Online B.V.")
    case, _code = make.case(client=client, debtor=make.debtor(name="Hannah Hughes",
                                                               language=debtor_language))
    task = call_queue.add_task(case, TaskReason.WORKFLOW_CALL, TODAY)
    script = calls.script_for(task, caller)
    assert says in script
    assert "Hannah Hughes" in script and "Sanne Mulder" in script
    assert "B.V.." not in script  # the client's name ends no sentence
