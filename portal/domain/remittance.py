"""What a client is paid out of what its debtors paid: commission, VAT and the payout.

Pure rules, no database. Amounts are integer cents; percentages are applied with Decimal and
rounded half up to the cent, once per remittance (never per case: a statement must add up).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.domain.money import round_half_up

CLIENT = "client"
AGENCY = "agency"
MAX_COMMISSION_BP = 10_000  # 100 %


@dataclass(frozen=True)
class Terms:
    """A client's commission terms: a share of the principal in hundredths of a percent
    (1500 = 15 %), VAT on that commission in percent, and who keeps interest and costs."""

    commission_bp: int
    vat_percent: int
    interest_to: str = CLIENT  # CLIENT or AGENCY
    costs_to: str = AGENCY  # collection costs and other fees

    def __post_init__(self) -> None:
        if not 0 <= self.commission_bp <= MAX_COMMISSION_BP:
            raise ValueError("commission must lie between 0 and 100 %")
        if not 0 <= self.vat_percent <= 100:
            raise ValueError("VAT must lie between 0 and 100 %")
        if {self.interest_to, self.costs_to} - {CLIENT, AGENCY}:
            raise ValueError("interest and costs go to the client or the agency")


@dataclass(frozen=True)
class Collected:
    """Money debtors paid, per bucket of the ledger (payments net of reversals)."""

    principal: int = 0
    interest: int = 0
    costs: int = 0
    fees: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.costs + self.fees


@dataclass(frozen=True)
class Settlement:
    collected: Collected
    commission: int
    commission_vat: int
    interest_to_client: int
    costs_to_client: int  # collection costs and fees passed on
    payout: int

    @property
    def agency_income(self) -> int:
        """Commission, its VAT, and whatever the agency keeps: collected less the payout."""
        return self.collected.total - self.payout


def settle(collected: Collected, terms: Terms) -> Settlement:
    """Split what was collected between the client and the agency.

    The commission is a share of the principal only; VAT is charged on the commission. The
    client receives the principal less commission and VAT, plus the interest and the costs
    its terms give it. Every cent collected ends up on one side.
    """
    commission = round_half_up(Decimal(collected.principal) * terms.commission_bp / 10_000)
    vat = round_half_up(Decimal(commission) * terms.vat_percent / 100)
    interest = collected.interest if terms.interest_to == CLIENT else 0
    costs = collected.costs + collected.fees if terms.costs_to == CLIENT else 0
    payout = collected.principal - commission - vat + interest + costs
    return Settlement(collected, commission, vat, interest, costs, payout)
