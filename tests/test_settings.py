"""Settings: stored values merge over their defaults; a change is audited."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.services import settings


def test_a_setting_is_its_default_until_changed_and_keeps_new_defaults(app, make):
    settings.register_default("test.weights", {"balance": 1, "age": 2})
    assert settings.get("test.weights") == {"balance": 1, "age": 2}
    admin = make.user(Role.ADMIN)
    settings.put("test.weights", {"balance": 5}, user=admin)
    db.session.commit()
    assert settings.get("test.weights") == {"balance": 5, "age": 2}
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "setting.changed")).one()
    assert event.actor_user_id == admin.id


def test_changing_a_returned_value_does_not_change_the_default(app):
    settings.register_default("test.rules", {"hours": [8, 21]})
    settings.get("test.rules")["hours"].append(23)
    assert settings.get("test.rules") == {"hours": [8, 21]}
