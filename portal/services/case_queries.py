"""Reading cases for lists and case pages: search, filters, pages, timelines."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, joinedload

from portal.domain.references import case_reference, parse_case_reference
from portal.extensions import db
from portal.models import OPEN_STATUSES, AuditEvent, Case, CaseStatus, Debtor, Invoice


@dataclass(frozen=True)
class CaseFilters:
    q: str = ""
    status: str = ""
    client_id: int | None = None


def search(stmt: Select, filters: CaseFilters) -> Select:
    """Narrow a case query by free text (reference, debtor name, invoice number) and filters."""
    stmt = stmt.join(Case.debtor).options(contains_eager(Case.debtor), joinedload(Case.client))
    text = filters.q.strip()
    if text:
        stmt = stmt.where(_text_match(text, scope=stmt))
    if filters.status == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif filters.status in CaseStatus._value2member_map_:
        stmt = stmt.where(Case.status == CaseStatus(filters.status))
    if filters.client_id:
        stmt = stmt.where(Case.client_id == filters.client_id)
    return stmt.order_by(Case.opened_on.desc(), Case.id.desc())


def _text_match(text: str, *, scope: Select):
    """A typed reference or an exact invoice number finds its case; anything else a name part.

    The first two use an index; only the name part scans the debtors.
    """
    parsed = parse_case_reference(text)
    if parsed is not None:
        return Case.reference == case_reference(*parsed)
    # Only within the caller's scope: another client's invoice numbers must not steer the search.
    in_scope = scope.with_only_columns(Case.id).order_by(None)
    by_invoice = db.session.scalars(
        select(Invoice.case_id).where(
            Invoice.number.in_({text, text.upper()}), Invoice.case_id.in_(in_scope)
        )
    ).all()
    if by_invoice:
        return Case.id.in_(by_invoice)
    return func.lower(Debtor.name).contains(text.lower(), autoescape=True)


def status_counts(stmt: Select) -> dict[str, int]:
    """Cases per status for the given (already scoped) case query."""
    sub = stmt.subquery()
    rows = db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    return {str(status): count for status, count in rows}


def invoice_of(case: Case, invoice_id: int) -> Invoice | None:
    """The case's own invoice with that id; another case's invoice is None (the view answers
    404), so a URL cannot pair a case its user may see with an invoice of another case."""
    return next((invoice for invoice in case.invoices if invoice.id == invoice_id), None)


def timeline(case: Case, *, client_view: bool = False) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.case_id == case.id)
    if client_view:
        stmt = stmt.where(AuditEvent.client_visible.is_(True))
    stmt = stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return list(db.session.scalars(stmt))
