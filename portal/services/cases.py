"""Opening cases: a reference, an access code, the invoices and their principal in the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from portal.domain.references import case_reference
from portal.extensions import db
from portal.models import (
    Bucket,
    Case,
    CaseStatus,
    Client,
    Debtor,
    EntryCause,
    Invoice,
    ReferenceCounter,
    User,
)
from portal.services import access_codes, audit, ledger, workflows


@dataclass(frozen=True)
class InvoiceData:
    number: str
    invoice_date: date
    due_date: date
    amount_cents: int
    description: str | None = None
    currency: str = "EUR"


def next_reference(year: int) -> str:
    """Hand out the next case reference of the year, safely under concurrent imports."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(ReferenceCounter).values(year=year, last_number=0).on_conflict_do_nothing()
    )
    number = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
    ).scalar_one()
    return case_reference(year, number)


def open_case(
    client: Client,
    debtor: Debtor,
    invoices: list[InvoiceData],
    *,
    opened_on: date,
    user: User | None = None,
) -> tuple[Case, str]:
    """Open a case for the debtor's invoices and book their principal.

    Returns the case and its access code in plain text: the only moment it exists
    unhashed, to be printed on the first letter.
    """
    if not invoices:
        raise ValueError("a case needs at least one invoice")
    reference = next_reference(opened_on.year)
    nonce, code, code_hash = access_codes.issue(reference)
    case = Case(
        reference=reference,
        client=client,
        debtor=debtor,
        status=CaseStatus.NEW,
        opened_on=opened_on,
        access_code_nonce=nonce,
        access_code_hash=code_hash,
    )
    db.session.add(case)
    db.session.flush()
    for data in invoices:
        _add_invoice(case, data, opened_on)
    workflows.start_case(case)
    audit.record(
        "case.opened",
        f"Case opened with {len(invoices)} invoice(s)",
        case=case,
        user=user,
        invoices=[data.number for data in invoices],
    )
    db.session.flush()
    return case, code


def _add_invoice(case: Case, data: InvoiceData, booked_on: date) -> Invoice:
    if data.amount_cents <= 0:
        raise ValueError(f"invoice {data.number}: the amount must be above zero")
    invoice = Invoice(
        case=case,
        client_id=case.client_id,
        number=data.number,
        invoice_date=data.invoice_date,
        due_date=data.due_date,
        amount_cents=data.amount_cents,
        currency=data.currency,
        description=data.description,
    )
    db.session.add(invoice)
    db.session.flush()
    ledger.book(
        case,
        Bucket.PRINCIPAL,
        data.amount_cents,
        EntryCause.CLAIM,
        f"Invoice {data.number}",
        booked_on=booked_on,
        invoice=invoice,
        cause_ref=f"invoice:{invoice.id}",
        user=None,
    )
    return invoice
