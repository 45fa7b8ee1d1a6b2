"""Runs every Python process of a test run on a shifted wall clock (``scripts/test --clock-shift DAYS``).

``scripts/test`` puts this folder on ``PYTHONPATH`` and sets ``REAUTO_TEST_CLOCK_SHIFT_DAYS``, so
pytest and every Python process it starts (CLI subprocesses, recogniser workers, dialers) read a
wall clock that many days away from the real one and ticking with it. time-machine moves
``datetime.now``, ``date.today`` and ``time.time``; monotonic clocks (asyncio's loop, timeouts)
are left alone. PostgreSQL and Redis keep the real time: a test that passes here stores and
compares only times the code itself stamped, which is the point.
"""

from __future__ import annotations

import os

_DAYS = os.environ.get("REAUTO_TEST_CLOCK_SHIFT_DAYS")
if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    # time-machine ticks on from the destination from the first time a clock is read, not from the
    # start: read it at once, so every process's clock is the real one shifted (a process that read
    # the time only after a slow start on a busy machine would otherwise run seconds behind the others)
    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_DAYS)), tick=True).start()
    datetime.now(UTC)
