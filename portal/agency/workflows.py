"""Dunning workflows and their texts, edited by admins; a nested blueprint guarded once.

The text editor previews the text being typed for a real case. The email or letter is a whole
HTML document with inline styles, which the app's CSP (`style-src 'self'`) forbids, and an
`<iframe srcdoc>` inherits that CSP. So the preview is a GET of its own (`rendered`) that
answers with a CSP for that one document, shown in a sandboxed iframe; the draft text travels
in its URL, compressed and signed.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from portal import dunning_templates
from portal.auth.loader import guard_roles
from portal.domain.dunning import Channel, StepAction
from portal.extensions import db
from portal.models import OPEN_STATUSES, Case, Client, Role, Workflow, WorkflowStep
from portal.services import notices, workflow_edits, workflows
from portal.services.notices import TemplateProblem

bp = Blueprint("workflows", __name__)
guard_roles(bp, [Role.ADMIN])

ACTION_LABELS = {
    StepAction.INVOICE: _l("Invoice"),
    StepAction.EMAIL_REMINDER: _l("Email reminder"),
    StepAction.LETTER: _l("Letter"),
    StepAction.FOURTEEN_DAY_LETTER: _l("14-day letter"),
    StepAction.FINAL_DEMAND: _l("Final demand"),
    StepAction.CALL_TASK: _l("Call task"),
    StepAction.LEGAL_HANDOVER: _l("Legal handover"),
}
CHANNEL_LABELS = {Channel.EMAIL: _l("Email"), Channel.LETTER: _l("Letter")}
# The rendered preview's own headers: its inline styles may apply, nothing else may load or
# run, and only this site may frame it.
PREVIEW_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'self'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value.value, label) for value, label in labels.items()]


class StepForm(FlaskForm):
    position = IntegerField(_l("Position"), validators=[InputRequired(), NumberRange(1, 99)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    action = SelectField(_l("Action"), choices=_choices(ACTION_LABELS))
    delay_days = IntegerField(_l("Delay in days"), validators=[InputRequired(),
                                                              NumberRange(-365, 365)])
    channel = SelectField(_l("Channel"), choices=_choices(CHANNEL_LABELS))
    fallback_channel = SelectField(_l("Fallback"), choices=[SelectChoice("", _l("None")),
                                                               *_choices(CHANNEL_LABELS)])
    template_key = SelectField(_l("Text"), choices=[SelectChoice(key, key)
                                                    for key in dunning_templates.KEYS])
    charges_costs = BooleanField(_l("Charges collection costs"))
    charges_interest = BooleanField(_l("Charges interest"))

    def data_for_service(self) -> workflow_edits.StepData:
        """The form's values as the service takes them."""
        fallback = self.fallback_channel.data
        return workflow_edits.StepData(
            position=self.position.data, name=self.name.data.strip(),
            action=StepAction(self.action.data), delay_days=self.delay_days.data,
            channel=Channel(self.channel.data),
            fallback_channel=Channel(fallback) if fallback else None,
            template_key=self.template_key.data, charges_costs=self.charges_costs.data,
            charges_interest=self.charges_interest.data)


class TemplateForm(FlaskForm):
    case = SelectField(_l("Preview for case"), coerce=int, validate_choice=False)
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Text"), validators=[DataRequired()])


# -- Workflows ---------------------------------------------------------------------------------


@bp.get("/")
def index():
    default = workflows.ensure_default_workflow()
    db.session.commit()
    own = {w.client_id: w for w in db.session.scalars(
        select(Workflow).where(Workflow.client_id.is_not(None)))}
    return render_template(
        "agency/workflows/index.html", default=default, own=own,
        clients=db.session.scalars(select(Client).order_by(Client.name)).all(),
        texts=dunning_templates.KEYS, edited=workflow_edits.edited_texts(),
        problems={w.id: workflows.problems(w) for w in [default, *own.values()]})


@bp.post("/clients/<int:client_id>/copy")
def copy_default(client_id: int):
    client = db.get_or_404(Client, client_id)
    own = workflow_edits.copy_default_for(client, current_user)
    db.session.commit()
    flash(_("%(client)s now has its own workflow, a copy of the default.", client=client.name),
          "success")
    return redirect(url_for(".show", workflow_id=own.id))


@bp.get("/<int:workflow_id>")
def show(workflow_id: int):
    workflow = db.get_or_404(Workflow, workflow_id)
    step = _step_or_none(workflow, request.args.get("step", type=int))
    form = StepForm(obj=step) if step else StepForm(position=len(workflow.steps) + 1)
    return _workflow_page(workflow, form, step)


@bp.post("/<int:workflow_id>/steps", defaults={"step_id": None})
@bp.post("/<int:workflow_id>/steps/<int:step_id>")
def save_step(workflow_id: int, step_id: int | None):
    workflow = db.get_or_404(Workflow, workflow_id)
    step = _step_or_none(workflow, step_id)
    form = StepForm()
    if not form.validate_on_submit():
        return _workflow_page(workflow, form, step, status=422)
    workflow_edits.save_step(workflow, step, form.data_for_service(), current_user)
    db.session.commit()
    flash(_("The step is saved."), "success")
    return redirect(url_for(".show", workflow_id=workflow.id))


@bp.post("/<int:workflow_id>/steps/<int:step_id>/delete")
def delete_step(workflow_id: int, step_id: int):
    workflow = db.get_or_404(Workflow, workflow_id)
    workflow_edits.delete_step(workflow, _step_or_none(workflow, step_id) or abort(404),
                               current_user)
    db.session.commit()
    flash(_("The step is deleted."), "success")
    return redirect(url_for(".show", workflow_id=workflow.id))


def _step_or_none(workflow: Workflow, step_id: int | None) -> WorkflowStep | None:
    """A step of this workflow (404 for another workflow's), None when no id was given."""
    if step_id is None:
        return None
    step = db.session.get(WorkflowStep, step_id)
    if step is None or step.workflow_id != workflow.id:
        abort(404)
    return step


def _workflow_page(workflow: Workflow, form: StepForm, step: WorkflowStep | None,
                   status: int = 200):
    return render_template(
        "agency/workflows/show.html", workflow=workflow, form=form, editing=step,
        problems=workflows.problems(workflow), actions=ACTION_LABELS, channels=CHANNEL_LABELS,
    ), status


# -- Texts -------------------------------------------------------------------------------------


@bp.route("/templates/<key>/<channel>/<language>", methods=["GET", "POST"])
def template(key: str, channel: str, language: str):
    _known_text(key, channel, language)
    subject, body = notices.template_source(key, channel, language)
    form = TemplateForm(data={"subject": subject, "body": body})
    _case_choices(form)
    if request.method == "POST" and form.validate_on_submit():
        try:
            workflow_edits.save_template(key, channel, language, form.subject.data,
                                         form.body.data, case=_chosen_case(form),
                                         user=current_user)
        except TemplateProblem as problem:
            _field_of(form, problem).errors.append(_problem_text(problem))
        else:
            db.session.commit()
            flash(_("The text is saved; the next letters and emails use it."), "success")
            return redirect(url_for(".template", key=key, channel=channel, language=language))
    return _editor(form, key, channel, language, status=422 if form.errors else 200)


@bp.post("/templates/<key>/<channel>/<language>/reset")
def reset_template(key: str, channel: str, language: str):
    _known_text(key, channel, language)
    if workflow_edits.reset_template(key, channel, language, current_user):
        db.session.commit()
        flash(_("The text is back to the default."), "success")
    return redirect(url_for(".template", key=key, channel=channel, language=language))


@bp.post("/templates/<key>/<channel>/<language>/preview")
def preview(key: str, channel: str, language: str):
    """The preview block alone, for the text being typed (htmx); saves nothing."""
    _known_text(key, channel, language)
    form = TemplateForm()
    _case_choices(form)
    return render_block("agency/workflows/template.html", "preview",
                        **_preview_context(form, key, channel, language))


@bp.get("/templates/<key>/<channel>/<language>/rendered")
def rendered(key: str, channel: str, language: str):
    """The email or letter as a document of its own, for the preview's iframe."""
    _known_text(key, channel, language)
    case = db.session.get(Case, request.args.get("case", type=int) or 0)
    case = case or workflow_edits.preview_case() or abort(404)
    subject, body = _draft_serializer().loads(request.args["draft"]) if (
        "draft" in request.args) else (None, None)
    try:
        html = workflow_edits.render_preview(key, channel, language, case,
                                             subject=subject, body=body)
    except TemplateProblem as problem:
        return _problem_text(problem), 422, {"Content-Type": "text/plain; charset=utf-8"}
    return html, 200, PREVIEW_HEADERS


@bp.errorhandler(BadSignature)
def _bad_draft(_exc):
    abort(400)


def _known_text(key: str, channel: str, language: str) -> None:
    if not workflow_edits.check_name(key, channel, language):
        abort(404)


def _case_choices(form: TemplateForm) -> None:
    cases = db.session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES))
                               .order_by(Case.id.desc()).limit(50)).all()
    form.case.choices = [SelectChoice(c.id, f"{c.reference} · {c.debtor.name}") for c in cases]
    if form.case.data is None and cases:
        form.case.data = cases[0].id


def _chosen_case(form: TemplateForm) -> Case | None:
    return db.session.get(Case, form.case.data) if form.case.data else None


def _editor(form: TemplateForm, key: str, channel: str, language: str, status: int = 200):
    return render_template("agency/workflows/template.html",
                           **_preview_context(form, key, channel, language)), status


def _preview_context(form: TemplateForm, key: str, channel: str, language: str) -> dict:
    """The editor's values, with the preview's URL or the problem that stops it."""
    context = {"form": form, "key": key, "channel": channel, "language": language,
               "edited": (key, channel, language) in workflow_edits.edited_texts(),
               "preview_url": None, "problem": None}
    case = _chosen_case(form)
    if case is None:
        return context
    try:
        workflow_edits.render_preview(key, channel, language, case,
                                      subject=form.subject.data, body=form.body.data)
    except TemplateProblem as problem:
        context["problem"] = _problem_text(problem)
        return context
    draft = _draft_serializer().dumps([form.subject.data, form.body.data])
    context["preview_url"] = url_for(".rendered", key=key, channel=channel, language=language,
                                     case=case.id, draft=draft)
    return context


def _draft_serializer() -> URLSafeSerializer:
    # Compressed when that is shorter, which keeps a few-kilobyte text inside a URL.
    return URLSafeSerializer(current_app.secret_key, salt="template-preview")


def _field_of(form: TemplateForm, problem: TemplateProblem):
    return form.subject if problem.where.endswith("subject") else form.body


def _problem_text(problem: TemplateProblem) -> str:
    if problem.line:
        return _("Line %(line)s: %(message)s", line=problem.line, message=problem.message)
    return problem.message
