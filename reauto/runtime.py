"""The process's garbage collector, tuned for live audio while a dialer runs.

Python's full (generation 2) collection walks every object the process holds: the models, the
libraries, every call's pipeline. With 50 calls in a process it stopped the event loop for
95–121 ms at a time, longer than the line's jitter buffer: callers heard gaps (underruns) and
the tail of turn latency doubled (BENCHMARKS.md, "Call pipeline"). Once everything is loaded,
:func:`settled_gc` moves what exists into the collector's permanent generation (it is not
walked again) and makes full collections rare; the young generations, where a call's
short-lived frames die, are collected as before. Leaving it puts the collector back.

A worker process a dialer starts (a recogniser, the second listen) calls :func:`exit_with_parent`:
when its dialer dies (``kill -9``, an out-of-memory kill) it exits too, instead of holding its
models in memory and its CPU share for good.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Middle-generation collections between two full ones (Python's default is 10).
FULL_EVERY = 1000


@contextmanager
def settled_gc(full_every: int = FULL_EVERY) -> Iterator[None]:
    """Collect once, freeze what survives, and run full collections only every ``full_every``
    collections of the middle generation, until the block ends (enter it after start-up)."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(previous[0], previous[1], full_every)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


#: How often a worker looks whether the process that started it is still there (seconds).
PARENT_CHECK_S = 1.0


def exit_with_parent(every_s: float = PARENT_CHECK_S) -> None:
    """In a worker process: exit at once when the process that started it has gone (a daemon
    thread compares the parent's pid every ``every_s``; an orphan is adopted by another)."""
    parent = os.getppid()

    def watch() -> None:  # pragma: no cover - runs in the worker process, which it ends
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
