"""What the benchmarks share: a throwaway database on either backend.

The scripts run as `python bench/<name>.py`, so this module is importable as `benchkit`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from portal.config import database_url


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
