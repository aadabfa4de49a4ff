"""One journey per audience, through real forms in headless Chromium.

Staff and debtors read Dutch by default, so amounts appear as "€ 1.234,56"; the client user
reads English. Links are found by their address or by a case reference rather than by words
that translations will change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the login form, as a person would: type, then press Enter."""
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Keep the final page next to the test's other files: handy when a run fails."""
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def open_case_by_reference(page: Page, reference: str) -> None:
    """Follow the case's link in a list, found by its reference, and land on its page."""
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.locator("h1")).to_contain_text(reference)


def test_agency_admin_searches_and_opens_a_case(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    seed = live_server.seed
    sign_in(page, seed.admin_email, seed.password)
    expect(page).to_have_url(f"{live_server.url}/agency/")
    # Three open cases: 1.234,56 + 500,00 + 99,00.
    expect(page.locator(".stats")).to_contain_text("€ 1.833,56")
    expect(page.locator("header nav a[href='/agency/settings/']")).to_have_count(1)  # admins only

    page.locator("header nav a[href='/agency/cases']").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(3)
    search_by_typing(page, seed.debtor_name.split()[-1])
    expect(rows).to_have_count(2)
    expect(page.locator("#results")).not_to_contain_text(seed.other_debtor_name)

    open_case_by_reference(page, seed.own_case_reference)
    expect(page.locator("tfoot")).to_contain_text("€ 1.234,56")
    screenshot(page, tmp_path, "agency-admin-case")


def search_by_typing(page: Page, text: str) -> None:
    """Type into the search box; htmx swaps the results in and pushes the URL, no page load."""
    page.evaluate("window.stillTheSamePage = true")  # a real navigation would wipe this
    with page.expect_response(lambda r: f"q={text}" in r.url) as answer:
        page.locator("#q").press_sequentially(text)
    assert answer.value.request.headers.get("hx-request") == "true"
    assert answer.value.status == 200
    expect(page).to_have_url(re.compile(rf"/agency/cases\?(.*&)?q={text}(&|$)"))
    assert page.evaluate("window.stillTheSamePage") is True


def test_caller_opens_a_case(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    seed = live_server.seed
    sign_in(page, seed.caller_email, seed.password)
    expect(page).to_have_url(f"{live_server.url}/agency/")
    # Interest rates are the admin's business, not a caller's.
    expect(page.locator("a[href^='/agency/settings']")).to_have_count(0)

    page.locator("header nav a[href='/agency/cases']").click()
    expect(page.locator("#results tbody tr")).to_have_count(3)
    open_case_by_reference(page, seed.foreign_case_reference)
    expect(page.locator("tfoot")).to_contain_text("€ 500,00")
    screenshot(page, tmp_path, "caller-case")


def test_client_user_sees_only_their_own_cases(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    seed = live_server.seed
    sign_in(page, seed.client_user_email, seed.password)
    expect(page).to_have_url(f"{live_server.url}/client/")

    page.locator("header nav a[href='/client/cases']").click()
    results = page.locator("#results")
    expect(results.locator("tbody tr")).to_have_count(2)
    expect(results).not_to_contain_text(seed.foreign_case_reference)
    open_case_by_reference(page, seed.own_case_reference)
    expect(page.locator("main")).to_contain_text("€1,234.56")

    response = page.goto(f"/client/cases/{seed.foreign_case_id}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text(seed.foreign_case_reference)
    screenshot(page, tmp_path, "client-user-not-found")


def test_debtor_on_a_phone_pays_page_in_their_language(
    phone_context: BrowserContext, live_server: LiveServer, tmp_path: Path
) -> None:
    seed = live_server.seed
    page = phone_context.new_page()
    page.goto("/pay")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.locator("#reference").fill(seed.own_case_reference)
    page.locator("#code").fill(seed.own_case_code)
    with page.expect_navigation():
        page.locator("#code").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/pay/cases")
    # Both of the debtor's cases, at either business: 1.234,56 + 500,00.
    expect(page.locator(".lead")).to_contain_text("€ 1.734,56")
    assert_fits_the_screen(page)

    page.locator(f"a[href='/pay/cases/{seed.own_case_id}']").click()
    expect(page.locator("main")).to_contain_text(seed.own_case_reference)
    expect(page.locator(".breakdown .total")).to_contain_text("€ 1.234,56")

    page.locator(".lang-switch button[lang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/pay/cases/{seed.own_case_id}")
    expect(page.locator(".breakdown .total")).to_contain_text("€1,234.56")
    assert_fits_the_screen(page)
    screenshot(page, tmp_path, "debtor-phone-case-en")


def assert_fits_the_screen(page: Page) -> None:
    """No sideways scrolling on a phone: the page is no wider than the viewport."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide on a {widths[1]}px screen"
