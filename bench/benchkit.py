"""What the benchmarks share: the choice of backends, and a throwaway database on either.

The scripts run as `python bench/<name>.py`, so this module is importable as `benchkit`.
"""

from __future__ import annotations

import secrets
from argparse import ArgumentParser, Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from portal.config import database_url


def add_backend_options(parser: ArgumentParser,
                        default_url: str = "postgresql://postgres@127.0.0.1:5432/test") -> None:
    """--database-url (the PostgreSQL server to make a throwaway database on), --skip-sqlite
    and --skip-pg."""
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")


def backends(args: Namespace) -> list[str]:
    """The backends to measure, in order: "sqlite", then "postgresql", less the skipped."""
    return [kind for kind, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_pg))
            if not skip]


@contextmanager
def throwaway_database(kind: str, server_url: str, tmp: Path, prefix: str) -> Iterator[str]:
    """A SQLite file under `tmp`, or a PostgreSQL database of our own (`<prefix>_<random>`,
    made and dropped through the `postgres` maintenance database); yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'{prefix}.sqlite3'}"
        return
    name = f"{prefix}_{secrets.token_hex(4)}"
    url = make_url(database_url(server_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
