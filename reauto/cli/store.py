"""One database for one CLI command: open it, run the command's work, close it.

Its own module so that the commands that read the store (budget, calls, report, numbers …)
do not import ``reauto leads``' file loaders, which cost them start-up time for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.config import Settings
from reauto.errors import DatabaseUnavailable
from reauto.store.engine import explain_unreachable, make_engine
from reauto.store.urls import redact

T = TypeVar("T")


def run_db(cfg: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` with an engine on the configured database; an unreachable one is one line."""

    async def main() -> T:
        engine = make_engine(cfg.database)
        try:
            return await work(engine)
        except (OperationalError, ProgrammingError) as exc:
            cause = str(exc.orig)
            if "no such table" in cause or ("relation" in cause and "does not exist" in cause):
                raise DatabaseUnavailable(
                    f"{redact(engine.url)} has no reauto tables: run `reauto db upgrade` first"
                ) from None
            if isinstance(exc, OperationalError):
                raise explain_unreachable(engine.url, exc) from None
            raise
        finally:
            await engine.dispose()

    return asyncio.run(main())
