"""Instalment arrangements: proposing inside and outside the policy, approving, the morning
watch (reminders, misses, broken plans), payments applied to instalments, the debtor's pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import arrangements as jobs
from portal.models import (
    ApprovalBy,
    Arrangement,
    ArrangementStatus,
    CaseStatus,
    InstalmentStatus,
    Role,
)
from portal.services import arrangements, dunning, dunning_runs
from tests.pages import csrf_token, flashes

TODAY = date(2026, 3, 2)
START = date(2026, 4, 1)


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs enqueued after their commits, as (queue, function name, args)."""
    sent: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: sent.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    return sent


def run_mail(enqueued) -> list[str]:
    """Run the email jobs enqueued so far (in-process), as a mail worker would."""
    results = []
    while enqueued:
        queue, name, args = enqueued.pop(0)
        assert queue == "mail"
        results.append(getattr(jobs, name.rsplit(".", 1)[1])(*args))
    return results


def _case(make, amount=300_00, **policy):
    client = make.client(**policy)
    case, _code = make.case(client=client, amounts=(amount,))
    case.status = CaseStatus.ACTIVE
    case.debtor.language = "en"
    db.session.commit()
    return case


def _subjects(outbox) -> list[str]:
    return [message["Subject"] for message in outbox]


# -- Proposing --------------------------------------------------------------------------------


def test_inside_the_policy_the_plan_is_active_at_once_and_the_schedule_emailed(
    app, make, enqueued, outbox
):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    assert plan.status == ArrangementStatus.ACTIVE
    assert case.status == CaseStatus.ARRANGEMENT
    assert [(i.number, i.due_on, i.amount_cents) for i in plan.instalments] == [
        (1, START, 100_00), (2, date(2026, 5, 1), 100_00), (3, date(2026, 6, 1), 100_00)]
    assert run_mail(enqueued) == ["sent"]
    assert _subjects(outbox) == ["Your payment plan is agreed"]
    body = outbox[0].get_payload(decode=True).decode()
    assert case.reference in body and "May 1, 2026" in body and "/pay/l/" in body


@pytest.mark.parametrize(
    ("policy", "count", "down"),
    [
        ({"max_instalments": 2}, 3, 0),
        ({"min_instalment_cents": 150_01}, 2, 0),
        ({"max_arrangement_months": 2}, 3, 0),
        ({"down_payment_percent": 10}, 3, 29_99),
        ({"auto_accept_arrangements": False}, 3, 0),  # inside, but the client wants to see all
    ],
)
def test_outside_the_policy_the_plan_waits_for_the_agency(app, make, enqueued, outbox, policy,
                                                           count, down):
    case = _case(make, **policy)
    plan = arrangements.propose(case, count, START, today=TODAY, down_payment_cents=down)
    db.session.commit()
    assert plan.status == ArrangementStatus.PENDING
    assert (plan.needs_agency_approval, plan.needs_client_approval) == (True, False)
    assert case.status == CaseStatus.ACTIVE  # a proposal does not pause dunning yet
    run_mail(enqueued)
    assert _subjects(outbox) == ["We received your payment plan"]


def test_a_second_plan_is_refused_while_one_runs_or_waits(app, make, enqueued):
    case = _case(make, max_instalments=2)
    arrangements.propose(case, 3, START, today=TODAY)
    with pytest.raises(arrangements.ArrangementRefused):
        arrangements.propose(case, 2, START, today=TODAY)


def test_a_plan_cannot_start_in_the_past(app, make, enqueued):
    case = _case(make)
    with pytest.raises(arrangements.ArrangementRefused):
        arrangements.propose(case, 2, TODAY - timedelta(days=1), today=TODAY)
    assert db.session.scalars(select(Arrangement)).all() == []


def test_agency_approval_makes_the_plan_active_and_tells_the_debtor(app, make, enqueued,
                                                                     outbox):
    case = _case(make, max_instalments=2)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    run_mail(enqueued)
    arrangements.approve(plan, make.user(Role.SUPERVISOR), today=TODAY)
    db.session.commit()
    assert plan.status == ArrangementStatus.ACTIVE and case.status == CaseStatus.ARRANGEMENT
    run_mail(enqueued)
    assert _subjects(outbox)[-1] == "Your payment plan is approved"


def test_with_agency_and_client_both_must_approve_in_any_order(app, make, enqueued, outbox):
    case = _case(make, max_instalments=2, arrangement_approval=ApprovalBy.AGENCY_AND_CLIENT)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    assert plan.needs_client_approval
    client_user = make.user(Role.CLIENT, client=case.client)
    arrangements.approve(plan, client_user, today=TODAY)
    assert plan.status == ArrangementStatus.PENDING and arrangements.waits_on(plan) == {"agency"}
    with pytest.raises(arrangements.ArrangementRefused):
        arrangements.approve(plan, client_user, today=TODAY)  # not twice
    arrangements.approve(plan, make.user(Role.ADMIN), today=TODAY)
    assert plan.status == ArrangementStatus.ACTIVE


def test_another_clients_user_cannot_decide(app, make, enqueued):
    case = _case(make, max_instalments=2, arrangement_approval=ApprovalBy.AGENCY_AND_CLIENT)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    with pytest.raises(PermissionError):
        arrangements.approve(plan, make.user(Role.CLIENT, client=make.client()), today=TODAY)
    with pytest.raises(PermissionError):
        arrangements.approve(plan, make.user(Role.CALLER), today=TODAY)


def test_approved_after_the_start_date_it_starts_on_the_day_of_approval(app, make, enqueued):
    case = _case(make, max_instalments=2)
    plan = arrangements.propose(case, 3, TODAY, today=TODAY)
    later = TODAY + timedelta(days=5)
    arrangements.approve(plan, make.user(Role.ADMIN), today=later)
    assert [i.due_on for i in plan.instalments] == [later, date(2026, 4, 7), date(2026, 5, 7)]


def test_reject_tells_the_debtor_with_the_note(app, make, enqueued, outbox):
    case = _case(make, max_instalments=2)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    run_mail(enqueued)
    arrangements.reject(plan, make.user(Role.ADMIN), "Three months is too long here.",
                        today=TODAY)
    db.session.commit()
    assert plan.status == ArrangementStatus.REJECTED and case.status == CaseStatus.ACTIVE
    run_mail(enqueued)
    assert _subjects(outbox)[-1] == "About your payment plan"
    assert "Three months is too long here." in outbox[-1].get_payload(decode=True).decode()


def test_an_email_job_run_twice_sends_once_and_not_when_no_longer_true(app, make, enqueued,
                                                                        outbox):
    case = _case(make, max_instalments=2)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    assert jobs.send_arrangement_email(plan.id, "pending") == "sent"
    assert jobs.send_arrangement_email(plan.id, "pending") == "already sent"
    assert jobs.send_arrangement_email(plan.id, "approved") == "no longer true"
    assert len(outbox) == 1


# -- Dunning pauses ---------------------------------------------------------------------------


def _dunning_counts(case, day):
    run, chunks = dunning_runs.start_run(day, trigger="manual", user=None)
    assert [case.id] in chunks
    return dunning.advance_cases(run, [case.id], day)


def test_an_active_plan_pauses_dunning_and_a_broken_one_resumes_it(app, make, enqueued):
    case = _case(make)
    case.next_step_on = TODAY
    plan = arrangements.propose(case, 2, START, today=TODAY)
    db.session.commit()
    assert _dunning_counts(case, TODAY) == {"skipped/arrangement": 1}
    db.session.rollback()
    plan.status = ArrangementStatus.BROKEN
    assert arrangements.active_arrangement(case) is None
    from portal.services import case_status
    case_status.refresh(case, TODAY)
    counts = _dunning_counts(case, TODAY)
    assert not any(key.startswith("skipped/") for key in counts)


# -- The morning watch ------------------------------------------------------------------------


def _watch(day, monkeypatch, enqueued):
    monkeypatch.setattr(jobs, "agency_today", lambda: day)
    counts = jobs.watch_instalments_job()
    return counts, run_mail(enqueued)


def test_the_watch_reminds_misses_and_breaks(app, make, enqueued, outbox, monkeypatch):
    # grace 7 days, reminders 3 days ahead, broken after 2 misses
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)  # 1 Apr, 1 May, 1 Jun
    db.session.commit()
    run_mail(enqueued)
    outbox.clear()
    days = {
        date(2026, 3, 28): {"reminded": 0, "overdue": 0, "missed": 0, "broken": 0},
        date(2026, 3, 29): {"reminded": 1, "overdue": 0, "missed": 0, "broken": 0},
        date(2026, 3, 30): {"reminded": 0, "overdue": 0, "missed": 0, "broken": 0},  # once
        date(2026, 4, 2): {"reminded": 0, "overdue": 1, "missed": 0, "broken": 0},
        date(2026, 4, 8): {"reminded": 0, "overdue": 0, "missed": 0, "broken": 0},  # grace
        date(2026, 4, 9): {"reminded": 0, "overdue": 0, "missed": 1, "broken": 0},
        date(2026, 4, 10): {"reminded": 0, "overdue": 0, "missed": 0, "broken": 0},
    }
    for day, expected in days.items():
        assert _watch(day, monkeypatch, enqueued)[0] == expected, day
    first = plan.instalments[0]
    assert (first.status, first.missed_on, plan.missed_count) == (
        InstalmentStatus.MISSED, date(2026, 4, 9), 1)
    assert plan.status == ArrangementStatus.ACTIVE and case.status == CaseStatus.ARRANGEMENT
    assert _subjects(outbox) == ["Your next instalment is due soon",
                                 "Your instalment has not arrived yet",
                                 "You missed an instalment"]
    # the second miss breaks the plan: dunning resumes, the debtor is told
    counts, _results = _watch(date(2026, 5, 9), monkeypatch, enqueued)
    assert counts["broken"] == 1
    db.session.refresh(plan)
    db.session.refresh(case)
    assert plan.status == ArrangementStatus.BROKEN and plan.missed_count == 2
    assert case.status == CaseStatus.ACTIVE
    assert _subjects(outbox)[-1] == "Your payment plan has ended"
    case.next_step_on = date(2026, 5, 9)
    db.session.commit()
    assert "skipped/arrangement" not in _dunning_counts(case, date(2026, 5, 9))


def test_a_paid_instalment_gets_no_reminder_and_is_never_missed(app, make, enqueued,
                                                                 monkeypatch):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    arrangements.payment_booked(case, 100_00, instalment_id=None, today=TODAY)
    db.session.commit()
    enqueued.clear()
    for day in (date(2026, 3, 29), date(2026, 4, 2), date(2026, 4, 20)):
        counts, _ = _watch(day, monkeypatch, enqueued)
        assert counts == {"reminded": 0, "overdue": 0, "missed": 0, "broken": 0}
    assert plan.missed_count == 0


def test_a_reminder_job_for_an_instalment_paid_meanwhile_sends_nothing(app, make, enqueued,
                                                                       outbox, monkeypatch):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    enqueued.clear()
    monkeypatch.setattr(jobs, "agency_today", lambda: date(2026, 3, 30))
    jobs.watch_instalments_job()
    arrangements.payment_booked(case, 100_00, instalment_id=None, today=TODAY)
    db.session.commit()
    assert run_mail(enqueued) == ["no longer true"]
    assert outbox == []
    assert plan.instalments[0].reminded_on == date(2026, 3, 30)


# -- Payments applied to instalments ----------------------------------------------------------


@pytest.mark.parametrize(
    ("payments", "paid", "statuses", "plan_status"),
    [
        ([(100_00, None)], [100_00, 0, 0], "P O O", ArrangementStatus.ACTIVE),
        ([(50_00, None)], [50_00, 0, 0], "O O O", ArrangementStatus.ACTIVE),
        ([(150_00, None)], [100_00, 50_00, 0], "P O O", ArrangementStatus.ACTIVE),
        ([(100_00, 3)], [0, 0, 100_00], "O O P", ArrangementStatus.ACTIVE),  # the one chosen
        ([(130_00, 2)], [30_00, 100_00, 0], "O P O", ArrangementStatus.ACTIVE),  # then oldest
        ([(100_00, 1), (100_00, 2), (100_00, 3)], [100_00] * 3, "P P P",
         ArrangementStatus.COMPLETED),
        ([(400_00, None)], [100_00] * 3, "P P P", ArrangementStatus.COMPLETED),
    ],
)
def test_payment_booked_goes_to_the_instalments(app, make, enqueued, payments, paid, statuses,
                                                plan_status):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    ids = {i.number: i.id for i in plan.instalments}
    for amount, number in payments:
        arrangements.payment_booked(case, amount, instalment_id=ids.get(number), today=TODAY)
    assert [i.paid_cents for i in plan.instalments] == paid
    assert " ".join(str(i.status)[0].upper() for i in plan.instalments) == statuses
    assert plan.status == plan_status
    expected_case = CaseStatus.ARRANGEMENT if plan_status == ArrangementStatus.ACTIVE \
        else CaseStatus.ACTIVE
    assert case.status == expected_case


def test_a_missed_instalment_can_still_be_paid(app, make, enqueued):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    plan.instalments[0].status = InstalmentStatus.MISSED
    arrangements.payment_booked(case, 100_00, instalment_id=None, today=TODAY)
    assert plan.instalments[0].status == InstalmentStatus.PAID


def test_another_arrangements_instalment_id_is_ignored(app, make, enqueued):
    case, other = _case(make), _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    foreign = arrangements.propose(other, 3, START, today=TODAY).instalments[2]
    arrangements.payment_booked(case, 100_00, instalment_id=foreign.id, today=TODAY)
    assert [i.paid_cents for i in plan.instalments] == [100_00, 0, 0]
    assert foreign.paid_cents == 0


def test_no_plan_no_change(app, make):
    case = _case(make)
    arrangements.payment_booked(case, 100_00, instalment_id=None, today=TODAY)
    assert db.session.scalars(select(Arrangement)).all() == []


# -- The debtor's pages -----------------------------------------------------------------------


def _debtor(client, case):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as session:
        session["debtor_id"] = case.debtor_id


@pytest.fixture
def on_today(monkeypatch):
    monkeypatch.setattr("portal.debtor.arrangements.agency_today", lambda: TODAY)


def test_the_debtor_previews_then_confirms_a_plan(client, make, enqueued, on_today):
    case = _case(make)
    _debtor(client, case)
    assert "Pay in instalments" in client.get(f"/pay/cases/{case.id}").text
    page = client.get(f"/pay/cases/{case.id}/arrangement")
    assert page.status_code == 200 and "Your schedule" in page.text
    form = {"csrf_token": csrf_token(page.text), "count": "4", "start_on": "2026-04-01",
            "monthly": ""}
    preview = client.post(f"/pay/cases/{case.id}/arrangement/preview", data=form,
                          headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "<html" not in preview.text
    assert "€75.00" in preview.text and "accepted at once" in preview.text
    assert "HX-Request" in preview.headers["Vary"]
    by_month = client.post(f"/pay/cases/{case.id}/arrangement/preview",
                           data={**form, "monthly": "50"}, headers={"HX-Request": "true"})
    assert by_month.text.count("€50.00") == 6
    assert db.session.scalars(select(Arrangement)).all() == []  # previews make nothing
    done = client.post(f"/pay/cases/{case.id}/arrangement", data={**form, "action": "confirm"})
    assert done.status_code == 302 and done.location.endswith(f"/pay/cases/{case.id}")
    [plan] = db.session.scalars(select(Arrangement)).all()
    assert (plan.status, plan.instalment_count) == (ArrangementStatus.ACTIVE, 4)
    page = client.get(done.location)
    assert "Your plan" not in flashes(page.text)
    assert "Your payment plan" in page.text and "Due on Apr 1, 2026" in page.text


def test_without_javascript_show_the_schedule_renders_the_page(client, make, on_today):
    case = _case(make)
    _debtor(client, case)
    token = csrf_token(client.get(f"/pay/cases/{case.id}/arrangement").text)
    page = client.post(f"/pay/cases/{case.id}/arrangement", data={
        "csrf_token": token, "count": "13", "start_on": "2026-04-01", "action": "preview"})
    assert page.status_code == 200 and "<html" in page.text
    assert "needs approval" in page.text and "More instalments than" in page.text
    assert db.session.scalars(select(Arrangement)).all() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start_on": "2026-02-01"}, "already passed"),
        ({"start_on": "2026-06-01"}, "within 30 days"),
        ({"start_on": ""}, "Choose a date."),
        ({"monthly": "abc"}, "Fill in an amount"),
    ],
)
def test_a_plan_that_cannot_be_made_comes_back_with_422(client, make, on_today, fields,
                                                        message):
    case = _case(make)
    _debtor(client, case)
    token = csrf_token(client.get(f"/pay/cases/{case.id}/arrangement").text)
    page = client.post(f"/pay/cases/{case.id}/arrangement", data={
        "csrf_token": token, "count": "3", "start_on": "2026-04-01", "action": "confirm",
        **fields})
    assert page.status_code == 422 and message in page.text
    assert db.session.scalars(select(Arrangement)).all() == []


def test_a_pending_plan_shows_as_waiting(client, make, enqueued, on_today):
    case = _case(make, max_instalments=2)
    arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    _debtor(client, case)
    assert "waiting for approval" in client.get(f"/pay/cases/{case.id}").text
    again = client.get(f"/pay/cases/{case.id}/arrangement")
    assert again.status_code == 302


@pytest.mark.parametrize("path", ["/arrangement", "/arrangement/preview"])
def test_another_debtors_case_answers_404(client, make, on_today, path):
    mine, theirs = _case(make), _case(make)
    _debtor(client, mine)
    token = csrf_token(client.get(f"/pay/cases/{mine.id}/arrangement").text)
    assert client.get(f"/pay/cases/{theirs.id}/arrangement").status_code == 404
    answer = client.post(f"/pay/cases/{theirs.id}{path}", headers={"HX-Request": "true"},
                         data={"csrf_token": token, "count": "3", "start_on": "2026-04-01"})
    assert answer.status_code == 404


# -- Agency and client pages ------------------------------------------------------------------


def _pending(make, **policy):
    case = _case(make, max_instalments=2, **policy)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    db.session.commit()
    return case, plan


def _login(login, user):
    user.language = "en"  # the tests read the English source texts
    login(user)
    db.session.commit()
    return user


@pytest.fixture
def staff_today(monkeypatch):
    monkeypatch.setattr("portal.agency.arrangements.agency_today", lambda: TODAY)
    monkeypatch.setattr("portal.client.arrangements.agency_today", lambda: TODAY)


@pytest.mark.parametrize(("role", "status"), [(Role.ADMIN, 200), (Role.SUPERVISOR, 200),
                                              (Role.CALLER, 403)])
def test_the_agency_list_is_for_admins_and_supervisors(client, make, login, enqueued, role,
                                                       status):
    _pending(make)
    _login(login, make.user(role))
    page = client.get("/agency/arrangements/")
    assert page.status_code == status
    if status == 200:
        assert "Approve" in page.text


def test_the_agency_list_puts_pending_first_and_filters(client, make, login, enqueued):
    running = _case(make)
    arrangements.propose(running, 2, START, today=TODAY)
    waiting, _plan = _pending(make)
    db.session.commit()
    _login(login, make.user(Role.ADMIN))
    text = client.get("/agency/arrangements/").text
    assert text.index(waiting.reference) < text.index(running.reference)
    only = client.get("/agency/arrangements/?status=active").text
    assert running.reference in only and waiting.reference not in only


def test_approving_from_the_list_swaps_the_row(client, make, login, enqueued, staff_today):
    case, plan = _pending(make)
    _login(login, make.user(Role.SUPERVISOR))
    page = client.get("/agency/arrangements/")
    row = client.post(f"/agency/arrangements/{plan.id}/approve", headers={"HX-Request": "true"},
                      data={"csrf_token": csrf_token(page.text)})
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr")
    assert "running" in row.text and "Approve" not in row.text
    db.session.refresh(plan)
    assert plan.status == ArrangementStatus.ACTIVE


def test_rejecting_from_the_case_page_returns_there(client, make, login, enqueued,
                                                    staff_today):
    case, plan = _pending(make)
    _login(login, make.user(Role.ADMIN))
    page = client.get(f"/agency/cases/{case.id}")
    assert "Payment plan" in page.text and "Reject" in page.text
    done = client.post(f"/agency/arrangements/{plan.id}/reject",
                       data={"csrf_token": csrf_token(page.text), "from": "case",
                             "note": "Too long"})
    assert done.status_code == 302 and done.location.endswith(f"/agency/cases/{case.id}")
    db.session.refresh(plan)
    assert (plan.status, plan.decision_note) == (ArrangementStatus.REJECTED, "Too long")


def test_the_client_approves_its_own_plans_only(client, make, login, enqueued, staff_today):
    case, plan = _pending(make, arrangement_approval=ApprovalBy.AGENCY_AND_CLIENT)
    other_case, other_plan = _pending(make, arrangement_approval=ApprovalBy.AGENCY_AND_CLIENT)
    _login(login, make.user(Role.CLIENT, client=case.client))
    listing = client.get("/client/arrangements")
    assert case.reference in listing.text and other_case.reference not in listing.text
    token = csrf_token(listing.text)
    assert client.post(f"/client/arrangements/{other_plan.id}/approve",
                       data={"csrf_token": token}).status_code == 404
    shown = client.get(f"/client/cases/{case.id}")
    assert "needs the agency and the client" in shown.text
    done = client.post(f"/client/arrangements/{plan.id}/approve",
                       data={"csrf_token": token, "from": "case"})
    assert done.status_code == 302
    db.session.refresh(plan)
    db.session.refresh(other_plan)
    assert plan.client_approved_at is not None and plan.status == ArrangementStatus.PENDING
    assert other_plan.client_approved_at is None


def test_the_policy_page_is_for_admins_and_validates(client, make, login):
    acme = make.client()
    db.session.commit()
    _login(login, make.user(Role.SUPERVISOR))
    assert client.get(f"/agency/clients/{acme.id}/policy").status_code == 403
    _login(login, make.user(Role.ADMIN))
    page = client.get(f"/agency/clients/{acme.id}/policy")
    assert page.status_code == 200 and 'value="25.00"' in page.text
    form = {"csrf_token": csrf_token(page.text), "min_payment": "5", "max_instalments": "6",
            "min_instalment": "20,50", "max_arrangement_months": "8",
            "down_payment_percent": "10", "arrangement_approval": "agency_and_client",
            "instalment_grace_days": "5", "max_missed_instalments": "3",
            "instalment_reminder_days": "2"}
    bad = client.post(f"/agency/clients/{acme.id}/policy",
                      data={**form, "max_instalments": "0", "min_instalment": "x"})
    assert bad.status_code == 422
    assert client.post(f"/agency/clients/{acme.id}/policy", data=form).status_code == 302
    db.session.refresh(acme)
    assert (acme.min_payment_cents, acme.max_instalments, acme.min_instalment_cents,
            acme.down_payment_percent, acme.auto_accept_arrangements,
            acme.arrangement_approval, acme.max_missed_instalments) == (
        5_00, 6, 20_50, 10, False, ApprovalBy.AGENCY_AND_CLIENT, 3)
    assert client.get("/agency/clients/999/policy").status_code == 404


def test_the_debtors_case_page_offers_to_pay_the_next_instalment(client, make, enqueued):
    case = _case(make)
    plan = arrangements.propose(case, 3, START, today=TODAY)
    arrangements.payment_booked(case, 100_00, instalment_id=None, today=TODAY)
    db.session.commit()
    _debtor(client, case)
    page = client.get(f"/pay/cases/{case.id}").text
    assert "Paid. Thank you." in page
    assert f'action="/pay/cases/{case.id}/payments"' in page
    assert page.count('name="instalment_id"') == 1
    assert f'name="instalment_id" value="{plan.instalments[1].id}"' in page
