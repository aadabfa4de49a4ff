"""Four callers pressing "next case" at once on PostgreSQL never receive the same task."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CallTask, Role, TaskReason, TaskStatus, User
from portal.services import call_queue
from tests import factories

# Fixtures: migrated_app, a database built by `flask db upgrade`.
pytest_plugins = ["tests.databases"]

CALLERS = 4
PRESSES = 200
TASKS = CALLERS * PRESSES + 50  # enough that nobody runs dry
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam


def _seed() -> list[int]:
    make = factories.Factory()
    client = make.client()
    for n in range(TASKS):
        case, _ = make.case(client=client, debtor=make.debtor(phone="+31 6 12345678"))
        db.session.add(CallTask(case_id=case.id, day=TODAY, reason=TaskReason.MANUAL,
                                priority=n % 97))
    users = [make.user(Role.CALLER).id for _ in range(CALLERS)]
    db.session.commit()
    return users


def _press_next(app: Flask, start: threading.Barrier, user_id: int) -> list[int]:
    """One caller: 200 times "next case"; every other task is finished, the rest released."""
    got: list[int] = []
    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            start.wait()
            for press in range(PRESSES):
                task = call_queue.next_task(user, NOW)
                assert task is not None
                got.append(task.id)
                db.session.commit()  # the claim is visible to the others from here on
                if press % 2:
                    call_queue.release(task)
                else:
                    call_queue.finish(task, NOW)
                db.session.commit()
        finally:
            db.session.remove()
    return got


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
def test_four_callers_never_receive_the_same_task(migrated_app: Flask) -> None:
    users = _seed()
    start = threading.Barrier(CALLERS, timeout=60)
    with ThreadPoolExecutor(CALLERS) as pool:
        futures = [pool.submit(_press_next, migrated_app, start, uid) for uid in users]
        per_caller = [future.result(timeout=300) for future in futures]

    assert [len(got) for got in per_caller] == [PRESSES] * CALLERS
    # A released task may come back later, to anyone; what must never happen is two callers
    # holding it at the same time: finished tasks are unique, and each was finished once.
    finished = [got[i] for got in per_caller for i in range(0, PRESSES, 2)]
    assert len(finished) == len(set(finished)) == CALLERS * PRESSES // 2
    done = db.session.scalar(select(func.count()).where(CallTask.status == TaskStatus.DONE))
    assert done == len(finished)
    assert db.session.scalar(select(func.count()).where(
        CallTask.status == TaskStatus.CLAIMED)) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
def test_no_two_callers_ever_hold_one_task(migrated_app: Flask) -> None:
    """Finishing every task: the four lists of claims never overlap at all."""
    users = _seed()
    start = threading.Barrier(CALLERS, timeout=60)

    def finish_all(user_id: int) -> list[int]:
        got = []
        with migrated_app.app_context():
            try:
                user = db.session.get(User, user_id)
                start.wait()
                for _ in range(PRESSES):
                    task = call_queue.next_task(user, NOW)
                    got.append(task.id)
                    call_queue.finish(task, NOW)
                    db.session.commit()
            finally:
                db.session.remove()
        return got

    with ThreadPoolExecutor(CALLERS) as pool:
        per_caller = list(pool.map(finish_all, users))
    every = [tid for got in per_caller for tid in got]
    assert len(every) == len(set(every)) == CALLERS * PRESSES
