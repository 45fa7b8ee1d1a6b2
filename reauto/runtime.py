"""The process's garbage collector, tuned for live audio while a dialer runs.

Python's full (generation 2) collection walks every object the process holds: the models, the
libraries, every call's pipeline. With 50 calls in a process it stopped the event loop for
95–121 ms at a time, longer than the line's jitter buffer: callers heard gaps (underruns) and
the tail of turn latency doubled (BENCHMARKS.md, "Call pipeline"). Once everything is loaded,
:func:`settled_gc` moves what exists into the collector's permanent generation (it is not
walked again) and makes full collections rare; the young generations, where a call's
short-lived frames die, are collected as before. Leaving it puts the collector back.
"""

from __future__ import annotations

import gc
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
