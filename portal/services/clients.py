"""Setting up the agency's clients: their details and commission terms, and the client list
with each client's figures from one grouped query (no loop over clients or cases)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy import case as sql_case

from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, Client, EntryCause, LedgerEntry, User
from portal.services import audit

DETAIL_FIELDS = ("name", "email", "phone", "address", "iban", "charges_vat_on_costs", "active")
# Read by each remittance run, which keeps a copy of the terms it used.
TERM_FIELDS = ("commission_bp", "commission_vat_percent", "interest_to", "costs_to")
FIELDS = DETAIL_FIELDS + TERM_FIELDS


@dataclass(frozen=True)
class ClientSummary:
    open_cases: int = 0
    outstanding_cents: int = 0  # the ledger balance of the open cases
    collected_cents: int = 0  # every payment booked, open and closed cases alike


def _check_fields(fields: dict[str, Any]) -> None:
    if unknown := set(fields) - set(FIELDS):
        raise TypeError(f"not a client field: {', '.join(sorted(unknown))}")


def _terms(client: Client) -> dict[str, Any]:
    return {name: _plain(getattr(client, name)) for name in TERM_FIELDS}


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (enums as their text)."""
    return value if value is None or isinstance(value, bool | int) else str(value)


def create_client(user: User, **fields: Any) -> Client:
    """Set up a client with the given FIELDS (the rest take the model's defaults); audited
    with the commission terms it starts with."""
    _check_fields(fields)
    client = Client(**fields)
    db.session.add(client)
    db.session.flush()
    audit.record("client.created", f"Client {client.name} set up", user=user,
                 client_id=client.id, client_visible=False, terms=_terms(client))
    return client


def update_client(client: Client, user: User, **fields: Any) -> dict[str, tuple[Any, Any]]:
    """Change a client's details and commission terms; returns what changed as
    {field: (old, new)}. Audited with the old and new values; new commission terms apply from
    the next remittance run (earlier runs keep the copy of the terms they were made with)."""
    _check_fields(fields)
    old_terms = _terms(client)
    changed = {name: (_plain(getattr(client, name)), _plain(value))
               for name, value in fields.items() if getattr(client, name) != value}
    for name in changed:
        setattr(client, name, fields[name])
    if changed:
        detail: dict[str, Any] = {"changed": changed}
        if set(changed) & set(TERM_FIELDS):
            detail["terms"] = {"old": old_terms, "new": _terms(client)}
        audit.record("client.updated", f"Client {client.name} changed", user=user,
                     client_id=client.id, client_visible=False, **detail)
    db.session.flush()
    return changed


def client_list(q: str = "", active: bool | None = None) -> Select:
    """The clients by name, for `db.paginate`: those whose name contains `q`, and only the
    active (or inactive) ones when `active` is given."""
    stmt = select(Client)
    if text := q.strip():
        stmt = stmt.where(func.lower(Client.name).contains(text.lower(), autoescape=True))
    if active is not None:
        stmt = stmt.where(Client.active.is_(active))
    return stmt.order_by(func.lower(Client.name), Client.id)


def summaries(client_ids: Iterable[int]) -> dict[int, ClientSummary]:
    """Open cases, outstanding and collected to date for each client id, in one grouped query
    over the clients' cases and ledger (a client without cases gets zeros)."""
    ids = list(client_ids)
    is_open = Case.status.in_(OPEN_STATUSES)
    is_payment = LedgerEntry.cause == EntryCause.PAYMENT
    rows = db.session.execute(
        select(
            Case.client_id,
            func.count(distinct(sql_case((is_open, Case.id)))),
            func.sum(sql_case((is_open, LedgerEntry.amount_cents), else_=0)),
            func.sum(sql_case((is_payment, LedgerEntry.amount_cents), else_=0)),
        )
        .outerjoin(LedgerEntry, LedgerEntry.case_id == Case.id)
        .where(Case.client_id.in_(ids))
        .group_by(Case.client_id)
    ).all() if ids else []
    found = {
        client_id: ClientSummary(int(open_cases or 0), int(outstanding or 0), -int(paid or 0))
        for client_id, open_cases, outstanding, paid in rows
    }
    return {client_id: found.get(client_id, ClientSummary()) for client_id in ids}
