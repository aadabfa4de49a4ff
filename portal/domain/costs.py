"""Statutory extrajudicial collection costs: the Dutch BIK scale (art. 6:96 BW).

Besluit vergoeding voor buitengerechtelijke incassokosten, art. 2: a marginal scale on the
principal only (never on interest or earlier costs), at least EUR 40 and at most EUR 6,775,
with VAT added on top only when the creditor cannot deduct it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from portal.domain.money import round_half_up, split_pro_rata

VAT_RATE = Decimal("0.21")
MINIMUM_CENTS = 40_00
MAXIMUM_CENTS = 6_775_00


class Band(NamedTuple):
    """One slice of the scale: `rate` applies to the part of the principal up to `upto_cents`."""

    upto_cents: int | None  # None: no upper limit
    rate: Decimal


# Marginal bands, lowest first; each applies only to the part of the principal inside it.
BIK_BANDS: tuple[Band, ...] = (
    Band(2_500_00, Decimal("0.15")),
    Band(5_000_00, Decimal("0.10")),
    Band(10_000_00, Decimal("0.05")),
    Band(200_000_00, Decimal("0.01")),
    Band(None, Decimal("0.005")),
)


def statutory_collection_costs(principal_cents: int, *, vat: bool = False) -> int:
    """Collection costs in cents for a principal in cents, per the BIK scale.

    A principal of 0 means there is nothing to collect, so no costs (not the EUR 40 minimum).
    The minimum and maximum apply before VAT; with `vat=True` 21 % VAT on the capped amount
    is added, each step rounded half up to the cent. Negative principal raises ValueError.
    """
    if principal_cents < 0:
        raise ValueError("principal cannot be negative")
    if principal_cents == 0:
        return 0
    scale = round_half_up(_scale_amount(principal_cents))
    costs = min(max(scale, MINIMUM_CENTS), MAXIMUM_CENTS)
    if vat:
        costs += round_half_up(costs * VAT_RATE)
    return costs


def _scale_amount(principal_cents: int) -> Decimal:
    """The unrounded sum over the bands, in fractional cents."""
    total = Decimal(0)
    lower = 0
    for band in BIK_BANDS:
        top = principal_cents if band.upto_cents is None else band.upto_cents
        upper = min(principal_cents, top)
        if upper <= lower:
            break
        total += (upper - lower) * band.rate
        lower = upper
    return total


def costs_shares(principals: dict[int, int], *, vat: bool) -> dict[int, int]:
    """Collection costs for claims that go in one demand, per claim: the BIK scale on their
    summed unpaid principal (LAW.md), split in proportion. A 14-day letter announcing costs
    should state what this gives for its cases; nothing owed (all paid): no costs."""
    unpaid = {key: max(cents, 0) for key, cents in principals.items()}
    if not sum(unpaid.values()):
        return dict.fromkeys(unpaid, 0)
    return split_pro_rata(statutory_collection_costs(sum(unpaid.values()), vat=vat), unpaid)
