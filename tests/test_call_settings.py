"""The call team's settings pages (admins): reasons for not paying, scripts, weights and rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.agency.call_settings_forms import RULE_FIELDS, weight_fields
from portal.domain.calls import DEFAULT_RULES, DEFAULT_WEIGHTS
from portal.extensions import db
from portal.models import CallLog, CallOutcome, NonPaymentReason, Role, Setting, TaskReason
from portal.services import call_reasons, call_scripts, settings
from tests.pages import csrf_token

REASONS = "/agency/settings/call-reasons"
SCRIPTS = "/agency/settings/call-scripts"
CALLS = "/agency/settings/calls"


@pytest.fixture
def admin(make, login, client):
    user = make.user(Role.ADMIN, language="en")
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login(user)


def _post(client, url, **data):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _reasons() -> list[tuple[str, str, bool]]:
    db.session.expire_all()
    return [(r.label_en, r.label_nl, r.active) for r in call_reasons.all_reasons()]


@pytest.mark.parametrize("url", [REASONS, SCRIPTS, CALLS])
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER])
def test_only_admins(app, make, client, login, url, role):
    login(make.user(role))
    db.session.commit()
    assert client.get(url).status_code == 403


# -- reasons --------------------------------------------------------------------------------


def test_add_the_usual_reasons_then_add_rename_and_reorder(app, client, admin):
    assert "Add the usual reasons" in client.get(REASONS).get_data(as_text=True)
    assert _post(client, REASONS, action="defaults").status_code == 302
    assert _reasons()[0] == ("Cannot pay now", "Kan nu niet betalen", True)
    assert len(_reasons()) == len(call_reasons.DEFAULT_REASONS)

    assert _post(client, REASONS, action="add", **{"new-label_en": "Lost my job",
                                                   "new-label_nl": "Baan kwijt"}).status_code == 302
    new = db.session.scalar(select(NonPaymentReason).where(NonPaymentReason.code == "lost_my_job"))
    assert _reasons()[-1] == ("Lost my job", "Baan kwijt", True)

    _post(client, REASONS, action="up", reason_id=new.id)
    assert _reasons()[-2][0] == "Lost my job"
    _post(client, REASONS, action="rename", reason_id=new.id,
          **{f"{new.id}-label_en": "Lost their job", f"{new.id}-label_nl": "Werk kwijt"})
    assert ("Lost their job", "Werk kwijt", True) in _reasons()


def test_reason_labels_are_required(app, client, admin):
    response = _post(client, REASONS, action="add", **{"new-label_en": "Only English"})
    assert response.status_code == 422
    assert "Fill in the words for this language." in response.get_data(as_text=True)
    assert _reasons() == []


def test_a_used_reason_cannot_be_deleted_only_deactivated(app, make, client, admin):
    used = call_reasons.add("Forgot", "Vergeten")
    unused = call_reasons.add("Typo", "Tikfout")
    case, _code = make.case()
    db.session.add(CallLog(case_id=case.id, caller_id=admin.id, outcome=CallOutcome.OTHER,
                           started_at=datetime(2026, 3, 2, 10, tzinfo=UTC), reason_id=used.id,
                           conversation=True))
    db.session.commit()

    page = client.get(REASONS).get_data(as_text=True)
    used_row = page.split(f'id="reason-{used.id}"')[1].split("</tr>")[0]
    assert 'value="delete"' not in used_row
    response = _post(client, REASONS, action="delete", reason_id=used.id)
    assert response.status_code == 422
    assert "cannot be deleted" in response.get_data(as_text=True)
    assert _post(client, REASONS, action="deactivate", reason_id=used.id).status_code == 302
    assert _post(client, REASONS, action="delete", reason_id=unused.id).status_code == 302

    assert _reasons() == [("Forgot", "Vergeten", False)]
    assert call_reasons.active_reasons() == []


# -- scripts --------------------------------------------------------------------------------


def _script_form(**changes) -> dict[str, str]:
    data = {f"script-{r}-{lang}": call_scripts.default_script(r, lang)
            for r in TaskReason for lang in call_scripts.LANGUAGES}
    data.update(changes)
    return data


def test_scripts_show_the_default_and_save_an_admins_text(app, client, admin):
    page = client.get(SCRIPTS).get_data(as_text=True)
    assert call_scripts.default_script(TaskReason.PROMISE_DUE, "en").split("{")[0] in page

    response = _post(client, SCRIPTS, **_script_form(
        **{"script-promise_due-nl": "Vraag naar de betaling van {debtor}."}))

    assert response.status_code == 302
    assert call_scripts.script_for("promise_due", "nl", debtor="Jan") == \
        "Vraag naar de betaling van Jan."
    assert call_scripts.script_for("promise_due", "en") == call_scripts.default_script(
        TaskReason.PROMISE_DUE, "en")
    assert len(call_scripts.stored_scripts()) == 1

    _post(client, SCRIPTS, **_script_form(**{"script-promise_due-nl": ""}))
    db.session.expire_all()
    assert call_scripts.stored_scripts() == {}


def test_a_script_too_long_is_refused(app, client, admin):
    response = _post(client, SCRIPTS, **_script_form(**{"script-manual-en": "x" * 4001}))
    assert response.status_code == 422
    assert call_scripts.stored_scripts() == {}


def test_script_for_keeps_unknown_braces(app):
    call_scripts.save(TaskReason.MANUAL, "en", "Hi {debtor}, ref {case} {")
    assert call_scripts.script_for(TaskReason.MANUAL, "en", debtor="Ann") == \
        "Hi {debtor}, ref {case} {"  # a stray brace: shown unfilled rather than failing
    call_scripts.save(TaskReason.MANUAL, "en", "Hi {debtor}, ref {case}")
    assert call_scripts.script_for(TaskReason.MANUAL, "de", debtor="Ann") == "Hi Ann, ref {case}"


# -- weights and rules ----------------------------------------------------------------------


def _settings_form(**changes) -> dict[str, str]:
    data = {name: str(default)
            for name, _label, _sub, _value, default in weight_fields(DEFAULT_WEIGHTS)}
    for place in ("NL", "US"):
        for name, *_rest in RULE_FIELDS:
            data[f"r-{place}-{name}"] = str(getattr(DEFAULT_RULES, name))
        data[f"r-{place}-enabled"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_settings_page_shows_the_regulation_f_defaults(app, client, admin):
    html = client.get(CALLS).get_data(as_text=True)
    assert "Regulation F" in html
    assert 'name="r-US-start" value="08:00"' in html
    assert 'name="w-reason-callback" value="100"' in html


def test_settings_round_trip(app, make, client, admin):
    from portal.services import call_queue

    response = _post(client, CALLS, **_settings_form(**{
        "r-US-max_attempts": "2", "r-US-start": "09:00", "w-balance": "15,5",
        "w-reason-manual": "55", "r-NL-enabled": None}))

    assert response.status_code == 302
    db.session.expire_all()
    us = call_queue.rules_for(make.debtor(country="US"))
    assert (us.max_attempts, us.start, us.enabled) == (2, "09:00", True)
    assert call_queue.rules_for(make.debtor(country="NL")).enabled is False
    weights = settings.get("call.weights")
    assert weights["balance"] == 15.5 and weights["reason"]["manual"] == 55
    html = client.get(CALLS).get_data(as_text=True)
    assert 'name="r-US-max_attempts" value="2"' in html


@pytest.mark.parametrize("changes, field", [
    ({"r-US-start": "8 am"}, "r-US-start"),
    ({"r-NL-start": "21:00", "r-NL-end": "08:00"}, "r-NL-end"),
    ({"r-US-max_attempts": "0"}, "r-US-max_attempts"),
    ({"r-US-window_days": "seven"}, "r-US-window_days"),
    ({"w-balance": "lots"}, "w-balance"),
    ({"w-days_overdue_cap": "1.5"}, "w-days_overdue_cap"),
    ({"w-last_outcome-refused": "-5000"}, "w-last_outcome-refused"),
])
def test_settings_validation_errors(app, client, admin, changes, field):
    response = _post(client, CALLS, **_settings_form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert db.session.scalar(select(Setting)) is None  # nothing stored
