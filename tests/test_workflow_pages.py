"""The workflow and text editor pages under /agency/workflows (admins only)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, MessageTemplate, Role, Workflow
from portal.services import notices, workflows
from portal.services.workflow_edits import ACTION_OF_KEY

EDITOR = "/agency/workflows/templates/reminder/email/en"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]


@pytest.fixture
def admin(client, make, login):
    """An admin reading English signed in, one open case, the default workflow; returns the
    case."""
    case, _ = make.case()
    workflows.ensure_default_workflow()
    user = make.user(Role.ADMIN, language="en")
    db.session.commit()
    login(user)
    return case


def _template_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MessageTemplate))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER])
def test_staff_other_than_admins_are_refused(client, make, login, role):
    login(make.user(role))
    db.session.commit()
    assert client.get("/agency/workflows/").status_code == 403
    assert client.get(EDITOR).status_code == 403


def test_a_client_user_is_refused(client, make, login):
    login(make.user(Role.CLIENT, client=make.client()))
    db.session.commit()
    assert client.get("/agency/workflows/").status_code == 403


def test_the_list_shows_the_default_and_each_client(client, admin):
    page = client.get("/agency/workflows/").get_data(as_text=True)
    assert workflows.DEFAULT_NAME in page
    assert admin.client.name in page
    assert "uses the default" in page


def test_a_client_gets_its_own_copy_of_the_default(client, admin):
    page = client.get("/agency/workflows/").get_data(as_text=True)
    response = client.post(f"/agency/workflows/clients/{admin.client_id}/copy",
                           data={"csrf_token": _csrf(page)})
    own = db.session.scalar(select(Workflow).where(Workflow.client_id == admin.client_id))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/agency/workflows/{own.id}"
    default = workflows.default_workflow()
    assert [(s.position, s.name, s.action) for s in own.steps] == [
        (s.position, s.name, s.action) for s in default.steps]
    assert workflows.workflow_for(admin).id == own.id


def test_the_workflow_page_lists_steps_and_problems(client, admin):
    default = workflows.default_workflow()
    default.steps[2].channel = "email"  # a 14-day letter must go by post
    db.session.commit()
    page = client.get(f"/agency/workflows/{default.id}").get_data(as_text=True)
    assert "Friendly reminder" in page
    assert "after the due date" in page and "after the previous step" in page
    assert "step 3: a 14-day letter goes by post" in page


STEP = {"name": "Last call", "action": "email_reminder", "delay_days": "3", "channel": "email",
        "fallback_channel": "letter", "template_key": "reminder"}


def test_adding_a_step_at_a_position_moves_the_others(client, admin):
    default = workflows.default_workflow()
    page = client.get(f"/agency/workflows/{default.id}").get_data(as_text=True)
    response = client.post(f"/agency/workflows/{default.id}/steps",
                           data={**STEP, "position": "2", "csrf_token": _csrf(page)})
    assert response.status_code == 302
    db.session.expire_all()
    names = [(s.position, s.name) for s in workflows.default_workflow().steps]
    assert names[:3] == [(1, "Friendly reminder"), (2, "Last call"), (3, "Reminder")]
    assert len(names) == 7
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workflow.step_added"))


def test_editing_a_step_moves_it_and_changes_it(client, admin):
    default = workflows.default_workflow()
    first = default.steps[0]
    page = client.get(f"/agency/workflows/{default.id}?step={first.id}").get_data(as_text=True)
    assert 'value="Friendly reminder"' in page
    client.post(f"/agency/workflows/{default.id}/steps/{first.id}",
                data={**STEP, "position": "2", "delay_days": "10", "csrf_token": _csrf(page)})
    db.session.expire_all()
    steps = workflows.default_workflow().steps
    assert [(s.position, s.name, s.delay_days) for s in steps[:2]] == [
        (1, "Reminder", 14), (2, "Last call", 10)]


def test_a_step_without_a_name_is_refused(client, admin):
    default = workflows.default_workflow()
    page = client.get(f"/agency/workflows/{default.id}").get_data(as_text=True)
    response = client.post(f"/agency/workflows/{default.id}/steps",
                           data={**STEP, "name": "", "position": "1", "csrf_token": _csrf(page)})
    assert response.status_code == 422
    db.session.expire_all()
    assert len(workflows.default_workflow().steps) == 6


def test_deleting_a_step_closes_the_gap(client, admin):
    default = workflows.default_workflow()
    page = client.get(f"/agency/workflows/{default.id}").get_data(as_text=True)
    client.post(f"/agency/workflows/{default.id}/steps/{default.steps[1].id}/delete",
                data={"csrf_token": _csrf(page)})
    db.session.expire_all()
    steps = workflows.default_workflow().steps
    assert [(s.position, s.name) for s in steps[:2]] == [(1, "Friendly reminder"),
                                                          (2, "14-day letter")]


def test_the_editor_shows_the_text_and_a_preview_of_the_newest_open_case(client, admin, make):
    newest, _ = make.case()
    db.session.commit()
    page = client.get(EDITOR).get_data(as_text=True)
    subject, _body = notices.template_source("reminder", "email", "en")
    assert subject in page
    frame = re.search(r'<iframe src="([^"]+)"', page)[1].replace("&amp;", "&")
    assert f"case={newest.id}" in frame
    rendered = client.get(frame)
    assert rendered.status_code == 200
    assert newest.reference in rendered.get_data(as_text=True)
    assert "frame-ancestors 'self'" in rendered.headers["Content-Security-Policy"]


def test_the_preview_renders_the_draft_for_the_chosen_case_and_saves_nothing(client, admin):
    token = _csrf(client.get(EDITOR).get_data(as_text=True))
    response = client.post(f"{EDITOR}/preview", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "case": admin.id, "subject": "About {{ reference }}",
        "body": "Dear {{ debtor.greeting_name }}, we draft."})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section class="card preview" id="preview"')
    frame = re.search(r'<iframe src="([^"]+)"', fragment)[1].replace("&amp;", "&")
    letter = client.get(frame).get_data(as_text=True)
    assert f"About {admin.reference}" in letter
    assert f"Dear {admin.debtor.name}, we draft." in letter
    assert _template_count() == 0


def test_the_preview_shows_the_line_of_a_problem(client, admin):
    token = _csrf(client.get(EDITOR).get_data(as_text=True))
    fragment = client.post(f"{EDITOR}/preview", data={
        "csrf_token": token, "case": admin.id, "subject": "S",
        "body": "one\ntwo {{ unknown }}"}).get_data(as_text=True)
    assert "Line 2: " in fragment and "unknown" in fragment
    assert "<iframe" not in fragment


def test_saving_a_text_stores_it_and_the_next_render_uses_it(client, admin):
    token = _csrf(client.get(EDITOR).get_data(as_text=True))
    response = client.post(EDITOR, data={"csrf_token": token, "case": admin.id,
                                         "subject": "Pay {{ reference }} now",
                                         "body": "Hello {{ debtor.name }}, a new text."})
    assert response.status_code == 302
    row = db.session.scalar(select(MessageTemplate))
    assert (row.key, row.channel, row.language) == ("reminder", "email", "en")
    html = notices.preview("reminder", "email", "en", admin, action=ACTION_OF_KEY["reminder"])
    assert f"Hello {admin.debtor.name}, a new text." in html
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "template.saved"))


def test_a_text_with_an_unknown_name_is_refused_with_its_line(client, admin):
    token = _csrf(client.get(EDITOR).get_data(as_text=True))
    response = client.post(EDITOR, data={"csrf_token": token, "case": admin.id,
                                         "subject": "S", "body": "Hello\n\n{{ unknown }}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 3: " in page and "unknown" in page
    assert _template_count() == 0


def test_resetting_deletes_the_edited_text(client, admin):
    db.session.add(MessageTemplate(key="reminder", channel="email", language="en",
                                   subject="Mine", body="Mine"))
    db.session.commit()
    page = client.get(EDITOR).get_data(as_text=True)
    assert 'value="Mine"' in page
    response = client.post(f"{EDITOR}/reset", data={"csrf_token": _csrf(page)})
    assert response.status_code == 302
    assert _template_count() == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "template.reset"))


@pytest.mark.parametrize("path", ["/templates/nope/email/en", "/templates/reminder/sms/en",
                                  "/templates/reminder/email/de"])
def test_an_unknown_text_is_not_found(client, admin, path):
    assert client.get(f"/agency/workflows{path}").status_code == 404
