import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.config import DatabaseSettings
from reauto.errors import ConfigError, DatabaseUnavailable
from reauto.store.engine import async_url, make_engine, make_sync_engine, ping, redact, sync_url, wait_for


@pytest.mark.unit
def test_urls_get_the_right_drivers():
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert sync_url("sqlite+aiosqlite:///x.db").drivername == "sqlite+pysqlite"
    assert async_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert redact("postgresql+psycopg://u:pw@h/d") == "postgresql+psycopg://u:***@h/d"
    assert redact("::::") == "<unparseable url>"


@pytest.mark.unit
def test_bad_urls_are_config_errors():
    with pytest.raises(ConfigError, match="not supported"):
        async_url("mysql://u@h/d")
    with pytest.raises(ConfigError, match="cannot parse"):
        async_url("not a url")


@pytest.mark.unit
def test_postgres_engine_pool_and_timeouts():
    db = DatabaseSettings(url="postgresql+psycopg://u@127.0.0.1/d", pool_size=7, max_overflow=3,
                          statement_timeout_ms=1234)
    engine = make_sync_engine(db)
    assert engine.pool.size() == 7
    assert engine.pool._max_overflow == 3
    assert engine.pool._pre_ping is True
    engine.dispose()


@pytest.mark.integration
async def test_statement_timeout_applies(pg_settings):
    db = pg_settings.database.model_copy(update={"statement_timeout_ms": 100})
    engine: AsyncEngine = make_engine(db)
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError, match="statement timeout"):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(2)"))
    await engine.dispose()


@pytest.mark.integration
async def test_unreachable_postgres_is_one_clear_line():
    engine = make_engine(DatabaseSettings(url="postgresql+psycopg://bob@127.0.0.1:1/crm", connect_timeout_s=1))
    with pytest.raises(DatabaseUnavailable) as err:
        await ping(engine)
    await engine.dispose()
    msg = str(err.value)
    assert "\n" not in msg
    assert "127.0.0.1:1" in msg and "'crm'" in msg and "'bob'" in msg
    assert "REAUTO_DATABASE_URL" in msg


@pytest.mark.integration
async def test_unopenable_sqlite_is_one_clear_line(tmp_path):
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/missing/dir/x.db"))
    with pytest.raises(DatabaseUnavailable, match="cannot open SQLite database"):
        await ping(engine)
    await engine.dispose()


@pytest.mark.unit
async def test_wait_for_retries_with_backoff_then_succeeds():
    calls = []
    retries = []

    async def probe():
        calls.append(1)
        if len(calls) < 3:
            raise DatabaseUnavailable("down")

    attempts = await wait_for(probe, timeout_s=5, initial_delay_s=0.01,
                              on_retry=lambda a, p, e: retries.append((a, p)))
    assert attempts == 3
    assert [a for a, _ in retries] == [1, 2]
    assert all(0 < p <= 0.04 for _, p in retries)


@pytest.mark.unit
async def test_wait_for_gives_up_after_timeout():
    async def probe():
        raise DatabaseUnavailable("still down")

    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(DatabaseUnavailable, match="still down"):
        await wait_for(probe, timeout_s=0.2, initial_delay_s=0.05)
    assert loop.time() - start < 1.0
