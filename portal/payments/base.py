"""The small interface every payment provider implements.

The portal never sees card or bank data: it creates a checkout at the provider, sends the
payer there, and later asks the provider what happened (`fetch`), never the request.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from portal.models import Payment, PaymentStatus


class ProviderError(Exception):
    """The provider could not be reached or refused the request; the message says why."""


@dataclass(frozen=True)
class Checkout:
    """Where the payer goes to pay: the provider's id for the payment and its checkout page."""

    ref: str
    checkout_url: str


@dataclass(frozen=True)
class ProviderStatus:
    """What the provider says about a payment, in our terms."""

    status: PaymentStatus
    method: str | None
    paid_at: datetime | None
    amount_cents: int


class Provider(ABC):
    name: str

    @abstractmethod
    def create(self, payment: Payment, *, redirect_url: str, webhook_url: str) -> Checkout:
        """Create the payment at the provider; raises ProviderError."""

    @abstractmethod
    def fetch(self, ref: str) -> ProviderStatus:
        """The payment's status as the provider knows it; raises ProviderError."""

    def is_external(self, checkout_url: str) -> bool:
        """A checkout on another site: the payer follows a link there (see debtor.start_payment)."""
        return "://" in checkout_url


def euros(cents: int) -> str:
    """Cents as providers write amounts: "12.34"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
