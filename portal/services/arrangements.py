"""Instalment arrangements: propose, approve or reject, follow the instalments, apply payments.

Every change writes an audit event and refreshes the case's status (an active arrangement
pauses dunning; a broken, completed or cancelled one lets it resume). Flush only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import exists, select, update

from portal.domain import instalments as rules
from portal.extensions import db
from portal.models import (
    STAFF_ROLES,
    ApprovalBy,
    Arrangement,
    ArrangementStatus,
    AuditEvent,
    Case,
    Client,
    Instalment,
    InstalmentStatus,
    Role,
    User,
    utcnow,
)
from portal.queue import enqueue_after_commit
from portal.services import audit, case_status, ledger

UNPAID = (InstalmentStatus.OPEN, InstalmentStatus.MISSED)
APPROVERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
# The email jobs, by name (portal.jobs.arrangements), all on the "mail" queue.
SEND_ARRANGEMENT_EMAIL = "portal.jobs.arrangements.send_arrangement_email"
SEND_INSTALMENT_EMAIL = "portal.jobs.arrangements.send_instalment_email"
# The longest reminder lead an admin may set: the morning job looks this far ahead.
MAX_REMINDER_DAYS = 30


class ArrangementRefused(ValueError):
    """The proposal or decision cannot be made as asked; `messages` say why, in plain words."""

    def __init__(self, messages: list) -> None:
        super().__init__(*messages)  # lazy texts: rendered in the reader's language
        self.messages = messages


@dataclass(frozen=True)
class Proposal:
    """What a plan would look like before it is made (the debtor's preview)."""

    total_cents: int
    count: int
    start_on: date
    down_payment_cents: int
    schedule: list[rules.Scheduled]
    problems: list[str]  # outside the policy: needs approval
    invalid: list[str]  # cannot be proposed at all
    auto_accepted: bool


def policy_of(client: Client) -> rules.Policy:
    return rules.Policy.of(client)


def preview(
    case: Case, count: int, start_on: date, *, today: date, down_payment_cents: int = 0
) -> Proposal:
    """The schedule and the policy's verdict for a plan over today's balance (reads only)."""
    total = ledger.balance(case).total
    problems = rules.policy_problems(
        policy_of(case.client), total, count, start_on, down_payment_cents, today
    )
    invalid = [p for p in problems if p in rules.INVALID]
    if total <= 0:
        invalid.append("nothing_owed")
    schedule = [] if invalid else rules.build_schedule(
        total, count, start_on, down_payment_cents=down_payment_cents)
    return Proposal(total, count, start_on, down_payment_cents, schedule,
                    [p for p in problems if p not in rules.INVALID], invalid,
                    auto_accepted=not problems and case.client.auto_accept_arrangements)


def propose(
    case: Case,
    count: int,
    start_on: date,
    *,
    today: date,
    by_user: User | None = None,
    down_payment_cents: int = 0,
) -> Arrangement:
    """Make a plan over today's balance: ACTIVE at once when it fits the client's policy and
    the client accepts such plans automatically, else PENDING for approval. The debtor is
    emailed after the commit (the schedule, or that the proposal was received)."""
    if active_arrangement(case) or pending_arrangement(case):
        raise ArrangementRefused([_("There is already a payment plan for this case.")])
    plan = preview(case, count, start_on, today=today, down_payment_cents=down_payment_cents)
    if plan.invalid:
        raise ArrangementRefused([problem_text(p) for p in plan.invalid])
    arrangement = Arrangement(
        case_id=case.id, total_cents=plan.total_cents, down_payment_cents=down_payment_cents,
        instalment_count=count, start_on=start_on,
        proposed_by_user_id=by_user.id if by_user is not None else None,
        instalments=_instalments(plan.schedule),
    )
    if plan.auto_accepted:
        arrangement.status = ArrangementStatus.ACTIVE
        arrangement.decided_at = utcnow()
    else:
        arrangement.status = ArrangementStatus.PENDING
        arrangement.needs_agency_approval = True
        arrangement.needs_client_approval = (
            case.client.arrangement_approval == ApprovalBy.AGENCY_AND_CLIENT)
    db.session.add(arrangement)
    db.session.flush()
    audit.record(
        "arrangement.proposed",
        f"Payment plan proposed: {count} instalments"
        + ("" if plan.auto_accepted else " (needs approval: " + ", ".join(plan.problems) + ")"),
        case=case, user=by_user, debtor_id=None if by_user else case.debtor_id,
        arrangement_id=arrangement.id, status=str(arrangement.status), problems=plan.problems,
    )
    case_status.refresh(case, today)
    _email_after_commit(arrangement, "confirmed" if plan.auto_accepted else "pending")
    return arrangement


def _instalments(schedule: list[rules.Scheduled]) -> list[Instalment]:
    return [Instalment(number=row.number, due_on=row.due_on, amount_cents=row.amount_cents)
            for row in schedule]


def _email_after_commit(arrangement: Arrangement, kind: str) -> None:
    enqueue_after_commit("mail", SEND_ARRANGEMENT_EMAIL, arrangement.id, kind)


def approval_side(user: User, arrangement: Arrangement) -> str:
    """Which approval this user gives: "agency" or "client"; PermissionError otherwise."""
    if user.role in APPROVERS:
        return "agency"
    if user.role == Role.CLIENT and user.client_id == arrangement.case.client_id:
        return "client"
    raise PermissionError(f"user {user.id} may not decide arrangement {arrangement.id}")


def waits_on(arrangement: Arrangement) -> set[str]:
    """The approvals a pending arrangement still needs."""
    if arrangement.status != ArrangementStatus.PENDING:
        return set()
    sides = set()
    if arrangement.needs_agency_approval and arrangement.agency_approved_at is None:
        sides.add("agency")
    if arrangement.needs_client_approval and arrangement.client_approved_at is None:
        sides.add("client")
    return sides


def approve(arrangement: Arrangement, user: User, *, today: date) -> Arrangement:
    """Give this user's side's approval; ACTIVE (and the debtor emailed) when none is left."""
    side = approval_side(user, arrangement)
    if side not in waits_on(arrangement):
        raise ArrangementRefused([_("This plan is not waiting for your approval.")])
    if side == "agency":
        arrangement.agency_approved_at, arrangement.agency_approved_by_id = utcnow(), user.id
    else:
        arrangement.client_approved_at, arrangement.client_approved_by_id = utcnow(), user.id
    case = arrangement.case
    audit.record("arrangement.approved", f"Payment plan approved by the {side}", case=case,
                 user=user, arrangement_id=arrangement.id)
    if not waits_on(arrangement):
        arrangement.status = ArrangementStatus.ACTIVE
        arrangement.decided_at = utcnow()
        _start_no_earlier_than(arrangement, today)
        _email_after_commit(arrangement, "approved")
    db.session.flush()
    case_status.refresh(case, today)
    return arrangement


def _start_no_earlier_than(arrangement: Arrangement, today: date) -> None:
    """A plan approved after its start date starts today instead (same amounts)."""
    if arrangement.start_on >= today:
        return
    arrangement.start_on = today
    first = 1 if arrangement.down_payment_cents else 0
    for instalment in arrangement.instalments:
        months = 0 if instalment.number == 0 else first + instalment.number - 1
        instalment.due_on = rules.add_months(today, months)


def reject(arrangement: Arrangement, user: User, note: str, *, today: date) -> Arrangement:
    """Turn a pending proposal down; the debtor is told by email (with the note)."""
    approval_side(user, arrangement)
    if arrangement.status != ArrangementStatus.PENDING:
        raise ArrangementRefused([_("Only a plan waiting for approval can be rejected.")])
    arrangement.status = ArrangementStatus.REJECTED
    arrangement.decided_at = utcnow()
    arrangement.decision_note = (note or "").strip() or None
    audit.record("arrangement.rejected", "Payment plan rejected", case=arrangement.case,
                 user=user, arrangement_id=arrangement.id, note=arrangement.decision_note)
    db.session.flush()
    case_status.refresh(arrangement.case, today)
    _email_after_commit(arrangement, "rejected")
    return arrangement


def cancel(
    arrangement: Arrangement, *, today: date, user: User | None = None, note: str | None = None
) -> Arrangement:
    """End a pending or running plan (dunning resumes when nothing else pauses the case)."""
    if user is not None and user.role not in STAFF_ROLES:
        approval_side(user, arrangement)
    if arrangement.status not in (ArrangementStatus.PENDING, ArrangementStatus.ACTIVE):
        raise ArrangementRefused([_("This plan has already ended.")])
    arrangement.status = ArrangementStatus.CANCELLED
    arrangement.decided_at = arrangement.decided_at or utcnow()
    arrangement.decision_note = note or arrangement.decision_note
    audit.record("arrangement.cancelled", "Payment plan cancelled", case=arrangement.case,
                 user=user, arrangement_id=arrangement.id, note=note)
    db.session.flush()
    case_status.refresh(arrangement.case, today)
    return arrangement


def problem_text(code: str) -> str:
    """A policy problem code in plain words, for debtors and staff."""
    texts = {
        rules.TOO_MANY_INSTALMENTS: _("More instalments than we can agree straight away."),
        rules.NO_INSTALMENTS: _("Choose at least one instalment."),
        rules.BELOW_MINIMUM: _("The instalments are smaller than we can agree straight away."),
        rules.TOO_MANY_MONTHS: _("The plan runs longer than we can agree straight away."),
        rules.DOWN_PAYMENT_TOO_LOW: _("The first payment is lower than we can agree "
                                      "straight away."),
        rules.DOWN_PAYMENT_TOO_HIGH: _("The first payment must be less than the whole amount."),
        rules.START_IN_PAST: _("The start date has already passed."),
        rules.START_TOO_LATE: _("The plan must start within %(days)s days.",
                                days=rules.MAX_START_DAYS),
        "nothing_owed": _("There is nothing left to pay on this case."),
    }
    return texts.get(code, code)


def active_arrangement(case: Case) -> Arrangement | None:
    """The case's running arrangement, if any."""
    return _arrangement_in(case, ArrangementStatus.ACTIVE)


def current_arrangement(case: Case) -> Arrangement | None:
    """The plan the case pages show: the running one, else the one waiting for approval."""
    return active_arrangement(case) or pending_arrangement(case)


def pending_arrangement(case: Case) -> Arrangement | None:
    """The case's proposal waiting for approval, if any."""
    return _arrangement_in(case, ArrangementStatus.PENDING)


def _arrangement_in(case: Case, status: ArrangementStatus) -> Arrangement | None:
    return db.session.scalar(
        select(Arrangement)
        .where(Arrangement.case_id == case.id, Arrangement.status == status)
        .order_by(Arrangement.id.desc())
        .limit(1)
    )


def payment_booked(
    case: Case, amount_cents: int, *, instalment_id: int | None, today: date
) -> None:
    """Apply a booked payment to the case's active arrangement.

    The instalment the debtor chose first (when it belongs to that arrangement), then the
    oldest unpaid instalments in order. All paid: the arrangement is completed and the case
    resumes its own status. No active arrangement: nothing to do.
    """
    arrangement = active_arrangement(case)
    if arrangement is None or amount_cents <= 0:
        return
    unpaid = [i for i in arrangement.instalments if i.status in UNPAID]
    chosen = [i for i in unpaid if i.id == instalment_id]
    left = amount_cents
    for instalment in chosen + [i for i in unpaid if i.id != instalment_id]:
        if left <= 0:
            break
        part = min(left, instalment.left_cents)
        instalment.paid_cents += part
        left -= part
        if instalment.left_cents == 0:
            instalment.status = InstalmentStatus.PAID
    if all(i.status == InstalmentStatus.PAID for i in arrangement.instalments):
        arrangement.status = ArrangementStatus.COMPLETED
        audit.record("arrangement.completed", "Every instalment is paid", case=case,
                     arrangement_id=arrangement.id)
        case_status.refresh(case, today)
    db.session.flush()


# -- The morning watch -------------------------------------------------------------------------


@dataclass
class WatchResult:
    reminded: list[int]  # instalment ids: reminder before the due date
    overdue: list[int]  # instalment ids: past due, in the grace period
    missed: list[int]  # instalment ids: the grace period passed (arrangement not broken)
    broken: list[int]  # arrangement ids


def _running(*columns):
    """Instalments of running plans, with their client's policy columns."""
    return (
        select(Instalment.id, Instalment.due_on, *columns)
        .join(Arrangement, Instalment.arrangement_id == Arrangement.id)
        .join(Case, Arrangement.case_id == Case.id)
        .join(Client, Case.client_id == Client.id)
        .where(Arrangement.status == ArrangementStatus.ACTIVE)
    )


def watch_instalments(today: date) -> WatchResult:
    """Remind before due dates, remind once after one, mark misses after the grace period and
    break a plan at the client's limit of misses. Each step is a select and a bulk update; the
    returned ids are what the emails go out for (after the commit, by the job)."""
    result = WatchResult(_remind_coming(today), _remind_overdue(today), [], [])
    missed = _mark_missed(today)
    result.broken = _break_plans(missed, today)
    broken = set(result.broken)
    result.missed = [i for i, arrangement_id in missed if arrangement_id not in broken]
    return result


def _remind_coming(today: date) -> list[int]:
    rows = db.session.execute(_running(Client.instalment_reminder_days).where(
        Instalment.status == InstalmentStatus.OPEN, Instalment.reminded_on.is_(None),
        Instalment.due_on >= today,
        Instalment.due_on <= today + timedelta(days=MAX_REMINDER_DAYS))).all()
    ids = [i for i, due_on, days in rows if days > 0 and due_on - timedelta(days=days) <= today]
    _set(ids, reminded_on=today)
    return ids


def _remind_overdue(today: date) -> list[int]:
    rows = db.session.execute(_running(Client.instalment_grace_days).where(
        Instalment.status == InstalmentStatus.OPEN, Instalment.overdue_reminded_on.is_(None),
        Instalment.due_on < today)).all()
    # Only inside the grace period: once it has passed the miss itself is told.
    ids = [i for i, due_on, grace in rows if due_on + timedelta(days=grace) >= today]
    _set(ids, overdue_reminded_on=today)
    return ids


def _mark_missed(today: date) -> list[tuple[int, int]]:
    """(instalment id, arrangement id) of the instalments missed today."""
    rows = db.session.execute(_running(Client.instalment_grace_days, Arrangement.id).where(
        Instalment.status == InstalmentStatus.OPEN, Instalment.due_on < today)).all()
    missed = [(i, arrangement_id) for i, due_on, grace, arrangement_id in rows
              if due_on + timedelta(days=grace) < today]
    _set([i for i, _a in missed], status=InstalmentStatus.MISSED, missed_on=today)
    per_arrangement: dict[int, int] = {}
    for _i, arrangement_id in missed:
        per_arrangement[arrangement_id] = per_arrangement.get(arrangement_id, 0) + 1
    for arrangement_id, count in per_arrangement.items():
        db.session.execute(update(Arrangement).where(Arrangement.id == arrangement_id)
                           .values(missed_count=Arrangement.missed_count + count))
    return missed


def _break_plans(missed: list[tuple[int, int]], today: date) -> list[int]:
    """Break the plans that reached their client's limit; their cases resume dunning."""
    touched = {arrangement_id for _i, arrangement_id in missed}
    if not touched:
        return []
    db.session.expire_all()  # the bulk updates above changed rows the session may hold
    arrangements = db.session.scalars(select(Arrangement).where(Arrangement.id.in_(touched))
                                      .order_by(Arrangement.id)).all()
    missed_by = {a: [i for i, b in missed if b == a] for a in touched}
    broken = []
    for arrangement in arrangements:
        case = arrangement.case
        limit = case.client.max_missed_instalments
        audit.record("arrangement.instalment_missed",
                     f"{len(missed_by[arrangement.id])} instalment(s) missed "
                     f"({arrangement.missed_count} in all)", case=case,
                     arrangement_id=arrangement.id, instalments=missed_by[arrangement.id])
        if arrangement.missed_count >= limit:
            arrangement.status = ArrangementStatus.BROKEN
            arrangement.decided_at = utcnow()
            audit.record("arrangement.broken",
                         f"Payment plan broken after {arrangement.missed_count} missed "
                         "instalments: collection resumes", case=case,
                         arrangement_id=arrangement.id)
            broken.append(arrangement.id)
        db.session.flush()
        case_status.refresh(case, today)
    return broken


def _set(ids: list[int], **values) -> None:
    if ids:
        db.session.execute(update(Instalment).where(Instalment.id.in_(ids)).values(**values))


# -- Emails: sent once ---------------------------------------------------------------------------


def _email_summary(kind: str, arrangement_id: int, instalment_id: int | None) -> str:
    target = f"instalment {instalment_id}" if instalment_id else f"plan {arrangement_id}"
    return f"Email to the debtor: {kind} ({target})"


def already_emailed(arrangement: Arrangement, kind: str, instalment_id: int | None = None) -> bool:
    summary = _email_summary(kind, arrangement.id, instalment_id)
    return bool(db.session.scalar(select(exists().where(
        AuditEvent.case_id == arrangement.case_id, AuditEvent.action == "arrangement.emailed",
        AuditEvent.summary == summary))))


def record_emailed(arrangement: Arrangement, kind: str, instalment_id: int | None = None) -> None:
    """Remember an email went out, so a job run twice does not send it twice."""
    audit.record("arrangement.emailed", _email_summary(kind, arrangement.id, instalment_id),
                 case=arrangement.case, arrangement_id=arrangement.id, kind=kind,
                 instalment_id=instalment_id)
    db.session.flush()


# -- Lists and the client's policy ------------------------------------------------------------


def latest_arrangement(case: Case) -> Arrangement | None:
    """The case's most recent plan of any status (staff pages show ended ones too)."""
    return db.session.scalar(select(Arrangement).where(Arrangement.case_id == case.id)
                             .order_by(Arrangement.id.desc()).limit(1))


def listing(status: str | None = None, *, client_id: int | None = None):
    """A select of arrangements, pending first, then running, then the rest, newest first."""
    from sqlalchemy import case as sql_case

    rank = sql_case((Arrangement.status == ArrangementStatus.PENDING, 0),
                    (Arrangement.status == ArrangementStatus.ACTIVE, 1), else_=2)
    stmt = select(Arrangement).join(Case, Arrangement.case_id == Case.id)
    if status:
        stmt = stmt.where(Arrangement.status == ArrangementStatus(status))
    if client_id is not None:
        stmt = stmt.where(Case.client_id == client_id)
    return stmt.order_by(rank, Arrangement.created_at.desc(), Arrangement.id.desc())


def waiting_on_client(client_id: int):
    """A select of the client's pending plans that still need the client's approval."""
    return listing(ArrangementStatus.PENDING, client_id=client_id).where(
        Arrangement.needs_client_approval.is_(True), Arrangement.client_approved_at.is_(None))


POLICY_FIELDS = (
    "min_payment_cents", "max_instalments", "min_instalment_cents", "max_arrangement_months",
    "down_payment_percent", "auto_accept_arrangements", "arrangement_approval",
    "instalment_grace_days", "max_missed_instalments", "instalment_reminder_days",
)


def set_policy(client: Client, user: User, **values) -> None:
    """Change a client's arrangement policy (the POLICY_FIELDS); audited with old and new."""
    changed = {name: (str(getattr(client, name)), str(value)) for name, value in values.items()
               if name in POLICY_FIELDS and getattr(client, name) != value}
    for name in changed:
        setattr(client, name, values[name])
    if changed:
        audit.record("client.policy_changed", f"Arrangement policy of {client.name} changed",
                     user=user, client_id=client.id, client_visible=True, changed=changed)
    db.session.flush()
