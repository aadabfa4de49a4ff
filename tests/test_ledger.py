"""The ledger: balances are sums of entries, and entries are never changed or removed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.extensions import db
from portal.models import Bucket, Case, CaseStatus, EntryCause, LedgerEntry, LedgerIsAppendOnly
from portal.services import ledger
from tests import factories

# Fixtures: migrated_app, a database built by `flask db upgrade`, on SQLite and PostgreSQL.
pytest_plugins = ["tests.databases"]

P, INT, COST, FEE = Bucket.PRINCIPAL, Bucket.INTEREST, Bucket.COSTS, Bucket.FEES
BOOKED_ON = date(2026, 3, 2)

# Each case opens with its invoices (principal claims), then books the extra entries
# (bucket, cents, cause). Expected figures are worked out by hand.
BALANCE_CASES = [
    pytest.param((100_00,), [], {P: 100_00}, {P: 100_00}, 0, 100_00, id="one invoice"),
    pytest.param((60_00, 40_00), [], {P: 100_00}, {P: 100_00}, 0, 100_00, id="two invoices"),
    pytest.param(
        (100_00,),
        [(INT, 2_50, EntryCause.INTEREST), (COST, 15_00, EntryCause.COLLECTION_COSTS),
         (FEE, 7_50, EntryCause.FEE)],
        {P: 100_00, INT: 2_50, COST: 15_00, FEE: 7_50},
        {P: 100_00, INT: 2_50, COST: 15_00, FEE: 7_50},
        0,
        125_00,
        id="interest costs and fees",
    ),
    pytest.param(
        (100_00,),
        [(INT, 2_50, EntryCause.INTEREST), (COST, 15_00, EntryCause.COLLECTION_COSTS),
         (COST, -15_00, EntryCause.PAYMENT), (INT, -2_50, EntryCause.PAYMENT),
         (P, -20_00, EntryCause.PAYMENT)],
        {P: 100_00, INT: 2_50, COST: 15_00},
        {P: 80_00},
        37_50,
        80_00,
        id="a payment over three buckets",
    ),
    pytest.param(
        (100_00,), [(P, -30_00, EntryCause.CREDIT_NOTE)], {P: 70_00}, {P: 70_00}, 0, 70_00,
        id="credit note",
    ),
    pytest.param(
        (100_00,),
        [(P, -40_00, EntryCause.PAYMENT), (P, -60_00, EntryCause.WRITE_OFF)],
        {P: 40_00},
        {},
        40_00,
        0,
        id="part paid, rest written off",
    ),
    pytest.param(
        (100_00,),
        [(INT, 5_00, EntryCause.INTEREST), (INT, -5_00, EntryCause.CORRECTION)],
        {P: 100_00},
        {P: 100_00},
        0,
        100_00,
        id="interest corrected away",
    ),
    pytest.param(
        (100_00,), [(P, -120_00, EntryCause.PAYMENT)], {P: 100_00}, {P: -20_00}, 120_00, -20_00,
        id="overpaid leaves a credit",
    ),
]


@pytest.fixture
def records(migrated_app: Flask) -> factories.Factory:
    """Factories on the migrated database (the conftest `make` is tied to the SQLite `app`)."""
    return factories.Factory()


def _open(
    make: factories.Factory, amounts: tuple[int, ...], extra: tuple | list = ()
) -> Case:
    case, _code = make.case(amounts=amounts, opened_on=BOOKED_ON)
    for bucket, cents, cause in extra:
        ledger.book(case, bucket, cents, cause, f"{cause} {cents}", booked_on=BOOKED_ON)
    db.session.flush()
    return case


def _every_bucket(amounts: dict[Bucket, int]) -> dict[Bucket, int]:
    """Compare per bucket with absent buckets as zero (an empty bucket may be left out)."""
    return {bucket: amounts.get(bucket, 0) for bucket in Bucket}


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collect the SQL statements the engine sends while the block runs."""
    statements: list[str] = []

    def _record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)


@pytest.mark.parametrize(
    ("invoices", "extra", "charged", "remaining", "paid", "total"), BALANCE_CASES
)
def test_balance_is_the_sum_of_the_entries(
    records, invoices, extra, charged, remaining, paid, total
) -> None:
    case = _open(records, invoices, extra)

    balance = ledger.balance(case)

    assert _every_bucket(balance.charged) == _every_bucket(charged)
    assert _every_bucket(balance.remaining) == _every_bucket(remaining)
    assert (balance.paid, balance.total) == (paid, total)
    assert (balance.principal, balance.interest, balance.costs, balance.fees) == (
        charged.get(P, 0), charged.get(INT, 0), charged.get(COST, 0), charged.get(FEE, 0)
    )


def test_balances_of_many_cases_take_one_query(records) -> None:
    amounts = [(10_00 * n,) for n in range(1, 9)]
    cases = [_open(records, a, [(P, -1_00, EntryCause.PAYMENT)]) for a in amounts]
    db.session.commit()
    ids = [case.id for case in cases]
    missing_id = max(ids) + 1000

    with count_statements() as statements:
        found = ledger.balances([*ids, missing_id])

    assert len(statements) == 1
    assert [found[i].total for i in ids] == [10_00 * n - 1_00 for n in range(1, 9)]
    assert [found[i].paid for i in ids] == [1_00] * 8
    assert (found[missing_id].total, found[missing_id].paid) == (0, 0)


def test_balances_of_no_cases_asks_nothing(records) -> None:
    with count_statements() as statements:
        assert ledger.balances([]) == {}
    assert statements == []


def test_totals_over_a_selection_of_cases(records) -> None:
    client_a, client_b = records.client(), records.client()
    _open(records, (100_00,), [(P, -30_00, EntryCause.PAYMENT)]).client = client_a
    _open(records, (50_00,), [(INT, 5_00, EntryCause.INTEREST)]).client = client_a
    _open(records, (70_00,), [(P, -70_00, EntryCause.PAYMENT)]).client = client_b
    db.session.flush()
    of_a = select(Case.id).where(Case.client_id == client_a.id)
    of_both = select(Case.id).where(Case.client_id.in_([client_a.id, client_b.id]))
    of_none = select(Case.id).where(Case.id < 0)

    assert (ledger.total_outstanding(of_a), ledger.total_paid(of_a)) == (125_00, 30_00)
    assert (ledger.total_outstanding(of_both), ledger.total_paid(of_both)) == (125_00, 100_00)
    assert (ledger.total_outstanding(of_none), ledger.total_paid(of_none)) == (0, 0)


def test_book_refuses_zero(make) -> None:
    case, _code = make.case()

    with pytest.raises(ValueError, match="zero"):
        ledger.book(case, P, 0, EntryCause.CORRECTION, "nothing", booked_on=BOOKED_ON)

    assert not [obj for obj in db.session.new if isinstance(obj, LedgerEntry)]
    assert len(ledger.entries(case)) == 1


def test_the_orm_refuses_to_change_an_entry(make) -> None:
    """On the create_all database of `app` there is no trigger: this is the ORM's own guard."""
    case, _code = make.case(amounts=(100_00,))
    db.session.commit()
    entry = ledger.entries(case)[0]

    entry.amount_cents = 1
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()

    assert db.session.scalar(select(LedgerEntry.amount_cents)) == 100_00


def test_the_orm_refuses_to_delete_an_entry(make) -> None:
    case, _code = make.case(amounts=(100_00,))
    db.session.commit()

    db.session.delete(ledger.entries(case)[0])
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()

    assert [entry.amount_cents for entry in ledger.entries(case)] == [100_00]


@pytest.mark.parametrize(
    "statement",
    [
        update(LedgerEntry).values(amount_cents=1),
        update(LedgerEntry).where(LedgerEntry.bucket == P).values(description="edited"),
        delete(LedgerEntry),
        delete(LedgerEntry).where(LedgerEntry.amount_cents > 0),
    ],
    ids=["update all", "update where", "delete all", "delete where"],
)
def test_the_orm_refuses_bulk_changes(make, statement) -> None:
    """`session.execute(update(...))` skips the per-object events; it is refused all the same."""
    case, _code = make.case(amounts=(100_00,))
    db.session.commit()

    with pytest.raises(LedgerIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()

    assert [(e.amount_cents, e.description) for e in ledger.entries(case)] == [
        (100_00, f"Invoice {case.invoices[0].number}")
    ]


def test_bulk_changes_to_other_tables_still_work(make) -> None:
    case, _code = make.case()

    db.session.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.ACTIVE))

    assert db.session.scalar(select(Case.status).where(Case.id == case.id)) == CaseStatus.ACTIVE


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_cents = amount_cents + 1",
        "UPDATE ledger_entries SET description = 'edited' WHERE bucket = 'principal'",
        "DELETE FROM ledger_entries",
        # with the one table that references it, so that no foreign key refuses first
        "TRUNCATE ledger_entries, remittance_items",
        "TRUNCATE cases CASCADE",
    ],
    ids=["update amount", "update description", "delete", "truncate", "truncate cascade"],
)
def test_the_database_refuses_raw_sql_changes(records, statement: str) -> None:
    if statement.startswith("TRUNCATE") and db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    """Underneath the ORM, the migration's trigger refuses UPDATE and DELETE on both backends."""
    case = _open(records, (100_00,), [(INT, 3_00, EntryCause.INTEREST)])
    db.session.commit()
    before = [(e.id, e.amount_cents, e.description) for e in ledger.entries(case)]

    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()

    assert [(e.id, e.amount_cents, e.description) for e in ledger.entries(case)] == before
