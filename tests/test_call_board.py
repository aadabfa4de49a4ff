"""The supervisor's board: progress, figures per caller, queue health, task actions, add by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    Bucket,
    CallLog,
    CallOutcome,
    CallTask,
    CaseStatus,
    EntryCause,
    PromiseToPay,
    Role,
    TaskReason,
    TaskStatus,
)
from portal.services import call_board, ledger
from portal.services.notices import agency_today
from tests.pages import csrf_token, flashes

HX = {"HX-Request": "true"}


@pytest.fixture
def supervisor(make, login, client):
    user = make.user(Role.SUPERVISOR, language="en", name="Sam Supervisor")
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login(user)


def _case(make, phone="+31 50 123 4567", **debtor):
    debtor = make.debtor(phone=phone, **debtor)
    case, _code = make.case(debtor=debtor)
    return case


def _task(case, status=TaskStatus.OPEN, reason=TaskReason.WORKFLOW_CALL, day=None, **fields):
    task = CallTask(case_id=case.id, day=day or date(2026, 3, 2), reason=reason, status=status,
                    priority=fields.pop("priority", 10), factors=[], **fields)
    db.session.add(task)
    db.session.flush()
    return task


def _call(case, caller, at, *, conversation=False, outcome=CallOutcome.NO_ANSWER):
    db.session.add(CallLog(case_id=case.id, caller_id=caller.id, started_at=at,
                           outcome=outcome, conversation=conversation))


def _reload(task_id: int) -> CallTask:
    """The task as the requests left it (the test's own session still holds the old row)."""
    db.session.expire_all()
    return db.session.get(CallTask, task_id)


def _payment(case, cents, at):
    entry = ledger.book(case, Bucket.PRINCIPAL, -cents, EntryCause.PAYMENT, "payment",
                        booked_on=at.date())
    entry.created_at = at


# -- figures --------------------------------------------------------------------------------


def test_caller_figures_from_a_small_book(app, make):
    ann, bob = make.user(Role.CALLER, name="Ann"), make.user(Role.CALLER, name="Bob")
    first, second, third = _case(make), _case(make), _case(make)
    day = date(2026, 3, 2)
    morning = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for minutes in (0, 5, 10):
        _call(first, ann, morning + timedelta(minutes=minutes), conversation=minutes == 10)
    _call(second, ann, morning, conversation=True, outcome=CallOutcome.PROMISE)
    _call(third, bob, morning)
    _call(first, ann, morning - timedelta(days=1), conversation=True)  # yesterday: not counted
    _payment(first, 10_00, morning)  # before the promise: not paid on it
    promise_at = morning + timedelta(minutes=10)
    db.session.add_all([
        PromiseToPay(case_id=first.id, amount_cents=50_00, due_on=day, created_by_id=ann.id,
                     created_at=promise_at),
        PromiseToPay(case_id=second.id, amount_cents=20_00, due_on=day, created_by_id=ann.id,
                     created_at=promise_at),
        PromiseToPay(case_id=third.id, amount_cents=99_00, due_on=day, created_by_id=bob.id,
                     created_at=promise_at - timedelta(days=3)),  # an older promise
    ])
    _payment(first, 30_00, promise_at + timedelta(hours=1))
    _payment(second, 40_00, promise_at + timedelta(hours=2))  # more than promised: 20.00 counts
    db.session.flush()

    figures = call_board.caller_figures(day, day)

    assert (figures[ann.id].calls, figures[ann.id].conversations) == (4, 2)
    assert (figures[ann.id].promises, figures[ann.id].promised_cents) == (2, 70_00)
    assert figures[ann.id].paid_on_promises_cents == 50_00
    assert (figures[bob.id].calls, figures[bob.id].conversations, figures[bob.id].promises) == (
        1, 0, 0)
    week = call_board.caller_figures(day - timedelta(days=6), day)
    assert week[ann.id].calls == 5
    assert (week[bob.id].promises, week[bob.id].promised_cents) == (1, 99_00)


def test_progress_counts_done_today_and_left_by_reason_and_caller(app, make):
    ann = make.user(Role.CALLER, name="Ann")
    now = datetime.now(UTC)
    today = agency_today()
    _task(_case(make), TaskStatus.DONE, claimed_by_id=ann.id, done_at=now)
    _task(_case(make), TaskStatus.DONE, TaskReason.CALLBACK, claimed_by_id=ann.id,
          done_at=now - timedelta(days=2))  # done before today
    _task(_case(make), TaskStatus.OPEN, TaskReason.CALLBACK, assigned_to_id=ann.id)
    _task(_case(make), TaskStatus.CLAIMED, claimed_by_id=ann.id, claimed_at=now)
    _task(_case(make), TaskStatus.OPEN)
    _task(_case(make), TaskStatus.DROPPED, done_at=now)

    progress = call_board.progress(today)

    assert (progress.done, progress.left) == (1, 3)
    assert progress.by_reason == {"workflow_call": (1, 2), "callback": (0, 1)}
    assert progress.by_caller == {ann.id: (1, 2), None: (0, 1)}


def test_board_page_shows_the_figures(app, make, client, supervisor):
    ann = make.user(Role.CALLER, name="Ann Caller")
    case = _case(make)
    now = datetime.now(UTC)
    _call(case, ann, now - timedelta(minutes=5), conversation=True, outcome=CallOutcome.PROMISE)
    db.session.add(PromiseToPay(case_id=case.id, amount_cents=123_45, due_on=agency_today(),
                                created_by_id=ann.id, created_at=now - timedelta(minutes=4)))
    _task(case, TaskStatus.DONE, claimed_by_id=ann.id, done_at=now)
    db.session.commit()

    page = client.get("/agency/queue/board/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html.split(f'data-caller="{ann.id}"')[1].split("</tr>")[0]
    assert "Ann Caller" in row and "123.45" in row.replace(",", ".")


# -- queue health ---------------------------------------------------------------------------


def test_queue_health_groups_tasks_by_why_they_cannot_be_called(app, make):
    ann = make.user(Role.CALLER)
    # 14:00 in Amsterdam is 22:00 in Tokyo; 09:00 in Amsterdam is midnight in Los Angeles.
    now = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    _task(_case(make, timezone="Asia/Tokyo"))
    capped = _case(make)
    for hours in range(7):
        _call(capped, ann, now - timedelta(hours=hours + 1))
    _task(capped)
    talked = _case(make)
    _call(talked, ann, now - timedelta(days=2), conversation=True)
    _task(talked)
    _task(_case(make, do_not_call=True))
    _task(_case(make, phone=None))
    disputed = _case(make)
    disputed.status = CaseStatus.DISPUTED
    _task(disputed)
    _task(_case(make))  # may be called
    old_talk = _case(make)
    _call(old_talk, ann, now - timedelta(days=8), conversation=True)
    _task(old_talk)  # the quiet days are over
    _task(_case(make, timezone="Asia/Tokyo"), TaskStatus.DONE)  # not open: not counted
    db.session.flush()

    blocked, callable_now = call_board.queue_health(now)

    assert dict(blocked) == {"outside_hours": 1, "attempt_cap": 1, "after_conversation": 1,
                             "do_not_call": 1, "no_phone": 1, "disputed": 1}
    assert callable_now == 2
    # The same answer as the dial-time check, task by task.
    from portal.services import call_queue

    open_tasks = db.session.scalars(select(CallTask).where(CallTask.status == TaskStatus.OPEN))
    per_task = [call_queue.callability(task, now) for task in open_tasks]
    assert Counter(code for codes in per_task for code in codes) == blocked
    la_morning = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    _task(_case(make, timezone="America/Los_Angeles"))
    db.session.flush()
    assert call_board.queue_health(la_morning)[0]["outside_hours"] == 1


def test_queue_health_follows_the_jurisdiction_setting(app, make):
    from portal.services import settings

    now = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 in New York
    _task(_case(make, country="US", timezone="America/New_York"))
    db.session.flush()
    assert call_board.queue_health(now) == ({}, 1)
    settings.put("call.rules.US", {"start": "09:00"})
    assert call_board.queue_health(now)[0] == {"outside_hours": 1}


# -- task actions ---------------------------------------------------------------------------


def _token(client) -> str:
    return csrf_token(client.get("/agency/queue/board/").get_data(as_text=True))


def test_reassign_pin_and_drop_swap_the_row(app, make, client, supervisor):
    ann = make.user(Role.CALLER, name="Ann Caller")
    task = _task(_case(make))
    db.session.commit()
    token = _token(client)
    base = f"/agency/queue/board/tasks/{task.id}"

    response = client.post(f"{base}/assign", data={"csrf_token": token, "caller": ann.id},
                           headers=HX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith(f'<tr id="task-{task.id}"')
    response = client.post(f"{base}/pin", data={"csrf_token": token, "pinned": "1"}, headers=HX)
    assert "Unpin" in response.get_data(as_text=True)
    response = client.post(f"{base}/drop", data={"csrf_token": token, "note": "paid at the desk"},
                           headers=HX)
    assert response.status_code == 200

    task = _reload(task.id)
    assert (task.assigned_to_id, task.pinned, task.status) == (ann.id, True, TaskStatus.DROPPED)
    assert task.note == "paid at the desk"


def test_bad_input_is_refused_with_422(app, make, client, supervisor):
    client_user = make.user(Role.CLIENT, client=make.client())
    task = _task(_case(make))
    db.session.commit()
    token = _token(client)
    base = f"/agency/queue/board/tasks/{task.id}"

    assert client.post(f"{base}/assign", data={"csrf_token": token, "caller": 999999},
                       headers=HX).status_code == 422
    assert client.post(f"{base}/assign", data={"csrf_token": token, "caller": client_user.id},
                       headers=HX).status_code == 422
    response = client.post(f"{base}/drop", data={"csrf_token": token, "note": " "}, headers=HX)
    assert response.status_code == 422
    assert "Say why the task is dropped." in response.get_data(as_text=True)
    plain = client.post(f"{base}/drop", data={"csrf_token": token, "note": ""})
    assert plain.status_code == 422 and "Say why the task is dropped." in flashes(
        plain.get_data(as_text=True))[0]
    task = _reload(task.id)
    assert (task.assigned_to_id, task.status) == (None, TaskStatus.OPEN)


def test_a_plain_form_goes_back_to_the_board(app, make, client, supervisor):
    task = _task(_case(make))
    db.session.commit()
    response = client.post(f"/agency/queue/board/tasks/{task.id}/pin",
                           data={"csrf_token": _token(client), "pinned": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/agency/queue/board/")
    assert _reload(task.id).pinned


@pytest.mark.parametrize("role", [Role.CALLER, Role.CLIENT])
def test_other_roles_may_not_use_the_board(app, make, client, login, role):
    user = make.user(role, client=make.client() if role == Role.CLIENT else None)
    task = _task(_case(make))
    db.session.commit()
    login(user)
    assert client.get("/agency/queue/board/").status_code == 403
    home = "/agency/" if role == Role.CALLER else "/client/"
    token = csrf_token(client.get(home).get_data(as_text=True))
    response = client.post(f"/agency/queue/board/tasks/{task.id}/pin",
                           data={"csrf_token": token, "pinned": "1"})
    assert response.status_code == 403
    assert not _reload(task.id).pinned


def test_admins_see_the_board_and_filter_the_list(app, make, client, login):
    admin = make.user(Role.ADMIN, language="en")
    callback = _task(_case(make), reason=TaskReason.CALLBACK)
    manual = _task(_case(make), reason=TaskReason.MANUAL)
    db.session.commit()
    login(admin)
    html = client.get("/agency/queue/board/?reason=callback").get_data(as_text=True)
    assert f'id="task-{callback.id}"' in html and f'id="task-{manual.id}"' not in html
    fragment = client.get("/agency/queue/board/?reason=manual", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True)
    assert f'id="task-{manual.id}"' in fragment.get_data(as_text=True)


# -- add by hand ----------------------------------------------------------------------------


def _add(client, reference, **extra):
    data = {"csrf_token": _token(client), "add-reference": reference, **extra}
    return client.post("/agency/queue/board/add", data=data)


def test_add_a_case_by_hand(app, make, client, supervisor):
    ann = make.user(Role.CALLER, name="Ann Caller")
    case = _case(make)
    db.session.commit()

    response = _add(client, case.reference.lower(), **{"add-caller": ann.id,
                                                       "add-note": "client asked"})

    assert response.status_code == 302
    task = db.session.scalars(select(CallTask).where(CallTask.case_id == case.id)).one()
    assert (task.reason, task.status, task.assigned_to_id) == (
        TaskReason.MANUAL, TaskStatus.OPEN, ann.id)
    assert task.note == "client asked"


def test_add_by_hand_says_why_not(app, make, client, supervisor):
    open_one, closed = _case(make), _case(make)
    _task(open_one)
    closed.status = CaseStatus.PAID
    db.session.commit()

    for reference, message in (("K-2026-999999", "No case has this reference."),
                               ("nonsense", "No case has this reference."),
                               (open_one.reference, "already on the call queue"),
                               (closed.reference, "This case is closed")):
        response = _add(client, reference)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CallTask.id))) == 1
