"""`flask --app portal demo [--reset] [--seed N]`: a believable agency to click through.

Everything is made through the services (accounts, cases, ledger, audit) so the demo obeys
the same rules as real work: principal from `open_case`, statutory interest and BIK costs from
the domain rules, payments allocated costs -> interest -> principal. A seeded `random.Random`
makes the same agency every time; only the access codes are fresh (they come from `secrets`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock

import click
import flask_migrate
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select

from portal.cli import demo_people as people
from portal.cli import demo_story as story
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Beneficiary,
    Case,
    Client,
    Debtor,
    NonPaymentReason,
    Role,
    User,
    utcnow,
)
from portal.services import accounts, call_queue, calls, remittances
from portal.services.cases import open_case

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed on purpose; demo accounts only
DEMO_DOMAIN = "demo.test"
DEFAULT_SEED = 2026
DEBTOR_COUNT = 300
EXTRA_CASES = 50  # on top of one case per debtor


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    name: str


@dataclass(frozen=True)
class FeaturedCase:
    reference: str
    client_name: str
    access_code: str | None  # None when only the reference is known (codes are hashed)


@dataclass(frozen=True)
class FeaturedDebtor:
    name: str
    note: str
    cases: tuple[FeaturedCase, ...]


@dataclass
class DemoSummary:
    """What a newcomer needs to start clicking: logins, and two debtors with their codes."""

    logins: list[Login] = field(default_factory=list)
    debtors: list[FeaturedDebtor] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    password: str | None = DEMO_PASSWORD


# --- the command ------------------------------------------------------------------------


@click.command("demo")
@click.option("--reset", is_flag=True, help="Empty the database first (all data is lost).")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed for the random generator: the same seed makes the same agency.")
@with_appcontext
def demo_command(reset: bool, seed: int) -> None:
    """Fill the database with a demo agency: staff, three clients, debtors and cases."""
    started = time.perf_counter()
    if reset:
        reset_database()
    else:
        ensure_schema()
        if has_users():
            raise click.ClickException(
                "The database already has users. Run `flask --app portal demo --reset` to "
                "throw everything away and make fresh demo data."
            )
    summary = build_demo(seed)
    db.session.commit()
    seconds = time.perf_counter() - started
    click.echo(format_summary(summary, current_app.config["PUBLIC_URL"], seconds=seconds))


def has_users() -> bool:
    return bool(db.session.scalar(select(func.count(User.id))))


def ensure_schema() -> None:
    """Run the migrations on a database that has no tables yet (a fresh checkout)."""
    if not inspect(db.engine).has_table("users"):
        flask_migrate.upgrade()


def reset_database() -> None:
    """Throw all data away and rebuild the schema the way it was built.

    Ledger entries refuse DELETE (a trigger made by the migration), so a migrated database is
    downgraded to nothing and upgraded again; one made by `create_all` (tests) is dropped.
    """
    db.session.remove()  # an open transaction would block the DROPs on PostgreSQL
    if inspect(db.engine).has_table("alembic_version"):
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
    else:
        db.drop_all()
        db.create_all()


# --- building -----------------------------------------------------------------------------


def build_demo(seed: int = DEFAULT_SEED, today: date | None = None) -> DemoSummary:
    """Make the whole demo agency in the current session (flushed, not committed)."""
    rng = random.Random(seed)
    today = today or date.today()  # noqa: DTZ011 - the demo lives in the local calendar
    start = today - timedelta(days=430)
    staff = _make_staff()
    clients = [_make_client(profile) for profile in people.CLIENTS]
    client_users = [_make_client_user(c, p) for c, p in zip(clients, people.CLIENTS, strict=True)]
    debtors = [_make_debtor(people.fake_debtor(rng, i)) for i in range(DEBTOR_COUNT)]
    db.session.flush()
    plans = story.plan_cases(rng, debtors, today, EXTRA_CASES)
    calls.ensure_default_reasons()
    db.session.flush()
    reasons = dict(db.session.execute(select(NonPaymentReason.code, NonPaymentReason.id)).all())
    cast = story.Cast(rng, today, staff, {u.client_id: u for u in client_users}, reasons=reasons)
    codes: dict[int, str] = {}  # access codes exist in plain text only now; keep two debtors'
    for plan in plans:
        index = plan.client_index
        case, code = open_case(clients[index], plan.debtor, plan.invoices,
                               opened_on=plan.opened_on, user=client_users[index])
        story.play(cast, case, plan)
        if plan.featured:
            codes[case.id] = code
    _backdate_service_events(start)
    db.session.flush()
    _remit(today)
    call_queue.build_queue(today, utcnow())  # the callers' first morning: today's queue
    return DemoSummary(
        logins=[Login(u.email, str(u.role), u.name) for u in (*staff.all, *client_users)],
        debtors=_featured(debtors[:2], codes),
        counts={"clients": len(clients), "debtors": len(debtors), "cases": len(plans)},
    )


def _remit(today: date) -> None:
    """Remittances as an agency that pays out monthly would have them: everything up to the
    month before last in one catch-up run, last month in its own run, this month still held.
    Approved where the agency's IBAN allows a bank file (the embedded defaults do), else left
    as drafts."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    before_end = last_month_end.replace(day=1) - timedelta(days=1)
    periods = [(before_end.replace(day=1), before_end, before_end + timedelta(days=3)),
               (last_month_end.replace(day=1), last_month_end, last_month_end + timedelta(days=3))]
    for start, end, pay_on in periods:
        try:
            run = remittances.plan_run(start, end, pay_on, None)
        except remittances.RunRefused:
            continue
        if not remittances.approval_problems(run, pay_on):
            remittances.approve_run(run, None, today=pay_on)


def _make_staff() -> story.Staff:
    def user(local: str, name: str, role: Role) -> User:
        return accounts.create_user(f"{local}@{DEMO_DOMAIN}", name, DEMO_PASSWORD, role)

    return story.Staff(
        admin=user("admin", "Anouk Visser", Role.ADMIN),
        supervisor=user("supervisor", "Pieter Bakker", Role.SUPERVISOR),
        callers=(user("caller1", "Sanne Mulder", Role.CALLER),
                 user("caller2", "Daan Hendriks", Role.CALLER)),
    )


def _make_client(profile: people.ClientProfile) -> Client:
    client = Client(name=profile.name, email=profile.email, phone=profile.phone,
                    address=profile.address, iban=profile.iban,
                    charges_vat_on_costs=profile.vat_on_costs)
    if profile.name.startswith("Van Leeuwen"):  # big invoices: new cases go to the callers
        client.call_new_cases_from_cents = 2_500_00
        client.commission_bp = 1000  # a large client negotiated 10 % and keeps the interest
    if profile.vat_on_costs:  # the sports club: a low rate, and it keeps the costs it pays VAT on
        client.commission_bp, client.costs_to = 1250, Beneficiary.CLIENT
    db.session.add(client)
    db.session.flush()
    return client


def _make_client_user(client: Client, profile: people.ClientProfile) -> User:
    number = people.CLIENTS.index(profile) + 1
    return accounts.create_user(f"client{number}@{DEMO_DOMAIN}", profile.contact, DEMO_PASSWORD,
                                Role.CLIENT, client=client)


def _make_debtor(fields: dict) -> Debtor:
    debtor = Debtor(**fields)
    db.session.add(debtor)
    return debtor


def _backdate_service_events(start: date) -> None:
    """The services stamp their audit events 'now'; move them to when the demo says it was."""
    opened = db.session.execute(
        select(AuditEvent, Case.opened_on)
        .join(Case, AuditEvent.case_id == Case.id)
        .where(AuditEvent.action == "case.opened")
    ).all()
    for event, opened_on in opened:
        event.occurred_at = story.at_local(opened_on, clock(8, 30))
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.created"))
    for event in created:
        event.occurred_at = story.at_local(start, clock(9, 0))


def _featured(debtors: list[Debtor], codes: dict[int, str]) -> list[FeaturedDebtor]:
    notes = ("Dutch consumer, two open cases at two clients",
             "English-speaking business, sees the portal in English")
    featured = []
    for debtor, note in zip(debtors, notes, strict=True):
        cases = db.session.scalars(
            select(Case).where(Case.debtor_id == debtor.id).order_by(Case.opened_on)
        ).all()
        featured.append(FeaturedDebtor(debtor.name, note, tuple(
            FeaturedCase(c.reference, c.client.name, codes.get(c.id)) for c in cases)))
    return featured


# --- reading back and printing ------------------------------------------------------------


def existing_summary() -> DemoSummary:
    """The demo logins already in the database (access codes are hashed: not available)."""
    users = db.session.scalars(
        select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")).order_by(User.id)
    ).all()
    return DemoSummary(
        logins=[Login(u.email, str(u.role), u.name) for u in users],
        password=DEMO_PASSWORD if users else None,
    )


def format_summary(summary: DemoSummary, base_url: str, *, seconds: float | None = None) -> str:
    """The text printed after `demo` and by `up`: where to go and how to sign in."""
    base = base_url.rstrip("/")
    lines = []
    if seconds is not None:
        counts = ", ".join(f"{n} {what}" for what, n in summary.counts.items())
        lines += [f"Demo data made in {seconds:.1f} s: {counts}.", ""]
    lines += [f"Open {base}/login", ""]
    if summary.logins:
        lines.append(f"Staff and client logins (password for all: {summary.password}):")
        width = max(len(login.email) for login in summary.logins)
        lines += [f"  {login.email:<{width}}  {login.role:<10}  {login.name}"
                  for login in summary.logins]
    else:
        lines.append("No demo logins in this database: sign in with your own accounts.")
    lines += ["", *_debtor_lines(summary, base)]
    return "\n".join(lines)


def _debtor_lines(summary: DemoSummary, base: str) -> list[str]:
    if not summary.debtors:
        return ["Debtor access codes are only shown when they are made. For fresh ones run:",
                "  flask --app portal demo --reset"]
    lines = [f"Debtor pages at {base}/pay/ (reference + access code):"]
    for debtor in summary.debtors:
        lines.append(f"  {debtor.name} ({debtor.note})")
        lines += [f"    {c.reference}  access code {c.access_code}  ({c.client_name})"
                  for c in debtor.cases if c.access_code]
    return lines
