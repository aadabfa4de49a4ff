"""Allocating a payment within one claim: costs, then interest, then principal (art. 6:44 BW)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allocation:
    """How much of a payment went to each bucket, in cents; `surplus` is what was left over."""

    costs: int
    interest: int
    principal: int
    surplus: int

    @property
    def total(self) -> int:
        """The whole payment: the buckets plus the surplus."""
        return self.costs + self.interest + self.principal + self.surplus


def allocate(payment_cents: int, *, costs: int, interest: int, principal: int) -> Allocation:
    """Split a payment over what is owed in the order of art. 6:44 BW.

    `costs`, `interest` and `principal` are the amounts still owed. A payment larger than the
    debt keeps the rest as `surplus` (to refund or to apply elsewhere): money is never
    dropped. Negative amounts raise ValueError.
    """
    amounts = {"payment": payment_cents, "costs": costs, "interest": interest,
               "principal": principal}
    negative = [name for name, amount in amounts.items() if amount < 0]
    if negative:
        raise ValueError(f"amounts cannot be negative: {', '.join(negative)}")
    left = payment_cents
    shares = []
    for owed in (costs, interest, principal):
        share = min(left, owed)
        shares.append(share)
        left -= share
    return Allocation(*shares, surplus=left)
