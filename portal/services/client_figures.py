"""A client's key figures (dashboard and status reports), each from one grouped query over the
ledger and the cases: no loop over cases, so 10,000 cases cost the same few queries as ten."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, cast, func, select
from sqlalchemy import case as sql_case

from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    CallLog,
    Case,
    CaseStatus,
    EntryCause,
    Invoice,
    LedgerEntry,
    NonPaymentReason,
)

# Days overdue of a case's oldest invoice: (label, lowest day, highest day or None).
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
MONTHS = 12


@dataclass(frozen=True)
class ClientFigures:
    open_cases: int = 0
    outstanding_cents: int = 0
    collected_month_cents: int = 0
    collected_total_cents: int = 0
    handed_over_cents: int = 0  # the principal of every claim handed over
    recovery_rate: float = 0.0  # collected / handed over principal, 0..1
    avg_days_to_collect: float | None = None  # handover to paid in full, paid cases only
    paid_cases: int = 0
    aging: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (cases, cents)
    reasons: list[tuple[str, int]] = field(default_factory=list)  # label -> cases
    collected_by_month: list[tuple[str, int]] = field(default_factory=list)  # "YYYY-MM" -> cents

    def as_dict(self) -> dict:
        """Plain JSON values (a status report stores the figures it printed)."""
        return {
            "open_cases": self.open_cases,
            "outstanding_cents": self.outstanding_cents,
            "collected_month_cents": self.collected_month_cents,
            "collected_total_cents": self.collected_total_cents,
            "handed_over_cents": self.handed_over_cents,
            "recovery_rate": self.recovery_rate,
            "avg_days_to_collect": self.avg_days_to_collect,
            "paid_cases": self.paid_cases,
            "aging": {k: list(v) for k, v in self.aging.items()},
            "reasons": [list(r) for r in self.reasons],
            "collected_by_month": [list(m) for m in self.collected_by_month],
        }


def figures(client_id: int, *, today: date, language: str = "en") -> ClientFigures:
    """Every key figure of one client's cases, as of `today`."""
    money = _money(client_id, today)
    handed_over = money["handed_over"]
    avg_days, paid_cases = _days_to_collect(client_id)
    return ClientFigures(
        open_cases=money["open_cases"],
        outstanding_cents=money["outstanding"],
        collected_month_cents=money["collected_month"],
        collected_total_cents=money["collected_total"],
        handed_over_cents=handed_over,
        recovery_rate=money["collected_total"] / handed_over if handed_over > 0 else 0.0,
        avg_days_to_collect=avg_days,
        paid_cases=paid_cases,
        aging=_aging(client_id, today),
        reasons=_reasons(client_id, language),
        collected_by_month=_by_month(client_id, today),
    )


def _client_cases(client_id: int):
    return select(Case.id).where(Case.client_id == client_id)


def _money(client_id: int, today: date) -> dict[str, int]:
    """Outstanding, collected and handed over in one pass over the client's ledger."""
    is_payment = LedgerEntry.cause == EntryCause.PAYMENT
    is_open = Case.status.in_(OPEN_STATUSES)
    month_start = today.replace(day=1)
    row = db.session.execute(
        select(
            func.sum(sql_case((is_open, LedgerEntry.amount_cents), else_=0)),
            func.sum(sql_case((is_payment, LedgerEntry.amount_cents), else_=0)),
            func.sum(sql_case(
                (is_payment & (LedgerEntry.booked_on >= month_start)
                 & (LedgerEntry.booked_on <= today), LedgerEntry.amount_cents), else_=0)),
            func.sum(sql_case((LedgerEntry.cause == EntryCause.CLAIM, LedgerEntry.amount_cents),
                              else_=0)),
        )
        .join(Case, Case.id == LedgerEntry.case_id)
        .where(Case.client_id == client_id)
    ).one()
    open_cases = db.session.scalar(
        select(func.count()).where(Case.client_id == client_id, is_open)
    )
    return {
        "outstanding": int(row[0] or 0),
        "collected_total": -int(row[1] or 0),
        "collected_month": -int(row[2] or 0),
        "handed_over": int(row[3] or 0),
        "open_cases": int(open_cases or 0),
    }


def _days_between(later, earlier):
    """Whole days from `earlier` to `later` in SQL (SQLite has no date subtraction)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return cast(later, Date) - cast(earlier, Date)


def _days_to_collect(client_id: int) -> tuple[float | None, int]:
    """The average days from handover (opened) to paid in full (closed), over paid cases."""
    row = db.session.execute(
        select(func.avg(_days_between(Case.closed_on, Case.opened_on)), func.count())
        .where(Case.client_id == client_id, Case.status == CaseStatus.PAID,
               Case.closed_on.is_not(None))
    ).one()
    average, count = row
    return (round(float(average), 1) if average is not None else None), int(count or 0)


def _aging(client_id: int, today: date) -> dict[str, tuple[int, int]]:
    """Open cases that still owe, by days overdue of their oldest invoice; bucket edges are
    dates, so the database compares dates and needs no date arithmetic."""
    oldest = (
        select(Invoice.case_id, func.min(Invoice.due_date).label("due"))
        .join(Case, Case.id == Invoice.case_id)
        .where(Case.client_id == client_id, Case.status.in_(OPEN_STATUSES))
        .group_by(Invoice.case_id)
        .subquery()
    )
    owed = (
        select(LedgerEntry.case_id, func.sum(LedgerEntry.amount_cents).label("cents"))
        .where(LedgerEntry.case_id.in_(select(oldest.c.case_id)))
        .group_by(LedgerEntry.case_id)
        .subquery()
    )
    label = _bucket_label(oldest.c.due, today)
    rows = db.session.execute(
        select(label, func.count(), func.sum(owed.c.cents))
        .select_from(oldest.join(owed, owed.c.case_id == oldest.c.case_id))
        .where(owed.c.cents > 0)
        .group_by(label)
    ).all()
    found = {name: (int(count), int(cents or 0)) for name, count, cents in rows}
    return {name: found.get(name, (0, 0)) for name, _, _ in AGING_BUCKETS}


def _bucket_label(due, today: date):
    """CASE due >= today-30 THEN '0-30' ... ELSE '90+' (not yet due counts as 0-30)."""
    whens = [
        (due >= today - timedelta(days=high), name)
        for name, _low, high in AGING_BUCKETS if high is not None
    ]
    return sql_case(*whens, else_=AGING_BUCKETS[-1][0])


def _reasons(client_id: int, language: str) -> list[tuple[str, int]]:
    """How many of the client's cases gave each reason for not paying, most given first."""
    label = NonPaymentReason.label_nl if language == "nl" else NonPaymentReason.label_en
    cases = func.count(func.distinct(CallLog.case_id))
    rows = db.session.execute(
        select(label, cases)
        .join(CallLog, CallLog.reason_id == NonPaymentReason.id)
        .where(CallLog.case_id.in_(_client_cases(client_id)))
        .group_by(NonPaymentReason.id, label)
        .order_by(cases.desc(), label)
    ).all()
    return [(str(name), int(count)) for name, count in rows]


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first day of each of the last `months` months, oldest first, this month last."""
    starts, year, month = [], today.year, today.month
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _by_month(client_id: int, today: date) -> list[tuple[str, int]]:
    """Payments received per month over the last twelve, one query: a column per month (no
    dialect-specific date formatting)."""
    starts = month_starts(today)
    ends = [*starts[1:], today + timedelta(days=1)]
    columns = [
        func.sum(sql_case(((LedgerEntry.booked_on >= start) & (LedgerEntry.booked_on < end),
                           LedgerEntry.amount_cents), else_=0))
        for start, end in zip(starts, ends, strict=True)
    ]
    row = db.session.execute(
        select(*columns).where(
            LedgerEntry.case_id.in_(_client_cases(client_id)),
            LedgerEntry.cause == EntryCause.PAYMENT,
            LedgerEntry.booked_on >= starts[0],
        )
    ).one()
    return [(start.strftime("%Y-%m"), -int(cents or 0)) for start, cents in zip(starts, row,
                                                                               strict=True)]
