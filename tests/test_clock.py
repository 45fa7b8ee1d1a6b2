"""The test run's clock: ``scripts/test --clock-shift DAYS`` moves every Python process's wall clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

HOOK = Path(__file__).resolve().parent / "clockshift"


def _real_now() -> float:
    """The real time, from a process that is not Python (its clock is never shifted)."""
    return float(subprocess.run(["date", "+%s.%N"], capture_output=True, text=True, check=True).stdout)


def test_a_shifted_run_moves_the_wall_clock_of_every_python_process_but_not_its_monotonic_clock():
    env = {**os.environ, "REAUTO_TEST_CLOCK_SHIFT_DAYS": "365", "PYTHONPATH": str(HOOK)}
    code = ("import datetime, time; print(time.time(), datetime.datetime.now(datetime.UTC).timestamp(), "
            "time.monotonic())")
    before = _real_now()
    wall, aware, _monotonic = map(float, subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                                        text=True, check=True).stdout.split())
    after = _real_now()
    year = 365 * 86400
    assert before + year - 5 <= wall <= after + year + 5
    assert abs(aware - wall) < 5
    # a process started without the variable keeps the real time
    env.pop("REAUTO_TEST_CLOCK_SHIFT_DAYS")
    plain = float(subprocess.run([sys.executable, "-c", "import time; print(time.time())"], env=env,
                                 capture_output=True, text=True, check=True).stdout)
    assert before - 5 <= plain <= _real_now() + 5


def test_this_run_reads_the_clock_it_was_given():
    days = float(os.environ.get("REAUTO_TEST_CLOCK_SHIFT_DAYS") or 0)
    assert abs(time.time() - (_real_now() + days * 86400)) < 60


def test_a_process_that_reads_the_clock_late_is_not_behind_the_real_time_shifted():
    """A shifted process agrees with ``date`` plus the shift however long it waited before reading
    the clock (a dialer and a server started at different moments must agree on when a lead is due)."""
    env = {**os.environ, "REAUTO_TEST_CLOCK_SHIFT_DAYS": "365", "PYTHONPATH": str(HOOK)}
    code = "import time; time.sleep(3); import datetime; print(datetime.datetime.now(datetime.UTC).timestamp())"
    shifted = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    real = _real_now()
    assert real - 2.5 <= shifted - 365 * 86400 <= real  # read just before `date`, not 3 s before it
