"""The caller's journey in headless Chromium: sign in, Next case (the N key), log a promise with
the keyboard, Next again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import Case, PromiseToPay, TaskReason
from portal.services import call_queue, calls
from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import screenshot, sign_in

pytestmark = pytest.mark.browser


def _agency_today() -> date:
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def _midday_zone() -> str:
    """A time zone where it is about noon now, so the call is inside calling hours."""
    offset = max(-12, min(14, 12 - datetime.now(UTC).hour))
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def _seed_task(tmp_path: Path, case_id: int) -> None:
    """Put the seeded case on the call queue, through the live server's database."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite3'}",
                      "REDIS_URL": None})
    with app.app_context():
        calls.ensure_default_reasons()
        case = db.session.get(Case, case_id)
        case.debtor.phone = "+31 20 123 4567"
        case.debtor.timezone = _midday_zone()
        call_queue.add_task(case, TaskReason.WORKFLOW_CALL, _agency_today())
        db.session.commit()
        db.engine.dispose()


def _promises(tmp_path: Path) -> list[tuple[int, date]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite3'}",
                      "REDIS_URL": None})
    with app.app_context():
        rows = [(p.amount_cents, p.due_on) for p in db.session.scalars(select(PromiseToPay))]
        db.engine.dispose()
    return rows


def test_caller_takes_the_next_case_and_logs_a_promise(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    seed = live_server.seed
    _seed_task(tmp_path, seed.own_case_id)
    sign_in(page, seed.caller_email, seed.password)
    page.goto("/agency/queue/")
    page.locator("body").click()  # focus on the page, not in a field
    with page.expect_navigation():
        page.keyboard.press("n")
    expect(page.locator("h1")).to_contain_text(seed.debtor_name)
    expect(page.locator("a[href^='tel:']")).to_have_count(1)

    page.keyboard.press("3")  # promise to pay
    expect(page.locator("#outcome-promise")).to_be_checked()
    due = _agency_today() + timedelta(days=7)
    page.locator("#promise_amount").fill("250")
    page.locator("#promise_due_on").fill(due.isoformat())
    page.locator("#reason").select_option(index=1)
    screenshot(page, tmp_path, "caller-task")
    page.locator("#outcome-promise").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#logged")).to_be_visible()
    assert _promises(tmp_path) == [(250_00, due)]

    with page.expect_navigation():
        page.keyboard.press("n")  # nothing left: the home page says why
    expect(page.locator("#why-nothing")).to_be_visible()
    screenshot(page, tmp_path, "caller-after-promise")
