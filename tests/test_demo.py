"""The demo command: a believable agency whose ledgers add up, and two debtors who can sign in.

The demo takes a few seconds, so one run is shared by the module (on its own database) and
the tests only read it; the --reset test makes its own on the per-test database.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.cli.demo import DEMO_PASSWORD
from portal.domain.costs import statutory_collection_costs
from portal.domain.interest import statutory_interest
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    Arrangement,
    ArrangementStatus,
    AuditEvent,
    Bucket,
    CallTask,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    Dispute,
    EntryCause,
    InstalmentStatus,
    LedgerEntry,
    NonPaymentReason,
    Role,
    TaskStatus,
    User,
)
from portal.services import accounts, case_status, ledger, messages

CODE_LINE = re.compile(r"(K-\d{4}-\d{6})\s+access code ([A-Z0-9]{4}-[A-Z0-9]{4})")
CLOSED = {CaseStatus.PAID, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}


@dataclass(frozen=True)
class Demo:
    app: Flask
    output: str

    def codes(self) -> list[tuple[str, str]]:
        return CODE_LINE.findall(self.output)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, smtp_server):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "REDIS_URL": None,
                      "MAIL_PORT": smtp_server.port})
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    yield Demo(app, result.output)
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def session(demo):
    with demo.app.app_context():
        yield db.session


def all_cases() -> list[Case]:
    return list(db.session.scalars(select(Case).order_by(Case.id)))


def entries_by_case() -> dict[int, list[LedgerEntry]]:
    grouped: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
        grouped[entry.case_id].append(entry)
    return grouped


def test_staff_and_client_logins_work_with_the_printed_password(demo, session):
    users = session.scalars(select(User)).all()
    assert Counter(u.role for u in users) == {Role.ADMIN: 1, Role.SUPERVISOR: 1, Role.CALLER: 2,
                                             Role.CLIENT: 3}
    assert sorted(u.client_id for u in users if u.role == Role.CLIENT) == sorted(
        session.scalars(select(Client.id)))
    assert f"password for all: {DEMO_PASSWORD}" in demo.output
    for user in users:
        assert user.email in demo.output
        assert accounts.authenticate(user.email, DEMO_PASSWORD) == user


def test_debtors_are_a_believable_dutch_mix(session):
    debtors = session.scalars(select(Debtor)).all()
    assert 280 <= len(debtors) <= 320
    assert 0.2 <= sum(d.kind == DebtorKind.BUSINESS for d in debtors) / len(debtors) <= 0.4
    assert 0.08 <= sum(d.language == "en" for d in debtors) / len(debtors) <= 0.25
    assert all(re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", d.postal_code) for d in debtors)
    assert all(d.phone.startswith("+31 ") for d in debtors if d.phone)
    # Reserved domain: the demo never mails a real person.
    assert all(d.email.endswith(".example") for d in debtors if d.email)
    assert all(d.contact_person for d in debtors if d.kind == DebtorKind.BUSINESS)


def test_cases_spread_over_statuses_clients_and_fourteen_months(session):
    cases = all_cases()
    today = date.today()  # noqa: DTZ011 - the command uses the local calendar too
    assert 330 <= len(cases) <= 370
    counts = Counter(c.status for c in cases)
    assert all(counts[status] >= 3 for status in CaseStatus), counts
    assert {c.client_id for c in cases} == set(session.scalars(select(Client.id)))
    assert all(today - timedelta(days=430) <= c.opened_on <= today for c in cases)
    assert all(1 <= len(c.invoices) <= 3 for c in cases)
    assert all((c.closed_on is not None) == (c.status in CLOSED) for c in cases)


def test_invoice_amounts_are_plausible_and_skewed_low(session):
    cases = all_cases()
    amounts = [i.amount_cents for c in cases for i in c.invoices]
    assert min(amounts) >= 35_00 and max(amounts) <= 12_000_00
    assert statistics.median(amounts) < 300_00 < statistics.mean(amounts)
    for case in cases:
        assert all(i.due_date < case.opened_on and i.description for i in case.invoices)


def test_every_ledger_adds_up_and_status_matches_the_balance(session):
    grouped = entries_by_case()
    cases = all_cases()
    balances = ledger.balances(c.id for c in cases)
    for case in cases:
        entries, balance = grouped[case.id], balances[case.id]
        assert balance.total == sum(e.amount_cents for e in entries)
        claims = sum(e.amount_cents for e in entries if e.cause == EntryCause.CLAIM)
        assert claims == sum(i.amount_cents for i in case.invoices)
        assert all(left >= 0 for left in balance.remaining.values()), case.reference
        if case.status in CLOSED:
            assert balance.total == 0, case.reference
        else:
            assert balance.total > 0, case.reference
        if case.status == CaseStatus.PAID:
            assert balance.paid == sum(balance.charged.values())


def test_interest_and_costs_match_the_statutory_rules(session):
    grouped = entries_by_case()
    for case in all_cases():
        business = case.debtor.kind == DebtorKind.BUSINESS
        invoices = {i.id: i for i in case.invoices}
        principal = sum(i.amount_cents for i in case.invoices)
        for entry in grouped[case.id]:
            if entry.cause == EntryCause.INTEREST:
                invoice = invoices[entry.invoice_id]
                assert entry.amount_cents == statutory_interest(
                    invoice.amount_cents, invoice.due_date + timedelta(days=1), entry.booked_on,
                    commercial=business)
            if entry.cause == EntryCause.COLLECTION_COSTS:
                assert entry.amount_cents == statutory_collection_costs(
                    principal, vat=case.client.charges_vat_on_costs)
                # A consumer owes costs only after the 14-day letter's term ran out.
                assert business or entry.booked_on >= case.opened_on + timedelta(days=17)


def test_payments_go_to_costs_then_interest_then_principal(session):
    for case_id, entries in entries_by_case().items():
        standing: Counter = Counter()
        payments = defaultdict(list)
        for entry in entries:
            if entry.cause == EntryCause.PAYMENT:
                payments[(entry.booked_on, entry.cause_ref)].append(entry)
            else:
                standing[entry.bucket] += entry.amount_cents
        for key in sorted(payments):
            for entry in payments[key]:
                standing[entry.bucket] += entry.amount_cents
                assert standing[entry.bucket] >= 0, f"case {case_id} overpaid {entry.bucket}"
            if any(e.bucket == Bucket.PRINCIPAL for e in payments[key]):
                assert standing[Bucket.COSTS] == standing[Bucket.INTEREST] == 0, case_id


def test_promises_and_plans_have_part_payments(session):
    cases = [c for c in all_cases() if c.status in {CaseStatus.PROMISED, CaseStatus.ARRANGEMENT}]
    balances = ledger.balances(c.id for c in cases)
    assert cases
    for case in cases:
        assert 0 < balances[case.id].paid < sum(balances[case.id].charged.values())


def test_every_pause_is_a_real_record_that_the_status_follows(session):
    """A plan or a dispute in the demo is the record the pages list and the batch obeys, so
    recomputing each status from its records changes nothing."""
    today = date.today()  # noqa: DTZ011 - the command uses the local calendar too
    for case in all_cases():
        if case.status in (CaseStatus.ARRANGEMENT, CaseStatus.DISPUTED):
            assert case_status.paused_status(case, today) == case.status, case.reference
    plans = db.session.scalars(select(Arrangement)).all()
    assert plans and all(a.status == ArrangementStatus.ACTIVE for a in plans)
    for plan in plans:
        assert sum(i.amount_cents for i in plan.instalments) == plan.total_cents
        assert len(plan.instalments) <= plan.case.client.max_instalments
        assert any(i.status == InstalmentStatus.OPEN for i in plan.instalments)
    assert db.session.scalars(select(Dispute)).all()
    assert messages.unread_count_for_agency() > 0


def test_the_callers_have_a_queue_and_a_list_of_reasons(session):
    tasks = db.session.scalars(select(CallTask).where(CallTask.status == TaskStatus.OPEN)).all()
    assert len(tasks) >= 5
    assert len({t.case_id for t in tasks}) == len(tasks)
    assert all(t.case.is_open and t.priority == sum(f[2] for f in t.factors) for t in tasks)
    assert db.session.scalar(select(func.count(NonPaymentReason.id))) >= 7


def test_timelines_tell_what_happened_in_the_past(session):
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id.is_not(None))).all()
    cases = {c.id: c for c in all_cases()}
    assert {e.case_id for e in events if e.action == "case.opened"} == set(cases)
    now = datetime.now(UTC)
    for event in events:
        opened = datetime.combine(cases[event.case_id].opened_on, datetime.min.time(), UTC)
        assert opened <= event.occurred_at <= now
    paid_events = Counter(e.case_id for e in events if e.action == "payment.received")
    payment_refs = session.execute(
        select(LedgerEntry.case_id, func.count(func.distinct(LedgerEntry.cause_ref)))
        .where(LedgerEntry.cause == EntryCause.PAYMENT).group_by(LedgerEntry.case_id)).all()
    assert paid_events == dict(payment_refs)


def sign_in(test_client, reference: str, code: str):
    page = test_client.get("/pay/")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)[1]
    return test_client.post("/pay/", data={"csrf_token": token, "reference": reference,
                                           "code": code})


def test_the_printed_debtors_sign_in_with_their_codes(demo):
    codes = demo.codes()
    assert len(codes) == 3  # the consumer's two cases and the business's one
    for reference, code in codes:
        test_client = demo.app.test_client()
        response = sign_in(test_client, reference, code)
        assert response.status_code == 302, reference
        assert reference in test_client.get(response.location).text


def test_the_printed_debtors_are_the_ones_promised(demo, session):
    references = [reference for reference, _ in demo.codes()]
    cases = session.scalars(select(Case).where(Case.reference.in_(references))).all()
    by_debtor = defaultdict(list)
    for case in cases:
        by_debtor[case.debtor].append(case)
    consumer, business = sorted(by_debtor, key=lambda d: d.kind != DebtorKind.PERSON)
    assert (consumer.kind, consumer.language) == (DebtorKind.PERSON, "nl")
    assert len({c.client_id for c in by_debtor[consumer]}) == 2
    assert all(c.status in OPEN_STATUSES for c in by_debtor[consumer])
    assert (business.kind, business.language) == (DebtorKind.BUSINESS, "en")


def test_a_wrong_code_does_not_open_a_printed_case(demo):
    reference, code = demo.codes()[0]
    wrong = "".join(reversed(code))
    assert sign_in(demo.app.test_client(), reference, wrong).status_code == 422


def test_a_second_run_is_refused_without_reset(demo, session):
    before = session.scalar(select(func.count(Case.id)))
    result = demo.app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "--reset" in result.output
    assert session.scalar(select(func.count(Case.id))) == before


def test_reset_replaces_everything_with_the_same_agency(demo, app, runner, make):
    stranger = make.user(email="someone@elsewhere.test")
    db.session.commit()
    result = runner.invoke(args=["demo", "--reset"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert accounts.find_by_email("someone@elsewhere.test") is None, stranger
    names = db.session.scalars(select(Debtor.name).order_by(Debtor.id)).all()
    with demo.app.app_context():  # same seed, same day: the same debtors
        assert names == db.session.scalars(select(Debtor.name).order_by(Debtor.id)).all()


def test_the_demo_money_adds_up_and_was_partly_remitted(session):
    """Every demo payment is a Payment row with its ledger entries, two monthly runs paid
    the clients out, and the trust account check balances."""
    from portal.models import Remittance, RemittanceRun
    from portal.services import trust

    check = trust.trust_check()
    assert check.received > 0
    assert check.balanced, check
    runs = session.scalars(select(RemittanceRun).order_by(RemittanceRun.period_end)).all()
    assert len(runs) == 2
    assert runs[0].period_end < runs[1].period_start
    assert check.remitted + check.held_in_drafts > 0
    assert session.scalar(select(func.count()).select_from(Remittance)) >= 4
