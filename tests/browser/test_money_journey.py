"""Money in and out in headless Chromium: the admin uploads a bank statement that pays a case,
fills in the client's IBAN, makes a remittance run, approves it and downloads the bank file;
the trust account adds up; the client user reads the statement in the portal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_client_journey import jobs_run_at_once  # noqa: F401 (autouse fixture)
from tests.browser.test_journeys import screenshot, sign_in
from tests.test_bank_import import camt

pytestmark = pytest.mark.browser


def test_a_bank_payment_is_remitted_to_the_client(
    context: BrowserContext, live_server: LiveServer, tmp_path: Path
) -> None:
    seed = live_server.seed
    page = context.new_page()
    sign_in(page, seed.admin_email, seed.password)

    # Money in: 500.00 with the case reference, booked on 5 March 2026.
    statement = tmp_path / "statement.xml"
    statement.write_bytes(camt([{"ref": "BANK-1", "amount": "500.00", "name": seed.debtor_name,
                                 "text": f"Betaling {seed.own_case_reference}"}]))
    page.goto("/agency/bank/")
    page.locator("main input[type=file]").set_input_files(str(statement))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(seed.own_case_reference)

    # The client's IBAN, on its page under Clients.
    page.goto("/agency/clients/")
    page.get_by_role("link", name="Korenschoof Bakkerij B.V.").first.click()
    page.locator("#iban").fill("nl91 abna 0417 1643 00")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    # Money out: a draft up to today (the transfer is booked the day it is matched), its
    # figures, then approval and the bank file.
    page.goto("/agency/remittances/")
    page.locator("#period_start").fill("2026-03-01")
    page.locator("#period_end").fill(datetime.now(ZoneInfo("Europe/Amsterdam")).date().isoformat())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    main = page.locator("main")
    # 15 % of 500.00 = 75.00, VAT 21 % = 15.75, payout 409.25 (Dutch: 409,25)
    expect(main).to_contain_text("75,00")
    expect(main).to_contain_text("15,75")
    expect(main).to_contain_text("409,25")
    screenshot(page, tmp_path, "remittance-draft")
    with page.expect_navigation():
        page.locator("form[action$='/approve'] button").click()
    with page.expect_download() as download:
        page.locator("a[href$='pain001.xml']").click()
    xml = Path(download.value.path()).read_text()
    assert "<InstdAmt Ccy=\"EUR\">409.25</InstdAmt>" in xml
    assert "NL91ABNA0417164300" in xml

    page.goto("/agency/remittances/trust")
    expect(page.locator("main")).to_contain_text("500,00")
    expect(page.locator(".flash-success")).to_be_visible()
    screenshot(page, tmp_path, "trust")

    # The client user reads the statement (English) and downloads the CSV.
    client_page = context.browser.new_context(base_url=live_server.url).new_page()
    sign_in(client_page, seed.client_user_email, seed.password)
    client_page.goto("/client/remittances")
    expect(client_page.locator("main")).to_contain_text("409.25")
    client_page.locator("main table a").first.click()
    expect(client_page.locator("main")).to_contain_text(seed.own_case_reference)
    expect(client_page.locator("main")).to_contain_text("NL91 ABNA 0417 1643 00")
    screenshot(client_page, tmp_path, "client-remittance")
