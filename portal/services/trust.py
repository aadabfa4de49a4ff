"""The trust account check: every euro debtors paid is accounted for.

    money received = remitted to clients + agency income + held

Each side is counted from its own records, so the check can fail:
- received: the payments booked (the `payments` table: online and bank transfers);
- remitted and agency income: the figures stored on approved remittances (what the
  statements said and the SEPA file paid);
- held: the payment entries of the ledger that no approved remittance has taken (waiting for
  a run, reserved by a draft, or a debtor's overpayment to refund).

It holds when every booked payment has its ledger entries, and every approved remittance's
figures are the sum of its items. Money on a bank statement that is not booked yet (unmatched,
or not ours) is on the account but not in the equation; it is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, func, select, type_coerce

from portal.domain.remittance import Collected, settle
from portal.extensions import db
from portal.models import (
    BankEntry,
    Case,
    Client,
    EntryCause,
    EntryStatus,
    LedgerEntry,
    Payment,
    Remittance,
    RemittanceItem,
    RemittanceRun,
    RemittanceStatus,
)
from portal.services.payments import SURPLUS_DESCRIPTION
from portal.services.remittances import item_totals, terms_of


@dataclass(frozen=True)
class TrustCheck:
    received: int  # payments booked
    booked_on_ledger: int  # the ledger's payment entries (should equal `received`)
    remitted: int  # paid out to clients by approved runs
    agency_income: int  # commission, VAT and what the agency keeps, of approved runs
    held_waiting: int  # collected, not in any run yet
    held_in_drafts: int  # reserved by a draft run
    held_for_debtors: int  # overpayments, to refund
    remitted_items: int  # the items of approved remittances (should equal remitted + income)
    bank_unmatched: int  # credits on statements not booked to a case yet
    bank_not_ours: int  # credits set aside as not a debtor's payment
    misstated: tuple[str, ...] = ()  # approved remittances whose figures are not their items'

    @property
    def held(self) -> int:
        return self.held_waiting + self.held_in_drafts + self.held_for_debtors

    @property
    def accounted(self) -> int:
        return self.remitted + self.agency_income + self.held

    @property
    def difference(self) -> int:
        return self.received - self.accounted

    @property
    def balanced(self) -> bool:
        return self.difference == 0 and not self.misstated


@dataclass(frozen=True)
class ClientMoney:
    client_id: int
    name: str
    collected: int
    remitted: int
    agency_income: int
    held: int  # not remitted yet (including drafts)


def trust_check() -> TrustCheck:
    """Count both sides of the equation, each from its own records."""
    received = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.booked_at.is_not(None))) or 0
    approved = _approved_remittances()
    remitted, collected = db.session.execute(
        select(func.coalesce(func.sum(Remittance.payout_cents), 0),
               func.coalesce(func.sum(_COLLECTED), 0))
        .where(Remittance.id.in_(approved))).one()
    held = _held()
    bank = dict(db.session.execute(
        select(BankEntry.status, func.sum(BankEntry.amount_cents))
        .where(BankEntry.status.in_([EntryStatus.UNMATCHED, EntryStatus.NOT_OURS]))
        .group_by(BankEntry.status)).all())
    items = _remitted_items_total(approved)
    return TrustCheck(
        received=received, booked_on_ledger=sum(held.values()) + items,
        remitted=remitted, agency_income=collected - remitted, held_waiting=held["waiting"],
        held_in_drafts=held["draft"], held_for_debtors=held["debtor"], remitted_items=items,
        bank_unmatched=bank.get(EntryStatus.UNMATCHED, 0),
        bank_not_ours=bank.get(EntryStatus.NOT_OURS, 0), misstated=_misstated(approved))


# What a remittance collected, in SQL (Remittance.collected_cents in Python).
_COLLECTED = (Remittance.principal_cents + Remittance.interest_cents + Remittance.costs_cents
              + Remittance.fees_cents)


def _approved_remittances():
    return (select(Remittance.id).join(RemittanceRun, RemittanceRun.id == Remittance.run_id)
            .where(RemittanceRun.status == RemittanceStatus.APPROVED))


def _remitted_items_total(approved) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(RemittanceItem.amount_cents), 0))
        .where(RemittanceItem.remittance_id.in_(approved))) or 0


def _held() -> dict[str, int]:
    """The ledger's payment entries outside approved remittances, by where they wait."""
    where = func.coalesce(type_coerce(RemittanceRun.status, String), "waiting")
    surplus = LedgerEntry.description == SURPLUS_DESCRIPTION
    rows = db.session.execute(
        select(where, surplus, -func.sum(LedgerEntry.amount_cents))
        .outerjoin(RemittanceItem, RemittanceItem.ledger_entry_id == LedgerEntry.id)
        .outerjoin(Remittance, Remittance.id == RemittanceItem.remittance_id)
        .outerjoin(RemittanceRun, RemittanceRun.id == Remittance.run_id)
        .where(LedgerEntry.cause == EntryCause.PAYMENT)
        .group_by(where, surplus)).all()
    held = {"waiting": 0, "draft": 0, "debtor": 0, "approved": 0}
    for status, is_surplus, cents in rows:
        held["debtor" if is_surplus else status] += cents
    held.pop("approved")  # counted from the approved remittances' items instead
    return held


def _misstated(approved) -> tuple[str, ...]:
    """References of approved remittances whose stored figures are not what their items and
    terms make (a statement that says something else than the money it covers)."""
    sums = item_totals(approved)
    wrong = []
    for remittance in db.session.scalars(select(Remittance).where(Remittance.id.in_(approved))
                                         .order_by(Remittance.id)):
        figures = settle(sums.get(remittance.id, Collected()), terms_of(remittance))
        stored = (remittance.principal_cents, remittance.interest_cents, remittance.costs_cents,
                  remittance.fees_cents, remittance.commission_cents,
                  remittance.commission_vat_cents, remittance.payout_cents)
        made = (figures.collected.principal, figures.collected.interest, figures.collected.costs,
                figures.collected.fees, figures.commission, figures.commission_vat, figures.payout)
        if stored != made:
            wrong.append(remittance.reference)
    return tuple(wrong)


def by_client() -> list[ClientMoney]:
    """Per client: collected (the ledger's payments), remitted, agency income and held."""
    collected = dict(db.session.execute(
        select(Case.client_id, -func.sum(LedgerEntry.amount_cents))
        .join(Case, Case.id == LedgerEntry.case_id)
        .where(LedgerEntry.cause == EntryCause.PAYMENT)
        .group_by(Case.client_id)).all())
    paid_out = {cid: (payout, total) for cid, payout, total in db.session.execute(
        select(Remittance.client_id, func.sum(Remittance.payout_cents),
               func.sum(_COLLECTED))
        .where(Remittance.id.in_(_approved_remittances()))
        .group_by(Remittance.client_id))}
    names = dict(db.session.execute(
        select(Client.id, Client.name).where(Client.id.in_(set(collected) | set(paid_out)))).all())
    rows = []
    for cid in sorted(names, key=lambda c: names[c].lower()):
        payout, total = paid_out.get(cid, (0, 0))
        rows.append(ClientMoney(cid, names[cid], collected.get(cid, 0), payout, total - payout,
                                collected.get(cid, 0) - total))
    return rows
