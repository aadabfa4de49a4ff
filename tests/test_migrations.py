"""The migrations build the schema the models describe, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import Column, Integer, MetaData, inspect, text

from portal.extensions import db

FlaskDb = Callable[..., str]  # the flask_db fixture: flask_db(app, "upgrade")

# Fixtures: bare_app (an empty database), migrated_app and flask_db, on each backend.
pytest_plugins = ["tests.databases"]

GUARD_FUNCTION = "ledger_entries_refuse_change"


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _head_revision() -> str:
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _schema_differences(metadata: MetaData) -> list[Any]:
    """What autogenerate would write to bring the database to `metadata` (empty: they agree)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def _ledger_guard() -> set[str]:
    """The triggers (and, on PostgreSQL, the function) that keep the ledger append-only."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            return set(connection.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'ledger_entries'"
            )))
        triggers = connection.scalars(text(
            "SELECT trigger_name FROM information_schema.triggers"
            " WHERE event_object_table = 'ledger_entries'"
        ))
        functions = connection.scalars(
            text("SELECT proname FROM pg_proc WHERE proname = :name"), {"name": GUARD_FUNCTION}
        )
        return set(triggers) | set(functions)


def _expected_guard() -> set[str]:
    if db.engine.dialect.name == "sqlite":
        return {"ledger_entries_no_update", "ledger_entries_no_delete"}
    return {"ledger_entries_append_only", GUARD_FUNCTION}


def test_upgrade_from_empty_builds_every_table(bare_app: Flask, flask_db: FlaskDb) -> None:
    assert _tables() == set()

    flask_db(bare_app, "upgrade")

    assert _tables() == set(db.metadata.tables) | {"alembic_version"}
    with db.engine.connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == _head_revision()
    assert _ledger_guard() == _expected_guard()


def test_migrated_schema_matches_the_models(migrated_app: Flask) -> None:
    assert _schema_differences(db.metadata) == []


def test_the_comparison_notices_a_column_the_migrations_lack(
    migrated_app: Flask,
) -> None:
    """A control for the test above: an empty diff must mean agreement, not a blind compare."""
    models = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["cases"].append_column(Column("priority", Integer, nullable=True))

    differences = _schema_differences(models)

    assert [(op[0], op[2], op[3].name) for op in differences] == [
        ("add_column", "cases", "priority")
    ]


def test_downgrade_to_base_and_upgrade_again(migrated_app: Flask, flask_db: FlaskDb) -> None:
    flask_db(migrated_app, "downgrade", "base")

    assert _tables() == {"alembic_version"}
    assert _ledger_guard() == set()

    flask_db(migrated_app, "upgrade")

    assert _tables() == set(db.metadata.tables) | {"alembic_version"}
    assert _ledger_guard() == _expected_guard()
    assert _schema_differences(db.metadata) == []
