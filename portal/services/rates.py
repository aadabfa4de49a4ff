"""The statutory interest rates in force: the shipped table, extended by rates an admin added."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.domain.rates import RateKind, RateTable
from portal.extensions import db
from portal.models import InterestRate, User
from portal.services import audit


def added_rates() -> list[InterestRate]:
    stmt = select(InterestRate).order_by(InterestRate.kind, InterestRate.valid_from)
    return list(db.session.scalars(stmt))


def rate_table() -> RateTable:
    """The table every interest calculation uses: an admin's row replaces a shipped one."""
    return RateTable.shipped().extended(added_rates())


def add_rate(
    kind: RateKind,
    valid_from: date,
    rate_percent: Decimal,
    source: str,
    *,
    verified: bool,
    user: User,
) -> InterestRate:
    """Record a rate from a date on; one row per kind and date (ValueError when taken)."""
    taken = db.session.scalar(
        select(InterestRate).where(
            InterestRate.kind == kind.value, InterestRate.valid_from == valid_from
        )
    )
    if taken is not None:
        raise ValueError("taken")
    row = InterestRate(
        kind=kind.value,
        valid_from=valid_from,
        rate_percent=rate_percent,
        source=source.strip(),
        verified=verified,
    )
    rate_table().extended([row])  # refuses a row the domain would refuse, before it is saved
    db.session.add(row)
    db.session.flush()
    audit.record(
        "rates.added",
        f"{kind.value} interest rate {rate_percent} % from {valid_from.isoformat()} added",
        user=user,
        client_visible=False,
        kind=kind.value,
        valid_from=valid_from.isoformat(),
        rate_percent=str(rate_percent),
        verified=verified,
    )
    return row
