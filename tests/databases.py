"""Fixtures for tests that need a real schema: built by the migrations, on SQLite and PostgreSQL.

A test module uses them by naming this module: `pytest_plugins = ["tests.databases"]`.

SQLite: a fresh file under the test's tmp_path.

PostgreSQL: `TEST_DATABASE_URL` names the server and credentials; tests that need it skip when it
is unset. The database it names is never written to: one throwaway database
`portal_test_<random hex>` is created per test session through the `postgres` maintenance
database and dropped (WITH (FORCE)) when the session ends, so parallel runs sharing a server
cannot see each other. Within the session each test starts from an empty `public` schema: its
teardown drops and recreates the schema, which takes the tables, triggers and functions with it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from portal import create_app
from portal.config import database_url
from portal.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_MIGRATION_LOGGERS = ("", "alembic", "sqlalchemy.engine", "flask_migrate")


def _admin_engine(database: str) -> Engine:
    """An autocommit engine on another database of the test server (CREATE DATABASE needs it)."""
    url = make_url(database_url(TEST_DATABASE_URL or "")).set(database=database)
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """The URL of a PostgreSQL database that lives as long as the test session."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    name = f"portal_test_{secrets.token_hex(6)}"
    admin = _admin_engine("postgres")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url(TEST_DATABASE_URL)).set(database=name).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_public_schema(url: str) -> None:
    """Drop everything a test built, so the next test starts from an empty database."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            # A connection a test leaked would make the DROP wait forever; fail instead.
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend, emptied again after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    url = request.getfixturevalue("pg_database_url")
    yield url
    _empty_public_schema(url)


@pytest.fixture
def bare_app(backend_url: str) -> Iterator[Flask]:
    """The app on an empty database (no tables), with an app context pushed."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": backend_url, "REDIS_URL": None})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def migrated_app(bare_app: Flask) -> Flask:
    """The app on a database built by `flask db upgrade` (with the ledger's triggers)."""
    run_flask_db(bare_app, "upgrade")
    return bare_app


@pytest.fixture
def flask_db() -> Callable[..., str]:
    """`flask_db(app, "downgrade", "base")` runs `flask db downgrade base`."""
    return run_flask_db


@contextmanager
def _logging_restored() -> Iterator[None]:
    """Alembic's env.py applies alembic.ini's logging config; undo it for the other tests."""
    loggers = [logging.getLogger(name) for name in _MIGRATION_LOGGERS]
    saved = [(logger, logger.level, list(logger.handlers)) for logger in loggers]
    try:
        yield
    finally:
        for logger, level, handlers in saved:
            logger.setLevel(level)
            for handler in list(logger.handlers):
                if handler not in handlers:
                    logger.removeHandler(handler)
            for handler in handlers:
                logger.addHandler(handler)


def run_flask_db(app: Flask, *args: str) -> str:
    """Run `flask db <args>` through the real CLI command; fail the test if it fails."""
    with _logging_restored():
        result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}"
    assert result.exception is None
    return result.output
