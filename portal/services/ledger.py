"""Booking to the ledger and reading balances from it (never from a stored number)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Bucket, Case, EntryCause, Invoice, LedgerEntry, User
from portal.services import bulk


@dataclass(frozen=True)
class Balance:
    """A case's money in cents, summed from its ledger entries.

    `charged` is what each bucket was charged (claims, interest, costs, less credit notes,
    write-offs and corrections: every entry but payments); `remaining` is what each bucket still
    stands at after payments; `paid` is the payments received.
    total = sum(charged) - paid = sum(remaining).
    """

    charged: dict[Bucket, int] = field(default_factory=dict)
    remaining: dict[Bucket, int] = field(default_factory=dict)
    paid: int = 0

    @property
    def principal(self) -> int:
        return self.charged.get(Bucket.PRINCIPAL, 0)

    @property
    def interest(self) -> int:
        return self.charged.get(Bucket.INTEREST, 0)

    @property
    def costs(self) -> int:
        return self.charged.get(Bucket.COSTS, 0)

    @property
    def fees(self) -> int:
        return self.charged.get(Bucket.FEES, 0)

    @property
    def total(self) -> int:
        return sum(self.remaining.values())


def book(
    case: Case,
    bucket: Bucket,
    amount_cents: int,
    cause: EntryCause,
    description: str,
    *,
    booked_on: date,
    invoice: Invoice | None = None,
    cause_ref: str | None = None,
    user: User | None = None,
) -> LedgerEntry:
    """Append one entry. Positive raises what is owed; negative lowers it."""
    if amount_cents == 0:
        raise ValueError("a ledger entry of zero says nothing")
    entry = LedgerEntry(
        case_id=case.id,
        invoice_id=invoice.id if invoice is not None else None,
        bucket=bucket,
        amount_cents=amount_cents,
        cause=cause,
        cause_ref=cause_ref,
        description=description,
        booked_on=booked_on,
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(entry)
    return entry


def balances(case_ids: Iterable[int]) -> dict[int, Balance]:
    """Balances for many cases in one query (lists use this; no query per row)."""
    ids = list(case_ids)
    if not ids:
        return {}
    is_payment = LedgerEntry.cause == EntryCause.PAYMENT
    rows = db.session.execute(
        select(
            LedgerEntry.case_id,
            LedgerEntry.bucket,
            func.sum(sql_case((is_payment, 0), else_=LedgerEntry.amount_cents)),
            func.sum(LedgerEntry.amount_cents),
        )
        .where(bulk.among(LedgerEntry.case_id, ids))
        .group_by(LedgerEntry.case_id, LedgerEntry.bucket)
    ).all()
    charged: dict[int, dict[Bucket, int]] = {case_id: {} for case_id in ids}
    remaining: dict[int, dict[Bucket, int]] = {case_id: {} for case_id in ids}
    for case_id, bucket, charged_sum, net_sum in rows:
        charged[case_id][Bucket(bucket)] = int(charged_sum or 0)
        remaining[case_id][Bucket(bucket)] = int(net_sum or 0)
    return {
        case_id: Balance(
            charged[case_id],
            remaining[case_id],
            sum(charged[case_id].values()) - sum(remaining[case_id].values()),
        )
        for case_id in ids
    }


def balance(case: Case) -> Balance:
    return balances([case.id])[case.id]


def entries(case: Case) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .options(joinedload(LedgerEntry.invoice))
            .where(LedgerEntry.case_id == case.id)
            .order_by(LedgerEntry.booked_on, LedgerEntry.id)
        )
    )


def total_outstanding(case_ids: Select) -> int:
    """What a set of cases (a select of ids) owes in total, summed in the database."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.case_id.in_(case_ids)
        )
    )
    return int(total or 0)


def total_paid(case_ids: Select) -> int:
    """Payments received on a set of cases, as a positive number."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.case_id.in_(case_ids), LedgerEntry.cause == EntryCause.PAYMENT
        )
    )
    return -int(total or 0)
