"""The sandbox provider: a checkout page of our own, so the whole flow works offline.

Like a real provider it keeps its own record of each payment, apart from ours: a JSON file
per payment under `<instance>/sandbox-payments/`. The checkout page (portal.payments.views)
writes the payer's choice there, and `fetch` reads it back, so our side learns the outcome
the same way it does from Mollie: by asking the provider, never from the request.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app

from portal.links import path_for
from portal.models import Payment, PaymentStatus, utcnow
from portal.payments.base import Checkout, Provider, ProviderError, ProviderStatus

REF_PATTERN = re.compile(r"sbx_[0-9a-f]{24}")
# What the payer can choose on the checkout page, and what each one means.
CHOICES = {
    "approve": PaymentStatus.PAID,
    "fail": PaymentStatus.FAILED,
    "cancel": PaymentStatus.CANCELED,
}


def _folder() -> Path:
    return Path(current_app.instance_path) / "sandbox-payments"


def _path(ref: str) -> Path:
    # The ref comes from a URL: only our own shape may become a file name.
    if not REF_PATTERN.fullmatch(ref):
        raise ProviderError(f"sandbox: no payment {ref!r}")
    return _folder() / f"{ref}.json"


def load(ref: str) -> dict[str, Any]:
    """The sandbox's record of a payment; ProviderError when there is none."""
    try:
        return json.loads(_path(ref).read_text())
    except FileNotFoundError as exc:
        raise ProviderError(f"sandbox: no payment {ref!r}") from exc


def _save(record: dict[str, Any]) -> None:
    path = _path(record["ref"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)  # a reader never sees half a file


def choose(ref: str, choice: str) -> dict[str, Any]:
    """Record the payer's choice (approve, fail, cancel) once; a finished payment stays as it is."""
    record = load(ref)
    if record["status"] == PaymentStatus.OPEN and choice in CHOICES:
        record["status"] = str(CHOICES[choice])
        if record["status"] == PaymentStatus.PAID:
            record["method"] = "sandbox"
            record["paid_at"] = utcnow().isoformat()
        _save(record)
    return record


class SandboxProvider(Provider):
    name = "sandbox"

    def create(self, payment: Payment, *, redirect_url: str, webhook_url: str) -> Checkout:
        ref = "sbx_" + secrets.token_hex(12)
        _save({
            "ref": ref,
            "payment_id": payment.id,
            "amount_cents": payment.amount_cents,
            "description": payment.description,
            "status": str(PaymentStatus.OPEN),
            "method": None,
            "paid_at": None,
            "redirect_url": redirect_url,
        })
        return Checkout(ref, path_for("payments.sandbox_checkout", ref=ref))

    def fetch(self, ref: str) -> ProviderStatus:
        record = load(ref)
        paid_at = record.get("paid_at")
        return ProviderStatus(
            status=PaymentStatus(record["status"]),
            method=record.get("method"),
            paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
            amount_cents=int(record["amount_cents"]),
        )

    def is_external(self, checkout_url: str) -> bool:
        return False
