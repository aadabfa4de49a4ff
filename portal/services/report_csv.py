"""The CSV of a client's open cases sent with each status report: one row per case with its
invoices, money per bucket, status and last action; four set-based queries whatever the number
of cases (no query per case, no IN list of ids)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    AuditEvent,
    Bucket,
    Case,
    Debtor,
    EntryCause,
    Invoice,
    LedgerEntry,
)
from portal.templating import event_label, status_label

# A cell starting with one of these is a formula to a spreadsheet: prefix it with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def open_cases_csv(client_id: int) -> bytes:
    """Every open case of the client as CSV (UTF-8 with BOM, so spreadsheets read accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Reference"), _("Debtor"), _("Invoices"), _("Principal"), _("Interest"),
                     _("Costs"), _("Paid"), _("Balance"), _("Status"), _("Last action"),
                     _("Last action on")])
    money = _money(client_id)
    invoices = _invoice_numbers(client_id)
    last = _last_actions(client_id)
    statuses = {status: status_label(status) for status in OPEN_STATUSES}
    for case_id, reference, debtor, status in _cases(client_id):
        m = money.get(case_id, {})
        action, on = last.get(case_id, ("", None))
        writer.writerow([
            reference, cell(debtor), cell(" ".join(invoices.get(case_id, []))),
            euros(m.get(Bucket.PRINCIPAL, 0)), euros(m.get(Bucket.INTEREST, 0)),
            euros(m.get(Bucket.COSTS, 0) + m.get(Bucket.FEES, 0)), euros(m.get("paid", 0)),
            euros(m.get("total", 0)), statuses[status], cell(action),
            on.date().isoformat() if on else "",
        ])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _open_cases(client_id: int):
    return select(Case.id).where(Case.client_id == client_id, Case.status.in_(OPEN_STATUSES))


def _cases(client_id: int):
    return db.session.execute(
        select(Case.id, Case.reference, Debtor.name, Case.status)
        .join(Debtor, Debtor.id == Case.debtor_id)
        .where(Case.client_id == client_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.opened_on, Case.id)
    ).all()


def _money(client_id: int) -> dict[int, dict]:
    """Per case: what each bucket was charged (payments aside), what was paid, the balance."""
    is_payment = LedgerEntry.cause == EntryCause.PAYMENT
    rows = db.session.execute(
        select(LedgerEntry.case_id, LedgerEntry.bucket,
               func.sum(sql_case((is_payment, 0), else_=LedgerEntry.amount_cents)),
               func.sum(sql_case((is_payment, LedgerEntry.amount_cents), else_=0)))
        .where(LedgerEntry.case_id.in_(_open_cases(client_id)))
        .group_by(LedgerEntry.case_id, LedgerEntry.bucket)
    ).all()
    money: dict[int, dict] = defaultdict(lambda: {"paid": 0, "total": 0})
    for case_id, bucket, charged, paid in rows:
        charged, paid = int(charged or 0), int(paid or 0)
        money[case_id][Bucket(bucket)] = charged
        money[case_id]["paid"] -= paid
        money[case_id]["total"] += charged + paid
    return money


def _invoice_numbers(client_id: int) -> dict[int, list[str]]:
    numbers: dict[int, list[str]] = defaultdict(list)
    rows = db.session.execute(
        select(Invoice.case_id, Invoice.number)
        .where(Invoice.case_id.in_(_open_cases(client_id)))
        .order_by(Invoice.case_id, Invoice.due_date, Invoice.id)
    )
    for case_id, number in rows:
        numbers[case_id].append(number)
    return numbers


def _last_actions(client_id: int) -> dict[int, tuple]:
    """The last event the client may see on each open case: (summary, when)."""
    last = (
        select(func.max(AuditEvent.id).label("id"))
        # By case only: with client_id too, PostgreSQL may AND two indexes once per case.
        .where(AuditEvent.case_id.in_(_open_cases(client_id)),
               AuditEvent.client_visible.is_(True))
        .group_by(AuditEvent.case_id)
        .subquery()
    )
    rows = db.session.execute(
        select(AuditEvent.case_id, AuditEvent.action, AuditEvent.detail, AuditEvent.summary,
               AuditEvent.occurred_at)
        .join(last, last.c.id == AuditEvent.id)
    )
    labels: dict[tuple[str, str], str] = {}  # one translation per kind of event, not per case
    actions = {}
    for row in rows:
        key = (row.action, json.dumps(row.detail, sort_keys=True, default=str))
        if key not in labels:
            labels[key] = event_label(row)
        actions[row.case_id] = (labels[key], row.occurred_at)
    return actions


def euros(cents: int) -> str:
    """Plain decimal euros with a point (1234.56): what spreadsheets and systems import."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def cell(text: str | None) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula."""
    text = text or ""
    return "'" + text if text.startswith(_FORMULA_START) else text
