"""How fast the call queue is built and how fast "next case" answers, on SQLite and PostgreSQL.

    .venv/bin/python bench/calls.py [--cases 100000] [--presses 500] [--callers 4]
        [--db sqlite|postgres|both] [--database-url postgresql://postgres@127.0.0.1:5432/test]

On a freshly seeded book of open cases (set-based inserts), every one with a reason to call:
70 % at the workflow's call step, 10 % a promise due today, 5 % a promise broken today, 5 % a
missed instalment, 10 % new cases above their client's threshold; 30 % have an older call.
- build:    build_queue (inserts, then scores every open task) and its commit. Then again
            (nothing new to add: the re-score of every task).
- next:     one caller presses "next case" --presses times (next_task + commit; each task is
            finished afterwards, not timed), with every task open: p50 / p95 / max in ms.
- next xN:  --callers threads at once, each its own connection: the same figures over all.
Aims (issue 5): build under 30 s for 100k cases; next-case p95 under 30 ms on PostgreSQL.
PostgreSQL gets a throwaway database, created and dropped through the `postgres` maintenance
database: the database named in --database-url is not touched.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402 (bench/benchkit.py)

from portal import create_app  # noqa: E402 (after the path)
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Arrangement,
    ArrangementStatus,
    Bucket,
    CallLog,
    CallOutcome,
    CallTask,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    EntryCause,
    Instalment,
    InstalmentStatus,
    Invoice,
    LedgerEntry,
    PromiseStatus,
    PromiseToPay,
    Role,
    StepAction,
    TaskStatus,
    User,
)
from portal.services import call_queue, workflows  # noqa: E402

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam: everyone may be called
FIGURES: list[tuple[str, str, str]] = []


def note(backend: str, what: str, value: str) -> None:
    value = f"{value}  [load {os.getloadavg()[0]:.1f}]"
    FIGURES.append((backend, what, value))
    print(f"  [{backend}] {what}: {value}", flush=True)


def seed(n_cases: int) -> float:
    """Seed the book (see the module docstring); returns seconds taken."""
    start = time.perf_counter()
    db.drop_all()
    db.create_all()
    workflow = workflows.ensure_default_workflow()
    call_position = next(s.position for s in workflow.steps if s.action == StepAction.CALL_TASK)
    rng = random.Random(5)
    db.session.execute(insert(Client), [
        {"name": f"Client {i}", "iban": "NL91ABNA0417164300",
         "call_new_cases_from_cents": 50_00} for i in range(1, 21)])
    db.session.execute(insert(Debtor), [
        {"kind": DebtorKind.PERSON, "name": f"Debtor {i}", "phone": f"+31 6 {i:08d}",
         "country": "NL", "language": "nl", "timezone": "Europe/Amsterdam"}
        for i in range(1, n_cases + 1)])
    db.session.execute(insert(User), [
        {"email": f"caller{i}@bench.test", "name": f"Caller {i}", "password_hash": "x",
         "role": Role.CALLER} for i in range(1, 33)])
    rows: dict[type, list[dict]] = {m: [] for m in (Case, Invoice, LedgerEntry, PromiseToPay,
                                                    Arrangement, Instalment, CallLog)}
    for i in range(1, n_cases + 1):
        _case_rows(i, rng, rows, workflow.id, call_position)
    for model, batch in rows.items():
        for offset in range(0, len(batch), 20_000):
            db.session.execute(insert(model), batch[offset:offset + 20_000])
    db.session.commit()
    return time.perf_counter() - start


def _case_rows(i: int, rng: random.Random, rows: dict, workflow_id: int, call_at: int) -> None:
    due = TODAY - timedelta(days=rng.randrange(8, 200))
    amount = rng.randrange(60_00, 1_200_000)
    kind = rng.random()
    at_call = kind < 0.7
    rows[Case].append({
        "id": i, "reference": f"B-{i:08d}", "client_id": rng.randrange(1, 21), "debtor_id": i,
        "status": CaseStatus.ACTIVE, "opened_on": due + timedelta(days=1),
        "access_code_hash": "bench", "access_code_nonce": "", "failed_code_attempts": 0,
        "workflow_id": workflow_id, "workflow_position": call_at if at_call else 1,
        "last_step_on": TODAY if at_call else due + timedelta(days=7),
        "next_step_on": TODAY + timedelta(days=7)})
    rows[Invoice].append({"id": i, "case_id": i, "client_id": rows[Case][-1]["client_id"],
                          "number": f"INV-{i:08d}", "invoice_date": due - timedelta(days=30),
                          "due_date": due, "amount_cents": amount, "currency": "EUR"})
    rows[LedgerEntry].append({"case_id": i, "invoice_id": i, "bucket": Bucket.PRINCIPAL,
                              "amount_cents": amount, "cause": EntryCause.CLAIM,
                              "description": "Invoice", "booked_on": due})
    if 0.7 <= kind < 0.85:
        broken = kind >= 0.8
        rows[PromiseToPay].append({
            "case_id": i, "amount_cents": amount // 2, "grace_days": 3, "paid_before_cents": 0,
            "due_on": TODAY - timedelta(days=4) if broken else TODAY,
            "status": PromiseStatus.BROKEN if broken else PromiseStatus.OPEN,
            "settled_on": TODAY if broken else None})
    elif 0.85 <= kind < 0.9:
        rows[Arrangement].append({"id": i, "case_id": i, "status": ArrangementStatus.ACTIVE,
                                  "total_cents": amount, "instalment_count": 3,
                                  "start_on": TODAY - timedelta(days=40)})
        rows[Instalment].append({"arrangement_id": i, "number": 1, "amount_cents": amount // 3,
                                 "due_on": TODAY - timedelta(days=10),
                                 "status": InstalmentStatus.MISSED,
                                 "missed_on": TODAY - timedelta(days=1)})
    if rng.random() < 0.3 and kind < 0.9:  # an older call (new cases have none)
        rows[CallLog].append({"case_id": i, "caller_id": 1, "outcome": CallOutcome.NO_ANSWER,
                              "started_at": NOW - timedelta(days=rng.randrange(10, 60)),
                              "conversation": rng.random() < 0.4, "shareable": False,
                              "created_at": NOW})


def bench_build(backend: str) -> None:
    for label in ("build", "build again"):
        db.session.remove()
        start = time.perf_counter()
        counts = call_queue.build_queue(TODAY, NOW)
        db.session.commit()
        note(backend, label, f"{time.perf_counter() - start:.2f} s, {sum(counts.values())} "
                             f"open tasks {dict(sorted(counts.items()))}")


def _press(app: Flask, user_id: int, presses: int, start: threading.Barrier | None) -> list:
    times = []
    with app.app_context():
        user = db.session.get(User, user_id)
        if start is not None:
            start.wait()
        for _ in range(presses):
            begin = time.perf_counter()
            task = call_queue.next_task(user, NOW)
            db.session.commit()
            times.append((time.perf_counter() - begin) * 1000)
            if task is None:
                break
            call_queue.finish(task, NOW)
            db.session.commit()
        db.session.remove()
    return times


def _latency(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return (f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ordered[-1]:.1f} ms over {len(ordered)}")


def bench_next(app: Flask, backend: str, presses: int, callers: int) -> None:
    open_tasks = db.session.scalar(select(func.count()).where(
        CallTask.status == TaskStatus.OPEN))
    _press(app, 32, 20, None)  # warm the connection pool and statement caches
    note(backend, f"next, 1 caller, {open_tasks} open", _latency(_press(app, 1, presses, None)))
    barrier = threading.Barrier(callers)
    results: list[list[float]] = []
    errors: list[str] = []

    def caller(uid: int) -> None:
        try:
            results.append(_press(app, uid, presses, barrier))
        except OperationalError as exc:  # SQLite: "database is locked" under concurrent writers
            errors.append(str(exc.orig))

    threads = [threading.Thread(target=caller, args=(uid,)) for uid in range(2, 2 + callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = [t for ts in results for t in ts]
    failed = f"; {len(errors)} callers failed: {errors[0]}" if errors else ""
    note(backend, f"next, {callers} callers at once", (_latency(times) if times else "-") + failed)


def run(kind: str, args: argparse.Namespace, tmp: Path) -> None:
    with benchkit.throwaway_database(kind, args.database_url, tmp, "bench_calls") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                          "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10}
                          if kind == "postgres" else {}})
        with app.app_context():
            note(kind, f"seed {args.cases} cases", f"{seed(args.cases):.1f} s")
            bench_build(kind)
            bench_next(app, kind, args.presses, args.callers)
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=500)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database-url", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
        for kind in kinds:
            print(f"{kind}:", flush=True)
            run(kind, args, Path(tmp))
    print("\nfigures:")
    for backend, what, value in FIGURES:
        print(f"  {backend:9} {what:32} {value}")


if __name__ == "__main__":
    main()
