"""Fixtures: the app from the factory, a fresh database per test, real SMTP, factories, sign-in."""

from __future__ import annotations

import os
import socket
import tempfile
from datetime import date

# Tests never write into the checkout's instance/ folder (documents, an embedded Redis):
# set before portal.config is imported, which reads it once.
os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-tests-"))

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
# CI lists the tiers that must run: a skipped test of such a tier fails instead.
REQUIRED_TIERS = {t.strip() for t in os.environ.get("REQUIRE_TIERS", "").split(",") if t.strip()}
TIERS = ("postgres", "redis", "browser")


def pytest_collection_modifyitems(config, items):
    found = {t for item in items for t in TIERS if item.get_closest_marker(t)}
    if missing := REQUIRED_TIERS - found:
        names = ", ".join(sorted(missing))
        raise pytest.UsageError(f"REQUIRE_TIERS: no tests collected for {names}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    tier = next((t for t in TIERS if item.get_closest_marker(t)), None)
    if report.skipped and tier in REQUIRED_TIERS and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"{tier} tier required (REQUIRE_TIERS) but skipped: {report.longrepr}"
    return report


class _Inbox(MessageHandler):
    """Collects every message the app sends over SMTP."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own `g` (so no signed-in
    user leaks between requests) and its own database session (so a view that forgets to
    commit fails its test)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def outbox(smtp_server):
    """The messages sent to the test SMTP server during this test."""
    smtp_server.handler.messages.clear()
    return smtp_server.handler.messages


@pytest.fixture
def app(tmp_path, smtp_server):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "MAIL_SUPPRESS_SEND": False,  # mail really goes over SMTP to the test server
            "DOCUMENTS_PATH": str(tmp_path / "documents"),
            "REDIS_URL": None,
        }
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    """Factories for records: make.client(), make.user(...), make.case(...)."""
    return factories.Factory()


@pytest.fixture
def login(client):
    """Sign a user in through the session (the auth tests sign in through the form)."""

    def _login(user, test_client=None):
        factories.sign_in_session(test_client or client, user)
        return user

    return _login


class QueuedJobs:
    """The jobs enqueued after commit, kept here instead of going to Redis; `run()` works them
    in this process, each in its own app context as the worker would."""

    def __init__(self, app) -> None:
        self.app = app
        self.jobs: list = []

    def __call__(self, jobs) -> None:
        self.jobs.extend(jobs)

    @property
    def names(self) -> list[tuple[str, str]]:
        """(queue, function name) of each job not yet run."""
        return [(queue, getattr(func, "__name__", str(func))) for queue, func, _, _ in self.jobs]

    def run(self) -> list:
        """Work every queued job (and the jobs those enqueue); returns their results."""
        from rq.utils import import_attribute

        results = []
        while self.jobs:
            _queue, func, args, kwargs = self.jobs.pop(0)
            func = import_attribute(func) if isinstance(func, str) else func
            kwargs = {k: v for k, v in kwargs.items() if k not in RQ_OPTIONS}
            with self.app.app_context():
                results.append(func(*args, **kwargs))
        return results


RQ_OPTIONS = {"job_timeout", "result_ttl", "ttl", "failure_ttl", "job_id", "retry",
              "depends_on", "at_front", "description", "meta"}


@pytest.fixture
def queued_jobs(app, monkeypatch) -> QueuedJobs:
    """Catch the jobs enqueued after commit; run them with `queued_jobs.run()`."""
    from portal import queue

    queued = QueuedJobs(app)
    monkeypatch.setattr(queue, "_enqueue_all", queued)
    return queued


@pytest.fixture
def today() -> date:
    return date(2026, 3, 2)
