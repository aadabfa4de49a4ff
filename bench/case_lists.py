"""How fast the pages people page through are, on a book of realistic size.

    .venv/bin/python bench/case_lists.py [--cases 50000] [--database-url URL]

Seeds a throwaway database (a temp SQLite file unless --database-url is given) with set-based
inserts, then requests each page several times through the Flask test client as a signed-in
admin and as a client user, and prints the median and worst time per page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from portal import create_app
from portal.extensions import db
from portal.models import (
    Bucket,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    EntryCause,
    Invoice,
    LedgerEntry,
    Role,
    User,
)
from portal.services.accounts import hash_password

STATUSES = list(CaseStatus)


def seed(n_cases: int, rng: random.Random) -> None:
    """Insert clients, debtors, cases, invoices and ledger entries in bulk."""
    clients = [{"name": f"Client {i}"} for i in range(20)]
    db.session.execute(insert(Client), clients)
    n_debtors = int(n_cases * 0.8)
    db.session.execute(insert(Debtor), [
        {"kind": DebtorKind.PERSON if i % 3 else DebtorKind.BUSINESS,
         "name": f"Debtor {i} {rng.choice(['Jansen', 'de Vries', 'Bakker', 'Visser', 'Smit'])}",
         "email": f"d{i}@example.test", "country": "NL", "language": "nl",
         "timezone": "Europe/Amsterdam"}
        for i in range(n_debtors)
    ])
    today = date(2026, 11, 1)
    cases, invoices, entries = [], [], []
    for i in range(1, n_cases + 1):
        opened = today - timedelta(days=rng.randrange(400))
        cases.append({"id": i, "reference": f"K-{opened.year}-{i:06d}",
                      "client_id": rng.randrange(1, 21), "debtor_id": rng.randrange(1, n_debtors),
                      "status": rng.choice(STATUSES), "opened_on": opened,
                      "access_code_hash": "x", "failed_code_attempts": 0})
        amount = rng.randrange(3_500, 1_200_000)
        invoices.append({"id": i, "case_id": i, "client_id": cases[-1]["client_id"],
                         "number": f"INV-{i:07d}", "invoice_date": opened - timedelta(days=45),
                         "due_date": opened - timedelta(days=15), "amount_cents": amount,
                         "currency": "EUR"})
        entries.append({"case_id": i, "invoice_id": i, "bucket": Bucket.PRINCIPAL,
                        "amount_cents": amount, "cause": EntryCause.CLAIM,
                        "description": "Invoice", "booked_on": opened})
        entries.append({"case_id": i, "bucket": Bucket.INTEREST, "amount_cents": amount // 50,
                        "cause": EntryCause.INTEREST, "description": "Interest",
                        "booked_on": today})
    db.session.execute(insert(Case), cases)
    db.session.execute(insert(Invoice), invoices)
    db.session.execute(insert(LedgerEntry), entries)
    password = hash_password("bench-password-1")
    db.session.execute(insert(User), [
        {"email": "admin@bench.test", "name": "Admin", "password_hash": password,
         "role": Role.ADMIN, "language": "en", "active": True},
        {"email": "client@bench.test", "name": "Client", "password_hash": password,
         "role": Role.CLIENT, "client_id": 1, "language": "en", "active": True},
    ])
    db.session.commit()


def timed(client, url: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times)


def sign_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": "bench-password-1"})
    assert response.status_code == 302, "sign-in failed"
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "SERVER_NAME": None, "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        start = time.perf_counter()
        seed(args.cases, random.Random(7))
        print(f"seeded {args.cases} cases in {time.perf_counter() - start:.1f} s on "
              f"{db.engine.dialect.name}")
        some_ref = db.session.scalar(select(Case.reference).where(Case.id == args.cases // 2))
    admin, client_user = sign_in(app, "admin@bench.test"), sign_in(app, "client@bench.test")
    pages = [
        (admin, "/agency/"),
        (admin, "/agency/cases"),
        (admin, "/agency/cases?page=150"),
        (admin, "/agency/cases?q=jansen"),
        (admin, f"/agency/cases?q={some_ref}"),
        (admin, "/agency/cases?q=INV-0012345"),
        (admin, "/agency/cases?status=open&client=3"),
        (admin, f"/agency/cases/{args.cases // 2}"),
        (client_user, "/client/"),
        (client_user, "/client/cases"),
        (client_user, "/client/cases?q=visser&status=open"),
    ]
    print(f"{'page':<45} {'median ms':>10} {'worst ms':>10}")
    for client, url in pages:
        with app.app_context():
            median, worst = timed(client, url, args.repeat)
        print(f"{url:<45} {median:>10.1f} {worst:>10.1f}")
    with app.app_context():
        db.drop_all()
    tmp.cleanup()


if __name__ == "__main__":
    main()
