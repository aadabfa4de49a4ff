"""Editing dunning workflows and their texts: the admin's use cases behind /agency/workflows.

Each function flushes and writes the audit trail; the view commits once. A text is only saved
after it rendered once for a real case, so a typo never reaches a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal import dunning_templates
from portal.domain.dunning import Channel, StepAction
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, Client, MessageTemplate, User, Workflow, WorkflowStep
from portal.services import audit, notices, workflows
from portal.services.notices import TemplateProblem

# The action a text is checked as: the 14-day letter's text must pass its legal checks.
ACTION_OF_KEY = {
    "invoice": StepAction.INVOICE,
    "friendly_reminder": StepAction.EMAIL_REMINDER,
    "reminder": StepAction.EMAIL_REMINDER,
    "fourteen_day_letter": StepAction.FOURTEEN_DAY_LETTER,
    "final_demand": StepAction.FINAL_DEMAND,
    "legal_handover": StepAction.LEGAL_HANDOVER,
    "payment_plan_reminder": StepAction.LETTER,
}


@dataclass(frozen=True)
class StepData:
    """What the step form sends; `position` is where the step should stand (1 = first)."""

    position: int
    name: str
    action: StepAction
    delay_days: int
    channel: Channel
    fallback_channel: Channel | None
    template_key: str
    charges_costs: bool
    charges_interest: bool


# -- Steps -------------------------------------------------------------------------------------


def save_step(workflow: Workflow, step: WorkflowStep | None, data: StepData, user: User) -> None:
    """Add a step (`step` None) or change one, moving it to `data.position` (flushes)."""
    adding = step is None
    with db.session.no_autoflush:  # a new step joins the workflow only in _renumber
        others = [row for row in workflow.steps if row is not step]
        step = step or WorkflowStep(position=0)
        for name in ("name", "action", "delay_days", "channel", "fallback_channel",
                     "template_key", "charges_costs", "charges_interest"):
            setattr(step, name, getattr(data, name))
    index = min(max(data.position, 1), len(others) + 1) - 1
    _renumber(workflow, [*others[:index], step, *others[index:]])
    verb = "added" if adding else "changed"
    audit.record(f"workflow.step_{verb}", f"{workflow.name}: step {step.position} "
                 f"{step.name!r} {verb}", user=user, client_id=workflow.client_id,
                 client_visible=False, workflow_id=workflow.id, step_id=step.id)


def delete_step(workflow: Workflow, step: WorkflowStep, user: User) -> None:
    """Take a step out of its workflow; the steps after it move up (flushes)."""
    name = step.name
    _renumber(workflow, [row for row in workflow.steps if row is not step])
    audit.record("workflow.step_deleted", f"{workflow.name}: step {name!r} deleted", user=user,
                 client_id=workflow.client_id, client_visible=False, workflow_id=workflow.id)


def _renumber(workflow: Workflow, ordered: list[WorkflowStep]) -> None:
    # Positions are unique per workflow: park every step on a negative one first, so that no
    # intermediate flush sees two steps on the same number.
    for index, row in enumerate(ordered, start=1):
        row.position = -index
    workflow.steps[:] = ordered
    db.session.flush()
    for index, row in enumerate(ordered, start=1):
        row.position = index
    db.session.flush()


def copy_default_for(client: Client, user: User) -> Workflow:
    """The client's own workflow, made as a copy of the agency's default (flushes)."""
    existing = db.session.scalar(select(Workflow).where(Workflow.client_id == client.id))
    if existing is not None:
        return existing
    default = workflows.ensure_default_workflow()
    own = Workflow(name=client.name, client_id=client.id)
    db.session.add(own)
    for row in list(default.steps):
        own.steps.append(WorkflowStep(
            position=row.position, name=row.name, action=row.action, delay_days=row.delay_days,
            channel=row.channel, fallback_channel=row.fallback_channel,
            template_key=row.template_key, charges_costs=row.charges_costs,
            charges_interest=row.charges_interest,
        ))
    db.session.flush()
    audit.record("workflow.copied", f"Own workflow for {client.name} copied from the default",
                 user=user, client_id=client.id, client_visible=False, workflow_id=own.id)
    return own


# -- Texts -------------------------------------------------------------------------------------


def check_name(key: str, channel: str, language: str) -> bool:
    """Whether the editor knows this text (a shipped default exists for it)."""
    return (key in dunning_templates.KEYS and channel in dunning_templates.CHANNELS
            and language in dunning_templates.LANGUAGES)


def preview_case() -> Case | None:
    """The case a preview shows by default: the most recently opened open case."""
    return db.session.scalar(
        select(Case).where(Case.status.in_(OPEN_STATUSES)).order_by(Case.id.desc()).limit(1)
    )


def render_preview(key: str, channel: str, language: str, case: Case, *,
                   subject: str | None = None, body: str | None = None) -> str:
    """The HTML the text (stored, or the given draft) gives for `case`; saves nothing.
    Raises TemplateProblem."""
    return notices.preview(key, channel, language, case, action=ACTION_OF_KEY[key],
                           subject=subject, body=body)


def save_template(key: str, channel: str, language: str, subject: str, body: str, *,
                  case: Case | None, user: User) -> MessageTemplate:
    """Store the admin's text after rendering it once for `case` (flushes).

    Raises TemplateProblem, and saves nothing, when the text does not render.
    """
    if case is None:
        raise TemplateProblem(f"{key}.{channel}.{language}", "there is no case to check it on")
    render_preview(key, channel, language, case, subject=subject, body=body)
    row = _stored(key, channel, language) or MessageTemplate(
        key=key, channel=Channel(channel), language=language)
    row.subject, row.body, row.updated_by_id = subject.strip(), body, user.id
    db.session.add(row)
    db.session.flush()
    audit.record("template.saved", f"Text {key}.{channel}.{language} edited", user=user,
                 client_visible=False, template_id=row.id)
    return row


def reset_template(key: str, channel: str, language: str, user: User) -> bool:
    """Go back to the shipped text by deleting the admin's (flushes); False: none was saved."""
    row = _stored(key, channel, language)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    audit.record("template.reset", f"Text {key}.{channel}.{language} reset to the default",
                 user=user, client_visible=False)
    return True


def edited_texts() -> set[tuple[str, str, str]]:
    """(key, channel, language) of every text an admin has changed."""
    rows = db.session.execute(
        select(MessageTemplate.key, MessageTemplate.channel, MessageTemplate.language))
    return {(key, str(channel), language) for key, channel, language in rows}


def _stored(key: str, channel: str, language: str) -> MessageTemplate | None:
    return db.session.scalar(select(MessageTemplate).where(
        MessageTemplate.key == key, MessageTemplate.channel == Channel(channel),
        MessageTemplate.language == language))
