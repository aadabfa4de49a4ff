"""Reading cases for lists and case pages: search, filters, pages, timelines."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
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
        parsed = parse_case_reference(text)
        like = f"%{text.lower()}%"
        invoice_match = select(Invoice.case_id).where(func.lower(Invoice.number).like(like))
        conditions = [func.lower(Debtor.name).like(like), Case.id.in_(invoice_match)]
        if parsed is not None:
            conditions.append(Case.reference == case_reference(*parsed))
        else:
            conditions.append(func.lower(Case.reference).like(like))
        stmt = stmt.where(or_(*conditions))
    if filters.status == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif filters.status in CaseStatus._value2member_map_:
        stmt = stmt.where(Case.status == CaseStatus(filters.status))
    if filters.client_id:
        stmt = stmt.where(Case.client_id == filters.client_id)
    return stmt.order_by(Case.opened_on.desc(), Case.id.desc())


def status_counts(stmt: Select) -> dict[str, int]:
    """Cases per status for the given (already scoped) case query."""
    sub = stmt.subquery()
    rows = db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    return {str(status): count for status, count in rows}


def timeline(case: Case, *, client_view: bool = False) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.case_id == case.id)
    if client_view:
        stmt = stmt.where(AuditEvent.client_visible.is_(True))
    stmt = stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return list(db.session.scalars(stmt))
