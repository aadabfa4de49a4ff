"""A debtor on a phone proposes a payment plan and opens a dispute, in headless Chromium.

The debtor reads Dutch (their record's language), so the journeys find things by their ids
and by the amounts, which read the same in both languages' formatting here ("€ 205,76").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import assert_fits_the_screen, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    """No worker runs here: the emails these steps queue are dropped, not sent."""
    monkeypatch.setattr("portal.queue._enqueue_all", lambda jobs: None)


def open_own_case(page: Page, live_server: LiveServer) -> None:
    """Sign in with the letter's reference and code, then open the case at the bakery."""
    seed = live_server.seed
    page.goto("/pay")
    page.locator("#reference").fill(seed.own_case_reference)
    page.locator("#code").fill(seed.own_case_code)
    with page.expect_navigation():
        page.locator("#code").press("Enter")
    page.goto(f"/pay/cases/{seed.own_case_id}")


def test_debtor_on_a_phone_proposes_a_plan_and_sees_it_at_once(
    phone_context: BrowserContext, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone_context.new_page()
    open_own_case(page, live_server)
    page.locator(f"a[href='/pay/cases/{live_server.seed.own_case_id}/arrangement']").click()
    expect(page).to_have_url(re.compile(r"/arrangement$"))

    # Choosing 6 payments redraws the schedule in place (htmx), before anything is saved.
    page.locator("#count").select_option("6")
    rows = page.locator("#plan-preview table.schedule tbody tr")
    expect(rows).to_have_count(6)
    expect(page.locator("#plan-preview tfoot")).to_contain_text("€ 1.234,56")
    expect(page.locator("#plan-preview .plan-verdict")).to_have_class(re.compile(r"\bok\b"))
    assert_fits_the_screen(page)
    screenshot(page, tmp_path, "debtor-phone-plan-preview")

    with page.expect_navigation():
        page.locator("button[value='confirm']").click()
    expect(page).to_have_url(re.compile(rf"/pay/cases/{live_server.seed.own_case_id}$"))
    plan = page.locator("#arrangement")
    expect(plan.locator(".instalment")).to_have_count(6)
    expect(plan.locator("button[type='submit']")).to_contain_text("€ 205,76")
    assert_fits_the_screen(page)
    screenshot(page, tmp_path, "debtor-phone-plan-active")


def test_debtor_on_a_phone_opens_a_dispute_with_a_photo(
    phone_context: BrowserContext, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone_context.new_page()
    open_own_case(page, live_server)
    page.locator(f"a[href='/pay/cases/{live_server.seed.own_case_id}/dispute']").click()
    page.locator("#reason").select_option("not_delivered")
    page.locator("#description").fill("De taarten zijn nooit bezorgd.")

    # A Word file is refused by what it is, with its name, and nothing is kept.
    page.locator("#evidence").set_input_files(
        [{"name": "brief.docx", "mimeType": "application/msword", "buffer": b"PK\x03\x04 doc"}])
    with page.expect_navigation():
        page.locator(".dispute-form button[type='submit']").click()
    expect(page.locator("#dispute-problems")).to_contain_text("brief.docx")
    assert_fits_the_screen(page)

    page.locator("#evidence").set_input_files(
        [{"name": "bon.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n photo"}])
    with page.expect_navigation():
        page.locator(".dispute-form button[type='submit']").click()
    expect(page).to_have_url(re.compile(rf"/pay/cases/{live_server.seed.own_case_id}$"))
    dispute = page.locator(".dispute-open")
    expect(dispute).to_contain_text("De taarten zijn nooit bezorgd.")
    expect(dispute.get_by_role("link", name="bon.png")).to_be_visible()
    assert_fits_the_screen(page)
    screenshot(page, tmp_path, "debtor-phone-dispute")
