"""The dunning batch over a small book: what it records, books and moves, run by run.

The jobs run in-process: `portal.queue._enqueue_all` is replaced by a list, so what a job
enqueues after its commit is seen (and chunk jobs are run by hand) without Redis. One test
goes through a real Redis and `worker.py --burst`.

The book (default workflow: +7 email, +14 email, +14 14-day letter, +21 final demand,
+7 call, +21 legal handover), invoices due Tuesday 2026-03-03 unless noted:
  P  consumer   client C:  p1 1,234.56;  p2 500.00 + 265.45 (due 03-05)
  P  consumer   client C2: p3 100.00          (same debtor, other client: its own notice)
  B  business   client CV (VAT on costs): b1 150.00
  Q  consumer   C: q1 700.00   its 14-day letter goes out a week late
  R  consumer   C: r1 300.00   its 14-day letter is cancelled at send time
  D  consumer   C: d1 200.00   disputed
  H  consumer   C: h1 200.00 due 03-01, on hold until 03-09 (resumes on the 10th)
  H2 consumer   C: h2 200.00 due 03-01, on hold until 03-11
  N  consumer   C: n1 200.00   no email address (the reminder falls back to a letter)
  L  consumer   C: l1 200.00 due 03-05 (first step 03-12: not due on the 10th)
  Z  consumer   C: z1 200.00   paid
Step days for the 03-03 cases: 03-10, 03-24, 04-07 (14-day letter), 04-28 (final demand),
05-05 (call), 05-26 (legal handover).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from sqlalchemy import event, func, select, text

from portal.config import ROOT
from portal.domain.costs import costs_shares, statutory_collection_costs
from portal.domain.dunning import NO_FOURTEEN_DAY_LETTER, TERM_RUNNING
from portal.domain.interest import statutory_interest
from portal.domain.money import split_pro_rata
from portal.extensions import db
from portal.jobs import dunning as jobs
from portal.models import (
    AuditEvent,
    BatchRun,
    Case,
    CaseStatus,
    Channel,
    Communication,
    DebtorKind,
    DeliveryStatus,
    EntryCause,
    LedgerEntry,
    Notice,
    RunStatus,
    StepAction,
)
from portal.services import dunning, dunning_runs, workflows
from portal.services.cases import InvoiceData, open_case
from tests import factories
from tests.test_jobs import _worker_env
from tests.test_queue import REDIS_TIERS, tier_redis_url

# Fixtures: migrated_app, a database built by `flask db upgrade`, on SQLite and PostgreSQL.
pytest_plugins = ["tests.databases"]

D = date.fromisoformat
DUE = D("2026-03-03")
STEP_DAYS = [D("2026-03-10"), D("2026-03-24"), D("2026-04-07"), D("2026-04-28"),
             D("2026-05-05"), D("2026-05-26")]
LETTER_DAY, FINAL_DAY, LEGAL_DAY = STEP_DAYS[2], STEP_DAYS[3], STEP_DAYS[5]


# -- the book and the in-process job runner --------------------------------------------------


def _case(make, client, debtor, *invoices: tuple[int, date], status=CaseStatus.NEW, **fields):
    data = [InvoiceData(f"{client.id}-{debtor.id}-{n}-{amount}", due - timedelta(days=30), due,
                        amount) for n, (amount, due) in enumerate(invoices)]
    case, _code = open_case(client, debtor, data, opened_on=DUE)
    workflows.start_case(case)
    case.status = status
    for name, value in fields.items():
        setattr(case, name, value)
    return case


def _build_book(make) -> SimpleNamespace:
    """The book of the module docstring, committed; its case ids by name."""
    c, c2, cv = make.client(), make.client(), make.client(charges_vat_on_costs=True)
    person = {name: make.debtor(name=name) for name in "PQRDHGLZ"}
    person["N"] = make.debtor(name="N", email=None)
    business = make.debtor(DebtorKind.BUSINESS, name="B")
    due1 = D("2026-03-01")
    cases = {
        "p1": _case(make, c, person["P"], (123456, DUE)),
        "p2": _case(make, c, person["P"], (50000, DUE), (26545, D("2026-03-05"))),
        "p3": _case(make, c2, person["P"], (10000, DUE)),
        "b1": _case(make, cv, business, (15000, DUE)),
        "q1": _case(make, c, person["Q"], (70000, DUE)),
        "r1": _case(make, c, person["R"], (30000, DUE)),
        "d1": _case(make, c, person["D"], (20000, DUE), status=CaseStatus.DISPUTED),
        "h1": _case(make, c, person["H"], (20000, due1), status=CaseStatus.ON_HOLD,
                    on_hold_until=D("2026-03-09")),
        "h2": _case(make, c, person["G"], (20000, due1), status=CaseStatus.ON_HOLD,
                    on_hold_until=D("2026-03-11")),
        "n1": _case(make, c, person["N"], (20000, DUE)),
        "l1": _case(make, c, person["L"], (20000, D("2026-03-05"))),
        "z1": _case(make, c, person["Z"], (20000, DUE), status=CaseStatus.PAID),
    }
    db.session.commit()
    return SimpleNamespace(**{name: case.id for name, case in cases.items()})


@pytest.fixture
def book(app, make) -> SimpleNamespace:
    return _build_book(make)


@pytest.fixture
def enqueued(monkeypatch):
    """What jobs enqueued after their commits: (queue, function, args) in order."""
    sent: list[tuple[str, str, tuple]] = []

    def collect(pending):
        sent.extend((queue, name, args) for queue, name, args, _kwargs in pending)

    monkeypatch.setattr("portal.queue._enqueue_all", collect)
    return sent


@pytest.fixture
def run_day(enqueued, monkeypatch):
    """Run the morning batch for a day and then its chunk jobs, in-process; returns the run."""

    def run(day: date) -> BatchRun:
        monkeypatch.setattr(jobs, "agency_today", lambda: day)
        start = len(enqueued)
        run_id = jobs.morning_batch()
        for queue, name, args in list(enqueued[start:]):
            if name == jobs.RUN_CHUNK:
                assert queue == "dunning"
                jobs.run_chunk(*args)
        return db.session.get(BatchRun, run_id)

    return run


def _deliver(day: date, *, late: dict[int, date] | None = None, cancel=()) -> None:
    """Play the sender: the day's notices go out that morning; cases in `late` only on the
    day given, those in `cancel` are cancelled (a contact rule said no at send time)."""
    late = late or {}
    for notice in db.session.scalars(select(Notice).where(Notice.dated == day)):
        case_ids = {comm.case_id for comm in notice.communications}
        if case_ids & set(cancel):
            notice.status = DeliveryStatus.CANCELLED
            continue
        sent_on = max((late[i] for i in case_ids if i in late), default=day)
        notice.status = DeliveryStatus.SENT
        notice.sent_at = datetime(sent_on.year, sent_on.month, sent_on.day, 9, tzinfo=UTC)
    db.session.commit()


def _handed(enqueued) -> dict[str, list[list[int]]]:
    """The delivery jobs enqueued: queue -> the notice ids of each job."""
    jobs_by_queue: dict[str, list[list[int]]] = {}
    for queue, name, args in enqueued:
        if name == "portal.jobs.delivery.deliver_notices":
            jobs_by_queue.setdefault(queue, []).append(args[0])
    return jobs_by_queue


def _walk(run_day, until: date, *, late=None, cancel=()) -> dict[date, BatchRun]:
    """Run every step day up to `until`, delivering each day's notices after its run."""
    runs = {}
    for day in STEP_DAYS:
        if day > until:
            break
        runs[day] = run_day(day)
        _deliver(day, late=late, cancel=cancel)
    return runs


def _notices() -> list[tuple[str, Channel, list[int]]]:
    """(debtor name, channel, case ids) per notice, in id order."""
    rows = db.session.scalars(select(Notice).order_by(Notice.id))
    return [(db.session.get(Case, n.communications[0].case_id).debtor.name, n.channel,
             sorted(c.case_id for c in n.communications)) for n in rows]


def _entries(case_id: int, cause: EntryCause) -> list[tuple[int, date, str | None]]:
    rows = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.case_id == case_id, LedgerEntry.cause == cause).order_by(LedgerEntry.id))
    return [(entry.amount_cents, entry.booked_on, entry.cause_ref) for entry in rows]


def _row_counts() -> dict[str, int]:
    models = {"notices": Notice, "communications": Communication, "ledger": LedgerEntry,
              "steps": AuditEvent}
    counts = {name: db.session.scalar(select(func.count()).select_from(model))
              for name, model in models.items()}
    counts["steps"] = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "dunning.step"))
    return counts


def _position(case_id: int) -> tuple[int, date | None, date | None, CaseStatus]:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return case.workflow_position, case.last_step_on, case.next_step_on, case.status


def _interest_owed(case_id: int, until: date) -> int:
    """What statutory_interest gives for the case's invoices up to `until`, by the domain."""
    case = db.session.get(Case, case_id)
    return sum(
        statutory_interest(invoice.amount_cents, invoice.due_date + timedelta(days=1), until,
                           commercial=not case.debtor.is_consumer)
        for invoice in case.invoices
    )


# -- the first reminder day ---------------------------------------------------------------


def test_the_first_reminder_day_records_one_notice_per_debtor_and_client(book, run_day):
    run = run_day(STEP_DAYS[0])
    b = book
    assert _notices() == [
        ("P", Channel.EMAIL, [b.p1, b.p2]),  # two cases of one client: one email
        ("P", Channel.EMAIL, [b.p3]),
        ("B", Channel.EMAIL, [b.b1]),
        ("Q", Channel.EMAIL, [b.q1]),
        ("R", Channel.EMAIL, [b.r1]),
        ("H", Channel.EMAIL, [b.h1]),  # on hold until yesterday: resumed
        ("N", Channel.LETTER, [b.n1]),  # no address: the fallback letter
    ]
    assert (run.status, run.cases_due, run.chunks_total, run.chunks_done) == (
        RunStatus.DONE, 10, 1, 1)
    assert run.counts == {
        "email_reminder/email": 7, "email_reminder/letter": 1,
        "notices/email": 6, "notices/letter": 1,
        "skipped/disputed": 1, "skipped/on_hold": 1,
    }


def test_the_first_reminder_day_writes_the_notice_details_and_keys(book, run_day):
    run = run_day(STEP_DAYS[0])
    step = workflows.ensure_default_workflow().steps[0]
    notice = db.session.scalars(select(Notice).order_by(Notice.id)).first()
    case = db.session.get(Case, book.p1)
    assert (notice.key, notice.batch_run_id, notice.action, notice.template_key,
            notice.language, notice.dated, notice.status, notice.to_address) == (
        f"{case.debtor_id}:{case.client_id}:1:2026-03-10", run.id, StepAction.EMAIL_REMINDER,
        "friendly_reminder", "nl", STEP_DAYS[0], DeliveryStatus.QUEUED, case.debtor.email,
    )
    keys = sorted(comm.idempotency_key for comm in notice.communications)
    assert keys == sorted(f"case:{i}:step:{step.id}" for i in (book.p1, book.p2))
    letter = db.session.scalars(select(Notice).where(Notice.channel == Channel.LETTER)).one()
    assert letter.to_address is None


def test_a_case_due_after_its_groups_notice_went_out_gets_a_notice_of_its_own(book, run_day):
    # p2 is on hold on the morning of the 10th; p1's email goes out; the hold is lifted and
    # the batch runs again that afternoon: p2 cannot join an email that was already sent.
    p2 = db.session.get(Case, book.p2)
    p2.status, p2.on_hold_until = CaseStatus.ON_HOLD, STEP_DAYS[0]
    db.session.commit()
    run_day(STEP_DAYS[0])
    _deliver(STEP_DAYS[0])
    p2 = db.session.get(Case, book.p2)
    p2.status, p2.on_hold_until = CaseStatus.ACTIVE, None
    db.session.commit()
    afternoon = run_day(STEP_DAYS[0])
    assert afternoon.counts["notices/email"] == 1
    covers = {n.key: (n.status, [c.case_id for c in n.communications])
              for n in db.session.scalars(select(Notice))}
    [(key, (status, cases))] = [(k, v) for k, v in covers.items() if book.p2 in v[1]]
    assert key == f"{p2.debtor_id}:{p2.client_id}:1:2026-03-10:2"
    assert (status, cases) == (DeliveryStatus.QUEUED, [book.p2])
    assert covers[key.removesuffix(":2")] == (DeliveryStatus.SENT, [book.p1])


def test_the_first_reminder_day_moves_the_cases_it_took_and_no_others(book, run_day):
    before = {name: _position(case_id) for name, case_id in vars(book).items()}
    run_day(STEP_DAYS[0])
    taken = ("p1", "p2", "p3", "b1", "q1", "r1", "h1", "n1")
    for name, case_id in vars(book).items():
        if name in taken:
            assert _position(case_id) == (1, STEP_DAYS[0], STEP_DAYS[1], CaseStatus.ACTIVE), name
        else:
            assert _position(case_id) == before[name], name
    assert _row_counts()["steps"] == len(taken)
    # Reminders charge nothing: only the claims are in the ledger.
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.cause != EntryCause.CLAIM)) == 0


def test_each_step_is_audited_for_the_client(book, run_day):
    run_day(STEP_DAYS[0])
    [event_] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "dunning.step", AuditEvent.case_id == book.n1))
    assert event_.client_visible is True
    assert event_.summary == "Friendly reminder recorded, to go by letter (step 1)"
    assert event_.detail["position"] == 1 and event_.detail["costs_cents"] == 0


# -- selecting the due cases --------------------------------------------------------------


def test_due_cases_are_selected_in_one_query_without_closed_or_paid_cases(app, book):
    for name, status in (("l1", CaseStatus.CLOSED), ("p3", CaseStatus.WITHDRAWN),
                         ("b1", CaseStatus.LEGAL)):
        db.session.get(Case, getattr(book, name)).status = status
    db.session.get(Case, book.l1).next_step_on = STEP_DAYS[0]
    db.session.commit()
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        ids = dunning_runs.due_case_ids(STEP_DAYS[0])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    b = book
    assert ids == sorted([b.p1, b.p2, b.q1, b.r1, b.d1, b.h1, b.h2, b.n1])
    assert dunning_runs.due_case_ids(STEP_DAYS[0], limit=2) == ids[:2]


def test_nothing_is_due_before_the_first_step_date(app, book):
    assert dunning_runs.due_case_ids(STEP_DAYS[0] - timedelta(days=3)) == []


def test_chunks_never_split_a_debtors_cases(app, book, make):
    chunks = dunning_runs.plan_chunks(STEP_DAYS[0], 1)
    p_cases = {book.p1, book.p2, book.p3}
    assert [chunk for chunk in chunks if set(chunk) & p_cases] == [sorted(p_cases)]
    assert sorted(i for chunk in chunks for i in chunk) == dunning_runs.due_case_ids(STEP_DAYS[0])
    assert all(len(chunk) == 1 for chunk in chunks if not set(chunk) & p_cases)


def test_a_run_in_small_chunks_records_the_same_as_one_chunk(app, book, run_day):
    app.config["DUNNING_CHUNK_SIZE"] = 2
    run = run_day(STEP_DAYS[0])
    # P (3 cases, kept whole) | Q R | D H | G N | B
    assert (run.chunks_total, run.chunks_done, run.status) == (5, 5, RunStatus.DONE)
    assert run.counts["email_reminder/email"] == 7
    assert [cases for _, _, cases in _notices()][0] == [book.p1, book.p2]


# -- idempotency --------------------------------------------------------------------------


def test_a_second_run_on_the_same_day_records_nothing_twice(book, run_day, enqueued):
    first = run_day(STEP_DAYS[0])
    rows = _row_counts()
    positions = {name: _position(i) for name, i in vars(book).items()}
    sent_first = {queue: sum(map(len, ids)) for queue, ids in _handed(enqueued).items()}
    # One email went out; the rest were never picked up (their jobs lost with Redis, say).
    db.session.scalars(select(Notice).order_by(Notice.id)).first().status = DeliveryStatus.SENT
    db.session.commit()
    enqueued.clear()
    second = run_day(STEP_DAYS[0])
    assert _row_counts() == rows
    assert {name: _position(i) for name, i in vars(book).items()} == positions
    assert second.counts == {"skipped/disputed": 1, "skipped/on_hold": 1}
    assert first.counts["email_reminder/email"] == 7
    assert sent_first == {"mail": 6, "letters": 1}
    still_queued = db.session.scalars(select(Notice.id).where(
        Notice.status == DeliveryStatus.QUEUED).order_by(Notice.id)).all()
    assert len(still_queued) == 6
    assert sorted(i for ids in _handed(enqueued)["mail"] for i in ids) == still_queued[:-1]
    assert _handed(enqueued)["letters"] == [still_queued[-1:]]


def test_a_step_recorded_before_is_not_recorded_or_charged_again(book, run_day):
    # A run that lost the case's move but kept its communication (as a concurrent run would
    # see it): the idempotency key stops a second record and a second charge.
    _walk(run_day, FINAL_DAY)
    rows = _row_counts()
    case = db.session.get(Case, book.p1)
    case.workflow_position, case.last_step_on, case.next_step_on = 3, LETTER_DAY, FINAL_DAY
    db.session.commit()
    run = run_day(FINAL_DAY)
    assert run.counts == {"repeated/final_demand": 1, "skipped/disputed": 1}
    assert _row_counts() == rows
    assert _position(book.p1)[:3] == (4, FINAL_DAY, STEP_DAYS[4])


# -- sending is enqueued after the commit --------------------------------------------------


def test_the_notices_are_handed_to_their_senders_in_batches(book, run_day, enqueued,
                                                            monkeypatch):
    monkeypatch.setattr(jobs, "SENDING_BATCH", 4)
    run_day(STEP_DAYS[0])
    by_channel: dict[Channel, list[int]] = {Channel.EMAIL: [], Channel.LETTER: []}
    for notice in db.session.scalars(select(Notice).order_by(Notice.id)):
        by_channel[notice.channel].append(notice.id)
    emails = by_channel[Channel.EMAIL]
    assert _handed(enqueued) == {
        "mail": [emails[:4], emails[4:]],  # six emails, four to a job
        "letters": [by_channel[Channel.LETTER]],
    }


def test_nothing_is_handed_to_a_sender_before_the_commit(book, run_day, enqueued, monkeypatch):
    def commit_fails():
        raise RuntimeError("the commit failed")

    run, _chunks = dunning_runs.start_run(STEP_DAYS[0], trigger="cron")
    db.session.commit()
    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", commit_fails)
        with pytest.raises(RuntimeError, match="the commit failed"):
            jobs.run_chunk(run.id, [book.p1, book.p2], STEP_DAYS[0].isoformat())
    db.session.rollback()
    assert enqueued == []
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_failed_chunk_leaves_its_cases_due_for_the_next_run(book, run_day, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    settle = dunning._settle
    monkeypatch.setattr(dunning, "_settle", broken)
    with pytest.raises(RuntimeError):
        run_day(STEP_DAYS[0])
    failed = db.session.scalars(select(BatchRun)).one()
    assert (failed.status, failed.chunks_done, failed.counts) == (
        RunStatus.FAILED, 1, {"failed/cases": 10, "failed/chunks": 1})
    assert "the database went away" in failed.error
    # Rolled back: nothing recorded, nothing booked but the claims, no case moved.
    assert _row_counts() == {"notices": 0, "communications": 0, "ledger": 13, "steps": 0}
    assert _position(book.p1) == (0, None, STEP_DAYS[0], CaseStatus.NEW)
    monkeypatch.setattr(dunning, "_settle", settle)
    retry = run_day(STEP_DAYS[0] + timedelta(days=1))
    assert retry.counts["email_reminder/email"] == 7
    assert _position(book.p1)[:2] == (1, STEP_DAYS[0] + timedelta(days=1))


# -- the law in the batch: costs and interest ----------------------------------------------


def test_the_14_day_letter_charges_a_consumer_nothing_and_a_business_at_once(book, run_day):
    runs = _walk(run_day, LETTER_DAY)
    assert _entries(book.p1, EntryCause.COLLECTION_COSTS) == []
    assert _entries(book.p2, EntryCause.COLLECTION_COSTS) == []
    step = workflows.ensure_default_workflow().steps[2]
    [notice_id] = {c.notice_id for c in db.session.scalars(
        select(Communication).where(Communication.case_id == book.b1, Communication.step_id
                                    == step.id))}
    # 150.00 is below the scale's minimum: EUR 40, plus 21 % VAT for this client = 48.40.
    assert statutory_collection_costs(150_00, vat=True) == 48_40
    assert _entries(book.b1, EntryCause.COLLECTION_COSTS) == [
        (48_40, LETTER_DAY, f"step:{step.id}:notice:{notice_id}")]
    assert runs[LETTER_DAY].counts["fourteen_day_letter/letter"] == 8
    assert runs[LETTER_DAY].counts["costs/charged"] == 1


def test_after_the_term_costs_go_on_the_summed_principal_split_to_the_cent(book, run_day):
    _walk(run_day, FINAL_DAY)
    # p1 1,234.56 + p2 765.45 = 2,000.01 in one final demand; 15 % = 300.0015 -> 300.00.
    # Split: p1 30000 * 123456 / 200001 = 18518.3 -> 18518, p2 11481.7 -> 11481; the cent
    # left over goes to the larger claim: 185.19 and 114.81.
    assert statutory_collection_costs(200001) == 300_00
    p1 = _entries(book.p1, EntryCause.COLLECTION_COSTS)
    p2 = _entries(book.p2, EntryCause.COLLECTION_COSTS)
    assert [(amount, day) for amount, day, _ in p1 + p2] == [
        (185_19, FINAL_DAY), (114_81, FINAL_DAY)]
    step = workflows.ensure_default_workflow().steps[3]
    assert p1[0][2].startswith(f"step:{step.id}:notice:") and p1[0][2] == p2[0][2]
    # The other client's case went in its own demand: costs on its own principal.
    assert [a for a, _, _ in _entries(book.p3, EntryCause.COLLECTION_COSTS)] == [40_00]


def test_costs_are_never_charged_twice(book, run_day):
    _walk(run_day, LEGAL_DAY)
    for name in ("p1", "p2", "b1"):
        assert len(_entries(getattr(book, name), EntryCause.COLLECTION_COSTS)) == 1, name


def test_interest_is_booked_up_to_the_step_date_and_never_twice(book, run_day):
    _walk(run_day, LEGAL_DAY)
    for name in ("p1", "p2", "b1"):
        case_id = getattr(book, name)
        entries = _entries(case_id, EntryCause.INTEREST)
        assert [day for _, day, _ in entries] == [FINAL_DAY, LEGAL_DAY], name
        first, second = (amount for amount, _, _ in entries)
        assert first == _interest_owed(case_id, FINAL_DAY), name
        assert first + second == _interest_owed(case_id, LEGAL_DAY), name
        assert second < first  # four weeks on top of eight, not all of it again


def test_interest_runs_from_the_day_after_each_invoices_due_date(book, run_day):
    _walk(run_day, FINAL_DAY)
    # p2: 500.00 from 03-04 and 265.45 from 03-06, at the consumer rate (4 % in 2026).
    expected = (statutory_interest(500_00, D("2026-03-04"), FINAL_DAY, commercial=False)
                + statutory_interest(265_45, D("2026-03-06"), FINAL_DAY, commercial=False))
    assert [a for a, _, _ in _entries(book.p2, EntryCause.INTEREST)] == [expected]
    b1_commercial = statutory_interest(150_00, D("2026-03-04"), FINAL_DAY, commercial=True)
    assert [a for a, _, _ in _entries(book.b1, EntryCause.INTEREST)] == [b1_commercial]


@pytest.mark.parametrize(
    ("name", "late", "cancel", "note"),
    [("q1", {"q1": D("2026-04-14")}, (), TERM_RUNNING),
     ("r1", {}, ("r1",), NO_FOURTEEN_DAY_LETTER)],
    ids=["letter-a-week-late", "letter-cancelled"],
)
def test_no_costs_without_a_posted_letter_whose_term_passed(book, run_day, name, late, cancel,
                                                            note):
    case_id = getattr(book, name)
    late_ids = {getattr(book, k): v for k, v in late.items()}
    runs = _walk(run_day, FINAL_DAY, late=late_ids, cancel=[getattr(book, k) for k in cancel])
    assert _entries(case_id, EntryCause.COLLECTION_COSTS) == []
    [comm] = db.session.scalars(select(Communication).where(
        Communication.case_id == case_id, Communication.position == 4))
    assert comm.note == note
    assert runs[FINAL_DAY].counts["costs/withheld"] == 1


def test_the_legal_handover_charges_costs_the_final_demand_could_not(book, run_day):
    # q1's letter went out 04-14: term to 04-30, costs from 05-01; on 05-26 they are charged.
    _walk(run_day, LEGAL_DAY, late={book.q1: D("2026-04-14")})
    assert [(a, d) for a, d, _ in _entries(book.q1, EntryCause.COLLECTION_COSTS)] == [
        (statutory_collection_costs(700_00), LEGAL_DAY)]
    assert _position(book.q1) == (6, LEGAL_DAY, None, CaseStatus.LEGAL)


# -- the path through the workflow ----------------------------------------------------------


def test_the_next_step_dates_move_along_the_workflow(book, run_day):
    expected = [STEP_DAYS[1:][n] if n < 5 else None for n in range(6)]
    for n, day in enumerate(STEP_DAYS):
        run_day(day)
        _deliver(day)
        status = CaseStatus.LEGAL if n == 5 else CaseStatus.ACTIVE
        assert _position(book.p1) == (n + 1, day, expected[n], status), day


def test_the_call_step_sends_nothing_and_the_legal_step_stops_dunning(book, run_day):
    runs = _walk(run_day, LEGAL_DAY)
    call = runs[STEP_DAYS[4]]
    assert call.counts["call_task/call"] == 8
    assert db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.dated == STEP_DAYS[4])) == 0
    assert runs[LEGAL_DAY].counts["legal_handover/letter"] == 8
    # Left: the disputed case, and h2 and l1, which started later and are a step behind.
    assert dunning_runs.due_case_ids(LEGAL_DAY + timedelta(days=365)) == [book.d1, book.h2, book.l1]


@pytest.mark.parametrize(
    ("principals", "vat", "expected"),
    [
        ({1: 123456, 2: 76545}, False, {1: 18519, 2: 11481}),  # 300.00 on 2,000.01
        ({1: 10000, 2: 5000}, True, {1: 3227, 2: 1613}),  # the EUR 40 minimum + VAT = 48.40
        ({1: 10000, 2: -500}, False, {1: 4000, 2: 0}),  # overpaid: nothing to add
        ({1: 0}, False, {1: 0}),  # all paid: no costs, not the minimum
    ],
)
def test_costs_shares_go_on_the_summed_principal(principals, vat, expected):
    assert costs_shares(principals, vat=vat) == expected
    unpaid = sum(max(p, 0) for p in principals.values())
    assert sum(expected.values()) == statutory_collection_costs(unpaid, vat=vat)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (30000, {1: 123456, 2: 76545}, {1: 18519, 2: 11481}),
        (100, {1: 1, 2: 1, 3: 1}, {1: 34, 2: 33, 3: 33}),  # a tie: the lowest key
        (4000, {7: 500}, {7: 4000}),
        (1, {1: 10, 2: 90}, {1: 0, 2: 1}),
    ],
)
def test_split_pro_rata(total, weights, expected):
    shares = split_pro_rata(total, weights)
    assert shares == expected
    assert sum(shares.values()) == total


def test_finish_chunk_adds_counts_and_closes_the_run_with_its_last_chunk(app):
    run = BatchRun(run_on=DUE, trigger="manual", chunks_total=2, counts={})
    db.session.add(run)
    db.session.commit()
    dunning_runs.finish_chunk(run.id, {"email_reminder/email": 3, "skipped/promise": 1})
    db.session.commit()
    assert (run.status, run.finished_at) == (RunStatus.PLANNED, None)
    dunning_runs.finish_chunk(run.id, {"email_reminder/email": 2})
    db.session.commit()
    assert run.counts == {"email_reminder/email": 5, "skipped/promise": 1}
    assert (run.chunks_done, run.status) == (2, RunStatus.DONE)
    assert run.finished_at is not None


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_a_chunk_delivered_again_counts_nothing_twice(book, run_day, monkeypatch, outcome):
    """RQ may deliver a job twice (a worker killed after the chunk's commit): the second
    delivery finds the chunk finished and leaves the run as it was."""
    run, chunks = dunning_runs.start_run(STEP_DAYS[0], trigger="cron", chunk_size=4)
    db.session.commit()
    assert len(chunks) == 3
    if outcome == "failed":
        monkeypatch.setattr(dunning, "_settle", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            jobs.run_chunk(run.id, chunks[0], STEP_DAYS[0].isoformat())
    else:
        jobs.run_chunk(run.id, chunks[0], STEP_DAYS[0].isoformat())
    db.session.refresh(run)
    before = (run.chunks_done, dict(run.counts), run.status, _row_counts())
    assert jobs.run_chunk(run.id, chunks[0], STEP_DAYS[0].isoformat()) == {}
    db.session.refresh(run)
    assert (run.chunks_done, dict(run.counts), run.status, _row_counts()) == before
    assert run.chunks_done == 1 and run.status == RunStatus.RUNNING


def test_run_now_records_who_started_it(book, make, enqueued, monkeypatch):
    admin = make.user()
    db.session.commit()
    monkeypatch.setattr(jobs, "agency_today", lambda: STEP_DAYS[0])
    run = db.session.get(BatchRun, jobs.run_now(admin.id))
    assert (run.trigger, run.started_by_id, run.cases_due) == ("manual", admin.id, 10)
    assert [name for _, name, _ in enqueued] == [jobs.RUN_CHUNK]


def test_a_planned_run_is_started_once_by_the_worker(book, make, enqueued):
    admin = make.user()
    run = dunning_runs.request_run(STEP_DAYS[0], trigger="manual", user=admin)
    db.session.commit()
    assert run.status == RunStatus.PLANNED
    assert jobs.run_planned(run.id) == run.id
    db.session.refresh(run)
    assert (run.status, run.cases_due, run.started_by_id) == (RunStatus.RUNNING, 10, admin.id)
    assert [name for _, name, _ in enqueued] == [jobs.RUN_CHUNK]
    jobs.run_planned(run.id)  # delivered twice: nothing more happens
    assert [name for _, name, _ in enqueued] == [jobs.RUN_CHUNK]


def test_the_batch_records_and_charges_the_same_on_each_backend(migrated_app, run_day):
    # The ON CONFLICT inserts, the run's row lock and the grouped reads on the real schema.
    book = _build_book(factories.Factory())
    first = run_day(STEP_DAYS[0])
    assert first.counts["email_reminder/email"] == 7
    assert [cases for _, _, cases in _notices()][0] == [book.p1, book.p2]
    _walk(run_day, FINAL_DAY)
    rows = _row_counts()
    again = run_day(FINAL_DAY)
    assert _row_counts() == rows
    assert again.counts == {"skipped/disputed": 1}
    costs = [a for i in (book.p1, book.p2) for a, _, _ in _entries(i, EntryCause.COLLECTION_COSTS)]
    assert costs == [185_19, 114_81]
    assert [a for a, _, _ in _entries(book.p1, EntryCause.INTEREST)] == [
        _interest_owed(book.p1, FINAL_DAY)]


# -- the cron entry and the real worker -------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"), [(None, "30 6 * * *"), ("0 5 * * 1-5", "0 5 * * 1-5")],
    ids=["default", "from-the-environment"],
)
def test_the_morning_batch_is_scheduled_from_dunning_cron(env, expected):
    code = (
        "from redis import Redis; from rq.cron import CronScheduler; "
        "s = CronScheduler(connection=Redis(), name='t'); "
        "s.load_config_from_file('portal.jobs.cron'); "
        "print([(j.func_name, j.queue_name, j.cron) for j in s.get_jobs()])"
    )
    environ = {k: v for k, v in os.environ.items() if k != "DUNNING_CRON"}
    if env is not None:
        environ["DUNNING_CRON"] = env
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60, check=True)
    assert f"('portal.jobs.dunning.morning_batch', 'dunning', '{expected}')" in result.stdout


@pytest.fixture(params=REDIS_TIERS)
def redis_url(request: pytest.FixtureRequest) -> str:
    return tier_redis_url(request)


def test_the_batch_runs_in_the_worker_and_hands_notices_to_the_senders(
    app, make, redis_url, tmp_path
):
    today = jobs.agency_today()
    client = make.client()
    emailed = _case(make, client, make.debtor(), (100_00, today - timedelta(days=7)))
    posted = _case(make, client, make.debtor(email=None), (200_00, today - timedelta(days=9)))
    db.session.commit()
    connection = Redis.from_url(redis_url)
    queues = {name: Queue(name, connection=connection) for name in ("dunning", "mail", "letters")}
    queues["dunning"].empty()  # the worker below works the real queue: nothing left from before
    before = {name: set(queue.job_ids) for name, queue in queues.items()}
    job = queues["dunning"].enqueue("portal.jobs.dunning.morning_batch")
    handed = []
    try:
        result = subprocess.run(
            [sys.executable, "worker.py", "--burst", "dunning"], cwd=ROOT,
            env=_worker_env(app, redis_url, tmp_path / "instance"),
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert job.get_status(refresh=True) == JobStatus.FINISHED, result.stderr
        db.session.expire_all()
        run = db.session.get(BatchRun, job.return_value())
        assert (run.status, run.trigger, run.chunks_done) == (RunStatus.DONE, "cron", 1)
        notices = {n.communications[0].case_id: n for n in db.session.scalars(select(Notice))}
        assert {i: n.channel for i, n in notices.items()} == {
            emailed.id: Channel.EMAIL, posted.id: Channel.LETTER}
        handed = [j for name in ("mail", "letters") for j in queues[name].get_jobs()
                  if j.id not in before[name]]
        assert {j.func_name for j in handed} == {jobs.DELIVER_NOTICES}
        assert sorted((j.origin, j.args) for j in handed) == sorted(
            [("mail", ([notices[emailed.id].id],)), ("letters", ([notices[posted.id].id],))])
    finally:
        for queued in handed:
            queued.delete()
        job.delete()


def _wait_for(probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _backends_waiting_on_a_lock() -> int:
    with db.engine.connect() as connection:
        return connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"))


def _busy_backends() -> int:
    """Other connections to the test database inside a transaction or a statement."""
    with db.engine.connect() as connection:
        return connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'"))


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (RQ's scheduler runs in a session of its own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _work_chunks_in_a_worker(app, redis_url, instance, day: date) -> subprocess.CompletedProcess:
    """Start a run for `day` and work its chunks in `worker.py --burst`; the delivery jobs
    the chunks enqueue (no delivery worker here) are taken off the shared queues after."""
    run, chunks = dunning_runs.start_run(day, trigger="manual")
    db.session.commit()
    connection = Redis.from_url(redis_url)
    senders = [Queue(name, connection=connection) for name in ("mail", "letters")]
    before = {queue.name: set(queue.job_ids) for queue in senders}
    queue = Queue("dunning", connection=connection)
    for chunk in chunks:
        queue.enqueue(jobs.RUN_CHUNK, run.id, chunk, day.isoformat())
    try:
        return subprocess.run(
            [sys.executable, "worker.py", "--burst", "dunning"], cwd=ROOT,
            env=_worker_env(app, redis_url, instance), capture_output=True, text=True,
            timeout=120,
        )
    finally:
        for sender in senders:
            for job in sender.get_jobs():
                if job.id not in before[sender.name]:
                    job.delete()


# PostgreSQL only: it needs a row lock that makes the chunk wait.
@pytest.mark.postgres
@pytest.mark.parametrize(
    "backend_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_worker_killed_mid_chunk_leaves_every_case_for_the_next_run(
    migrated_app, redis_url, tmp_path
):
    book = _build_book(factories.Factory())
    connection = Redis.from_url(redis_url)
    Queue("dunning", connection=connection).empty()
    # Hold p1's row: the chunk records its notices, then waits to move p1, uncommitted.
    blocker = db.engine.connect()
    blocker.begin()
    blocker.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": book.p1})
    run, chunks = dunning_runs.start_run(STEP_DAYS[0], trigger="cron")
    run_id = run.id  # read before the commit: afterwards it would open a transaction
    db.session.commit()
    job = Queue("dunning", connection=connection).enqueue(
        jobs.RUN_CHUNK, run_id, chunks[0], STEP_DAYS[0].isoformat())
    worker_process = subprocess.Popen(
        [sys.executable, "worker.py", "--burst", "dunning"], cwd=ROOT,
        env=_worker_env(migrated_app, redis_url, tmp_path / "instance"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(_backends_waiting_on_a_lock), "the chunk never reached the lock"
        # The worker runs the chunk itself and holds its transaction; a child would only be
        # RQ's scheduler, killed with it as a dying machine would take it.
        for pid in (*_children(worker_process.pid), worker_process.pid):
            os.kill(pid, signal.SIGKILL)
        worker_process.wait(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
    # The orphaned transaction ends when its backend finds the client gone: rolled back.
    assert _wait_for(lambda: _busy_backends() == 0), "the killed chunk's backend lingers"
    db.session.expire_all()
    assert _row_counts()["communications"] == 0
    assert dunning_runs.due_case_ids(STEP_DAYS[0]) == sorted(chunks[0])  # all still due
    job.delete()
    result = _work_chunks_in_a_worker(migrated_app, redis_url, tmp_path / "instance",
                                      STEP_DAYS[0])
    assert result.returncode == 0, result.stderr
    db.session.expire_all()
    keys = db.session.scalars(select(Communication.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 8  # each case's first step, once
    assert len(_notices()) == 7
