"""Remittance runs over a small book computed by hand, and the trust account check.

The book (March 2026):
- client North (15 % commission, VAT 21 %, interest to the client, costs to the agency):
  case 1 owes 1000.00 principal + 40.00 costs + 5.00 interest and pays it all on 10 March;
  case 2 owes 200.00 + 40.00 costs and pays 100.00 on 20 March (costs 40, principal 60);
  case 3 pays 50.00 on 2 April (after the period).
- client South (10 %, no VAT, interest to the agency, costs to the client):
  case 4 owes 333.33 + 7.50 interest and pays 340.83 on 15 March.
- client West has no payments.

North, March: principal 1060.00, interest 5.00, costs 80.00 = 1145.00 collected;
commission 15 % of 1060.00 = 159.00, VAT 21 % of that = 33.39;
payout 1060.00 - 159.00 - 33.39 + 5.00 = 872.61; agency income 159.00 + 33.39 + 80.00 = 272.39.
South, March: commission 10 % of 333.33 = 33.333 -> 33.33; payout 333.33 - 33.33 = 300.00;
agency income 33.33 + 7.50 = 40.83.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from lxml import etree
from sqlalchemy import func, select

from portal.documents.storage import read_document
from portal.extensions import db
from portal.models import (
    Beneficiary,
    Bucket,
    CaseStatus,
    Document,
    EntryCause,
    Payment,
    PaymentStatus,
    Remittance,
    RemittanceItem,
    RemittanceRun,
    RemittanceStatus,
    utcnow,
)
from portal.services import ledger, payments, remittances, trust
from portal.services.remittances import RunRefused

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
EXECUTE_ON = date(2026, 4, 3)
TODAY = date(2026, 4, 2)
AGENCY_IBAN = "NL91ABNA0417164300"
NORTH_IBAN = "NL44RABO0123456789"
SOUTH_IBAN = "DE89370400440532013000"
_refs = itertools.count(1)


def owing(make, client, principal, *, costs=0, interest=0):
    case, _code = make.case(client=client, amounts=(principal,))
    case.status = CaseStatus.ACTIVE
    for bucket, cents, cause in ((Bucket.COSTS, costs, EntryCause.COLLECTION_COSTS),
                                 (Bucket.INTEREST, interest, EntryCause.INTEREST)):
        if cents:
            ledger.book(case, bucket, cents, cause, str(cause), booked_on=date(2026, 3, 2))
    return case


def pay(case, cents, on: date) -> Payment:
    """A bank transfer booked as the bank import books it (costs, interest, principal)."""
    payment = Payment(case_id=case.id, debtor_id=case.debtor_id, provider="bank",
                      provider_ref=f"bank-{next(_refs)}", amount_cents=cents,
                      status=PaymentStatus.PAID, paid_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    assert payments.book_received(payment, on)
    return payment


@pytest.fixture
def book(app, make, queued_jobs):
    app.config["AGENCY_IBAN"] = AGENCY_IBAN
    north = make.client("North B.V.", iban=NORTH_IBAN, commission_bp=1500,
                        commission_vat_percent=21, interest_to=Beneficiary.CLIENT,
                        costs_to=Beneficiary.AGENCY)
    south = make.client("South GmbH", iban=SOUTH_IBAN, commission_bp=1000,
                        commission_vat_percent=0, interest_to=Beneficiary.AGENCY,
                        costs_to=Beneficiary.CLIENT)
    west = make.client("West B.V.", iban=NORTH_IBAN)
    cases = [owing(make, north, 1000_00, costs=40_00, interest=5_00),
             owing(make, north, 200_00, costs=40_00),
             owing(make, north, 80_00),
             owing(make, south, 333_33, interest=7_50)]
    pay(cases[0], 1045_00, date(2026, 3, 10))
    pay(cases[1], 100_00, date(2026, 3, 20))
    pay(cases[2], 50_00, date(2026, 4, 2))
    pay(cases[3], 340_83, date(2026, 3, 15))
    db.session.commit()
    queued_jobs.jobs.clear()  # the payment confirmations are not this test's business
    return {"north": north, "south": south, "west": west, "cases": cases}


def figures(remittance: Remittance) -> tuple:
    return (remittance.client.name, remittance.principal_cents, remittance.interest_cents,
            remittance.costs_cents + remittance.fees_cents, remittance.commission_cents,
            remittance.commission_vat_cents, remittance.payout_cents,
            remittance.agency_income_cents)


def test_a_run_over_a_small_book_pays_what_was_computed_by_hand(book):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.commit()
    assert run.status == RemittanceStatus.DRAFT
    assert [figures(r) for r in run.remittances] == [
        ("North B.V.", 1060_00, 5_00, 80_00, 159_00, 33_39, 872_61, 272_39),
        ("South GmbH", 333_33, 7_50, 0, 33_33, 0, 300_00, 40_83),
    ]
    south = run.remittances[1]
    # South's interest went to the agency: collected and listed, but not in the payout.
    items = db.session.execute(select(RemittanceItem.bucket, RemittanceItem.amount_cents)
                               .where(RemittanceItem.remittance_id == south.id)).all()
    assert sorted(items) == sorted([(Bucket.INTEREST, 7_50), (Bucket.PRINCIPAL, 333_33)])


def test_south_interest_is_collected_even_when_the_agency_keeps_it(book):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    south = run.remittances[1]
    collected = remittances.item_totals([south.id])[south.id]
    assert (collected.principal, collected.interest) == (333_33, 7_50)
    # stored: interest is what was collected; the payout leaves it out
    assert south.payout_cents + south.agency_income_cents == south.collected_cents


def test_what_was_remitted_is_left_out_of_the_next_run(book, queued_jobs):
    march = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    remittances.approve_run(march, None, today=TODAY)
    db.session.commit()
    # A transfer the bank dated in March but that was booked after the March run, and one in April.
    pay(book["cases"][1], 20_00, date(2026, 3, 25))
    pay(book["cases"][1], 30_00, date(2026, 4, 5))
    db.session.commit()
    april = remittances.plan_run(date(2026, 4, 1), date(2026, 4, 30), date(2026, 5, 4), None)
    db.session.commit()
    [north] = april.remittances
    # 50.00 (case 3) + 20.00 + 30.00 of principal, nothing taken twice
    assert (north.principal_cents, north.interest_cents, north.costs_cents) == (100_00, 0, 0)
    taken = db.session.scalar(select(func.count()).select_from(RemittanceItem))
    distinct = db.session.scalar(select(func.count(func.distinct(RemittanceItem.ledger_entry_id))))
    assert taken == distinct


def test_a_draft_reserves_its_payments_until_it_is_thrown_away(book):
    first = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.commit()
    with pytest.raises(RunRefused) as refused:
        remittances.plan_run(*MARCH, EXECUTE_ON, None)
    assert [p.code for p in refused.value.problems] == ["no_payments"]
    db.session.rollback()
    remittances.discard_run(db.session.get(RemittanceRun, first.id), None)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(RemittanceItem)) == 0
    again = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    assert [r.payout_cents for r in again.remittances] == [872_61, 300_00]


def test_only_the_chosen_clients_are_in_the_run(book):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None, client_ids=[book["south"].id])
    assert [r.client.name for r in run.remittances] == ["South GmbH"]


def test_a_client_whose_terms_leave_nothing_to_pay_waits_for_the_next_run(book, make):
    greedy = make.client("Greedy B.V.", iban=NORTH_IBAN, commission_bp=10_000,
                         commission_vat_percent=21)
    case = owing(make, greedy, 100_00)
    pay(case, 100_00, date(2026, 3, 5))
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    assert "Greedy B.V." not in [r.client.name for r in run.remittances]
    assert remittances.pending_by_client(MARCH[1])[greedy.id] == 100_00


def test_an_overpayment_is_the_debtors_and_never_remitted(book, make):
    case = owing(make, book["west"], 50_00)
    pay(case, 80_00, date(2026, 3, 6))  # 30.00 too much
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None, client_ids=[book["west"].id])
    [west] = run.remittances
    assert west.principal_cents == 50_00
    check = trust.trust_check()
    assert check.held_for_debtors == 30_00
    assert check.balanced


@pytest.mark.parametrize(("change", "codes"), [
    ("client_iban", ["client_iban"]),
    ("agency_iban", ["agency_iban"]),
    ("past", ["execution_date"]),
    ("nothing", []),
])
def test_approval_names_what_stands_in_its_way(book, app, change, codes):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    today = TODAY
    if change == "client_iban":
        book["south"].iban = "DE00370400440532013000"
    elif change == "agency_iban":
        app.config["AGENCY_IBAN"] = "NL00BANK0123456789"
    elif change == "past":
        today = date(2026, 4, 4)
    problems = remittances.approval_problems(run, today)
    assert [p.code for p in problems] == codes
    if codes:
        with pytest.raises(RunRefused):
            remittances.approve_run(run, None, today=today)
        assert run.status == RemittanceStatus.DRAFT


def test_approval_makes_one_sepa_file_for_all_payouts_and_queues_the_statements(
        book, queued_jobs):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    remittances.approve_run(run, None, today=TODAY)
    db.session.commit()
    assert run.status == RemittanceStatus.APPROVED
    assert [r.iban for r in run.remittances] == [NORTH_IBAN, SOUTH_IBAN]
    xml = read_document(db.session.get(Document, run.sepa_document_id))
    root = etree.fromstring(xml)
    ns = {"p": root.nsmap[None]}
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == run.sepa_message_id
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "1172.61"
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert root.findtext(".//p:DbtrAcct//p:IBAN", namespaces=ns) == AGENCY_IBAN
    paid = [(tx.findtext(".//p:CdtrAcct//p:IBAN", namespaces=ns),
             tx.findtext(".//p:InstdAmt", namespaces=ns),
             tx.findtext(".//p:EndToEndId", namespaces=ns))
            for tx in root.iterfind(".//p:CdtTrfTxInf", namespaces=ns)]
    assert paid == [(NORTH_IBAN, "872.61", run.remittances[0].reference),
                    (SOUTH_IBAN, "300.00", run.remittances[1].reference)]
    assert queued_jobs.names == [("reports", remittances.SEND_STATEMENT)] * 2


def test_an_approved_run_is_final(book):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    remittances.approve_run(run, None, today=TODAY)
    db.session.commit()
    with pytest.raises(RunRefused):
        remittances.approve_run(run, None, today=TODAY)
    with pytest.raises(RunRefused):
        remittances.discard_run(run, None)


def test_the_trust_account_adds_up_at_every_step(book):
    collected = 1045_00 + 100_00 + 50_00 + 340_83
    check = trust.trust_check()
    assert (check.received, check.held_waiting, check.remitted, check.agency_income) == (
        collected, collected, 0, 0)
    assert check.balanced

    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.commit()
    check = trust.trust_check()
    assert (check.held_in_drafts, check.held_waiting) == (1145_00 + 340_83, 50_00)
    assert check.balanced

    remittances.approve_run(run, None, today=TODAY)
    db.session.commit()
    check = trust.trust_check()
    assert (check.remitted, check.agency_income) == (872_61 + 300_00, 272_39 + 40_83)
    assert (check.held_in_drafts, check.held_waiting) == (0, 50_00)
    assert check.received == check.remitted + check.agency_income + check.held
    assert check.balanced

    rows = {row.name: row for row in trust.by_client()}
    assert (rows["North B.V."].collected, rows["North B.V."].remitted,
            rows["North B.V."].agency_income, rows["North B.V."].held) == (
        1195_00, 872_61, 272_39, 50_00)


def test_the_check_finds_a_payment_without_its_ledger_entries(book, make):
    case = book["cases"][2]
    lost = Payment(case_id=case.id, debtor_id=case.debtor_id, provider="bank",
                   provider_ref="lost", amount_cents=12_34, status=PaymentStatus.PAID,
                   paid_at=utcnow(), booked_at=utcnow())
    db.session.add(lost)
    db.session.commit()
    check = trust.trust_check()
    assert not check.balanced
    assert check.difference == 12_34


def test_the_check_finds_a_statement_that_does_not_match_its_items(book):
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    remittances.approve_run(run, None, today=TODAY)
    db.session.commit()
    assert trust.trust_check().balanced
    north = run.remittances[0]
    north.payout_cents += 1_00  # a statement that pays more than its terms make
    db.session.commit()
    check = trust.trust_check()
    assert check.misstated == (north.reference,)
    assert not check.balanced
    north.payout_cents -= 1_00
    north.principal_cents += 1_00  # one that claims more was collected than its items hold
    db.session.commit()
    check = trust.trust_check()
    assert (check.misstated, check.difference) == ((north.reference,), -1_00)


def test_a_bank_file_that_cannot_be_made_leaves_the_run_a_draft(book, monkeypatch):
    """sepaxml refusing the file (say, a name the bank cannot take) must not leave a run
    marked approved without its file: the view rolls back and the draft stays."""
    from portal.banking import sepa

    def refuse(**kwargs):
        raise sepa.SepaError("payee_name")

    monkeypatch.setattr(sepa, "credit_transfer", refuse)
    run = remittances.plan_run(*MARCH, EXECUTE_ON, None)
    db.session.commit()
    with pytest.raises(RunRefused) as refused:
        remittances.approve_run(run, None, today=TODAY)
    assert [p.code for p in refused.value.problems] == ["sepa"]
    db.session.rollback()
    assert db.session.get(RemittanceRun, run.id).status == RemittanceStatus.DRAFT
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
