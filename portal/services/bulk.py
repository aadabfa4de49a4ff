"""SQL for many rows at once, the same text for any number of them.

On PostgreSQL a list of values goes in as one typed array parameter (`= ANY(:values)`,
`unnest(:c1, :c2, ...)`), not as one parameter per value: the statement's text stays the same
for any number of rows, so psycopg parses it once and caches it, and one array is cheaper to
send than hundreds of parameters. (A 500-key IN list of a dunning chunk took ~0.4 s per chunk
once 35k notices existed; a multi-row VALUES grows past psycopg's cache limits.) SQLite gets
the plain forms: IN lists and executemany.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def among(column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:values)`, one array parameter."""
    if on_postgresql():
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_ignore(model: Any, rows: list[dict[str, Any]], *returning: Any) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` (every one with the same keys): the
    inserted rows' `returning` columns. On PostgreSQL one INSERT ... SELECT FROM unnest;
    Python-side column defaults are added by from_select."""
    table = model.__table__
    if on_postgresql():
        source = unnest(table, rows)
        stmt = postgresql.insert(table).from_select(list(rows[0]), select(*source.c))
        return list(db.session.execute(stmt.on_conflict_do_nothing().returning(*returning)))
    stmt = sqlite.insert(table).on_conflict_do_nothing().returning(*returning)
    return list(db.session.execute(stmt, rows))


def unnest(table: Any, rows: list[dict[str, Any]]) -> Any:
    """PostgreSQL's unnest(:new_c1::type[], ...) AS anon(c1, ...): the rows (every one with
    the same keys, columns of `table`) as one typed array per column, a derived table."""
    names = list(rows[0])
    arrays = [  # psycopg's dialect renders a typed ARRAY parameter with its cast: :c1::type[]
        bindparam(f"new_{name}", [row[name] for row in rows],
                  type_=postgresql.ARRAY(table.c[name].type))
        for name in names
    ]
    return func.unnest(*arrays).table_valued(*names).render_derived()
