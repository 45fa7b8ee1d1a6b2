"""Engines and sessions for the configured database, with clear errors when it is unreachable."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from reauto.config import DatabaseSettings
from reauto.errors import ConfigError, DatabaseUnavailable
from reauto.metrics import DB_POOL, DB_QUERY
from reauto.store.urls import redact

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def parse_url(url: str) -> URL:
    """Parse a database URL, refusing backends reauto does not support."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: cannot parse {redact(url)!r} as a database URL") from None
    if parsed.get_backend_name() not in _ASYNC_DRIVERS:
        raise ConfigError(
            f"database.url: backend {parsed.get_backend_name()!r} is not supported "
            "(use sqlite:///reauto.db or postgresql+psycopg://user@host:5432/db)"
        )
    return parsed


def async_url(url: str) -> URL:
    """The URL with the async driver reauto uses for its backend."""
    parsed = parse_url(url)
    return parsed.set(drivername=_ASYNC_DRIVERS[parsed.get_backend_name()])


def sync_url(url: str) -> URL:
    """The URL with the sync driver (migrations, benchmarks' bulk seeding)."""
    parsed = parse_url(url)
    return parsed.set(drivername=_SYNC_DRIVERS[parsed.get_backend_name()])


def _engine_kwargs(db: DatabaseSettings, url: URL) -> dict[str, Any]:
    # hide_parameters: a failed statement's exception never carries the values (leads' names and numbers)
    if url.get_backend_name() == "sqlite":
        return {"echo": db.echo, "hide_parameters": True, "connect_args": {"timeout": db.connect_timeout_s}}
    options = f"-c statement_timeout={db.statement_timeout_ms}"
    return {
        "echo": db.echo,
        "hide_parameters": True,
        "pool_size": db.pool_size,
        "max_overflow": db.max_overflow,
        "pool_timeout": db.pool_timeout_s,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": max(1, round(db.connect_timeout_s)), "options": options},
    }


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(db: DatabaseSettings) -> AsyncEngine:
    """An async engine: pooled (≤ 20) with pre-ping and statement timeout on PostgreSQL."""
    url = async_url(db.url)
    engine = create_async_engine(url, **_engine_kwargs(db, url))
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "before_cursor_execute", _query_started)
    event.listen(engine.sync_engine, "after_cursor_execute", _query_done)
    return engine


def _query_started(conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
    context._reauto_started = time.perf_counter()  # noqa: SLF001


def _query_done(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
    started = getattr(context, "_reauto_started", None)
    if started is not None:
        kind = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else "other"
        DB_QUERY.labels(query=kind if kind in {"select", "insert", "update", "delete"} else "other").observe(
            time.perf_counter() - started)


def pool_stats(engine: AsyncEngine) -> None:
    """Export the pool's checked-out and idle connections (called by the dialer's monitor)."""
    pool = engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    idle = getattr(pool, "checkedin", None)
    if callable(checked_out) and callable(idle):
        DB_POOL.labels(state="checked_out").set(checked_out())
        DB_POOL.labels(state="idle").set(idle())


def make_sync_engine(db: DatabaseSettings) -> Engine:
    """A sync engine with the same pool and timeouts (Alembic, bulk loads)."""
    url = sync_url(db.url)
    engine = create_engine(url, **_engine_kwargs(db, url))
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (results outlive the transaction)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def explain_unreachable(url: str | URL, exc: BaseException) -> DatabaseUnavailable:
    """One clear line saying which database could not be reached and what to check."""
    parsed = make_url(str(url))
    cause = _root_message(exc)
    if parsed.get_backend_name() == "sqlite":
        return DatabaseUnavailable(
            f"cannot open SQLite database {parsed.database!r}: {cause} — check that the "
            "directory exists and is writable (setting database.url / REAUTO_DATABASE_URL)"
        )
    host = parsed.host or "localhost"
    port = parsed.port or 5432
    return DatabaseUnavailable(
        f"cannot reach PostgreSQL at {host}:{port} (database {parsed.database!r}, user "
        f"{parsed.username!r}): {cause} — check that the server is running and accepts TCP "
        "connections there, the credentials, and database.url / REAUTO_DATABASE_URL"
    )


def _root_message(exc: BaseException) -> str:
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    return lines[-1] if lines else type(inner).__name__


async def ping(engine: AsyncEngine) -> None:
    """Run ``SELECT 1``; raise :class:`DatabaseUnavailable` with one clear line on failure."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, OSError) as exc:
        raise explain_unreachable(engine.url, exc) from None


async def wait_for(
    probe: Callable[[], Awaitable[None]],
    *,
    timeout_s: float,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 5.0,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> int:
    """Call ``probe`` until it succeeds, with exponential backoff and jitter.

    Returns:
        The number of attempts it took.

    Raises:
        The probe's last error once ``timeout_s`` has passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = initial_delay_s
    attempt = 0
    while True:
        attempt += 1
        try:
            await probe()
            return attempt
        except Exception as exc:  # the caller's probe decides what is retryable by raising
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise
            pause = min(delay * (0.5 + random.random()), max_delay_s, remaining)  # noqa: S311
            if on_retry is not None:
                on_retry(attempt, pause, exc)
            await asyncio.sleep(pause)
            delay = min(delay * 2, max_delay_s)


def store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the store cannot be reached (down, restarting, the network), not that
    it refused the statement (a constraint, a bad query)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, ConnectionError,
                            TimeoutError, OSError))
