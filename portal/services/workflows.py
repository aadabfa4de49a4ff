"""Dunning workflows: the agency's default, which workflow a case follows, and starting a case.

One workflow serves consumers and businesses alike. The 14-day letter (art. 6:96 lid 6 BW)
only announces costs to a consumer, so its stored step charges none (and `workflow_problems`
refuses one that does); a business owes costs without such a letter, so for a business the
same step is a demand with costs: `steps_of(workflow, business=True)` turns the charge on at
the actions in BUSINESS_COSTS_AT. The consumer's costs come at the final demand, after the
letter's term; `domain.dunning.decide` withholds them while the term runs.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from portal.domain.dunning import CaseState, Channel, Step, StepAction, due_on, workflow_problems
from portal.extensions import db
from portal.models import Case, Workflow, WorkflowStep

DEFAULT_NAME = "Default workflow"
# Actions at which a business is charged collection costs although a consumer is not.
BUSINESS_COSTS_AT = frozenset({StepAction.FOURTEEN_DAY_LETTER})

_A, _EMAIL, _LETTER = StepAction, Channel.EMAIL, Channel.LETTER
# (position, name, action, delay, channel, fallback, template, costs, interest)
DEFAULT_STEPS = (
    (1, "Friendly reminder", _A.EMAIL_REMINDER, 7, _EMAIL, _LETTER, "friendly_reminder",
     False, False),
    (2, "Reminder", _A.EMAIL_REMINDER, 14, _EMAIL, _LETTER, "reminder", False, False),
    (3, "14-day letter", _A.FOURTEEN_DAY_LETTER, 14, _LETTER, None, "fourteen_day_letter",
     False, False),
    (4, "Final demand", _A.FINAL_DEMAND, 21, _LETTER, None, "final_demand", True, True),
    # No message: the call team's queue picks the case up (no template is rendered).
    (5, "Call", _A.CALL_TASK, 7, _LETTER, None, "call_task", False, False),
    # Interest is brought up to date for the dossier; costs only if the final demand could
    # not charge them yet (a consumer's term stretched by holidays): never twice.
    (6, "Legal handover", _A.LEGAL_HANDOVER, 21, _LETTER, None, "legal_handover", True, True),
)


def default_workflow() -> Workflow | None:
    """The agency's default workflow (no client), the oldest if there were ever two."""
    stmt = select(Workflow).where(Workflow.client_id.is_(None)).order_by(Workflow.id).limit(1)
    return db.session.scalar(stmt)


def ensure_default_workflow() -> Workflow:
    """The agency's default workflow, created with DEFAULT_STEPS the first time (flushes)."""
    workflow = default_workflow()
    if workflow is not None:
        return workflow
    workflow = Workflow(name=DEFAULT_NAME, client_id=None)
    for position, name, action, delay, channel, fallback, template, costs, interest in (
        DEFAULT_STEPS
    ):
        workflow.steps.append(
            WorkflowStep(
                position=position, name=name, action=action, delay_days=delay,
                channel=channel, fallback_channel=fallback, template_key=template,
                charges_costs=costs, charges_interest=interest,
            )
        )
    db.session.add(workflow)
    db.session.flush()
    return workflow


def workflow_for(case: Case) -> Workflow:
    """The workflow a case starts on: its client's own, else the agency's default."""
    own = db.session.scalar(select(Workflow).where(Workflow.client_id == case.client_id))
    return own if own is not None else ensure_default_workflow()


def to_step(row: WorkflowStep, *, business: bool = False) -> Step:
    """The domain's view of a stored step; for a business see BUSINESS_COSTS_AT."""
    step = Step(
        position=row.position,
        action=StepAction(row.action),
        delay_days=row.delay_days,
        channel=Channel(row.channel),
        fallback_channel=Channel(row.fallback_channel) if row.fallback_channel else None,
        charges_costs=row.charges_costs,
        charges_interest=row.charges_interest,
    )
    if business and step.action in BUSINESS_COSTS_AT:
        return replace(step, charges_costs=True)
    return step


def steps_of(workflow: Workflow, *, business: bool = False) -> list[Step]:
    """The workflow's steps as domain Steps, in order (`business`: see BUSINESS_COSTS_AT)."""
    return [to_step(row, business=business) for row in workflow.steps]


def problems(workflow: Workflow) -> list[str]:
    """What an admin must fix before the workflow is used (empty: nothing)."""
    return workflow_problems(steps_of(workflow))


def start_case(case: Case) -> None:
    """Put a newly opened case on its workflow: position 0, first step due from the oldest
    invoice's due date (the case must have its invoices). A case already on a workflow keeps
    its place (calling this twice changes nothing). Flushes."""
    if case.workflow_id is not None:
        return
    workflow = workflow_for(case)
    oldest = min(invoice.due_date for invoice in case.invoices)
    case.workflow_id = workflow.id
    case.workflow_position = 0
    case.last_step_on = None
    case.next_step_on = due_on(steps_of(workflow), CaseState(oldest_due_date=oldest))
    db.session.flush()
