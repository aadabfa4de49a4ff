"""Money out: remittance runs that pay each client what its debtors paid, less commission.

A run takes every payment entry of the ledger (cause PAYMENT) booked up to the end of its
period that no remittance has taken yet: also a bank transfer booked late with an earlier bank
date, which a "this period only" rule would lose. Each entry goes into one remittance only
(`remittance_items.ledger_entry_id` is unique), so whatever was remitted is left out of the
next run, and two runs made at once cannot both take it.

A run is first a draft: the entries are reserved and the figures can be read, nothing is paid.
Approving makes it final: the client's IBAN is copied, one SEPA file (pain.001) is made for
all payouts, and each client's statement is made and emailed by a job. Flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.banking.iban import IbanError, bic_for, clean_iban
from portal.domain.remittance import Collected, Terms, settle
from portal.extensions import db
from portal.models import (
    Case,
    Client,
    DocumentKind,
    EntryCause,
    LedgerEntry,
    Remittance,
    RemittanceItem,
    RemittanceRun,
    RemittanceStatus,
    User,
    utcnow,
)
from portal.queue import enqueue_after_commit
from portal.services import audit
from portal.services.payments import SURPLUS_DESCRIPTION

SEND_STATEMENT = "portal.jobs.remittances.send_statement"


class RunRefused(ValueError):
    """The run cannot be made or approved; `problems` say why, one per line, in plain words
    (`code` and the client's name, for the page to put in the user's language)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.code}: {p.subject}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    code: str  # no_payments, client_iban, agency_iban, not_draft, execution_date, period, sepa
    subject: str = ""  # the client's name, or the IBAN reason


def collectable_entries(period_end: date, client_ids: list[int] | None = None):
    """Payment entries booked up to `period_end` that no remittance has taken (a select of
    LedgerEntry with the case's client_id). A surplus (paid more than owed) is the debtor's
    money to refund, never the client's, so it is left out."""
    taken = select(RemittanceItem.ledger_entry_id).where(
        RemittanceItem.ledger_entry_id == LedgerEntry.id)
    query = (
        select(LedgerEntry.id, LedgerEntry.case_id, LedgerEntry.bucket, LedgerEntry.amount_cents,
               LedgerEntry.booked_on, Case.client_id)
        .join(Case, Case.id == LedgerEntry.case_id)
        .where(LedgerEntry.cause == EntryCause.PAYMENT, LedgerEntry.booked_on <= period_end,
               LedgerEntry.description != SURPLUS_DESCRIPTION, ~taken.exists())
    )
    if client_ids is not None:
        query = query.where(Case.client_id.in_(client_ids))
    return query


def pending_by_client(period_end: date) -> dict[int, int]:
    """Collected and not yet in any remittance, per client id (for the new-run page)."""
    pending = collectable_entries(period_end).subquery()
    rows = db.session.execute(
        select(pending.c.client_id, -func.sum(pending.c.amount_cents))
        .group_by(pending.c.client_id))
    return {client_id: cents for client_id, cents in rows}


def plan_run(period_start: date, period_end: date, execution_date: date, user: User | None,
             client_ids: list[int] | None = None) -> RemittanceRun:
    """Make a draft run: one remittance per client with a positive payout.

    One INSERT ... SELECT reserves every collectable entry of every client in the run; the
    figures are then summed from the items each remittance got (not from an earlier count), so
    a payment booked meanwhile cannot make them disagree. A client whose collections net to
    nothing or less (a reversal larger than what came in) gets no remittance this time; its
    entries stay for the next run. Raises RunRefused when no client has anything to remit.
    """
    if period_start > period_end:
        raise RunRefused([Problem("period")])
    run = RemittanceRun(period_start=period_start, period_end=period_end,
                        execution_date=execution_date, created_by_id=user.id if user else None)
    db.session.add(run)
    db.session.flush()
    pending = pending_by_client(period_end)
    wanted = [cid for cid in pending if client_ids is None or cid in client_ids]
    clients = db.session.scalars(select(Client).where(Client.id.in_(wanted))).all()
    for client in sorted(clients, key=lambda c: c.name.lower()):
        db.session.add(Remittance(
            run_id=run.id, client_id=client.id, reference=f"RM{run.id}-{client.id}",
            commission_bp=client.commission_bp,
            commission_vat_percent=client.commission_vat_percent,
            interest_to=client.interest_to, costs_to=client.costs_to))
    db.session.flush()
    _reserve(run, period_end, [c.id for c in clients])
    totals = item_totals(select(Remittance.id).where(Remittance.run_id == run.id))
    db.session.expire(run, ["remittances"])
    for remittance in list(run.remittances):
        _apply(remittance, settle(totals.get(remittance.id, Collected()), terms_of(remittance)))
        if remittance.payout_cents <= 0:
            _drop(remittance)
    db.session.flush()
    db.session.expire(run, ["remittances"])
    if not run.remittances:
        db.session.delete(run)
        db.session.flush()
        raise RunRefused([Problem("no_payments")])
    audit.record("remittance.planned", f"Remittance run {run.id} drafted", user=user,
                 client_visible=False, run_id=run.id, clients=len(run.remittances),
                 payout_cents=sum(r.payout_cents for r in run.remittances))
    return run


def _reserve(run: RemittanceRun, period_end: date, client_ids: list[int]) -> None:
    """Every collectable entry of these clients becomes an item of its client's remittance
    in this run: one statement, whatever the number of clients or entries.

    No anti-join against remittance_items here: in an INSERT into that same table, PostgreSQL
    would rescan the rows the statement has just added for every entry (100k payments took
    267 s). Instead every payment entry from the oldest one not yet remitted onwards is
    offered, and the unique index on ledger_entry_id skips those another remittance has.
    """
    oldest = db.session.scalar(
        select(func.min(collectable_entries(period_end, client_ids).subquery().c.booked_on)))
    if oldest is None:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    entries = (
        select(Remittance.id, LedgerEntry.id, LedgerEntry.case_id, LedgerEntry.bucket,
               -LedgerEntry.amount_cents, LedgerEntry.booked_on)
        .join(Case, Case.id == LedgerEntry.case_id)
        .join(Remittance, (Remittance.client_id == Case.client_id) & (Remittance.run_id == run.id))
        .where(LedgerEntry.cause == EntryCause.PAYMENT, LedgerEntry.booked_on >= oldest,
               LedgerEntry.booked_on <= period_end,
               LedgerEntry.description != SURPLUS_DESCRIPTION))
    db.session.execute(
        dialect.insert(RemittanceItem).from_select(
            ["remittance_id", "ledger_entry_id", "case_id", "bucket", "amount_cents",
             "booked_on"], entries)
        .on_conflict_do_nothing(index_elements=["ledger_entry_id"]))


def item_totals(remittance_ids) -> dict[int, Collected]:
    """What each remittance's items add up to, per bucket; `remittance_ids` is a list or a
    select of ids. One grouped query; a remittance without items is left out."""
    sums: dict[int, dict[str, int]] = {}
    for remittance_id, bucket, cents in db.session.execute(
            select(RemittanceItem.remittance_id, RemittanceItem.bucket,
                   func.sum(RemittanceItem.amount_cents))
            .where(RemittanceItem.remittance_id.in_(remittance_ids))
            .group_by(RemittanceItem.remittance_id, RemittanceItem.bucket)):
        sums.setdefault(remittance_id, {})[str(bucket)] = cents
    return {rid: Collected(**buckets) for rid, buckets in sums.items()}


def terms_of(remittance: Remittance) -> Terms:
    return Terms(remittance.commission_bp, remittance.commission_vat_percent,
                 str(remittance.interest_to), str(remittance.costs_to))


def _apply(remittance: Remittance, figures) -> None:
    collected = figures.collected
    remittance.principal_cents, remittance.interest_cents = collected.principal, collected.interest
    remittance.costs_cents, remittance.fees_cents = collected.costs, collected.fees
    remittance.commission_cents = figures.commission
    remittance.commission_vat_cents = figures.commission_vat
    remittance.payout_cents = figures.payout


def _drop(remittance: Remittance) -> None:
    db.session.execute(delete(RemittanceItem).where(
        RemittanceItem.remittance_id == remittance.id))
    db.session.delete(remittance)


def discard_run(run: RemittanceRun, user: User | None) -> None:
    """Throw a draft away: its entries are free for the next run. An approved run stays."""
    if not run.is_draft:
        raise RunRefused([Problem("not_draft")])
    ids = [r.id for r in run.remittances]
    db.session.execute(delete(RemittanceItem).where(RemittanceItem.remittance_id.in_(ids)))
    db.session.execute(delete(Remittance).where(Remittance.id.in_(ids)))
    audit.record("remittance.discarded", f"Draft remittance run {run.id} discarded", user=user,
                 client_visible=False, run_id=run.id)
    db.session.delete(run)
    db.session.flush()


def approval_problems(run: RemittanceRun, today: date) -> list[Problem]:
    """What stands in the way of approving the run (empty: it can be approved)."""
    problems = [] if run.is_draft else [Problem("not_draft")]
    if run.execution_date < today:
        problems.append(Problem("execution_date"))
    try:
        clean_iban(current_app.config.get("AGENCY_IBAN"))
    except IbanError as exc:
        problems.append(Problem("agency_iban", exc.reason))
    for remittance in run.remittances:
        try:
            clean_iban(remittance.client.iban)
        except IbanError:
            problems.append(Problem("client_iban", remittance.client.name))
    return problems


def approve_run(run: RemittanceRun, user: User | None, *, today: date) -> None:
    """Make the run final: copy each client's IBAN, make the SEPA file, and queue the
    statements (after the commit). Two admins approving at once: the database lets one win."""
    from portal.banking.sepa import Payout, SepaError, credit_transfer
    from portal.documents.storage import save_document

    problems = approval_problems(run, today)
    if problems:
        raise RunRefused(problems)
    claimed = db.session.execute(
        update(RemittanceRun)
        .where(RemittanceRun.id == run.id, RemittanceRun.status == RemittanceStatus.DRAFT)
        .values(status=RemittanceStatus.APPROVED, approved_at=utcnow(),
                approved_by_id=user.id if user else None)
        .execution_options(synchronize_session="fetch"))
    if claimed.rowcount != 1:
        raise RunRefused([Problem("not_draft")])
    payouts = []
    for remittance in run.remittances:
        remittance.iban = clean_iban(remittance.client.iban)
        remittance.account_name = remittance.client.name[:70]
        payouts.append(Payout(name=remittance.account_name, iban=remittance.iban,
                              amount_cents=remittance.payout_cents, reference=remittance.reference,
                              description=_description(run, remittance)))
    agency_iban = clean_iban(current_app.config.get("AGENCY_IBAN"))
    run.sepa_message_id = f"PORTAL-RM-{run.id:06d}"
    try:
        xml = credit_transfer(
            debtor_name=current_app.config["AGENCY_NAME"], debtor_iban=agency_iban,
            debtor_bic=current_app.config.get("AGENCY_BIC") or bic_for(agency_iban),
            payouts=payouts, execution_date=run.execution_date, message_id=run.sepa_message_id)
    except SepaError as exc:  # the caller rolls back: the run stays a draft
        raise RunRefused([Problem("sepa", str(exc))]) from exc
    document = save_document(DocumentKind.PAYOUT_FILE, f"remittances-{run.id}-pain001.xml",
                             "application/xml", xml, case_id=None)
    run.sepa_document_id = document.id
    for remittance in run.remittances:
        enqueue_after_commit("reports", SEND_STATEMENT, remittance.id)
        audit.record("remittance.approved",
                     f"Remittance {remittance.reference} approved: payout to {remittance.iban}",
                     user=user, client_id=remittance.client_id, run_id=run.id,
                     remittance_id=remittance.id, payout_cents=remittance.payout_cents)
    db.session.flush()


def _description(run: RemittanceRun, remittance: Remittance) -> str:
    # The bank shows this to the client as it is, so no words in one language: the
    # statement's reference, its period and who pays.
    return (f"{remittance.reference} {run.period_start:%d-%m-%Y}/{run.period_end:%d-%m-%Y} "
            f"{current_app.config['AGENCY_NAME']}")


def runs(page: int = 1, per_page: int = 25):
    """Runs newest first, for the agency's list."""
    return db.paginate(select(RemittanceRun).order_by(RemittanceRun.created_at.desc(),
                                                      RemittanceRun.id.desc()),
                       page=page, per_page=per_page, error_out=False)
