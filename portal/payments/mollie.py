"""The Mollie adapter (iDEAL, cards), through the mollie-api-python client.

Mollie's checkout is on mollie.com; the payer pays there, and Mollie calls our webhook with
the payment's id only. We then fetch the payment from Mollie's API.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from flask import current_app
from mollie.api.client import Client
from mollie.api.error import Error as MollieError

from portal.models import Payment, PaymentStatus
from portal.payments.base import Checkout, Provider, ProviderError, ProviderStatus, euros

# Mollie's statuses in ours. "authorized" (a card reserved, not yet captured) is not money
# received: it waits like "pending".
STATUSES = {
    "open": PaymentStatus.OPEN,
    "pending": PaymentStatus.PENDING,
    "authorized": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "failed": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
    "expired": PaymentStatus.EXPIRED,
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class MollieProvider(Provider):
    name = "mollie"

    def __init__(self, api_key: str | None = None) -> None:
        key = api_key or current_app.config.get("MOLLIE_API_KEY")
        if not key:
            raise ProviderError("mollie: MOLLIE_API_KEY is not set")
        self.client = Client()
        try:
            self.client.set_api_key(key)
        except MollieError as exc:
            raise ProviderError(f"mollie: {exc}") from exc

    def create(self, payment: Payment, *, redirect_url: str, webhook_url: str) -> Checkout:
        data = {
            "amount": {"currency": payment.currency, "value": euros(payment.amount_cents)},
            "description": payment.description or f"Payment {payment.id}",
            "redirectUrl": redirect_url,
            "metadata": {"payment_id": payment.id},
        }
        # Mollie refuses a webhook it cannot reach; on a laptop the return page asks instead.
        if urlsplit(webhook_url).hostname not in LOCAL_HOSTS:
            data["webhookUrl"] = webhook_url
        try:
            created = self.client.payments.create(data)
        except MollieError as exc:
            raise ProviderError(f"mollie: could not create the payment: {exc}") from exc
        if not created.checkout_url:
            raise ProviderError(f"mollie: payment {created.id} has no checkout link")
        return Checkout(created.id, created.checkout_url)

    def fetch(self, ref: str) -> ProviderStatus:
        try:
            found = self.client.payments.get(ref)
        except MollieError as exc:
            raise ProviderError(f"mollie: could not fetch payment {ref}: {exc}") from exc
        status = STATUSES.get(found.status)
        if status is None:
            raise ProviderError(f"mollie: payment {ref} has an unknown status {found.status!r}")
        amount = found.amount or {}
        return ProviderStatus(
            status=status,
            method=found.method,
            paid_at=datetime.fromisoformat(found.paid_at) if found.paid_at else None,
            amount_cents=int(Decimal(amount.get("value", "0")) * 100),
        )
