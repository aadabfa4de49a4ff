"""Claims handed over through the API, and the idempotency keys that make retries safe."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import Case, Client, Debtor, DebtorKind, IdempotencyKey, Invoice
from portal.services import audit
from portal.services.cases import InvoiceData, open_case


class AlreadyHandedOver(ValueError):
    """Some invoice numbers of the claim were handed over before (by any route)."""

    def __init__(self, numbers: list[str]) -> None:
        super().__init__(", ".join(numbers))
        self.numbers = numbers


def existing_numbers(client_id: int, numbers: list[str]) -> list[str]:
    """The invoice numbers of `numbers` this client has handed over already."""
    return sorted(db.session.scalars(select(Invoice.number).where(
        Invoice.client_id == client_id, Invoice.number.in_(numbers))))


def hand_over(client: Client, rows: list, *, today: date) -> Case:
    """Open a case for one debtor's invoices (rows: checked ClaimRows of one debtor).

    Refuses the whole claim (AlreadyHandedOver) when any invoice number is known.
    """
    known = existing_numbers(client.id, [row.invoice_number for row in rows])
    if known:
        raise AlreadyHandedOver(known)
    first = rows[0]
    debtor = Debtor(kind=DebtorKind(first.debtor_kind), name=first.debtor_name,
                    email=first.email, phone=first.phone, address_line=first.address_line,
                    postal_code=first.postal_code, city=first.city, country=first.country,
                    language=first.language)
    db.session.add(debtor)
    db.session.flush()
    invoices = [InvoiceData(number=row.invoice_number, invoice_date=row.invoice_date,
                            due_date=row.due_date, amount_cents=row.amount_cents,
                            description=row.description, currency=row.currency) for row in rows]
    case, _code = open_case(client, debtor, invoices, opened_on=today)
    audit.record("case.api_handover", "Handed over through the API", case=case,
                 client_visible=True)
    return case


def request_hash(body: Any) -> str:
    """The same JSON (whatever its key order or spacing) hashes the same."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_key(client_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.client_id == client_id, IdempotencyKey.key == key))


def remember(client_id: int, key: str, body_hash: str, status: int, response: Any) -> None:
    """Keep the answer to a keyed request; flushed with the work it answers for, so both
    commit or neither (a concurrent twin fails on the unique key and reads this one)."""
    db.session.add(IdempotencyKey(client_id=client_id, key=key, request_hash=body_hash,
                                  response_status=status, response_body=response))
    db.session.flush()
