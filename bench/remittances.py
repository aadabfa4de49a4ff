"""How long money out takes: a remittance run over many payments, its SEPA file, a statement,
and the trust account check, on SQLite and PostgreSQL.

    .venv/bin/python bench/remittances.py [--payments 100000] [--clients 20]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--skip-sqlite] [--skip-pg]

Seeds --clients clients with valid IBANs and --payments booked payments spread over their cases
(set-based inserts: a Payment row and its ledger entries over costs, interest and principal,
booked in the last 60 days), then times services.remittances.plan_run for all clients
(select, reserve every entry with INSERT ... SELECT, sum and settle), approve_run (IBANs and
the pain.001 file, checked against its XSD), the statement PDF of the largest client
(one line per case) and trust.trust_check. Prints seconds and sizes.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import benchkit  # bench/benchkit.py: this folder is on the path of a script run from it
from schwifty import IBAN
from sqlalchemy import func, insert, select, text

from portal import create_app
from portal.extensions import db
from portal.models import (
    Bucket,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    Document,
    EntryCause,
    LedgerEntry,
    Payment,
    PaymentStatus,
    RemittanceItem,
)
from portal.services import remittance_statements, remittances, trust

TODAY = date(2026, 3, 2)
AGENCY_IBAN = "NL02ABNA0123456789"


def seed(n_payments: int, n_clients: int) -> None:
    """Cases of about three payments each; client 1 gets half of all cases."""
    rng = random.Random(11)
    db.session.execute(insert(Client), [
        {"id": c, "name": f"Bench Client {c} B.V.",
         "iban": str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{c:010d}"))}
        for c in range(1, n_clients + 1)])
    n_cases = max(n_payments // 3, 1)
    db.session.execute(insert(Debtor), [
        {"id": i, "kind": DebtorKind.PERSON, "name": f"Debtor {i}", "language": "nl",
         "country": "NL", "timezone": "Europe/Amsterdam"} for i in range(1, n_cases + 1)])
    db.session.execute(insert(Case), [
        {"id": i, "reference": f"B-{i:08d}",
         "client_id": 1 if i % 2 else rng.randrange(2, n_clients + 1) if n_clients > 1 else 1,
         "debtor_id": i, "opened_on": TODAY - timedelta(days=120), "status": CaseStatus.ACTIVE,
         "access_code_hash": "x", "access_code_nonce": "", "failed_code_attempts": 0,
         "workflow_position": 0} for i in range(1, n_cases + 1)])
    payments, entries = [], []
    for p in range(1, n_payments + 1):
        case_id = rng.randrange(1, n_cases + 1)
        on = TODAY - timedelta(days=rng.randrange(1, 60))
        at = datetime.combine(on, datetime.min.time(), tzinfo=UTC)
        parts = {Bucket.COSTS: rng.choice((0, 0, 4000)), Bucket.INTEREST: rng.randrange(0, 900),
                 Bucket.PRINCIPAL: rng.randrange(1_000, 50_000)}
        payments.append({"id": p, "case_id": case_id, "debtor_id": case_id, "provider": "bank",
                         "provider_ref": f"bank-{p}", "amount_cents": sum(parts.values()),
                         "currency": "EUR", "status": PaymentStatus.PAID, "created_at": at,
                         "paid_at": at, "booked_at": at})
        entries.extend({"case_id": case_id, "bucket": bucket, "amount_cents": -cents,
                        "cause": EntryCause.PAYMENT, "cause_ref": f"payment:{p}",
                        "description": "Payment", "booked_on": on}
                       for bucket, cents in parts.items() if cents)
    for model, rows in ((Payment, payments), (LedgerEntry, entries)):
        for start in range(0, len(rows), 20_000):
            db.session.execute(insert(model), rows[start:start + 20_000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum would have done by now
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def timed(label: str, kind: str, fn):
    start = time.perf_counter()
    result = fn()
    db.session.commit()
    print(f"[{kind}] {label}: {time.perf_counter() - start:.2f} s")
    return result


def run(kind: str, server_url: str, n_payments: int, n_clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            benchkit.throwaway_database(kind, server_url, Path(tmp), "bench_remit") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None, "REDIS_URL": None,
                          "DOCUMENTS_PATH": str(Path(tmp) / "documents"),
                          "AGENCY_IBAN": AGENCY_IBAN})
        with app.app_context():
            db.create_all()
            start = time.perf_counter()
            seed(n_payments, n_clients)
            entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
            print(f"[{kind}] seeded {n_payments} payments ({entries} ledger entries) for "
                  f"{n_clients} clients in {time.perf_counter() - start:.1f} s")
            run_ = timed("plan_run (all clients)", kind, lambda: remittances.plan_run(
                date(2026, 2, 1), TODAY, TODAY + timedelta(days=1), None))
            items = db.session.scalar(select(func.count()).select_from(RemittanceItem))
            print(f"[{kind}]   {len(run_.remittances)} remittances, {items} items, payout "
                  f"{sum(r.payout_cents for r in run_.remittances) / 100:,.2f} EUR")
            from portal import queue
            queue._enqueue_all = lambda jobs: None  # the statements are timed below, in-process
            timed("approve_run (IBANs, pain.001 + XSD)", kind,
                  lambda: remittances.approve_run(run_, None, today=TODAY))
            sepa = db.session.get(Document, run_.sepa_document_id)
            print(f"[{kind}]   pain.001: {sepa.size / 1024:.0f} KiB")
            biggest = max(run_.remittances, key=lambda r: r.collected_cents)
            cases = len(remittance_statements.statement_lines(biggest))
            document = timed(f"statement PDF, largest client ({cases} cases)", kind,
                             lambda: remittance_statements.make_statement(biggest))
            print(f"[{kind}]   PDF {document.size / 1024:.0f} KiB")
            check = timed("trust_check", kind, trust.trust_check)
            print(f"[{kind}]   balanced: {check.balanced}; received "
                  f"{check.received / 100:,.2f} EUR")
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    benchkit.add_backend_options(parser)
    args = parser.parse_args()
    for kind in benchkit.backends(args):
        run(kind, args.database_url, args.payments, args.clients)


if __name__ == "__main__":
    main()
