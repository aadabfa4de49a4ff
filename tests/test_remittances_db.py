"""Remittance runs on the migrated schema of each backend (PostgreSQL where the machine has
one): the INSERT ... ON CONFLICT that reserves entries, and two runs made at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import RemittanceItem
from portal.services import remittances, trust
from portal.services.remittances import RunRefused
from tests import factories
from tests.test_remittances import AGENCY_IBAN, NORTH_IBAN, owing, pay

pytest_plugins = ["tests.databases"]

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
EXECUTE_ON = date(2026, 4, 3)


@pytest.fixture
def book(migrated_app: Flask, monkeypatch) -> list[int]:
    """Three clients, each with four payments in March: 12 payments, 12 ledger entries."""
    monkeypatch.setattr("portal.queue._enqueue_all", lambda jobs: None)
    migrated_app.config["AGENCY_IBAN"] = AGENCY_IBAN
    make = factories.Factory()
    ids = []
    for n in range(3):
        client = make.client(f"Client {n} B.V.", iban=NORTH_IBAN)
        for day in (3, 9, 17, 28):
            pay(owing(make, client, 500_00), 100_00 + n, date(2026, 3, day))
        ids.append(client.id)
    db.session.commit()
    return ids


@pytest.mark.parametrize("backend_url", ["sqlite", "postgresql"], indirect=True)
def test_a_run_reserves_each_entry_once_and_the_books_balance(book) -> None:
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.commit()
    assert [r.principal_cents for r in run.remittances] == [400_00, 400_04, 400_08]
    with pytest.raises(RunRefused):
        remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.rollback()
    remittances.approve_run(run, None, today=date(2026, 4, 2))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(RemittanceItem)) == 12
    assert trust.trust_check().balanced


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
def test_two_runs_made_at_once_never_take_one_entry_twice(migrated_app: Flask, book) -> None:
    start = threading.Barrier(2, timeout=60)

    def make_run(client_ids: list[int] | None) -> int:
        with migrated_app.app_context():
            try:
                start.wait()
                run = remittances.plan_run(*MARCH, EXECUTE_ON, None, client_ids=client_ids)
                db.session.commit()
                return sum(r.collected_cents for r in run.remittances)
            except RunRefused:
                return 0
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(make_run, [None, book[:2]]))
    items = db.session.scalar(select(func.count()).select_from(RemittanceItem))
    distinct = db.session.scalar(select(func.count(func.distinct(RemittanceItem.ledger_entry_id))))
    assert items == distinct == 12
    assert sum(taken) == 3 * 400_00 + 4 * (1 + 2)
    assert trust.trust_check().balanced
