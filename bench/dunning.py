"""How fast the dunning engine decides, records, renders and delivers, on SQLite and PostgreSQL.

    .venv/bin/python bench/dunning.py [--cases 10000] [--letters 300] [--emails 2000]
        [--workers 1-4] [--database-url postgresql://postgres@127.0.0.1:5432/test]
        [--redis-url redis://127.0.0.1:6379/13] [--skip-sqlite] [--skip-pg] [--only decide,...]

Each figure runs the real code on a freshly seeded book (set-based inserts; every case due for
the default workflow's first step, one case per debtor, so one notice per case):
- decide:  start_run, then advance_cases + finish_chunk per chunk of 500, one commit per chunk,
           in this process (one process = one worker); nothing is sent. Cases per second.
- render:  render_letter_pdf against a bare pisa.CreatePDF of the same HTML, per letter.
- letters: letter notices enqueued as deliver_notices batches of 50 on `letters`, worked by
           `worker.py --burst letters`: one worker, then (reset) two. Letters per second.
- emails:  the same on `mail`, to a counting SMTP sink in this process. Emails per second.
- whole:   first reminders by email: warm workers on `dunning mail`, then the cron entry
           (morning_batch: start_run, chunks enqueued) until every notice is SENT. Wall time,
           and the CPU time the workers used per email (steadier on a busy machine).
Per-second figures are "steady" (first claim to last send, from the notices' own timestamps);
"wall" includes the worker processes' start. PostgreSQL gets a throwaway database, made and
dropped through the `postgres` maintenance database; Redis db of --redis-url is flushed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import benchkit  # bench/benchkit.py: this folder is on the path of a script run from it
from aiosmtpd.controller import Controller
from flask import Flask
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import func, insert, select, update
from xhtml2pdf import pisa

from portal import create_app
from portal.extensions import db
from portal.jobs import dunning as dunning_jobs
from portal.models import (
    BatchRun,
    Bucket,
    Case,
    CaseStatus,
    Channel,
    Client,
    Debtor,
    DebtorKind,
    DeliveryStatus,
    EntryCause,
    Invoice,
    LedgerEntry,
    Notice,
    RunStatus,
)
from portal.services import access_codes, dunning, dunning_runs, notices, workflows

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-only-not-secret"  # noqa: S105 - the same key in this process and the workers
BATCH = dunning_jobs.SENDING_BATCH
NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer"]
FIGURES: list[tuple[str, str, str]] = []  # (backend, what, value) for the closing table


class CountingHandler:
    """An aiosmtpd handler that accepts every message and only counts it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook
        self.count += 1
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def note(backend: str, what: str, value: str) -> None:
    """Print a figure now and keep it for the table at the end, with the machine's load: other
    processes on the machine (a test run) slow every figure down."""
    value = f"{value}  [load {os.getloadavg()[0]:.1f}]"
    FIGURES.append((backend, what, value))
    print(f"  [{backend}] {what}: {value}", flush=True)


# -- databases and the app -------------------------------------------------------------------


def make_app(url: str, redis_url: str, mail_port: int, instance: Path) -> Flask:
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SERVER_NAME": None,
        "SECRET_KEY": SECRET, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": mail_port,
        "DOCUMENTS_PATH": str(instance / "documents"),
    })


def worker_env(url: str, redis_url: str, mail_port: int, instance: Path) -> dict[str, str]:
    """The environment of a worker process: the same database, Redis, SMTP sink and key."""
    return {**os.environ, "PORTAL_ENV": "development", "PORTAL_INSTANCE_PATH": str(instance),
            "DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port)}


# -- seeding ---------------------------------------------------------------------------------


def fresh_book(n_cases: int, *, email: bool, today: date) -> float:
    """Empty the schema and seed `n_cases` cases due for step 1 today; returns seconds taken."""
    start = time.perf_counter()
    db.session.remove()
    db.drop_all()
    db.create_all()
    workflow_id = workflows.ensure_default_workflow().id
    rng = random.Random(7)
    db.session.execute(insert(Client), [{"name": f"Client {i}", "iban": "NL91ABNA0417164300"}
                                        for i in range(1, 21)])
    db.session.execute(insert(Debtor), [_debtor(i, rng, email) for i in range(1, n_cases + 1)])
    cases, invoices, entries = [], [], []
    for i in range(1, n_cases + 1):
        due = today - timedelta(days=rng.randrange(8, 60))
        amount = rng.randrange(3_500, 1_200_000)
        reference = f"B-{i:08d}"
        nonce, _code, code_hash = access_codes.issue(reference)
        cases.append({
            "id": i, "reference": reference, "client_id": rng.randrange(1, 21), "debtor_id": i,
            "status": CaseStatus.ACTIVE, "opened_on": due + timedelta(days=1),
            "access_code_hash": code_hash, "access_code_nonce": nonce,
            "failed_code_attempts": 0, "workflow_id": workflow_id, "workflow_position": 0,
            "next_step_on": due + timedelta(days=7)})
        invoices.append({"id": i, "case_id": i, "client_id": cases[-1]["client_id"],
                         "number": f"INV-{i:08d}", "invoice_date": due - timedelta(days=30),
                         "due_date": due, "amount_cents": amount, "currency": "EUR"})
        entries.append({"case_id": i, "invoice_id": i, "bucket": Bucket.PRINCIPAL,
                        "amount_cents": amount, "cause": EntryCause.CLAIM,
                        "description": "Invoice", "booked_on": due})
    for model, rows in ((Case, cases), (Invoice, invoices), (LedgerEntry, entries)):
        db.session.execute(insert(model), rows)
    db.session.commit()
    return time.perf_counter() - start


def _debtor(i: int, rng: random.Random, email: bool) -> dict:
    return {"kind": DebtorKind.PERSON if i % 3 else DebtorKind.BUSINESS,
            "name": f"Debtor {i} {rng.choice(NAMES)}",
            "email": f"d{i}@example.test" if email else None,
            "address_line": f"Dorpsstraat {i % 200 + 1}", "postal_code": "1234 AB",
            "city": "Utrecht", "country": "NL", "language": "nl" if i % 4 else "en",
            "timezone": "Europe/Amsterdam"}


# -- the figures -----------------------------------------------------------------------------


def decide_and_record(today: date, chunk_size: int = dunning_jobs.DEFAULT_CHUNK_SIZE) -> tuple:
    """start_run and every chunk as run_chunk does it, minus the sending; (seconds, counts)."""
    start = time.perf_counter()
    run, chunks = dunning_runs.start_run(today, trigger="bench", chunk_size=chunk_size)
    db.session.commit()
    run_id = run.id
    for chunk in chunks:
        db.session.remove()  # a job's fresh app context: nothing carried from the last chunk
        run = db.session.get(BatchRun, run_id)
        counts = dunning.advance_cases(run, chunk, today)
        dunning_runs.finish_chunk(run_id, counts)
        db.session.commit()
    seconds = time.perf_counter() - start
    db.session.remove()
    return seconds, db.session.get(BatchRun, run_id).counts


def render_ratio(sample: int) -> tuple[float, float]:
    """Median ms per letter: render_letter_pdf, and bare pisa.CreatePDF of the same HTML."""
    ids = db.session.scalars(select(Notice.id).where(Notice.channel == Channel.LETTER)
                             .order_by(Notice.id).limit(sample + 1)).all()
    full, bare = [], []
    for index, notice_id in enumerate(ids):
        notice = db.session.get(Notice, notice_id)
        html = notices.render_letter_html(notice)
        start = time.perf_counter()
        pisa.CreatePDF(html, dest=io.BytesIO(), encoding="utf-8")
        middle = time.perf_counter()
        notices.render_letter_pdf(notice)
        end = time.perf_counter()
        if index:  # the first one warms the caches of both
            bare.append((middle - start) * 1000)
            full.append((end - middle) * 1000)
    db.session.rollback()
    return statistics.median(full), statistics.median(bare)


def deliver(channel: Channel, workers: int, env: dict, redis: Redis, logs: Path) -> tuple:
    """Enqueue the channel's queued notices in batches and work them with burst workers;
    (sent, wall seconds, steady seconds)."""
    queue_name = dunning_jobs.SENDING_QUEUE[channel]
    ids = db.session.scalars(select(Notice.id).order_by(Notice.id).where(
        Notice.channel == channel, Notice.status == DeliveryStatus.QUEUED)).all()
    db.session.rollback()
    queue = Queue(queue_name, connection=redis)
    for start in range(0, len(ids), BATCH):
        queue.enqueue(dunning_jobs.DELIVER_NOTICES, ids[start : start + BATCH])
    start = time.perf_counter()
    procs = [spawn(["--burst", queue_name], env, logs / f"{queue_name}-{workers}-{i}.log")
             for i in range(workers)]
    for proc in procs:
        proc.wait(timeout=900)
    wall = time.perf_counter() - start
    return sent_count(channel), wall, steady_seconds(channel)


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        # Our own worker.py with fixed arguments: nothing untrusted reaches the command.
        return subprocess.Popen([sys.executable, "worker.py", *args], cwd=ROOT, env=env,  # noqa: S603
                                stdout=out, stderr=subprocess.STDOUT)


def sent_count(channel: Channel) -> int:
    count = db.session.scalar(select(func.count()).select_from(Notice).where(
        Notice.channel == channel, Notice.status == DeliveryStatus.SENT))
    db.session.rollback()  # end the read: on SQLite an open one would hold up the workers
    return count


def steady_seconds(channel: Channel) -> float:
    first, last = db.session.execute(select(func.min(Notice.claimed_at), func.max(Notice.sent_at))
                                     .where(Notice.channel == channel)).one()
    db.session.rollback()
    return (last - first).total_seconds() if first and last else float("nan")


def reset_notices() -> None:
    """Every notice queued again (the second round of a sending figure)."""
    db.session.execute(update(Notice).values(
        status=DeliveryStatus.QUEUED, claimed_at=None, sent_at=None, attempts=0,
        document_id=None, last_error=None))
    db.session.commit()


def whole_run(n: int, workers: int, env: dict, redis: Redis, logs: Path) -> tuple:
    """Warm workers on dunning+mail, then morning_batch until all n notices are SENT;
    (sent, seconds to recorded, seconds to all sent)."""
    procs = [spawn(["dunning", "mail"], env, logs / f"whole-{i}.log") for i in range(workers)]
    try:
        wait_for(lambda: len(Worker.all(connection=redis)) >= workers, 60)
        start = time.perf_counter()
        run_id = dunning_jobs.morning_batch()
        db.session.remove()
        recorded = wait_for(lambda: _run_done(run_id), 900) - start
        wait_for(lambda: sent_count(Channel.EMAIL) >= n or _stuck(procs), 900)
        seconds = time.perf_counter() - start
        return sent_count(Channel.EMAIL), recorded, seconds, sum(map(cpu_seconds, procs))
    finally:
        for proc in procs:  # a warm shutdown: the worker finishes its job and leaves
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU time a live process has used so far (Linux /proc): a figure that a
    busy or slow machine stretches less than the wall clock."""
    with open(f"/proc/{proc.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_done(run_id: int) -> bool:
    status = db.session.scalar(select(BatchRun.status).where(BatchRun.id == run_id))
    db.session.rollback()
    return status in (RunStatus.DONE, RunStatus.FAILED)


def _stuck(procs: list[subprocess.Popen]) -> bool:
    return any(proc.poll() is not None for proc in procs)


def wait_for(probe, timeout: float) -> float:
    """Poll `probe` until true; the perf_counter time it became true."""
    deadline = time.perf_counter() + timeout
    while not probe():
        if time.perf_counter() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.05)
    return time.perf_counter()


# -- one backend -----------------------------------------------------------------------------


def bench_backend(kind: str, args: argparse.Namespace, sink: CountingHandler, tmp: Path) -> None:
    """Every figure asked for, on one backend."""
    print(f"== {kind}", flush=True)
    redis = Redis.from_url(args.redis_url)
    with benchkit.throwaway_database(kind, args.database_url, tmp, "bench_dunning") as url:
        instance = tmp / f"instance-{kind}"
        app = make_app(url, args.redis_url, args.mail_port, instance)
        env = worker_env(url, args.redis_url, args.mail_port, instance)
        with app.app_context():
            today = notices.agency_today()
            if "decide" in args.only:
                for n in args.decide_cases:
                    figure_decide(kind, n, today)
            if "letters" in args.only:
                figure_letters(kind, args, env, redis, tmp, today)
            if "emails" in args.only:
                figure_emails(kind, args, env, redis, sink, tmp, today)
            if "whole" in args.only:
                figure_whole(kind, args, env, redis, sink, tmp, today)
            db.session.remove()
            db.engine.dispose()
    redis.flushdb()


def figure_decide(kind: str, n: int, today: date) -> None:
    seeded = fresh_book(n, email=True, today=today)
    seconds, counts = decide_and_record(today)
    recorded = counts.get("email_reminder/email", 0)
    assert recorded == n, f"recorded {recorded} of {n}: {counts}"
    note(kind, f"decide+record {n} cases (seeded in {seeded:.0f} s)",
         f"{seconds:.1f} s = {n / seconds:,.0f} cases/s")


def figure_letters(kind: str, args, env: dict, redis: Redis, tmp: Path, today: date) -> None:
    n = args.letters
    fresh_book(n, email=False, today=today)
    decide_and_record(today)
    full, bare = render_ratio(args.render_sample)
    note(kind, "render_letter_pdf vs bare pisa.CreatePDF (median ms)",
         f"{full:.1f} vs {bare:.1f} = {full / bare:.2f}x")
    rates = {}
    for workers in (1, 2):
        redis.flushdb()
        sent, wall, steady = deliver(Channel.LETTER, workers, env, redis, tmp)
        assert sent == n, f"{sent} of {n} letters sent: see {tmp}/letters-*.log"
        rates[workers] = n / steady
        note(kind, f"letters, {workers} worker(s), {n}",
             f"{n / steady:.1f}/s steady ({wall:.1f} s wall); "
             f"{1000 * steady * workers / n:.1f} ms/letter/worker = "
             f"{steady * workers * 1000 / n / bare:.2f}x bare")
        reset_notices()
    note(kind, "letters: 2 workers / 1 worker", f"{rates[2] / rates[1]:.2f}x")


def figure_emails(kind: str, args, env: dict, redis: Redis, sink: CountingHandler, tmp: Path,
                  today: date) -> None:
    n = args.emails
    fresh_book(n, email=True, today=today)
    decide_and_record(today)
    rates = {}
    for workers in (1, 2):
        redis.flushdb()
        before = sink.count
        sent, wall, steady = deliver(Channel.EMAIL, workers, env, redis, tmp)
        assert sent == n == sink.count - before, f"{sent}/{sink.count - before} of {n} emails"
        rates[workers] = n / steady
        note(kind, f"emails, {workers} worker(s), {n}",
             f"{n / steady:.0f}/s steady ({wall:.1f} s wall)")
        reset_notices()
    note(kind, "emails: 2 workers / 1 worker", f"{rates[2] / rates[1]:.2f}x")


def figure_whole(kind: str, args, env: dict, redis: Redis, sink: CountingHandler, tmp: Path,
                 today: date) -> None:
    n = args.cases
    fresh_book(n, email=True, today=today)
    redis.flushdb()
    before = sink.count
    sent, recorded, seconds, cpu = whole_run(n, args.workers, env, redis, tmp)
    assert sent == n == sink.count - before, f"{sent}/{sink.count - before} of {n} emails"
    note(kind, f"whole run, {n} first reminders by email, {args.workers} worker(s)",
         f"{seconds:.1f} s (all recorded at {recorded:.1f} s) = {n / seconds:.0f}/s; "
         f"workers' CPU {1000 * cpu / n:.1f} ms/email")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="whole run; decide default")
    parser.add_argument("--decide-cases", type=lambda s: [int(x) for x in s.split(",")],
                        help="comma-separated sizes for decide+record (default: --cases)")
    parser.add_argument("--letters", type=int, default=300)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--render-sample", type=int, default=20)
    parser.add_argument("--workers", type=int, choices=(1, 2, 3, 4), default=2, help="whole run")
    benchkit.add_backend_options(parser)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                        help="its db is FLUSHED")
    parser.add_argument("--only", type=lambda s: set(s.split(",")),
                        default={"decide", "letters", "emails", "whole"})
    args = parser.parse_args()
    args.decide_cases = args.decide_cases or [args.cases]
    return args


def main() -> None:
    args = parse_args()
    backends = benchkit.backends(args)
    sink = CountingHandler()
    args.mail_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=args.mail_port)
    controller.start()
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dunning-") as tmp:
            for kind in backends:
                bench_backend(kind, args, sink, Path(tmp))
    finally:
        controller.stop()
    print(f"\n{'backend':<11} {'figure':<62} value  [1-minute load average]")
    for backend, what, value in FIGURES:
        print(f"{backend:<11} {what:<62} {value}")
    print(f"(total {time.perf_counter() - started:.0f} s, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
