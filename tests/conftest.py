"""Shared fixtures: a throwaway PostgreSQL database and Redis key space per test run.

Tests use the real servers on loopback. ``REAUTO_TEST_PG_ADMIN_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is where the per-run database is
created; ``REAUTO_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) is the Redis server,
and every key a test writes starts with the run's own prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.config import DatabaseSettings, RedisSettings, Settings
from reauto.store import migrate
from reauto.store.engine import make_engine
from reauto.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "REAUTO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("REAUTO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database(name: str) -> str:
    """Create an empty PostgreSQL database and return its URL."""
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this test run (dropped afterwards)."""
    name = f"reauto_t_{RUN_ID}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def pg_settings(pg_url: str) -> Settings:
    """Settings pointing at the run's PostgreSQL database, migrated to head."""
    settings = Settings(database=DatabaseSettings(url=pg_url))
    migrate.upgrade(settings)
    return settings


@pytest.fixture
async def pg_engine(pg_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An async engine on the migrated run database; every table is emptied after the test."""
    engine = make_engine(pg_settings.database)
    yield engine
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for an embedded SQLite file in the test's temporary directory (not migrated)."""
    return Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'reauto.db'}"))


@pytest.fixture
async def sqlite_engine(sqlite_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An async engine on a migrated SQLite file."""
    migrate.upgrade(sqlite_settings)
    engine = make_engine(sqlite_settings.database)
    yield engine
    await engine.dispose()


@pytest.fixture
def redis_settings() -> Iterator[RedisSettings]:
    """Redis settings with a key prefix unique to this test; its keys are deleted afterwards."""
    import redis

    prefix = f"reauto:test:{RUN_ID}:{uuid.uuid4().hex[:6]}:"
    yield RedisSettings(url=REDIS_URL, key_prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def shared_dir() -> Path:
    """The project's shared data folder (real speech recordings and more)."""
    if not SHARED.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED}")
    return SHARED
