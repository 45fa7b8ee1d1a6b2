"""Bulk inserts that skip conflicting rows and say which rows went in.

PostgreSQL gets one ``INSERT … SELECT … FROM jsonb_to_recordset(:rows) ON CONFLICT DO NOTHING
RETURNING`` per batch: the whole batch travels as one JSON parameter. A multi-row VALUES list
would make the driver parse a statement with tens of thousands of placeholders for every batch,
and per-column arrays are escaped value by value in Python; both cost more than the insert. SQLite gets SQLAlchemy's multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``.
"""

from __future__ import annotations

import json
from datetime import datetime
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import JSON


async def insert_ignore(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys), skipping any that hit a unique constraint.

    Args:
        conn: connection inside the caller's transaction.
        table: target table.
        rows: column → value dicts; every row has the same keys.
        returning: columns to return for the rows actually inserted.

    Returns:
        One tuple of ``returning`` values per inserted row (empty when nothing is asked).
    """
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        return await _pg_recordset(conn, table, rows, returning)
    stmt = sqlite.insert(table).on_conflict_do_nothing()
    if returning:
        result = await conn.execute(stmt.returning(*(table.c[c] for c in returning)), list(rows))
        return [tuple(r) for r in result.all()]
    await conn.execute(stmt, list(rows))
    return []


async def _pg_recordset(
    conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    names = list(rows[0])
    processors = {}
    for name in names:
        column_type = table.c[name].type
        if not isinstance(column_type, JSON):
            # The column type's own checks (aware UTC datetimes, enum values) still apply.
            processor = column_type.bind_processor(conn.dialect)
            if processor is not None:
                processors[name] = processor
    if processors:
        rows = [{**row, **{n: p(row[n]) for n, p in processors.items()}} for row in rows]
    payload = json.dumps(rows, default=_json_default, ensure_ascii=False)
    definitions = ", ".join(f'"{n}" {table.c[n].type.compile(dialect=conn.dialect)}' for n in names)
    columns = ", ".join(f'"{n}"' for n in names)
    sql = (
        f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} '
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({definitions}) ON CONFLICT DO NOTHING"
    )
    if returning:
        sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
    result = await conn.execute(text(sql), {"rows": payload})
    return [tuple(r) for r in result.all()] if returning else []


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a bulk insert")
