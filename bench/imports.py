"""How fast a large claims file is checked and imported, and how much memory it takes.

    .venv/bin/python bench/imports.py [--rows 100000] [--db sqlite|postgres|both]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

A CSV of --rows invoices (about 3 invoices per debtor; Dutch spellings: "1.234,56", dd-mm-yyyy,
national phone numbers) is written to a temporary folder, then:
- preview:  services.imports.preview (store the upload, check every row) and its commit.
- confirm:  services.imports.run (every row in one transaction) and its commit.
Peak memory is the process's maximum resident set size (ru_maxrss) after each step; it never
goes down, so the figure after confirm is the whole run's peak.
Aims (issue 7): the whole import of 100k rows under 60 s, peak under 300 MB.
PostgreSQL gets a throwaway database, created and dropped through the `postgres` maintenance
database: the database named in --database-url is not touched.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402 (bench/benchkit.py)

from portal import create_app  # noqa: E402 (after the path)
from portal.extensions import db  # noqa: E402
from portal.models import Case, Client, Invoice, Role  # noqa: E402
from portal.services import accounts, imports  # noqa: E402

NAMES = ("Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder")
HEADER = "Naam;Soort;E-mail;Telefoon;Land;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag\n"


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = date(2025, 6, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            d = i // 3
            invoice_day = start + timedelta(days=rng.randrange(0, 200))
            cents = rng.randrange(1_000, 500_000)
            amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"  # 1.234,56
            out.write(f"{NAMES[d % 8]} {d};{'particulier' if d % 4 else 'bedrijf'};"
                      f"d{d}@example.com;06 {10_000_000 + d:08d};NL;INV-{i:07d};"
                      f"{invoice_day:%d-%m-%Y};{invoice_day + timedelta(days=30):%d-%m-%Y};"
                      f"{amount}\n")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def bench(kind: str, url: str, csv_path: Path, tmp: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DOCUMENTS_PATH": str(tmp / "docs"),
                      "REDIS_URL": None, "TESTING": True})
    with app.app_context():
        db.create_all()
        client = Client(name="Bench B.V.")
        db.session.add(client)
        user = accounts.create_user("bench@example.test", "Bench", "correct horse battery",
                                    Role.CLIENT, client=client)
        db.session.commit()
        data = csv_path.read_bytes()
        start = time.perf_counter()
        batch = imports.preview(client, user, "claims.csv", data)
        db.session.commit()
        del data
        checked = time.perf_counter() - start
        print(f"  [{kind}] preview: {checked:.1f} s, {batch.rows_total} rows, "
              f"{len(batch.problems)} problems, peak {peak_mb():.0f} MB", flush=True)
        start = time.perf_counter()
        imports.run(batch, user, today=date(2026, 3, 2))
        db.session.commit()
        done = time.perf_counter() - start
        cases = db.session.scalar(select(func.count()).select_from(Case))
        invoices = db.session.scalar(select(func.count()).select_from(Invoice))
        print(f"  [{kind}] confirm: {done:.1f} s, {cases} cases, {invoices} invoices, "
              f"peak {peak_mb():.0f} MB", flush=True)
        print(f"  [{kind}] total: {checked + done:.1f} s", flush=True)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as folder:
        tmp = Path(folder)
        csv_path = tmp / "claims.csv"
        write_csv(csv_path, args.rows)
        print(f"{args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB of CSV", flush=True)
        for kind in kinds:
            with benchkit.throwaway_database(kind, args.database_url, tmp, "bench_imports") as url:
                bench(kind, url, csv_path, tmp)


if __name__ == "__main__":
    main()
