"""Paying online with the sandbox provider: booking, replays, refusals, pages, the email."""

from __future__ import annotations

import re
from datetime import date
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select, update

from portal import create_app
from portal.extensions import db
from portal.jobs import payments as payment_jobs
from portal.models import (
    Arrangement,
    ArrangementStatus,
    AuditEvent,
    Bucket,
    CaseStatus,
    EntryCause,
    Instalment,
    LedgerEntry,
    Payment,
    PaymentStatus,
    utcnow,
)
from portal.payments import sandbox
from portal.services import ledger
from portal.services import payments as payments_service
from tests.conftest import FreshContextClient
from tests.factories import Factory
from tests.pages import csrf_token

TODAY = date(2026, 3, 2)


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs enqueued after their commits, as (queue, function name, args)."""
    sent: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: sent.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    return sent


def run_mail(enqueued) -> list[str]:
    """Run the payment email jobs enqueued so far, in-process, as a mail worker would."""
    results = []
    while enqueued:
        queue, name, args = enqueued.pop(0)
        assert (queue, name) == ("mail", payments_service.SEND_CONFIRMATION)
        results.append(payment_jobs.send_payment_confirmation(*args))
    return results


def owing(make, *, principal=100_00, costs=40_00, interest=5_00, language="en", debtor=None,
          **policy):
    """An active case owing principal, costs and interest."""
    case, _code = make.case(client=make.client(**policy), debtor=debtor, amounts=(principal,))
    case.status = CaseStatus.ACTIVE
    case.debtor.language = language
    if costs:
        ledger.book(case, Bucket.COSTS, costs, EntryCause.COLLECTION_COSTS, "Costs",
                    booked_on=TODAY)
    if interest:
        ledger.book(case, Bucket.INTEREST, interest, EntryCause.INTEREST, "Interest",
                    booked_on=TODAY)
    db.session.commit()
    return case


def started(case, amount, **kwargs) -> Payment:
    payment = payments_service.start_payment(case, amount, today=TODAY, **kwargs)
    db.session.commit()
    return payment


def settle(payment: Payment, choice: str = "approve") -> Payment:
    """The payer chooses at the sandbox; our side learns it by asking the provider."""
    sandbox.choose(payment.provider_ref, choice)
    payments_service.sync_payment("sandbox", payment.provider_ref, today=TODAY)
    db.session.commit()
    return payment


def payment_entries(payment: Payment) -> dict[Bucket, int]:
    rows = db.session.execute(select(LedgerEntry.bucket, LedgerEntry.amount_cents).where(
        LedgerEntry.cause_ref == f"payment:{payment.id}").order_by(LedgerEntry.id)).all()
    return {Bucket(bucket): amount for bucket, amount in rows}


def sign_in(client, debtor) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as session:
        session["debtor_id"] = debtor.id


# -- Booking: costs, then interest, then principal (art. 6:44 BW) ---------------------------

ALLOCATIONS = {
    "costs only": (30_00, {Bucket.COSTS: -30_00}),
    "costs and interest": (42_00, {Bucket.COSTS: -40_00, Bucket.INTEREST: -2_00}),
    "into principal": (60_00, {Bucket.COSTS: -40_00, Bucket.INTEREST: -5_00,
                               Bucket.PRINCIPAL: -15_00}),
}


@pytest.mark.parametrize("name", ALLOCATIONS)
def test_a_part_payment_goes_to_costs_then_interest_then_principal(app, make, enqueued, name):
    amount, expected = ALLOCATIONS[name]
    case = owing(make)
    payment = settle(started(case, amount))
    assert payment.status == PaymentStatus.PAID and payment.booked_at is not None
    assert payment_entries(payment) == expected
    assert ledger.balance(case).total == 145_00 - amount
    assert case.status == CaseStatus.ACTIVE


def test_paying_everything_closes_the_case_as_paid(app, make, enqueued):
    case = owing(make)
    payment = settle(started(case, 145_00))
    assert payment_entries(payment) == {Bucket.COSTS: -40_00, Bucket.INTEREST: -5_00,
                                        Bucket.PRINCIPAL: -100_00}
    assert ledger.balance(case).total == 0
    assert (case.status, case.closed_on) == (CaseStatus.PAID, TODAY)


def test_paying_more_than_owed_leaves_a_visible_credit(app, make, enqueued):
    """Two payments started at once, both paid: the second finds nothing owed."""
    case = owing(make)
    first, second = started(case, 145_00), started(case, 20_00)
    settle(first)
    settle(second)
    assert payment_entries(second) == {Bucket.PRINCIPAL: -20_00}
    assert ledger.balance(case).total == -20_00
    surplus = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.surplus"))
    assert surplus.detail["surplus_cents"] == 20_00
    assert case.status == CaseStatus.PAID


@pytest.mark.parametrize("choice", ["fail", "cancel"])
def test_a_failed_or_cancelled_payment_books_nothing(app, make, enqueued, choice):
    case = owing(make)
    payment = settle(started(case, 50_00), choice)
    assert payment.status == {"fail": PaymentStatus.FAILED, "cancel": PaymentStatus.CANCELED}[
        choice]
    assert payment.booked_at is None
    assert payment_entries(payment) == {}
    assert ledger.balance(case).total == 145_00
    assert enqueued == []


def test_a_final_payment_never_changes_again(app, make, enqueued):
    case = owing(make)
    payment = settle(started(case, 50_00), "cancel")
    sandbox_file = sandbox._path(payment.provider_ref)
    sandbox_file.write_text(sandbox_file.read_text().replace('"canceled"', '"paid"'))
    payments_service.sync_payment("sandbox", payment.provider_ref, today=TODAY)
    db.session.commit()
    assert payment.status == PaymentStatus.CANCELED and payment.booked_at is None


def test_a_payment_pays_the_chosen_instalment(app, make, enqueued):
    case = owing(make, costs=0, interest=0, principal=300_00)
    arrangement = Arrangement(case_id=case.id, status=ArrangementStatus.ACTIVE,
                              total_cents=300_00, instalment_count=3, start_on=TODAY)
    arrangement.instalments = [Instalment(number=n, due_on=TODAY, amount_cents=100_00)
                               for n in (1, 2, 3)]
    db.session.add(arrangement)
    db.session.commit()
    second = arrangement.instalments[1]
    settle(started(case, 100_00, instalment=second))
    assert [i.paid_cents for i in arrangement.instalments] == [0, 100_00, 0]


# -- Replays: the webhook told ten times books once and emails once ------------------------

def test_a_webhook_replayed_ten_times_books_one_payment(app, client, make, enqueued, outbox):
    case = owing(make)
    payment = started(case, 50_00)
    sandbox.choose(payment.provider_ref, "approve")
    for _ in range(10):
        response = client.post("/payments/webhook/sandbox", data={"id": payment.provider_ref})
        assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).booked_at is not None
    count = db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.cause == EntryCause.PAYMENT))
    assert count == 3  # costs, interest, principal: one set
    assert ledger.balance(case).total == 95_00
    assert len(enqueued) == 1
    # Even a job enqueued twice (a retry) sends one email.
    enqueued.append(enqueued[0])
    assert run_mail(enqueued) == ["sent", "already confirmed or not booked"]
    assert len(outbox) == 1
    message = outbox[0]
    assert message["To"] == case.debtor.email
    assert str(make_header(decode_header(message["Subject"]))) == (
        "We received your payment of €50.00")
    body = message.get_payload(decode=True).decode()
    assert case.reference in body and "Still to pay on this case: €95.00." in body
    assert "/pay/l/" in body


def test_two_webhooks_at_once_book_once(app, make, enqueued):
    """Another worker booked the payment after this one read it: the conditional UPDATE
    finds booked_at set and this worker books nothing."""
    case = owing(make)
    payment = started(case, 50_00)
    sandbox.choose(payment.provider_ref, "approve")
    assert payment.booked_at is None  # read by this worker
    with db.engine.begin() as other_worker:
        other_worker.execute(update(Payment).where(Payment.id == payment.id)
                             .values(booked_at=utcnow()))
    payments_service.sync_payment("sandbox", payment.provider_ref, today=TODAY)
    db.session.commit()
    assert payment_entries(payment) == {}
    assert enqueued == []


def test_the_webhook_ignores_an_unknown_id(app, client, make, enqueued):
    owing(make)
    response = client.post("/payments/webhook/sandbox", data={"id": "sbx_" + "0" * 24})
    assert (response.status_code, response.text) == (200, "")
    assert client.post("/payments/webhook/sandbox", data={"id": "../../etc"}).status_code == 200
    assert client.post("/payments/webhook/nobody", data={"id": "x"}).status_code == 404


def test_the_webhook_trusts_the_provider_not_the_request(app, client, make, enqueued):
    """A forged call for an unpaid payment books nothing: the sandbox still says open."""
    case = owing(make)
    payment = started(case, 50_00)
    client.post("/payments/webhook/sandbox", data={"id": payment.provider_ref, "status": "paid"})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == PaymentStatus.OPEN
    assert ledger.balance(case).total == 145_00


def test_no_email_without_an_address(app, make, enqueued, outbox):
    case = owing(make)
    case.debtor.email = None
    db.session.commit()
    settle(started(case, 50_00))
    assert run_mail(enqueued) == ["no email address"]
    assert outbox == []


# -- Starting a payment from the case page -------------------------------------------------

def post_pay(client, case, **data):
    token = csrf_token(client.get(f"/pay/cases/{case.id}").text)
    return client.post(f"/pay/cases/{case.id}/payments", data={"csrf_token": token, **data})


@pytest.mark.parametrize(("typed", "message"), [
    ("5,00", "The smallest amount you can pay online is €10.00"),
    ("145,01", "That is more than you owe. The most you can pay is €145.00."),
    ("0", "Fill in an amount more than zero."),
    ("twelve", "Fill in an amount like 25 or 25,50."),
    ("", "Fill in the amount you want to pay."),
])
def test_a_wrong_amount_is_refused_with_a_clear_message(app, client, make, typed, message):
    case = owing(make)
    sign_in(client, case.debtor)
    response = post_pay(client, case, amount=typed)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text or not typed
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_the_minimum_does_not_stop_paying_the_last_bit(app, client, make, enqueued):
    case = owing(make, principal=8_00, costs=0, interest=0)
    sign_in(client, case.debtor)
    response = post_pay(client, case, amount="8")
    assert response.status_code == 303


@pytest.mark.parametrize(("typed", "cents"), [("12,50", 12_50), ("12.50", 12_50),
                                               ("€ 100", 100_00)])
def test_pay_part_goes_to_the_sandbox_checkout(app, client, make, typed, cents):
    case = owing(make)
    sign_in(client, case.debtor)
    response = post_pay(client, case, amount=typed)
    assert response.status_code == 303
    assert re.fullmatch(r"/payments/sandbox/sbx_[0-9a-f]{24}", response.location)
    payment = db.session.scalar(select(Payment))
    assert (payment.amount_cents, payment.debtor_id, payment.provider) == (
        cents, case.debtor_id, "sandbox")


def test_another_debtors_payment_is_not_found(app, client, make):
    mine, theirs = owing(make), owing(make)
    payment = started(theirs, 50_00)
    sign_in(client, mine.debtor)
    assert client.get(f"/pay/payments/{payment.id}").status_code == 404
    assert client.get(f"/pay/payments/{payment.id}/status",
                      headers={"HX-Request": "true"}).status_code == 404
    assert post_pay(client, mine, whole="1").status_code == 303  # the own case works
    token = csrf_token(client.get(f"/pay/cases/{mine.id}").text)
    response = client.post(f"/pay/cases/{theirs.id}/payments",
                           data={"csrf_token": token, "whole": "1"})
    assert response.status_code == 404


def test_an_instalment_of_another_case_is_not_found(app, client, make):
    """Even another case of the same debtor: the plan must be this case's."""
    mine = owing(make)
    theirs = owing(make, debtor=mine.debtor)
    plan = Arrangement(case_id=theirs.id, status=ArrangementStatus.ACTIVE, total_cents=145_00,
                       instalment_count=1, start_on=TODAY,
                       instalments=[Instalment(number=1, due_on=TODAY, amount_cents=145_00)])
    db.session.add(plan)
    db.session.commit()
    sign_in(client, mine.debtor)
    response = post_pay(client, mine, instalment_id=str(plan.instalments[0].id))
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(Payment.id))) == 0


# -- The whole sandbox journey -------------------------------------------------------------

def test_the_whole_sandbox_flow(app, client, make, enqueued):
    case = owing(make)
    sign_in(client, case.debtor)
    page = client.get(f"/pay/cases/{case.id}").text
    assert "Pay the whole amount (€145.00)" in page and "At least €10.00" in page
    checkout = post_pay(client, case, amount="50").location
    page = client.get(checkout)
    assert page.status_code == 200 and "€50.00" in page.text and case.reference in page.text
    back = client.post(checkout, data={"csrf_token": csrf_token(page.text), "choice": "approve"})
    assert back.status_code == 303
    payment = db.session.scalar(select(Payment))
    assert back.location == f"/pay/payments/{payment.id}"
    result = client.get(back.location).text
    assert "Paid. Thank you!" in result
    assert "Still to pay on this case: €95.00." in result
    assert "every 2s" not in result, "a final status stops polling"
    assert ledger.balance(case).total == 95_00
    page = client.get(f"/pay/cases/{case.id}").text
    assert "Your online payments" in page and "Paid. Thank you!" in page


@pytest.mark.parametrize("choice", ["fail", "cancel"])
def test_the_return_page_says_nothing_was_paid(app, client, make, enqueued, choice):
    case = owing(make)
    sign_in(client, case.debtor)
    checkout = post_pay(client, case, whole="1").location
    token = csrf_token(client.get(checkout).text)
    result = client.get(client.post(checkout, data={"csrf_token": token, "choice": choice})
                        .location).text
    assert {"fail": "The payment did not go through",
            "cancel": "You cancelled the payment"}[choice] in result
    assert "Nothing was paid and nothing has changed on your case." in result
    assert ledger.balance(case).total == 145_00


def test_the_return_page_polls_until_the_payment_is_final(app, client, make, enqueued):
    case = owing(make)
    payment = started(case, 50_00)
    sign_in(client, case.debtor)
    page = client.get(f"/pay/payments/{payment.id}").text
    assert "Waiting for you to finish paying" in page
    assert f'hx-get="/pay/payments/{payment.id}/status" hx-trigger="every 2s"' in page
    assert "Check again" in page, "without JavaScript a plain link asks again"
    sandbox.choose(payment.provider_ref, "approve")  # the webhook has not come (yet)
    fragment = client.get(f"/pay/payments/{payment.id}/status", headers={"HX-Request": "true"})
    assert "Paid. Thank you!" in fragment.text and "hx-trigger" not in fragment.text
    assert "<html" not in fragment.text
    assert ledger.balance(case).total == 95_00, "the return page asked the provider and booked"


def test_the_sandbox_page_is_closed_with_a_real_provider(app, client, make):
    case = owing(make)
    payment = started(case, 50_00)
    app.config["PAYMENT_PROVIDER"] = "mollie"
    assert client.get(f"/payments/sandbox/{payment.provider_ref}").status_code == 404


def test_the_agency_case_page_lists_payments(app, client, make, login, enqueued):
    case = owing(make)
    settle(started(case, 50_00))
    settle(started(case, 20_00), "fail")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(make.user(language="en"))
    db.session.commit()
    response = client.get(f"/agency/cases/{case.id}")
    assert response.status_code == 200, response.text[:300]
    page = response.text
    section = page.split("Online payments", 1)[1].split("</section>", 1)[0]
    assert "€50.00" in section and "€20.00" in section
    assert "Paid" in section and "Failed" in section and "sandbox" in section


def test_payment_starts_are_rate_limited(tmp_path, smtp_server):
    """Ten starts a minute from one address (config PAYMENT_START_RATE_LIMIT), then 429."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'throttled.sqlite3'}",
        "REDIS_URL": None,
        "RATELIMIT_ENABLED": True,
        "PAYMENT_START_RATE_LIMIT": "3 per minute",
    })
    app.test_client_class = FreshContextClient
    with app.app_context():
        db.create_all()
        case = owing(Factory())
        test_client = app.test_client()
        sign_in(test_client, case.debtor)
        answers = [post_pay(test_client, case, amount="1").status_code for _ in range(3)]
        assert answers == [422, 422, 422]
        assert post_pay(test_client, case, amount="1").status_code == 429
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_paying_an_instalment_from_the_plan(app, client, make):
    """The plan's "Pay this instalment" form sends only the instalment's id."""
    case = owing(make, costs=0, interest=0, principal=300_00)
    plan = Arrangement(case_id=case.id, status=ArrangementStatus.ACTIVE, total_cents=300_00,
                       instalment_count=2, start_on=TODAY,
                       instalments=[Instalment(number=1, due_on=TODAY, amount_cents=150_00,
                                               paid_cents=145_00),
                                    Instalment(number=2, due_on=TODAY, amount_cents=150_00)])
    db.session.add(plan)
    db.session.commit()
    sign_in(client, case.debtor)
    first = plan.instalments[0]
    response = post_pay(client, case, instalment_id=str(first.id))
    assert response.status_code == 303
    payment = db.session.scalar(select(Payment))
    assert (payment.amount_cents, payment.instalment_id) == (5_00, first.id)  # below the minimum
    first.status = "paid"
    db.session.commit()
    response = post_pay(client, case, instalment_id=str(first.id))
    assert response.status_code == 422 and "This instalment is already paid." in response.text
