"""The demo's people and plots: who owes whom, and what happened to each case since.

`plan_cases` decides (from a seeded `random.Random`) which cases exist, for how much and in
which state; `play` then tells one opened case's story through the services: letters, calls,
statutory interest and BIK costs, payments allocated costs -> interest -> principal, a
write-off. Every date lies between the case's opening and today.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from portal.cli import demo_people as people
from portal.domain.allocation import allocate
from portal.domain.costs import statutory_collection_costs
from portal.domain.dunning import CaseState, due_on
from portal.domain.instalments import add_months, build_schedule
from portal.domain.interest import statutory_interest
from portal.domain.money import cents_to_decimal
from portal.extensions import db
from portal.models import (
    UNANSWERED,
    Arrangement,
    ArrangementStatus,
    AuditEvent,
    Bucket,
    CallLog,
    Case,
    CaseStatus,
    Debtor,
    DebtorKind,
    Dispute,
    EntryCause,
    Instalment,
    InstalmentStatus,
    Message,
    Party,
    Payment,
    PaymentStatus,
    PromiseToPay,
    User,
)
from portal.services import audit, ledger, workflows
from portal.services.cases import InvoiceData

CLIENTS = people.CLIENTS
MAX_AGE_DAYS = 425  # cases opened over the last ~14 months
FIRST_WEEKS = 14  # no interest is booked in a case's first two weeks


@dataclass
class CasePlan:
    debtor: Debtor
    client_index: int
    opened_on: date
    status: CaseStatus
    invoices: list[InvoiceData]
    featured: bool = False


@dataclass(frozen=True)
class Staff:
    admin: User
    supervisor: User
    callers: tuple[User, ...]

    @property
    def all(self) -> tuple[User, ...]:
        return (self.admin, self.supervisor, *self.callers)


@dataclass
class Cast:
    """What every story shares: the dice, today, and the people who act in it."""

    rng: random.Random
    today: date
    staff: Staff
    client_users: dict[int, User]  # by client id
    payments: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # non-payment reason ids by code


# --- planning ------------------------------------------------------------------------------

# (minimum age in days, weight): a status is only drawn for a case old enough to have reached it.
STATUS_ODDS = {
    CaseStatus.ACTIVE: (5, 26), CaseStatus.PROMISED: (21, 8), CaseStatus.ARRANGEMENT: (60, 10),
    CaseStatus.DISPUTED: (14, 5), CaseStatus.ON_HOLD: (14, 4), CaseStatus.LEGAL: (120, 5),
    CaseStatus.PAID: (10, 27), CaseStatus.CLOSED: (150, 7), CaseStatus.WITHDRAWN: (14, 5),
}
# Which client a debtor owes, by kind: web shop, plumbing wholesaler, sports club.
CLIENT_ODDS = {DebtorKind.PERSON: (55, 5, 40), DebtorKind.BUSINESS: (20, 70, 10)}


def plan_cases(rng: random.Random, debtors: list[Debtor], today: date,
               extra: int = 50) -> list[CasePlan]:
    """One case per debtor plus `extra`, oldest first; debtors 0 and 1 are the featured ones."""
    plans = _featured_plans(rng, debtors[0], debtors[1], today)
    others = debtors[2:]
    for debtor in [*others, *(rng.choice(others) for _ in range(extra))]:
        client_index = rng.choices(range(3), CLIENT_ODDS[debtor.kind])[0]
        # a few more fresh cases than an even spread gives, so the "new" pile is not empty
        age = rng.randint(0, 13) if rng.random() < 0.04 else rng.randint(0, MAX_AGE_DAYS)
        plans.append(_plan(rng, debtor, client_index, today - timedelta(days=age),
                           _pick_status(rng, age)))
    plans.sort(key=lambda plan: (plan.opened_on, plan.debtor.name))
    _number_invoices(plans)
    return plans


def _featured_plans(rng: random.Random, person: Debtor, business: Debtor,
                    today: date) -> list[CasePlan]:
    """A consumer with an open case at the web shop and a payment plan at the sports club,
    and an English-speaking business still in collection at the wholesaler."""
    specs = ((person, 0, 75, CaseStatus.ACTIVE), (person, 2, 210, CaseStatus.ARRANGEMENT),
             (business, 1, 64, CaseStatus.ACTIVE))
    plans = [_plan(rng, debtor, index, today - timedelta(days=age), status)
             for debtor, index, age, status in specs]
    for plan in plans:
        plan.featured = True
    return plans


def _pick_status(rng: random.Random, age: int) -> CaseStatus:
    if age < 5 or (age < 14 and rng.random() < 0.6):
        return CaseStatus.NEW
    possible = [(status, weight) for status, (minimum, weight) in STATUS_ODDS.items()
                if age >= minimum]
    return rng.choices([s for s, _ in possible], [w for _, w in possible])[0]


def _plan(rng: random.Random, debtor: Debtor, client_index: int, opened_on: date,
          status: CaseStatus) -> CasePlan:
    profile = CLIENTS[client_index]
    count = rng.choices((1, 2, 3), (70, 22, 8))[0]
    first_date = opened_on - timedelta(days=rng.randint(45, 110))
    invoices = []
    for n in range(count):  # older invoices of the same customer, a month apart
        invoice_date = first_date - timedelta(days=30 * n)
        invoices.append(InvoiceData(
            number="", invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=profile.term_days),
            amount_cents=profile.amount(rng, debtor.kind),
            description=profile.describe(rng, debtor.kind, invoice_date),
        ))
    return CasePlan(debtor, client_index, opened_on, status, invoices[::-1])


def _number_invoices(plans: list[CasePlan]) -> None:
    """Number each client's invoices in date order, as its bookkeeping would have."""
    per_client: dict[int, list[tuple[CasePlan, int]]] = {}
    for plan in plans:
        per_client.setdefault(plan.client_index, []).extend(
            (plan, i) for i in range(len(plan.invoices)))
    for index, items in per_client.items():
        items.sort(key=lambda item: item[0].invoices[item[1]].invoice_date)
        for seq, (plan, i) in enumerate(items, start=1):
            invoice = plan.invoices[i]
            number = CLIENTS[index].number_format.format(year=invoice.invoice_date.year, seq=seq)
            plan.invoices[i] = replace(invoice, number=number)


# --- telling a case's story ------------------------------------------------------------------


def eur(cents: int) -> str:
    return f"EUR {cents_to_decimal(cents):,.2f}"


@dataclass
class Tally:
    """What each bucket of one case still stands at, kept alongside the ledger as we book."""

    principal: int
    interest: int = 0
    costs: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.costs


@dataclass
class Story:
    """One case's life after opening, booked and recorded in date order."""

    cast: Cast
    case: Case
    plan: CasePlan
    tally: Tally = field(init=False)
    consumer: bool = field(init=False)
    rng: random.Random = field(init=False)
    latest: dict[date, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tally = Tally(sum(invoice.amount_cents for invoice in self.case.invoices))
        self.consumer = self.plan.debtor.kind == DebtorKind.PERSON
        self.rng = self.cast.rng

    def day(self, low: int, high: int) -> date:
        """A day between `low` and `high` days after opening, never after today."""
        offset = self.rng.randint(low, max(low, high))
        return min(self.case.opened_on + timedelta(days=offset), self.cast.today)

    def event(self, on: date, action: str, summary: str, *, user: User | None = None,
              by_debtor: bool = False, visible: bool = True, **detail) -> AuditEvent:
        event = audit.record(action, summary, case=self.case, user=user, client_visible=visible,
                             debtor_id=self.case.debtor_id if by_debtor else None, **detail)
        event.occurred_at = self._moment(on)
        return event

    def _moment(self, on: date) -> datetime:
        """A working-hours time on `on`, later than the events already told for that day."""
        moment = at_local(on, clock(self.rng.randint(8, 16), self.rng.randint(0, 59)))
        latest = self.latest.get(on)
        if latest is not None and moment <= latest:
            moment = min(latest + timedelta(minutes=self.rng.randint(3, 45)), datetime.now(UTC))
        self.latest[on] = moment
        return moment

    def caller(self) -> User:
        return self.rng.choice(self.cast.staff.callers)

    def client_user(self) -> User:
        return self.cast.client_users[self.case.client_id]

    def letter(self) -> date:
        """The first letter, the day after opening; returns the day costs may be charged."""
        sent = self.case.opened_on + timedelta(days=1)
        costs = self._costs_amount()
        if self.consumer:
            self.event(sent, "letter.sent", f"14-day letter sent: pay {eur(self.tally.principal)} "
                       f"within 14 days after receipt, or {eur(costs)} collection costs follow")
            due = sent + timedelta(days=17)  # received 2 days after posting, then 14 full days
        else:
            self.event(sent, "letter.sent", f"Demand letter sent: {eur(self.tally.principal)} "
                       f"plus {eur(costs)} collection costs and statutory commercial interest")
            due = sent  # a business owes the costs without a 14-day letter
        if self.plan.debtor.email:
            self.event(sent, "email.sent", "Email with a link to the payment page sent")
        self._dunning_position(FIRST_LETTER_POSITION, sent)
        return due

    def _dunning_position(self, position: int, done_on: date) -> None:
        """Put the case where its story left it in the workflow, so the batch goes on from there."""
        workflow = workflows.workflow_for(self.case)
        steps = workflows.steps_of(workflow, business=not self.consumer)
        state = CaseState(oldest_due_date=min(i.due_date for i in self.case.invoices),
                          last_position=position, last_step_on=done_on)
        self.case.workflow_position = position
        self.case.last_step_on = done_on
        self.case.next_step_on = due_on(steps, state)

    def chase(self, until: date) -> None:
        """Reminders and calls every few weeks while nothing else happened (at most four)."""
        day = self.case.opened_on + timedelta(days=21)
        for n in range(4):
            if day >= until:
                return
            if n % 2 == 0:
                self.event(day, "reminder.sent", self.rng.choice(people.REMINDERS))
            else:
                self.call(day)
            day += timedelta(days=self.rng.randint(14, 30))

    def call(self, on: date) -> None:
        """A call by one of the callers, as a call log and its timeline event."""
        outcome, reason, note = self.rng.choice(people.CALL_OUTCOMES)
        caller = self.caller()
        event = self.event(on, "call.logged", f"Call: {outcome}. {note}", user=caller,
                           visible=False, outcome=str(outcome),
                           conversation=outcome not in UNANSWERED, reason=reason)
        db.session.add(CallLog(
            case_id=self.case.id, caller_id=caller.id, phone=self.plan.debtor.phone,
            started_at=event.occurred_at, ended_at=event.occurred_at + timedelta(minutes=3),
            outcome=outcome, conversation=outcome not in UNANSWERED,
            reason_id=self.cast.reasons.get(reason) if reason else None, note=note))

    def charge(self, costs_due: date, until: date) -> None:
        """Book BIK costs if their day came by `until`, and statutory interest up to `until`."""
        if costs_due <= until:
            costs = self._costs_amount()
            self._book(Bucket.COSTS, costs, EntryCause.COLLECTION_COSTS,
                       "Statutory collection costs (BIK scale)", costs_due)
            self.tally.costs += costs
            self.event(costs_due, "costs.charged", f"Collection costs of {eur(costs)} charged")
        if (until - self.case.opened_on).days >= FIRST_WEEKS:
            self._book_interest(until)

    def _costs_amount(self) -> int:
        return statutory_collection_costs(self.tally.principal,
                                          vat=self.case.client.charges_vat_on_costs)

    def _book_interest(self, until: date) -> None:
        total = 0
        for invoice in self.case.invoices:
            cents = statutory_interest(invoice.amount_cents, invoice.due_date + timedelta(days=1),
                                       until, commercial=not self.consumer)
            if cents > 0:
                self._book(Bucket.INTEREST, cents, EntryCause.INTEREST,
                           f"Statutory interest on invoice {invoice.number} to {until:%d-%m-%Y}",
                           until, invoice=invoice)
                total += cents
        if total:
            self.tally.interest += total
            self.event(until, "interest.booked", f"Statutory interest of {eur(total)} booked")

    def pay(self, on: date, amount: int, note: str = "") -> None:
        """A payment, split costs -> interest -> principal (art. 6:44 BW) as negative entries."""
        split = allocate(amount, costs=self.tally.costs, interest=self.tally.interest,
                         principal=self.tally.principal)
        assert split.surplus == 0, "the demo never overpays"
        self.cast.payments += 1
        how = self.rng.choice(("iDEAL", "bank transfer"))
        # A real Payment row, as the webhook or the bank import makes one, so the trust account
        # check and the case's payments list see the demo's money like any other.
        paid_at = datetime.combine(on, clock(10), tzinfo=UTC)
        payment = Payment(case_id=self.case.id, debtor_id=self.case.debtor_id,
                          provider="sandbox" if how == "iDEAL" else "bank",
                          provider_ref=f"demo-{self.cast.payments}",
                          method="ideal" if how == "iDEAL" else None, amount_cents=amount,
                          status=PaymentStatus.PAID, created_at=paid_at, status_changed_at=paid_at,
                          paid_at=paid_at, booked_at=paid_at, confirmed_at=paid_at)
        db.session.add(payment)
        db.session.flush()
        for bucket, part in ((Bucket.COSTS, split.costs), (Bucket.INTEREST, split.interest),
                             (Bucket.PRINCIPAL, split.principal)):
            if part:
                self._book(bucket, -part, EntryCause.PAYMENT, f"Payment by {how}", on,
                           cause_ref=f"payment:{payment.id}")
        self.tally = Tally(self.tally.principal - split.principal,
                           self.tally.interest - split.interest, self.tally.costs - split.costs)
        self.event(on, "payment.received", f"Payment of {eur(amount)} received by {how}{note}",
                   by_debtor=how == "iDEAL", amount_cents=amount)

    def clear(self, on: date, cause: EntryCause, description: str) -> None:
        """Bring every bucket to zero (a write-off, or a withdrawal handing the claim back)."""
        for bucket, left in ((Bucket.COSTS, self.tally.costs),
                             (Bucket.INTEREST, self.tally.interest),
                             (Bucket.PRINCIPAL, self.tally.principal)):
            if left:
                self._book(bucket, -left, cause, description, on)
        self.tally = Tally(0)

    def settle(self, status: CaseStatus, closed_on: date | None = None) -> None:
        self.case.status = status
        self.case.closed_on = closed_on

    def _book(self, bucket: Bucket, amount: int, cause: EntryCause, description: str,
              on: date, **extra) -> None:
        ledger.book(self.case, bucket, amount, cause, description, booked_on=on, **extra)


# The demo's first letter is the default workflow's 14-day letter (a demand for businesses).
FIRST_LETTER_POSITION = 3


def play(cast: Cast, case: Case, plan: CasePlan) -> None:
    """Tell what happened to a freshly opened case, up to today, and set its status."""
    story = Story(cast, case, plan)
    PLOTS[plan.status](story, (cast.today - case.opened_on).days)


def _new(story: Story, age: int) -> None:
    story.settle(CaseStatus.NEW)


def _collect(story: Story, until: date, charge_until: date | None = None) -> None:
    """The common opening: letter, chasing until `until`, then what may be charged by then."""
    costs_due = story.letter()
    story.chase(until)
    story.charge(costs_due, charge_until or until)


def _active(story: Story, age: int) -> None:
    _collect(story, story.cast.today)
    if story.rng.random() < 0.1:  # some debtors write in; the agency's inbox shows them
        asked = story.day(max(age - 10, 0), age)
        db.session.add(Message(case_id=story.case.id, author=Party.DEBTOR,
                               body=story.rng.choice(people.QUESTIONS),
                               created_at=at_local(asked, clock(19, 15))))
    story.settle(CaseStatus.ACTIVE)


def _promised(story: Story, age: int) -> None:
    agreed = story.day(max(14, age - 25), age)
    _collect(story, agreed)
    promise_by = max(agreed + timedelta(days=story.rng.randint(7, 28)),
                     story.cast.today + timedelta(days=story.rng.randint(1, 10)))
    if story.rng.random() < 0.3:
        promise_by = story.cast.today  # due today: the callers check on it
    down = round(story.tally.total * story.rng.uniform(0.15, 0.4))
    caller = story.caller()
    story.event(agreed, "promise.made", f"Promise to pay {eur(story.tally.total - down)} by "
                f"{promise_by:%d-%m-%Y} after a down payment", user=caller)
    story.pay(agreed, down, " (down payment)")
    grace = 3
    db.session.add(PromiseToPay(
        case_id=story.case.id, amount_cents=story.tally.total, due_on=promise_by,
        grace_days=grace, paid_before_cents=down, created_by_id=caller.id,
        created_at=at_local(agreed, clock(10, 30))))
    story.case.promise_until = promise_by + timedelta(days=grace)  # dunning waits till then
    story.settle(CaseStatus.PROMISED)


def _arrangement(story: Story, age: int) -> None:
    today = story.cast.today
    # Agreed within the last ten months, so that the plan fits the policy's twelve payments.
    agreed = story.day(max(20, age - 300), min(age - 35, 150))
    _collect(story, agreed)  # interest stops here: it is frozen while the plan runs
    elapsed = sum(1 for n in range(1, 40) if add_months(agreed, n) <= today)
    count = elapsed + story.rng.randint(1, max(1, 12 - elapsed))  # still running today
    schedule = build_schedule(story.tally.total, count, add_months(agreed, 1))
    supervisor = story.cast.staff.supervisor
    plan = Arrangement(
        case_id=story.case.id, status=ArrangementStatus.ACTIVE, total_cents=story.tally.total,
        instalment_count=count, start_on=schedule[0].due_on, needs_agency_approval=True,
        agency_approved_at=at_local(agreed, clock(15, 0)), agency_approved_by_id=supervisor.id,
        decided_at=at_local(agreed, clock(15, 0)), created_at=at_local(agreed, clock(11, 0)))
    plan.instalments = [Instalment(number=n, due_on=due, amount_cents=amount)
                        for n, due, amount in schedule]
    db.session.add(plan)
    story.event(agreed, "arrangement.agreed", f"Payment plan approved: {count} monthly "
                f"instalments of {eur(schedule[0].amount_cents)}, interest frozen",
                user=supervisor)
    for instalment in plan.instalments[:elapsed]:
        paid_on = min(instalment.due_on + timedelta(days=story.rng.randint(-3, 2)), today)
        instalment.paid_cents = min(instalment.amount_cents, story.tally.total - 1)
        instalment.status = (InstalmentStatus.PAID if instalment.left_cents == 0
                             else InstalmentStatus.OPEN)
        story.pay(paid_on, instalment.paid_cents,
                  f" (instalment {instalment.number} of {count})")
    story.settle(CaseStatus.ARRANGEMENT)


def _disputed(story: Story, age: int) -> None:
    raised = story.day(5, age - 1)
    _collect(story, raised)
    reason, words = story.rng.choice(people.DISPUTES)
    event = story.event(raised, "dispute.opened", f"Dispute opened: {words}", by_debtor=True)
    db.session.add(Dispute(case_id=story.case.id, reason=reason, description=words,
                           opened_at=event.occurred_at))
    story.settle(CaseStatus.DISPUTED)


def _on_hold(story: Story, age: int) -> None:
    paused = story.day(7, age - 1)
    _collect(story, paused)
    story.event(paused, "case.on_hold", story.rng.choice(people.HOLD_REASONS),
                user=story.client_user())
    story.settle(CaseStatus.ON_HOLD)


def _legal(story: Story, age: int) -> None:
    handed = story.day(90, age - 1)
    _collect(story, handed, story.cast.today)  # interest runs on while the bailiff works
    story.event(handed, "case.legal", "Handed over to the bailiff (gerechtsdeurwaarder) for a "
                "summons", user=story.cast.staff.supervisor)
    story.settle(CaseStatus.LEGAL)


def _paid(story: Story, age: int) -> None:
    paid = story.day(3, min(age, 150))
    _collect(story, paid)
    story.pay(paid, story.tally.total, " (in full)")
    story.event(paid, "case.closed", "Paid in full: case closed")
    story.settle(CaseStatus.PAID, paid)


def _closed(story: Story, age: int) -> None:
    closed = story.day(90, age - 1)
    _collect(story, closed)
    if story.rng.random() < 0.4:
        story.pay(closed, round(story.tally.total * 0.2), " (last part payment)")
    reason = story.rng.choice(people.WRITE_OFF_REASONS)
    story.clear(closed, EntryCause.WRITE_OFF, f"Written off: {reason}")
    story.event(closed, "case.written_off", f"Case closed and written off: {reason}",
                user=story.cast.staff.supervisor)
    story.settle(CaseStatus.CLOSED, closed)


def _withdrawn(story: Story, age: int) -> None:
    withdrawn = story.day(7, age - 1)
    _collect(story, withdrawn)
    reason = story.rng.choice(people.WITHDRAW_REASONS)
    story.clear(withdrawn, EntryCause.CORRECTION, "Case withdrawn by the client; claim handed back")
    story.event(withdrawn, "case.withdrawn", f"Withdrawn by the client: {reason}",
                user=story.client_user())
    story.settle(CaseStatus.WITHDRAWN, withdrawn)


PLOTS: dict[CaseStatus, Callable[[Story, int], None]] = {
    CaseStatus.NEW: _new, CaseStatus.ACTIVE: _active, CaseStatus.PROMISED: _promised,
    CaseStatus.ARRANGEMENT: _arrangement, CaseStatus.DISPUTED: _disputed,
    CaseStatus.ON_HOLD: _on_hold, CaseStatus.LEGAL: _legal, CaseStatus.PAID: _paid,
    CaseStatus.CLOSED: _closed, CaseStatus.WITHDRAWN: _withdrawn,
}


def at_local(day: date, moment: clock, zone: str = "Europe/Amsterdam") -> datetime:
    """A moment on a calendar day in the agency's zone, as aware UTC, never in the future."""
    local = datetime.combine(day, moment, tzinfo=ZoneInfo(zone))
    return min(local.astimezone(UTC), datetime.now(UTC))
