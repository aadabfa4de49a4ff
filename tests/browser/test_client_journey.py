"""A client user hands over claims, opens one of the new cases and downloads a status report,
in headless Chromium. The jobs the pages queue run at once, in the server (no worker here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import current_app
from playwright.sync_api import BrowserContext, expect
from rq.utils import import_attribute

from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import screenshot, sign_in
from tests.conftest import RQ_OPTIONS

pytestmark = pytest.mark.browser

HEADER = ("Naam;Soort;E-mail;Telefoon;Adres;Postcode;Plaats;Land;Taal;Factuurnummer;"
          "Factuurdatum;Vervaldatum;Bedrag;Valuta;Omschrijving\n")
GOOD = (HEADER
        + "Jan Jansen;particulier;jan@jansen.nl;0612345678;Dorpsstraat 1;1234 AB;Utrecht;NL;"
          "nl;F-9001;01-10-2026;31-10-2026;125,50;EUR;Taart\n"
        + "Piet Bakker BV;bedrijf;piet@bakker.nl;0201234567;Markt 2;1011 AA;Amsterdam;NL;nl;"
          "F-9002;2026-10-01;2026-10-31;80,00;EUR;Brood\n")
# The same file with two mistakes: an email address without its domain, an amount in words.
BAD = GOOD.replace("jan@jansen.nl", "jan@jansen").replace(";80,00;", ";tachtig;")


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch):
    """Work each job after its request's commit, in a fresh app context, as a worker would."""

    def run(jobs):
        app = current_app._get_current_object()
        for _queue, func, args, kwargs in jobs:
            func = import_attribute(func) if isinstance(func, str) else func
            with app.app_context():
                func(*args, **{k: v for k, v in kwargs.items() if k not in RQ_OPTIONS})

    monkeypatch.setattr("portal.queue._enqueue_all", run)


def upload(page, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.goto("/client/imports")
    page.locator("main input[type=file]").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def test_client_hands_over_claims_and_downloads_a_report(
    context: BrowserContext, live_server: LiveServer, tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, live_server.seed.client_user_email, live_server.seed.password)

    # A file with mistakes: every problem named by row and field, nothing imported.
    upload(page, tmp_path, "claims-wrong.csv", BAD)
    problems = page.locator("#problems")
    expect(problems.locator("tr", has_text="not an email address")).to_contain_text("2")
    expect(problems.locator("tr", has_text="not an amount")).to_contain_text("3")
    expect(page.get_by_role("button", name="Import these claims")).to_have_count(0)
    screenshot(page, tmp_path, "client-import-problems")

    # The corrected file imports both rows.
    upload(page, tmp_path, "claims.csv", GOOD)
    with page.expect_navigation():
        page.get_by_role("button", name="Import these claims").click()
    expect(page.locator("main")).to_contain_text("Imported")

    # The new case is in the list and opens with its invoice.
    page.goto("/client/cases?q=Jan+Jansen")
    page.locator("main a", has_text=re.compile(r"K-\d{4}-\d{6}")).first.click()
    expect(page.locator("main")).to_contain_text("F-9001")

    # A report for this month, made at once (the job runs in the server), then downloaded.
    page.goto("/client/reports")
    page.locator("#period_start").fill("2026-11-01")
    page.locator("#period_end").fill("2026-11-23")
    with page.expect_navigation():
        page.get_by_role("button", name="Make the report").click()
    link = page.locator("#report-list a", has_text="PDF").first
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    screenshot(page, tmp_path, "client-reports")
