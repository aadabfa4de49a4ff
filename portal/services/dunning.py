"""The dunning batch: advancing a chunk of due cases in one transaction (which cases are due,
and the runs and their chunks, are portal.services.dunning_runs).

A chunk decides its cases with `domain.dunning.decide`, records one Notice per debtor, client
and step (`group_key`) and one Communication per case and step, both inserted with ON CONFLICT
DO NOTHING under their unique keys, so a second run of the same day records nothing twice.
Money is booked only for a Communication this transaction inserted:
- interest: what `statutory_interest` gives per invoice from the day after its due date up to
  today, less the interest this engine booked before (the case's entries with cause interest).
  No "last interest date" is needed, and the total is the same however many steps booked it
  (booking from a last date instead would restart the yearly compounding and round again).
  Interest runs on the invoice amounts: part payments are not taken off yet (no payment
  records exist so far); the issue that books payments must make the base follow them.
- collection costs: once per case (no collection-costs entry yet), on the sum of the unpaid
  principals of the notice's cases that are charged now (LAW.md: claims that go in one demand
  are added up before the BIK scale), split over them in proportion (remainder to the largest).
Services flush and never commit; the jobs in portal.jobs.dunning commit and enqueue sending.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from portal.domain.costs import costs_shares
from portal.domain.dunning import (
    CaseState,
    Decision,
    NoticeGroup,
    SkipReason,
    Step,
    decide,
    due_on,
    group_key,
)
from portal.domain.interest import statutory_interest
from portal.domain.rates import RateTable
from portal.extensions import db
from portal.models import (
    BatchRun,
    Bucket,
    Case,
    CaseStatus,
    Channel,
    Communication,
    DeliveryStatus,
    EntryCause,
    LedgerEntry,
    Notice,
    StepAction,
    WorkflowStep,
)
from portal.services import audit, bulk, ledger, rates, workflows
from portal.services.ledger import Balance

# Statuses the batch looks at: running, or paused in a way that ends by itself or by hand.
# Paused cases are selected too, so each run counts them under "skipped/<reason>".
DUNNING_STATUSES = (
    CaseStatus.NEW, CaseStatus.ACTIVE, CaseStatus.PROMISED,
    CaseStatus.ARRANGEMENT, CaseStatus.DISPUTED, CaseStatus.ON_HOLD,
)
RESUMING = frozenset({CaseStatus.NEW, CaseStatus.PROMISED, CaseStatus.ON_HOLD})
MAX_NOTICES_PER_DAY = 50  # per group: see _queued
_KEY_AND_CHANNEL = (Notice.__table__.c.key, Notice.__table__.c.channel)


class QueuedNotice(NamedTuple):
    id: int
    channel: Channel


@dataclass
class _Due:
    """A case whose step is taken today, with what decided it."""

    case: Case
    row: WorkflowStep
    steps: list[Step]
    decision: Decision
    key: str  # the Communication's idempotency key

    @property
    def step(self) -> Step:
        assert self.decision.step is not None
        return self.decision.step


@dataclass
class _Facts:
    """What a chunk reads once for all its cases."""

    balances: dict[int, Balance]
    booked: dict[tuple[int, EntryCause], int]  # (case, interest|collection_costs) -> cents
    posted: dict[int, date]  # case -> the day its last 14-day letter was posted
    rates: RateTable
    workflows: dict[int, list[WorkflowStep]]  # workflow id -> its stored steps, in order
    steps: dict[tuple[int, bool], list[Step]]  # (workflow id, business) -> its domain Steps


@dataclass
class _Move:
    """What a chunk changes on a case. None keeps the stored value, but for next_step_on."""

    KEPT_IF_NONE: ClassVar = ("workflow_position", "last_step_on", "status")

    case: Case
    next_step_on: date | None
    workflow_position: int | None = None
    last_step_on: date | None = None
    status: CaseStatus | None = None

    def row(self) -> dict[str, Any]:
        return {"id": self.case.id, "next_step_on": self.next_step_on,
                **{name: getattr(self, name) for name in self.KEPT_IF_NONE}}


def communication_key(case_id: int, step_id: int) -> str:
    return f"case:{case_id}:step:{step_id}"


def notice_key(group: NoticeGroup, today: date) -> str:
    return f"{group.debtor_id}:{group.client_id}:{group.position}:{today.isoformat()}"


# -- selecting and planning ------------------------------------------------------------------


def queued_notice_ids(
    run: BatchRun, *, case_ids: Sequence[int] | None = None
) -> list[QueuedNotice]:
    """The run day's notices still waiting to be sent (of these cases, when given).

    By day rather than by run: a re-run of the day finds the notices an earlier run recorded
    (their key keeps the first run's id) and whose sending may never have been enqueued.
    """
    stmt = select(Notice.id, Notice.channel).where(
        Notice.dated == run.run_on, Notice.status == DeliveryStatus.QUEUED
    )
    if case_ids is not None:
        of_cases = select(Communication.notice_id).where(
            bulk.among(Communication.case_id, list(case_ids)))
        stmt = stmt.where(Notice.id.in_(of_cases))
    rows = db.session.execute(stmt.order_by(Notice.id))
    return [QueuedNotice(notice_id, Channel(channel)) for notice_id, channel in rows]


# -- advancing a chunk -------------------------------------------------------------------------


def advance_cases(run: BatchRun, case_ids: Sequence[int], today: date) -> dict[str, int]:
    """Decide and record today's step for these cases (one transaction; flushes only).

    Returns counts: "<action>/<channel>" per step recorded, "skipped/<reason>", "repeated/
    <action>" (recorded by an earlier run), "notices/<channel>", "costs/charged",
    "costs/withheld", "interest/booked", "no_channel/<action>".
    """
    cases = _load_cases(case_ids)
    facts = _read_facts(cases)
    counts: Counter[str] = Counter()
    due: list[_Due] = []
    moves: list[_Move] = []
    for case in cases:
        plan = _plan(case, facts, today)
        if isinstance(plan, Decision):
            counts[f"skipped/{plan.skip_reason}"] += 1
            moves += _keep_in_step(case, plan)
        else:
            due.append(plan)
    _record(run, due, today, facts, counts, moves)
    db.session.flush()
    return dict(counts)


def _load_cases(case_ids: Sequence[int]) -> list[Case]:
    stmt = (
        select(Case)
        .options(joinedload(Case.debtor), joinedload(Case.client), selectinload(Case.invoices))
        .where(bulk.among(Case.id, list(case_ids)))
        .order_by(Case.id)
    )
    return list(db.session.scalars(stmt))


def _read_facts(cases: list[Case]) -> _Facts:
    ids = [case.id for case in cases]
    for case in cases:
        if case.workflow_id is None:  # opened before workflows existed: pin it now
            case.workflow_id = workflows.workflow_for(case).id
    workflow_ids = {case.workflow_id for case in cases}
    rows = db.session.scalars(
        select(WorkflowStep).where(WorkflowStep.workflow_id.in_(workflow_ids))
        .order_by(WorkflowStep.workflow_id, WorkflowStep.position)
    )
    steps: dict[int, list[WorkflowStep]] = defaultdict(list)
    for row in rows:
        steps[row.workflow_id].append(row)
    domain_steps = {
        (workflow_id, business): [workflows.to_step(row, business=business) for row in rows]
        for workflow_id, rows in steps.items() for business in (False, True)
    }
    return _Facts(ledger.balances(ids), _booked(ids), _posted(ids), rates.rate_table(), steps,
                  domain_steps)


def _booked(case_ids: list[int]) -> dict[tuple[int, EntryCause], int]:
    """What this engine booked before, per case: interest and collection costs entries."""
    causes = (EntryCause.INTEREST, EntryCause.COLLECTION_COSTS)
    rows = db.session.execute(
        select(LedgerEntry.case_id, LedgerEntry.cause, func.sum(LedgerEntry.amount_cents))
        .where(bulk.among(LedgerEntry.case_id, case_ids), LedgerEntry.cause.in_(causes))
        .group_by(LedgerEntry.case_id, LedgerEntry.cause)
    )
    return {(case_id, EntryCause(cause)): int(total) for case_id, cause, total in rows}


def _posted(case_ids: list[int]) -> dict[int, date]:
    """The day each case's latest 14-day letter went out: only a sent letter counts, on the
    later of its date and the (agency-local) day it was sent, the safe side of the term."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    rows = db.session.execute(
        select(Communication.case_id, Notice.dated, Notice.sent_at)
        .join(Notice, Communication.notice_id == Notice.id)
        .where(
            bulk.among(Communication.case_id, case_ids),
            Notice.action == StepAction.FOURTEEN_DAY_LETTER,
            Notice.channel == Channel.LETTER,
            Notice.status == DeliveryStatus.SENT,
        )
    )
    posted: dict[int, date] = {}
    for case_id, dated, sent_at in rows:
        day = max(dated, sent_at.astimezone(zone).date()) if sent_at else dated
        posted[case_id] = max(day, posted.get(case_id, day))
    return posted


def _plan(case: Case, facts: _Facts, today: date) -> _Due | Decision:
    """The step to take today with what decided it, or the decision not to take one."""
    debtor = case.debtor
    assert case.workflow_id is not None
    rows = facts.workflows[case.workflow_id]
    steps = facts.steps[case.workflow_id, not debtor.is_consumer]
    state = CaseState(
        oldest_due_date=min(invoice.due_date for invoice in case.invoices),
        last_position=case.workflow_position,
        last_step_on=case.last_step_on,
        status=str(case.status),
        promise_until=case.promise_until,
        on_hold_until=case.on_hold_until,
        do_not_contact=debtor.do_not_contact,
        is_consumer=debtor.is_consumer,
        has_email=bool(debtor.email) and not debtor.email_bounced,
        fourteen_day_letter_posted_on=facts.posted.get(case.id),
    )
    decision = decide(steps, state, today)
    if decision.step is None:
        return decision
    row = next(row for row in rows if row.position == decision.step.position)
    return _Due(case, row, steps, decision, communication_key(case.id, row.id))


def _keep_in_step(case: Case, decision: Decision) -> list[_Move]:
    """A skipped case keeps its date (it resumes where it stopped); a case selected but not
    due, or done, takes the date the rule computes (e.g. after its workflow was edited)."""
    if (decision.skip_reason in (SkipReason.NOT_DUE, SkipReason.FINISHED)
            and case.next_step_on != decision.due_on):
        return [_Move(case, next_step_on=decision.due_on)]
    return []


def _record(
    run: BatchRun, due: list[_Due], today: date, facts: _Facts, counts: Counter[str],
    moves: list[_Move],
) -> None:
    """Record the steps (notices and communications where something is sent) and move the
    cases (with `moves`, the skipped cases' new dates); money is booked for the communications
    inserted here, not for earlier ones."""
    done_before = _existing_keys([plan.key for plan in due if _sends(plan)])
    groups: dict[NoticeGroup, list[_Due]] = defaultdict(list)
    events: list[dict[str, Any]] = []  # audited in one executemany: see audit.record_many
    for plan in due:
        if not _sends(plan):
            events.append(_record_without_notice(plan, counts))
        elif plan.key in done_before:
            counts[f"repeated/{plan.step.action}"] += 1
        else:
            group = group_key(plan.case.debtor_id, plan.case.client_id, plan.step.position)
            groups[group].append(plan)
        moves.append(_move(plan, today))
    _save_moves(moves)
    notices = _open_notices(run, groups, today, counts)
    fresh = _insert_communications(groups, notices)
    for group, members in groups.items():
        recorded = [plan for plan in members if plan.key in fresh]
        events += _settle(notices[group], recorded, facts, today, counts)
    audit.record_many(events)


def _sends(plan: _Due) -> bool:
    return plan.step.action is not StepAction.CALL_TASK and plan.decision.channel is not None


def _record_without_notice(plan: _Due, counts: Counter[str]) -> dict[str, Any]:
    """A call task (the call team's queue takes it from the case's position), or a step with
    nothing to send to (no email address, no fallback): the case moves on all the same.
    Returns its audit event's row."""
    action = plan.step.action
    if action is StepAction.CALL_TASK:
        counts["call_task/call"] += 1
        summary = f"{plan.row.name}: handed to the call team (step {plan.step.position})"
    else:
        counts[f"no_channel/{action}"] += 1
        summary = f"{plan.row.name} not sent: no email address and no fallback"
    return _step_event(plan, summary)


def _step_event(plan: _Due, summary: str, **detail: Any) -> dict[str, Any]:
    """The "dunning.step" audit event of a case, as a row for audit.record_many."""
    case = plan.case
    detail = {"step_id": plan.row.id, "position": plan.step.position, **detail}
    return {"action": "dunning.step", "summary": summary, "case_id": case.id,
            "client_id": case.client_id, "detail": detail}


def _existing_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    key = Communication.idempotency_key
    stmt = select(key).where(bulk.among(key, keys))
    return set(db.session.scalars(stmt))


def _open_notices(
    run: BatchRun, groups: dict[NoticeGroup, list[_Due]], today: date, counts: Counter[str]
) -> dict[NoticeGroup, Notice]:
    """The day's queued notice for each group: inserted, or the one a run made before.

    Read FOR UPDATE: a sender claiming one waits for this commit, so it sees every case.
    """
    rows = {group: _notice_row(run, group, members[0], today) for group, members in groups.items()}
    if not rows:
        return {}
    _count_notices(counts, bulk.insert_ignore(Notice, list(rows.values()), *_KEY_AND_CHANNEL))
    keys = [row["key"] for row in rows.values()]
    stmt = select(Notice).where(bulk.among(Notice.key, keys)).with_for_update()
    found = {notice.key: notice for notice in db.session.scalars(stmt)}
    return {group: _queued(found[row["key"]], row, counts) for group, row in rows.items()}


def _notice_row(run: BatchRun, group: NoticeGroup, first: _Due, today: date) -> dict[str, Any]:
    debtor, channel = first.case.debtor, first.decision.channel
    return {
        "key": notice_key(group, today), "debtor_id": group.debtor_id,
        "client_id": group.client_id, "batch_run_id": run.id, "action": first.step.action,
        "channel": channel, "template_key": first.row.template_key,
        "language": debtor.language, "dated": today, "status": DeliveryStatus.QUEUED,
        "to_address": debtor.email if channel is Channel.EMAIL else None,
    }


def _queued(notice: Notice, row: dict[str, Any], counts: Counter[str]) -> Notice:
    """`notice` while it waits to be sent. Once it went out (a later run of the day found one
    more case of its group), the next key suffix (":2", ...): a case never joins a sent one."""
    suffix = 1
    while notice.status != DeliveryStatus.QUEUED:
        suffix += 1
        if suffix > MAX_NOTICES_PER_DAY:
            raise RuntimeError(f"more than {MAX_NOTICES_PER_DAY} notices for {row['key']}")
        key = f"{row['key']}:{suffix}"
        _count_notices(counts, bulk.insert_ignore(Notice, [{**row, "key": key}], *_KEY_AND_CHANNEL))
        notice = db.session.scalars(select(Notice).where(Notice.key == key).with_for_update()).one()
    return notice


def _count_notices(counts: Counter[str], inserted: list[Any]) -> None:
    counts.update(f"notices/{channel}" for _key, channel in inserted)


def _insert_communications(
    groups: dict[NoticeGroup, list[_Due]], notices: dict[NoticeGroup, Notice]
) -> set[str]:
    """Insert the groups' communications; the keys of those this transaction inserted."""
    rows = [
        {"idempotency_key": plan.key, "case_id": plan.case.id, "notice_id": notices[group].id,
         "step_id": plan.row.id, "position": plan.step.position, "note": plan.decision.warning}
        for group, members in groups.items() for plan in members
    ]
    if not rows:
        return set()
    inserted = bulk.insert_ignore(Communication, rows, Communication.__table__.c.idempotency_key)
    return {key for (key,) in inserted}


def _settle(
    notice: Notice, fresh: list[_Due], facts: _Facts, today: date, counts: Counter[str]
) -> list[dict[str, Any]]:
    """Book the step's interest and costs for the newly recorded cases; their audit rows."""
    costs = _book_costs(notice, fresh, facts, today)
    events = []
    for plan in fresh:
        interest = _book_interest(notice, plan, facts, today)
        counts[f"{plan.step.action}/{notice.channel}"] += 1
        flags = {"interest/booked": interest, "costs/charged": costs.get(plan.case.id),
                 "costs/withheld": plan.decision.warning}
        counts.update(key for key, value in flags.items() if value)
        events.append(_step_event(
            plan,
            f"{plan.row.name} recorded, to go by {notice.channel} (step {plan.step.position})",
            notice_id=notice.id, costs_cents=costs.get(plan.case.id, 0),
            interest_cents=interest, note=plan.decision.warning,
        ))
    return events


def _cause_ref(plan: _Due, notice: Notice) -> str:
    return f"step:{plan.row.id}:notice:{notice.id}"


def _book_interest(notice: Notice, plan: _Due, facts: _Facts, today: date) -> int:
    """Statutory interest up to today not booked yet (see the module docstring)."""
    if not plan.decision.charge_interest:
        return 0
    case = plan.case
    owed = sum(
        statutory_interest(
            invoice.amount_cents, invoice.due_date + timedelta(days=1), today,
            commercial=not case.debtor.is_consumer, rates=facts.rates,
        )
        for invoice in case.invoices
    )
    amount = owed - facts.booked.get((case.id, EntryCause.INTEREST), 0)
    if amount <= 0:
        return 0
    ledger.book(
        case, Bucket.INTEREST, amount, EntryCause.INTEREST,
        f"Statutory interest up to {today.isoformat()} ({plan.row.name})",
        booked_on=today, cause_ref=_cause_ref(plan, notice),
    )
    return amount


def _book_costs(notice: Notice, fresh: list[_Due], facts: _Facts, today: date) -> dict[int, int]:
    """Costs for the notice's cases charged now and never before; case id -> cents."""
    charged = [
        plan for plan in fresh
        if plan.decision.charge_costs
        and (plan.case.id, EntryCause.COLLECTION_COSTS) not in facts.booked
    ]
    if not charged:
        return {}
    principals = {
        plan.case.id: facts.balances[plan.case.id].remaining.get(Bucket.PRINCIPAL, 0)
        for plan in charged
    }
    vat = charged[0].case.client.charges_vat_on_costs
    shares = costs_shares(principals, vat=vat)
    for plan in charged:
        if shares[plan.case.id]:
            ledger.book(
                plan.case, Bucket.COSTS, shares[plan.case.id], EntryCause.COLLECTION_COSTS,
                _costs_description(len(charged), vat), booked_on=today,
                cause_ref=_cause_ref(plan, notice),
            )
    return shares


def _costs_description(cases: int, vat: bool) -> str:
    text = "Statutory collection costs (BIK scale)"
    if cases > 1:
        text += f", share of {cases} claims in one demand"
    return text + (", incl. 21% VAT" if vat else "")


def _move(plan: _Due, today: date) -> _Move:
    """The case's new position, its next step date, and its status."""
    case, step = plan.case, plan.step
    state = CaseState(
        oldest_due_date=min(invoice.due_date for invoice in case.invoices),
        last_position=step.position, last_step_on=today,
    )
    move = _Move(case, next_step_on=due_on(plan.steps, state), workflow_position=step.position,
                 last_step_on=today)
    if step.action is StepAction.LEGAL_HANDOVER:
        move.status = CaseStatus.LEGAL
        move.next_step_on = None  # dunning ends here; the dossier and the lawyer take over
    elif case.status in RESUMING:
        move.status = CaseStatus.ACTIVE
    return move


def _save_moves(moves: list[_Move]) -> None:
    """Write the chunk's moves in one UPDATE (on PostgreSQL; one executemany on SQLite).

    Setting the loaded cases' attributes instead made the ORM's autoflush look at every
    attribute of every loaded object: a third of a chunk's time. The moved attributes of the
    loaded cases are expired, so they are read again if anything still looks at them.
    """
    if not moves:
        return
    table = Case.__table__
    rows = [move.row() for move in moves]
    if bulk.on_postgresql():
        new: Any = bulk.unnest(table, rows).c
        db.session.execute(update(table).where(table.c.id == new.id).values(_moved(table, new)))
    else:
        new = {name: bindparam(f"new_{name}") for name in rows[0]}
        stmt = update(table).where(table.c.id == new["id"]).values(_moved(table, new))
        db.session.execute(stmt, [{f"new_{name}": v for name, v in row.items()} for row in rows])
    for move in moves:
        db.session.expire(move.case, ["next_step_on", *_Move.KEPT_IF_NONE])


def _moved(table: Any, new: Any) -> dict[str, Any]:
    """The SET clause of a move: a field the move leaves None keeps the row's value, but for
    next_step_on, which a move always sets (None when dunning ends)."""
    return {"next_step_on": new["next_step_on"],
            **{name: func.coalesce(new[name], table.c[name]) for name in _Move.KEPT_IF_NONE}}
