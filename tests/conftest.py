"""Shared fixtures: a throwaway PostgreSQL database and Redis key space per test run.

Tests use the real servers on loopback. ``REAUTO_TEST_PG_ADMIN_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is where the per-run database is
created; ``REAUTO_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) is the Redis server,
and every key a test writes starts with the run's own prefix.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto import modelstore, resilience
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


@pytest.fixture(autouse=True)
def _process_settings_restored() -> Iterator[None]:
    """Undo what ``load_settings`` sets for the whole process (the model folder, the retry and
    breaker defaults), so a test that loads a settings file leaves nothing to the next test that
    runs in the same worker."""
    models, retry, breaker = modelstore._root, resilience._defaults, resilience._breaker_defaults
    yield
    modelstore.configure(models)
    resilience.configure(retry, breaker_threshold=breaker[0], breaker_reset_s=breaker[1])


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
def fresh_db_cfg() -> Iterator[Settings]:
    """Settings on a PostgreSQL database of the test's own, migrated (for ``reauto`` commands and
    dialer processes, which open their own connections); dropped afterwards."""
    name = f"reauto_t_{uuid.uuid4().hex[:10]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    migrate.upgrade(cfg)
    yield cfg
    drop_database(name)


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


# --- no phone number in any log line of the run ------------------------------------------------

class PhoneLeaks(logging.Handler):
    """Every log record of the run, as reauto's log handler writes it (message and traceback
    through :func:`reauto.logfilter.redact`), searched for the phone numbers the tests use.

    The search is independent of the filter's patterns: every run of digits (with the spaces,
    dots, dashes, slashes and brackets people write numbers with) is reduced to its digits and
    each 10-digit window is looked up among the numbers written in the tests' sources and data;
    a phone-sized run (10 or 11 digits) of the fictional 555 exchange counts too (tests generate
    those). Subprocesses' output is added with :meth:`scan`.
    """

    _IN_SOURCE = re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?[2-9]\d{2}[\s.-]?\d{4}(?!\d)"
                            r"|(?<![\w+])\+[2-9]\d{7,14}(?!\d)")
    _RUN = re.compile(r"\+?\d[\d\s().\-/]{8,}\d")
    _FICTIONAL = re.compile(r"[2-9]\d{2}555\d{4}")

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(level=logging.NOTSET)
        self.numbers: set[str] = set()
        for root in roots:
            for path in root.rglob("*"):
                if path.suffix in (".py", ".csv", ".jsonl", ".txt", ".yaml", ".json") and path.is_file():
                    for found in self._IN_SOURCE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                        digits = re.sub(r"\D", "", found[0])
                        self.numbers.add(digits if found[0].startswith("+") and not found[0].startswith("+1")
                                         else digits[-10:])
        self.international = {n for n in self.numbers if len(n) != 10}
        self.lines = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from reauto.logfilter import redact

        try:
            text = redact(record.getMessage())
            if record.exc_info and record.exc_info[0] is not None:
                text += "\n" + redact("".join(traceback.format_exception(*record.exc_info)))
            self.scan(text, f"log {record.name}")
        except Exception:  # noqa: BLE001 - a broken record must not break the test that logged it
            self.handleError(record)

    def scan(self, text: str, source: str) -> None:
        """Look for the tests' numbers in ``text`` (one or more lines from ``source``)."""
        self.lines += text.count("\n") + 1
        for run in self._RUN.findall(text):
            digits = re.sub(r"\D", "", run)
            windows = {digits[i:i + 10] for i in range(len(digits) - 9)}
            phone_sized = len(digits) in (10, 11) and self._FICTIONAL.fullmatch(digits[-10:])
            fictional = {digits[-10:]} if phone_sized else set()
            hit = (windows & self.numbers) or fictional or {n for n in self.international if n in digits}
            if hit:
                self.leaks.append(f"{source}: {sorted(hit)[0]} in {text.splitlines()[0][:160]!r}")


LEAKS = PhoneLeaks([Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "campaigns"])


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(LEAKS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(LEAKS)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports its leaks
        workeroutput["phone_leaks"] = list(LEAKS.leaks)
        return
    if LEAKS.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker's leaks join the controller's, which fails the run on any."""
    LEAKS.leaks.extend(getattr(node, "workeroutput", {}).get("phone_leaks", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LEAKS.leaks:
        terminalreporter.section("phone numbers in log lines", red=True)
        for leak in LEAKS.leaks[:20]:
            terminalreporter.write_line(leak)
        terminalreporter.write_line(f"{len(LEAKS.leaks)} log lines carry a phone number the tests used")
