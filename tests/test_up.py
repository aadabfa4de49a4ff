"""The pieces of `flask up` that can run without serving: the mail sink, the children, the database.

The full command (which blocks serving requests) is not started here.
"""

from __future__ import annotations

import re
import signal
import smtplib
import socket
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage

import pytest

from portal.cli import devmail, up
from portal.config import ROOT

# bare_app: an empty database on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
pytest_plugins = ["tests.databases"]

REDIS = "unix:///tmp/portal-test/redis.socket"
CODE_LINE = re.compile(r"K-\d{4}-\d{6}\s+access code [A-Z0-9]{4}-[A-Z0-9]{4}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sink(tmp_path):
    announced: list[str] = []
    controller = devmail.start_sink(tmp_path / "outbox", port=free_port(),
                                    announce=announced.append)
    yield controller, tmp_path / "outbox", announced
    controller.stop()


def send(port: int, *, subject: str, bcc: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "noreply@portal.test"
    message["To"] = "debtor@example.test"
    message["Subject"] = subject
    message.set_content("Uw betaling is ontvangen.\n")
    recipients = ["debtor@example.test", *([bcc] if bcc else [])]
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message, to_addrs=recipients)


def test_the_sink_saves_each_message_as_an_eml_file(sink):
    controller, outbox, announced = sink
    send(controller.port, subject="Betaling ontvangen", bcc="archive@agency.test")
    send(controller.port, subject="Second")
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no half-written .part files left
    first = message_from_bytes(files[0].read_bytes())
    assert first["Subject"] == "Betaling ontvangen"
    assert first.get_payload().strip() == "Uw betaling is ontvangen."
    # The envelope shows the Bcc recipient the headers do not.
    assert first["X-Envelope-To"] == "debtor@example.test, archive@agency.test"
    assert first["X-Envelope-From"] == "noreply@portal.test"
    assert len(announced) == 2 and str(files[0]) in announced[0]


def test_a_second_sink_on_a_taken_port_says_so(sink, tmp_path):
    controller, _, _ = sink
    with pytest.raises(OSError):
        devmail.start_sink(tmp_path / "other", port=controller.port)


def children(**overrides) -> dict[str, up.Child]:
    options = {"timezone": "Europe/Amsterdam", "instance_path": "/srv/portal/instance",
               "base_env": {"DATABASE_URL": "sqlite:////srv/portal.sqlite3", "TZ": "UTC"},
               "public_url": "http://127.0.0.1:5077", "python": "/venv/bin/python"}
    return {child.name: child for child in up.child_processes(REDIS, **(options | overrides))}


def test_the_worker_and_the_scheduler_share_redis_database_and_instance():
    found = children()
    assert found["worker"].argv == ["/venv/bin/python", str(ROOT / "worker.py")]
    assert found["cron"].argv == ["/venv/bin/python", "-m", "rq.cli", "cron", "portal.jobs.cron",
                                  "--url", REDIS]
    for child in found.values():
        assert child.env["REDIS_URL"] == REDIS
        assert child.env["DATABASE_URL"] == "sqlite:////srv/portal.sqlite3"
        assert child.env["PORTAL_INSTANCE_PATH"] == "/srv/portal/instance"


def test_only_the_scheduler_runs_in_the_agency_time_zone():
    found = children(timezone="Europe/Amsterdam")
    assert found["cron"].env["TZ"] == "Europe/Amsterdam"
    assert found["worker"].env["TZ"] == "UTC"


@pytest.mark.parametrize(("configured", "expected"), [
    ("", "http://127.0.0.1:5077"),  # unset: links point at the server `up` runs
    ("https://portal.example", "https://portal.example"),
])
def test_children_link_to_the_served_url_unless_one_is_configured(configured, expected):
    found = children(base_env={"PUBLIC_URL": configured})
    assert {child.env["PUBLIC_URL"] for child in found.values()} == {expected}


@pytest.mark.parametrize(("server", "port", "expected"), [
    ("127.0.0.1", 8025, ("127.0.0.1", 8025)),
    ("localhost", "1025", ("localhost", 1025)),
    ("smtp.agency.example", 587, None),  # real mail: no sink
])
def test_the_sink_runs_only_where_mail_is_sent_to_this_machine(server, port, expected):
    assert up.mail_sink_address({"MAIL_SERVER": server, "MAIL_PORT": port}) == expected


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "http://127.0.0.1:5000"),
    ("0.0.0.0", "http://127.0.0.1:5000"),  # noqa: S104 - listening everywhere, browse locally
    ("portal.local", "http://portal.local:5000"),
])
def test_the_printed_url_is_one_a_browser_can_open(host, expected):
    assert up.browser_url(host, 5000) == expected


def spawn(code: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_stopping_terminates_children_and_kills_the_stubborn_ones():
    polite = spawn("import time; print('ready', flush=True); time.sleep(60)")
    stubborn = spawn("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                     "print('ready', flush=True); time.sleep(60)")
    up.stop_processes([polite, stubborn], timeout=0.5)
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    polite.stdout.close()
    stubborn.stdout.close()


def test_prepare_database_migrates_makes_demo_data_once_then_lists_logins(bare_app):
    # A migrated database, unlike the create_all one of the other tests: the ledger's
    # append-only triggers are in place, so the demo must never change an entry.
    from tests.databases import _logging_restored  # after pytest has loaded it as a plugin

    with _logging_restored():
        first = up.prepare_database("http://127.0.0.1:5077")
        second = up.prepare_database("http://127.0.0.1:5077")
    assert "Demo data made" in first and CODE_LINE.search(first)
    assert "admin@demo.test" in second and not CODE_LINE.search(second)
    assert "flask --app portal demo --reset" in second
    assert "http://127.0.0.1:5077/login" in second
