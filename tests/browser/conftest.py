"""The browser tier: Debian's Chromium driven by Playwright against a live server.

The tier skips with its reason where Chromium is not installed, and fails instead when
`REQUIRE_TIERS` names it (CI does), so a machine without a browser cannot pass it silently.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.models import Role
from tests.factories import PASSWORD, Factory

DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which on a closed
# network means a flood of failing connections and slow starts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Every step here answers in well under a second; failing after 10 s (not Playwright's 30 s)
# keeps a broken run short.
STEP_TIMEOUT_MS = 10_000


def required_tiers() -> set[str]:
    """The tiers CI insists on, from REQUIRE_TIERS=postgres,redis,browser."""
    return {tier.strip() for tier in os.environ.get("REQUIRE_TIERS", "").split(",") if tier.strip()}


def chromium_path() -> str | None:
    """The system Chromium: Playwright's own browser downloads are not available here."""
    found = shutil.which("chromium")
    if found:
        return found
    return DEBIAN_CHROMIUM if os.access(DEBIAN_CHROMIUM, os.X_OK) else None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, pointed at Debian's Chromium (or skip the tier)."""
    path = chromium_path()
    if path is None:
        reason = "browser tier: Chromium is not installed (apt-get install chromium)"
        if "browser" in required_tiers():
            pytest.fail(f"{reason}, but REQUIRE_TIERS includes browser", pytrace=False)
        pytest.skip(reason)
    return {"headless": True, **browser_type_launch_args, "executable_path": path,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url() -> None:
    """No fixed base URL: each test's context gets its live server's.

    This also replaces pytest-playwright's fallback `base_url`, a session fixture defined as
    an instance method, which pytest 9 deprecates with a warning (an error here).
    """
    return None


@dataclass(frozen=True)
class Seed:
    """What the journeys need to know about the seeded records, as plain values."""

    admin_email: str
    caller_email: str
    client_user_email: str
    debtor_name: str
    other_debtor_name: str
    own_case_id: int  # the debtor's case at the client user's business
    own_case_reference: str
    own_case_code: str  # its access code, as printed on the letter
    foreign_case_id: int  # the debtor's case at the second client
    foreign_case_reference: str
    password: str = PASSWORD


@dataclass(frozen=True)
class LiveServer:
    url: str
    seed: Seed


def seed_records(make: Factory) -> Seed:
    """An admin, a caller, two clients (one with a user), a debtor with two cases and one more."""
    admin = make.user(Role.ADMIN, email="anna.admin@example.com", name="Anna Admin")
    caller = make.user(Role.CALLER, email="carl.caller@example.com", name="Carl Caller")
    bakery = make.client("Korenschoof Bakkerij B.V.")
    bikes = make.client("Spaak Fietsen B.V.")
    # This client user reads English, so the journey can read the English error page.
    client_user = make.user(Role.CLIENT, client=bakery, email="kees@example.com",
                            name="Kees Klant", language="en")
    jansen = make.debtor(name="Joost Jansen")
    own_case, code = make.case(bakery, jansen, amounts=(1000_00, 234_56))
    foreign_case, _ = make.case(bikes, jansen, amounts=(500_00,))
    make.case(bakery, make.debtor(name="Pieter de Vries"), amounts=(99_00,))
    db.session.commit()
    return Seed(admin.email, caller.email, client_user.email, "Joost Jansen", "Pieter de Vries",
                own_case.id, own_case.reference, code, foreign_case.id, foreign_case.reference)


@pytest.fixture
def live_server(tmp_path: Path, smtp_server) -> Iterator[LiveServer]:
    """The app on a temp SQLite file, served over HTTP from a thread for this test only."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "REDIS_URL": None,
        # Requests arrive for 127.0.0.1:<port>, not for the test client's made-up host.
        "SERVER_NAME": None,
        "AGENCY_IBAN": "NL02ABNA0123456789",  # the trust account remittances are paid from
    })
    # A short context only: the server thread pushes its own for every request.
    with app.app_context():
        db.create_all()
        seed = seed_records(Factory())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", seed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext], live_server: LiveServer) -> BrowserContext:
    """pytest-playwright's context, with relative URLs resolved against the live server."""
    browser_context = new_context(base_url=live_server.url)
    browser_context.set_default_timeout(STEP_TIMEOUT_MS)
    return browser_context


@pytest.fixture
def phone_context(new_context: Callable[..., BrowserContext],
                  live_server: LiveServer) -> BrowserContext:
    """A phone-sized browser with Dutch as its language, as a debtor reading our letter has."""
    browser_context = new_context(base_url=live_server.url, locale="nl-NL", **PHONE)
    browser_context.set_default_timeout(STEP_TIMEOUT_MS)
    return browser_context
