"""Money in by bank transfer: import a statement, recognise each line once, match credits to
cases and book them as payments (costs, interest, principal: art. 6:44 BW). Flush only.

A line is recognised by its `entry_key` (account + the bank's reference): the same statement
uploaded twice inserts nothing the second time (INSERT ... ON CONFLICT DO NOTHING), and each
booking is a Payment whose (provider, provider_ref) is unique, so nothing is booked twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.banking import StatementError, entry_key, parse_statement
from portal.documents.storage import save_document
from portal.domain.matching import Candidate, match, references_in
from portal.domain.references import case_reference, parse_case_reference, rf_reference
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    BankEntry,
    BankStatement,
    Case,
    Debtor,
    DocumentKind,
    EntryStatus,
    LedgerEntry,
    Payment,
    PaymentStatus,
    StatementFormat,
    User,
    utcnow,
)
from portal.services import audit, ledger, payments

PROVIDER = "bank"
CHUNK = 500  # rows per INSERT: well under SQLite's limit on bound parameters


class StatementRejected(ValueError):
    """The file is not a statement we can read; the message says why in plain words."""


class EntryNotOpen(ValueError):
    """The line is not an unmatched credit any more (booked, not ours, or money going out)."""


def import_statement(filename: str, data: bytes, user: User | None, *,
                     today: date) -> BankStatement:
    """Store the file, add the lines not seen before, and book the credits that match a case.

    Raises StatementRejected (nothing stored) for a file that cannot be read.
    """
    try:
        parsed = parse_statement(data, filename)
    except StatementError as exc:
        raise StatementRejected(str(exc)) from exc
    content_type = "application/xml" if parsed.format == "camt053" else "text/plain"
    document = save_document(DocumentKind.IMPORT, filename, content_type, data, case_id=None)
    statement = BankStatement(
        filename=filename[:200], format=StatementFormat(parsed.format),
        account_iban=parsed.account_iban, statement_ref=parsed.statement_ref,
        document_id=document.id, uploaded_by_id=user.id if user else None,
        entries_total=len(parsed.entries),
    )
    db.session.add(statement)
    db.session.flush()
    rows = [_row(statement, parsed.account_iban, e) for e in parsed.entries]
    new_ids = _insert_new(rows)
    statement.entries_new = len(new_ids)
    audit.record("bank.statement_imported", f"Bank statement {statement.filename} imported",
                 user=user, client_visible=False, statement_id=statement.id,
                 entries_total=statement.entries_total, entries_new=statement.entries_new)
    db.session.flush()
    auto_match(new_ids, today=today)
    return statement


def _row(statement: BankStatement, account_iban: str | None, entry) -> dict:
    return {
        "statement_id": statement.id, "entry_key": entry_key(account_iban, entry)[:200],
        "bank_ref": (entry.bank_ref or None) and entry.bank_ref[:100],
        "booked_on": entry.booked_on, "value_on": entry.value_on,
        "amount_cents": entry.amount_cents, "currency": (entry.currency or "EUR")[:3],
        "counterparty_name": (entry.counterparty_name or None) and entry.counterparty_name[:200],
        "counterparty_iban": (entry.counterparty_iban or None) and entry.counterparty_iban[:34],
        "remittance_info": entry.remittance_info,
        "status": EntryStatus.DEBIT if entry.amount_cents < 0 else EntryStatus.UNMATCHED,
        "created_at": utcnow(),
    }


def _insert_new(rows: list[dict]) -> list[int]:
    """Insert the rows whose entry_key is new; the ids of those inserted."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        statement = (dialect.insert(BankEntry).values(chunk)
                     .on_conflict_do_nothing(index_elements=["entry_key"])
                     .returning(BankEntry.id))
        ids.extend(db.session.scalars(statement))
    return sorted(ids)


# -- Matching ---------------------------------------------------------------------------------


def auto_match(entry_ids: Iterable[int], *, today: date) -> int:
    """Match and book the unmatched credits among `entry_ids`; how many were booked."""
    ids = list(entry_ids)
    if not ids:
        return 0
    entries = db.session.scalars(select(BankEntry).where(
        BankEntry.id.in_(ids), BankEntry.status == EntryStatus.UNMATCHED,
        BankEntry.amount_cents > 0).order_by(BankEntry.id))
    booked = 0
    for entry in entries:
        found = match(entry.amount_cents, entry.counterparty_name or "",
                      entry.remittance_info or "", _candidates(entry))
        if found.case_id is not None and not found.ambiguous:
            _book_entry(entry, db.session.get(Case, found.case_id), found.rule, today=today)
            booked += 1
    return booked


def _candidates(entry: BankEntry) -> list[Candidate]:
    """Open cases the line may be for: those its text names, and those owing its amount."""
    named = _references_named(entry.remittance_info or "")
    query = (select(Case, Debtor.name).join(Debtor, Debtor.id == Case.debtor_id)
             .where(Case.status.in_(OPEN_STATUSES)))
    conditions = [Case.id.in_(cases_owing(entry.amount_cents))]
    if named:
        conditions.append(Case.reference.in_(named))
    rows = db.session.execute(query.where(or_(*conditions))).all()
    owed = ledger.balances(case.id for case, _ in rows)
    return [Candidate(case_id=case.id, reference=case.reference,
                      rf_reference=rf_reference(case.reference), debtor_name=name or "",
                      balance_cents=owed[case.id].total) for case, name in rows]


def _references_named(text: str) -> list[str]:
    """Case references in the text, written as stored; RF references read back to theirs."""
    found = []
    for ref in references_in(text):
        compact = ref.upper().replace(" ", "")
        if compact.startswith("RF") and len(compact) > 4:
            compact = compact[4:]  # RF + two check digits + the case reference's characters
        parsed = parse_case_reference(compact)
        if parsed:
            found.append(case_reference(*parsed))
    return found


def cases_owing(amount_cents: int):
    """A subquery: the ids of open cases whose balance is exactly `amount_cents`."""
    return (select(LedgerEntry.case_id).join(Case, Case.id == LedgerEntry.case_id)
            .where(Case.status.in_(OPEN_STATUSES)).group_by(LedgerEntry.case_id)
            .having(func.sum(LedgerEntry.amount_cents) == amount_cents))


def _book_entry(entry: BankEntry, case: Case, rule: str, *, today: date,
                user: User | None = None) -> Payment:
    """Turn the line into a paid Payment for the case and book it once."""
    ref = _payment_ref(entry.entry_key)
    payment = db.session.scalar(select(Payment).where(
        Payment.provider == PROVIDER, Payment.provider_ref == ref))
    if payment is None:
        payment = Payment(
            case_id=case.id, debtor_id=case.debtor_id, provider=PROVIDER, provider_ref=ref,
            method="transfer", amount_cents=entry.amount_cents, currency=entry.currency,
            status=PaymentStatus.PAID, status_changed_at=utcnow(),
            paid_at=datetime.combine(entry.booked_on, time(12), tzinfo=UTC),
            description=f"{case.reference} bank transfer"[:200],
        )
        db.session.add(payment)
        db.session.flush()
        payments.book_received(payment, today)
    entry.status, entry.case_id, entry.payment_id = EntryStatus.BOOKED, case.id, payment.id
    entry.match_rule, entry.matched_at = rule, utcnow()
    entry.matched_by_id = user.id if user else None
    audit.record("bank.entry_booked", f"Bank transfer of {entry.amount_cents} cents booked",
                 case=case, user=user, entry_id=entry.id, payment_id=payment.id, rule=rule,
                 amount_cents=entry.amount_cents)
    db.session.flush()
    return payment


def _payment_ref(key: str) -> str:
    """The entry key as the payment's provider reference (100 characters at most)."""
    return key if len(key) <= 100 else "sha:" + hashlib.sha256(key.encode()).hexdigest()


def match_by_hand(entry: BankEntry, case: Case, user: User, *, today: date) -> Payment:
    """Book an unmatched credit to the case an admin chose."""
    if entry.status != EntryStatus.UNMATCHED or entry.amount_cents <= 0:
        raise EntryNotOpen(entry.status)
    return _book_entry(entry, case, "manual", today=today, user=user)


def mark_not_ours(entry: BankEntry, user: User, note: str) -> None:
    """Set an unmatched credit aside as not a debtor's payment, with the admin's note."""
    if entry.status != EntryStatus.UNMATCHED:
        raise EntryNotOpen(entry.status)
    entry.status, entry.note = EntryStatus.NOT_OURS, (note or "").strip()[:1000] or None
    entry.matched_by_id, entry.matched_at = user.id, utcnow()
    audit.record("bank.entry_not_ours", "Bank transfer marked as not ours", user=user,
                 client_visible=False, entry_id=entry.id, amount_cents=entry.amount_cents)
    db.session.flush()


# -- Reading, for the pages -------------------------------------------------------------------


def statements():
    """The uploaded statements, newest first (a select for db.paginate)."""
    return select(BankStatement).order_by(BankStatement.uploaded_at.desc(),
                                          BankStatement.id.desc())


def statement_counts(statement_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per statement: how many of its lines stand at each status (one grouped query)."""
    counts: dict[int, dict[str, int]] = {sid: {} for sid in statement_ids}
    rows = db.session.execute(
        select(BankEntry.statement_id, BankEntry.status, func.count())
        .where(BankEntry.statement_id.in_(statement_ids))
        .group_by(BankEntry.statement_id, BankEntry.status))
    for sid, status, n in rows:
        counts[sid][str(status)] = n
    return counts


def unmatched():
    """The unmatched credits, oldest first (a select for db.paginate)."""
    return (select(BankEntry).where(BankEntry.status == EntryStatus.UNMATCHED,
                                    BankEntry.amount_cents > 0)
            .order_by(BankEntry.booked_on, BankEntry.id))


def entries_of(statement: BankStatement) -> list[BankEntry]:
    return list(db.session.scalars(select(BankEntry).where(
        BankEntry.statement_id == statement.id).order_by(BankEntry.booked_on, BankEntry.id)))


def suggestions(entry: BankEntry, limit: int = 5) -> list[Case]:
    """Open cases the line may be for: the same amount owed, or a debtor of a similar name."""
    conditions = [Case.id.in_(cases_owing(entry.amount_cents))]
    words = [w for w in (entry.counterparty_name or "").replace(".", " ").split() if len(w) > 2]
    if words:
        longest = max(words, key=len)
        conditions.append(Debtor.name.ilike(f"%{_escape_like(longest)}%", escape="\\"))
    return list(db.session.scalars(
        select(Case).join(Debtor, Debtor.id == Case.debtor_id)
        .where(Case.status.in_(OPEN_STATUSES), or_(*conditions))
        .order_by(Case.id).limit(limit)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_case(reference: str) -> Case | None:
    """The case with this reference, however it was typed ("k 2026 123")."""
    parsed = parse_case_reference(reference)
    if parsed is None:
        return None
    return db.session.scalar(select(Case).where(Case.reference == case_reference(*parsed)))
