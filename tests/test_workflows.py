"""The default workflow, which workflow a case follows, and starting a case on it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.dunning import CaseState, Channel, StepAction, decide
from portal.extensions import db
from portal.models import Workflow, WorkflowStep
from portal.services import workflows
from portal.services.cases import InvoiceData, open_case

A = StepAction
DUE = date(2026, 3, 3)  # a Tuesday


def _open(make, client=None, dues=(DUE,)):
    client = client or make.client()
    invoices = [
        InvoiceData(f"W-{client.id}-{n}", due - timedelta(days=30), due, 100_00)
        for n, due in enumerate(dues)
    ]
    case, _code = open_case(client, make.debtor(), invoices, opened_on=max(dues))
    return case


def _own_workflow(client, *steps: tuple[int, StepAction, int, Channel, bool]) -> Workflow:
    workflow = Workflow(name=f"{client.name} workflow", client_id=client.id)
    for position, action, delay, channel, costs in steps:
        workflow.steps.append(WorkflowStep(
            position=position, name=action.value, action=action, delay_days=delay,
            channel=channel, fallback_channel=None, template_key=action.value,
            charges_costs=costs, charges_interest=False,
        ))
    db.session.add(workflow)
    db.session.flush()
    return workflow


def test_the_default_workflow_is_made_once(app):
    first = workflows.ensure_default_workflow()
    second = workflows.ensure_default_workflow()
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(Workflow)) == 1
    assert db.session.scalar(select(func.count()).select_from(WorkflowStep)) == 6


def test_the_default_workflow_has_the_agency_steps_in_order(app):
    steps = workflows.ensure_default_workflow().steps
    assert [
        (s.position, s.action, s.delay_days, s.channel, s.fallback_channel, s.template_key,
         s.charges_costs, s.charges_interest)
        for s in steps
    ] == [
        (1, A.EMAIL_REMINDER, 7, Channel.EMAIL, Channel.LETTER, "friendly_reminder", False, False),
        (2, A.EMAIL_REMINDER, 14, Channel.EMAIL, Channel.LETTER, "reminder", False, False),
        (3, A.FOURTEEN_DAY_LETTER, 14, Channel.LETTER, None, "fourteen_day_letter", False, False),
        (4, A.FINAL_DEMAND, 21, Channel.LETTER, None, "final_demand", True, True),
        (5, A.CALL_TASK, 7, Channel.LETTER, None, "call_task", False, False),
        (6, A.LEGAL_HANDOVER, 21, Channel.LETTER, None, "legal_handover", True, True),
    ]


def test_the_default_workflow_passes_the_domain_checks(app):
    assert workflows.problems(workflows.ensure_default_workflow()) == []


def test_a_workflow_charging_costs_in_its_14_day_letter_is_refused(app, make):
    client = make.client()
    workflow = _own_workflow(
        client,
        (1, A.FOURTEEN_DAY_LETTER, 7, Channel.LETTER, True),
        (2, A.FINAL_DEMAND, 10, Channel.LETTER, True),
    )
    assert workflows.problems(workflow) == [
        "step 1: a 14-day letter announces costs, not charges them",
        "step 2: charges costs 10 days after the 14-day letter; its term ends 17 days after "
        "posting at the earliest",
    ]


@pytest.mark.parametrize(
    ("business", "charged_positions"),
    [(False, [4, 6]), (True, [3, 4, 6])],
    ids=["consumer", "business"],
)
def test_a_business_is_charged_costs_at_the_14_day_letter(app, business, charged_positions):
    steps = workflows.steps_of(workflows.ensure_default_workflow(), business=business)
    assert [step.position for step in steps if step.charges_costs] == charged_positions


@pytest.mark.parametrize(
    ("is_consumer", "charge_costs"), [(True, False), (False, True)], ids=["consumer", "business"]
)
def test_the_decision_at_the_14_day_letter_charges_only_a_business(app, is_consumer, charge_costs):
    steps = workflows.steps_of(workflows.ensure_default_workflow(), business=not is_consumer)
    state = CaseState(oldest_due_date=DUE, last_position=2, last_step_on=date(2026, 3, 24),
                      is_consumer=is_consumer)
    decision = decide(steps, state, date(2026, 4, 7))
    assert decision.step is not None and decision.step.action is A.FOURTEEN_DAY_LETTER
    assert decision.charge_costs is charge_costs
    assert decision.warning is None  # the step itself asks no costs of a consumer


def test_a_client_without_its_own_workflow_follows_the_default(app, make):
    case = _open(make)
    assert workflows.workflow_for(case).id == workflows.ensure_default_workflow().id


def test_a_client_with_its_own_workflow_follows_it(app, make):
    client = make.client()
    workflows.ensure_default_workflow()
    own = _own_workflow(client, (1, A.EMAIL_REMINDER, -3, Channel.EMAIL, False))
    assert workflows.workflow_for(_open(make, client)).id == own.id
    assert workflows.workflow_for(_open(make)).id != own.id


def test_starting_a_case_dates_its_first_step_from_the_oldest_due_date(app, make):
    case = _open(make, dues=(date(2026, 3, 20), DUE, date(2026, 3, 10)))
    workflows.start_case(case)
    assert case.workflow_id == workflows.ensure_default_workflow().id
    assert (case.workflow_position, case.last_step_on) == (0, None)
    assert case.next_step_on == DUE + timedelta(days=7)


def test_starting_a_case_again_keeps_its_place(app, make):
    case = _open(make)
    workflows.start_case(case)
    case.workflow_position, case.last_step_on, case.next_step_on = 2, DUE, date(2026, 4, 7)
    workflows.start_case(case)
    assert (case.workflow_position, case.last_step_on, case.next_step_on) == (
        2, DUE, date(2026, 4, 7))


def test_a_workflow_may_start_before_the_due_date(app, make):
    client = make.client()
    _own_workflow(client, (1, A.EMAIL_REMINDER, -3, Channel.EMAIL, False))
    case = _open(make, client)
    workflows.start_case(case)
    assert case.next_step_on == date(2026, 2, 28)
