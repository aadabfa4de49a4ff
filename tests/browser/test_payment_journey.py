"""A debtor on a phone pays part of a case with the sandbox provider, in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import assert_fits_the_screen, screenshot

pytestmark = pytest.mark.browser


def test_debtor_on_a_phone_pays_part_with_the_sandbox(
    phone_context: BrowserContext, live_server: LiveServer, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("portal.queue._enqueue_all", lambda jobs: None)  # no worker here
    seed = live_server.seed
    page = phone_context.new_page()
    page.goto("/pay")
    page.locator("#reference").fill(seed.own_case_reference)
    page.locator("#code").fill(seed.own_case_code)
    with page.expect_navigation():
        page.locator("#code").press("Enter")
    page.goto(f"/pay/cases/{seed.own_case_id}")
    expect(page.locator("#pay")).to_contain_text("€ 1.234,56")

    page.locator("#pay-amount").fill("3")  # below the client's minimum of € 10,00
    page.locator("#pay-amount").press("Enter")
    expect(page.locator("#pay-error")).to_contain_text("€ 10,00")
    expect(page.locator("#pay-amount")).to_have_attribute("aria-invalid", "true")
    assert_fits_the_screen(page)

    page.locator("#pay-amount").fill("100,50")
    with page.expect_navigation():
        page.locator("#pay-amount").press("Enter")
    expect(page).to_have_url(re.compile(r"/payments/sandbox/sbx_[0-9a-f]{24}$"))
    expect(page.locator("h1")).to_contain_text("100,50")
    assert_fits_the_screen(page)
    with page.expect_navigation():
        page.locator("button[value='approve']").click()

    expect(page).to_have_url(re.compile(r"/pay/payments/\d+$"))
    expect(page.locator("#payment-status")).to_have_class(re.compile(r"\bpayment-paid\b"))
    expect(page.locator("#payment-status")).to_contain_text("€ 1.134,06")
    assert_fits_the_screen(page)
    screenshot(page, tmp_path, "debtor-phone-paid")
    page.goto(f"/pay/cases/{seed.own_case_id}")
    expect(page.locator(".breakdown .total")).to_contain_text("€ 1.134,06")
