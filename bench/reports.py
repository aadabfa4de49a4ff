"""How long a status report takes for a client with many cases, on SQLite and PostgreSQL.

    .venv/bin/python bench/reports.py [--cases 10000] [--repeat 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--skip-sqlite] [--skip-pg]

Seeds one client with --cases cases (set-based inserts: an invoice and its claim each, a payment
on every third case, every tenth case paid in full, two client-visible events per case, half of
them in the report's month) plus a second client, then times services.reports.build_report for
last month (an on-demand report, so each repeat makes a new one): the PDF, the CSV of open cases,
both stored. Prints the seconds (median and worst) and the sizes. PostgreSQL gets a throwaway
database, made and dropped through the `postgres` maintenance database; SQLite a temporary file.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import benchkit  # bench/benchkit.py: this folder is on the path of a script run from it
from sqlalchemy import insert, text

from portal import create_app
from portal.extensions import db
from portal.models import (
    ActorKind,
    AuditEvent,
    Bucket,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    Document,
    EntryCause,
    Invoice,
    LedgerEntry,
)
from portal.services import reports

TODAY = date(2026, 3, 2)
NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer"]


def seed(n_cases: int) -> None:
    """Client 1 has `n_cases` cases; client 2 has a tenth as many (they must not show)."""
    rng = random.Random(7)
    db.session.execute(insert(Client), [{"id": 1, "name": "Bench Groothandel B.V."},
                                        {"id": 2, "name": "Other Client B.V."}])
    total = n_cases + n_cases // 10
    db.session.execute(insert(Debtor), [
        {"id": i, "kind": DebtorKind.PERSON if i % 3 else DebtorKind.BUSINESS,
         "name": f"Debtor {i} {rng.choice(NAMES)}", "language": "nl", "country": "NL",
         "timezone": "Europe/Amsterdam"} for i in range(1, total + 1)])
    cases, invoices, entries, events = [], [], [], []
    for i in range(1, total + 1):
        client_id = 1 if i <= n_cases else 2
        due = TODAY - timedelta(days=rng.randrange(5, 200))
        amount = rng.randrange(3_500, 500_000)
        paid = amount if i % 10 == 0 else (amount // 3 if i % 3 == 0 else 0)
        cases.append({"id": i, "reference": f"B-{i:08d}", "client_id": client_id,
                      "debtor_id": i, "opened_on": due + timedelta(days=1),
                      "status": CaseStatus.PAID if paid == amount else CaseStatus.ACTIVE,
                      "closed_on": TODAY - timedelta(days=3) if paid == amount else None,
                      "access_code_hash": "x", "access_code_nonce": "", "failed_code_attempts": 0,
                      "workflow_position": 0})
        invoices.append({"id": i, "case_id": i, "client_id": client_id,
                         "number": f"INV-{i:08d}", "invoice_date": due - timedelta(days=30),
                         "due_date": due, "amount_cents": amount, "currency": "EUR"})
        entries.append({"case_id": i, "invoice_id": i, "bucket": Bucket.PRINCIPAL,
                        "amount_cents": amount, "cause": EntryCause.CLAIM,
                        "description": "Invoice", "booked_on": due})
        if paid:
            entries.append({"case_id": i, "bucket": Bucket.PRINCIPAL, "amount_cents": -paid,
                            "cause": EntryCause.PAYMENT, "description": "Payment",
                            "booked_on": TODAY - timedelta(days=rng.randrange(1, 60))})
        for days in (rng.randrange(1, 90), rng.randrange(1, 30)):
            events.append({"case_id": i, "client_id": client_id, "action": "notice.email",
                           "summary": "Sent by email", "actor_kind": ActorKind.SYSTEM,
                           "client_visible": True, "detail": {},
                           "occurred_at": datetime(2026, 3, 2, 9, tzinfo=UTC)
                           - timedelta(days=days)})
    for model, rows in ((Case, cases), (Invoice, invoices), (LedgerEntry, entries),
                        (AuditEvent, events)):
        db.session.execute(insert(model), rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum would have done by now
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def run(kind: str, server_url: str, n_cases: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            benchkit.throwaway_database(kind, server_url, Path(tmp), "bench_reports") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None,
                          "DOCUMENTS_PATH": str(Path(tmp) / "documents")})
        with app.app_context():
            db.create_all()
            start = time.perf_counter()
            seed(n_cases)
            print(f"[{kind}] seeded {n_cases} cases in {time.perf_counter() - start:.1f} s")
            seconds, report = [], None
            for _ in range(repeat):
                db.session.remove()
                client = db.session.get(Client, 1)
                start = time.perf_counter()
                report = reports.build_report(client, date(2026, 2, 1), date(2026, 2, 28),
                                              scheduled=False, today=TODAY)
                db.session.commit()
                seconds.append(time.perf_counter() - start)
            pdf = db.session.get(Document, report.pdf_document_id)
            csv = db.session.get(Document, report.csv_document_id)
            print(f"[{kind}] build_report, {n_cases} cases: median {statistics.median(seconds):.2f}"
                  f" s, worst {max(seconds):.2f} s; PDF {pdf.size / 1024:.0f} KiB, CSV "
                  f"{csv.size / 1024:.0f} KiB; {report.figures['open_cases']} open cases, "
                  f"{report.figures['changed_cases']} changed, "
                  f"{report.figures['payments_count']} payments in the period")
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    benchkit.add_backend_options(parser)
    args = parser.parse_args()
    for kind in benchkit.backends(args):
        run(kind, args.database_url, args.cases, args.repeat)


if __name__ == "__main__":
    main()
