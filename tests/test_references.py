"""Case references: K-YYYY-000001 upwards, per year, never twice and without gaps."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import ReferenceCounter
from portal.services.cases import next_reference
from tests import factories

# Fixtures: migrated_app, a database built by `flask db upgrade`, on SQLite and PostgreSQL.
pytest_plugins = ["tests.databases"]

THREADS = 4
PER_THREAD = 50


def test_numbers_count_up_per_year(migrated_app: Flask) -> None:
    handed_out = [next_reference(year) for year in (2026, 2026, 2026, 2027, 2026, 2027)]

    assert handed_out == [
        "K-2026-000001", "K-2026-000002", "K-2026-000003",
        "K-2027-000001", "K-2026-000004", "K-2027-000002",
    ]


def test_a_rolled_back_reference_is_handed_out_again(migrated_app: Flask) -> None:
    """A failed import must not leave a hole in the numbering."""
    assert next_reference(2026) == "K-2026-000001"
    db.session.commit()
    assert next_reference(2026) == "K-2026-000002"
    db.session.rollback()

    assert next_reference(2026) == "K-2026-000002"


def test_opened_cases_take_the_next_reference_of_their_year(migrated_app: Flask) -> None:
    make = factories.Factory()
    first, _ = make.case(opened_on=date(2026, 12, 31))
    second, _ = make.case(opened_on=date(2027, 1, 1))
    third, _ = make.case(opened_on=date(2026, 12, 31))

    assert [first.reference, second.reference, third.reference] == [
        "K-2026-000001", "K-2027-000001", "K-2026-000002",
    ]


def _open_references(app: Flask, start: threading.Barrier, year: int) -> list[int]:
    """One worker: its own app context and session, one commit per reference."""
    numbers: list[int] = []
    with app.app_context():
        start.wait()
        try:
            for _ in range(PER_THREAD):
                numbers.append(int(next_reference(year).rsplit("-", 1)[1]))
                db.session.commit()
        finally:
            db.session.remove()
    return numbers


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
def test_concurrent_imports_never_share_a_number(migrated_app: Flask) -> None:
    """Four importers at once on PostgreSQL: every number once, none skipped."""
    start = threading.Barrier(THREADS, timeout=30)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(_open_references, migrated_app, start, 2026) for _ in range(THREADS)
        ]
        per_thread = [future.result(timeout=120) for future in futures]

    every = [number for numbers in per_thread for number in numbers]
    assert sorted(every) == list(range(1, THREADS * PER_THREAD + 1))
    assert all(numbers == sorted(numbers) for numbers in per_thread)
    last = select(ReferenceCounter.last_number).where(ReferenceCounter.year == 2026)
    assert db.session.scalar(last) == THREADS * PER_THREAD
