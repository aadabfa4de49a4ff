"""Small factories for test records; each flushes and returns what it made."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from portal.extensions import db
from portal.models import Client, Debtor, DebtorKind, Role, User
from portal.services import accounts
from portal.services.cases import InvoiceData, open_case

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def sign_in_session(test_client, user: User) -> None:
    """Store what flask_login.login_user stores, for tests that are not about signing in."""
    from flask_login.utils import _create_identifier

    # The identifier binds the session to the client's address and user agent.
    with test_client.application.test_request_context(environ_base=test_client.environ_base):
        identifier = _create_identifier()
    with test_client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_id"] = identifier


class Factory:
    def client(self, name: str | None = None, **fields) -> Client:
        record = Client(name=name or f"Client {next(_seq)} B.V.", **fields)
        db.session.add(record)
        db.session.flush()
        return record

    def user(self, role: Role = Role.ADMIN, *, client: Client | None = None, **fields) -> User:
        n = next(_seq)
        user = accounts.create_user(
            fields.pop("email", f"user{n}@example.test"),
            fields.pop("name", f"User {n}"),
            fields.pop("password", PASSWORD),
            role,
            client=client,
        )
        for key, value in fields.items():
            setattr(user, key, value)
        db.session.flush()
        return user

    def debtor(self, kind: DebtorKind = DebtorKind.PERSON, **fields) -> Debtor:
        n = next(_seq)
        record = Debtor(
            kind=kind,
            name=fields.pop("name", f"Debtor {n}"),
            email=fields.pop("email", f"debtor{n}@example.test"),
            **fields,
        )
        db.session.add(record)
        db.session.flush()
        return record

    def case(self, client: Client | None = None, debtor: Debtor | None = None,
             amounts: tuple[int, ...] = (100_00,), opened_on: date = date(2026, 3, 2)):
        """A case with one invoice per amount; returns (case, access code)."""
        client = client or self.client()
        debtor = debtor or self.debtor()
        invoices = [
            InvoiceData(
                number=f"INV-{next(_seq):05d}",
                invoice_date=opened_on - timedelta(days=60),
                due_date=opened_on - timedelta(days=30),
                amount_cents=amount,
            )
            for amount in amounts
        ]
        return open_case(client, debtor, invoices, opened_on=opened_on)
