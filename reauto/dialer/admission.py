"""Admission control: dial only the calls this machine can serve now, like a predictive dialer that
never dials without an agent ready.

A call answered by a person must hear the agent within 2 seconds of their "hello" (the abandoned-
call rule), and every later turn within about one. Whether the machine can give a new call that
depends on what else runs on it (other processes, a backup, a second dialer), which no fixed
``--concurrency`` knows. So the dialer measures, while it runs, what its calls get:

* the hello → first audio of each answered call (what the rule is about);
* how long the recogniser takes for an answer beyond the audio itself (its queue and its decoding);
* how many answers wait for the recogniser right now, per decoder (its back-pressure: it rises
  before the answers come back late, so a new call is refused before the live ones feel it);
* how late the event loop runs a 100 ms timer (every call's audio is paced by it);
* how busy the machine is (load average per core).

and learns a limit on calls at once between 1 and the ceiling (``--concurrency``) the way TCP
learns a window: it starts low, adds a call each time a newly answered call was greeted within its
budget while everything else keeps its own, and halves the limit when one of them runs over (at most once per cooling
period, so that one slow moment does not collapse it). At a limit of one with a greeting still over
its budget there is no headroom at all: no new call until the cooling period has passed, then one
is tried again. Every change says why (a log line, ``reauto_dialer_admission_limit`` and
``reauto_dialer_admission_refused_total{reason}``, the live view and ``dial --json``).

Calls already answered come first: a new call is only admitted when the live ones keep their
budgets, and the opening of a new call is synthesised before its number is dialed.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from reauto import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budgets:
    """What a call must get, each a p90 over the recent samples (seconds)."""

    greeting_s: float = 1.0  # hello → first audio: half the legal 2 s
    recognition_s: float = 0.8  # an answer's recognition beyond its audio
    recognition_backlog: float = 1.0  # answers waiting for the recogniser, per decoder
    loop_lag_s: float = 0.15  # the event loop's lateness
    load_per_core: float = 2.5  # the machine's 1-minute load average per core
    cooling_s: float = 5.0  # at most one step down per this many seconds


def _p90(values: deque[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def load_per_core() -> float:
    """The machine's 1-minute load average per core (0 where the system has none)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # pragma: no cover - platforms without a load average
        return 0.0


class Admission:
    """How many calls a dialer may have at once, learned from what its calls get.

    Args:
        ceiling: the most calls at once (``--concurrency``).
        start: the limit to begin with (slow start).
        budgets: what each call must get.
        campaign: for the metrics' labels.
        load: the machine's load per core (a function, for tests).
        clock: monotonic seconds (a function, for tests).
        backlog: the recogniser's answers waiting per decoder now
            (:meth:`reauto.stt.base.STTProvider.backlog`; None: it has no queue).
    """

    def __init__(self, ceiling: int, *, start: int = 2, budgets: Budgets = Budgets(), campaign: str = "",
                 load: Callable[[], float] = load_per_core, clock: Callable[[], float] | None = None,
                 backlog: Callable[[], float | None] | None = None) -> None:
        import time

        self.ceiling = max(1, ceiling)
        self.limit = max(1, min(start, self.ceiling))
        self.budgets = budgets
        self.campaign = campaign
        self._load = load
        self._backlog = backlog
        self._clock = clock or time.monotonic
        self._greetings: deque[float] = deque(maxlen=8)
        self._recognitions: deque[float] = deque(maxlen=20)
        self._lags: deque[float] = deque(maxlen=20)
        self._good_since_step = 0  # calls greeted within budget since the last step
        self._last_down = -1e9
        self._paused_until = -1e9
        self.reason: str | None = None  # why the limit is below the ceiling, or why nothing is dialed
        self.steps: list[tuple[int, str]] = []  # (new limit, why): the run's history
        self.refused = 0  # times a due lead waited for headroom
        metrics.ADMISSION_LIMIT.labels(campaign=campaign).set(self.limit)

    # --- what the calls get ------------------------------------------------------------------
    def greeting(self, seconds: float | None) -> None:
        """A person answered and first heard the agent ``seconds`` after their hello (None: never)."""
        self._greetings.append(float("inf") if seconds is None else seconds)
        if seconds is not None and seconds <= self.budgets.greeting_s:
            self._good_since_step += 1

    def recognition(self, beyond_audio_s: float) -> None:
        """An answer was recognised ``beyond_audio_s`` after it ended (queue wait and decoding)."""
        self._recognitions.append(max(0.0, beyond_audio_s))

    def loop_lag(self, seconds: float) -> None:
        """The event loop woke a timer ``seconds`` late."""
        self._lags.append(max(0.0, seconds))

    def call_ended(self) -> None:
        """A call ended (its place is free)."""

    # --- the decision --------------------------------------------------------------------------
    def over_budget(self) -> str | None:
        """What runs over its budget now, in words (None: nothing)."""
        b = self.budgets
        if (g := _p90(self._greetings)) is not None and g > b.greeting_s:
            return f"greetings p90 {'never' if g == float('inf') else f'{g:.1f} s'} (budget {b.greeting_s:.1f} s)"
        if (r := _p90(self._recognitions)) is not None and r > b.recognition_s:
            return f"recognition p90 {r:.1f} s after the answer (budget {b.recognition_s:.1f} s)"
        if (waiting := self._backlog() if self._backlog is not None else None) is not None:
            metrics.STT_BACKLOG.labels(campaign=self.campaign).set(waiting)
            if waiting > b.recognition_backlog:
                return f"recogniser backlog {waiting:.1f} answers per decoder (budget {b.recognition_backlog:.1f})"
        if (lag := _p90(self._lags)) is not None and lag > b.loop_lag_s:
            return f"event loop p90 {lag * 1000:.0f} ms late (budget {b.loop_lag_s * 1000:.0f} ms)"
        if (load := self._load()) > b.load_per_core:
            return f"machine load {load:.1f} per core (budget {b.load_per_core:.1f})"
        return None

    def free(self, live: int) -> int:
        """How many new calls may start now, with ``live`` calls in progress (and why not, in :attr:`reason`)."""
        now = self._clock()
        trouble = self.over_budget()
        if trouble is not None and now - self._last_down >= self.budgets.cooling_s:
            self._last_down = now
            self._greetings.clear()  # judge the next step on what comes after it
            self._recognitions.clear()
            if self.limit > 1:
                self._step(max(1, self.limit // 2), trouble)
            elif live == 0 and self._paused_until > -1e9 and now >= self._paused_until:
                # a pause ran out with no call live: one call probes what the machine serves now (a
                # machine busy with other work never stops the campaign, it only slows it to one call)
                self._note(f"no headroom: {trouble}; one call at a time", quiet=True)
            else:
                self._paused_until = now + self.budgets.cooling_s
                self._note(f"no headroom: {trouble}; no new call for {self.budgets.cooling_s:.0f} s")
        elif trouble is None and self._good_since_step and self.limit < self.ceiling \
                and live >= self.limit and now - self._last_down >= self.budgets.cooling_s:
            self._step(self.limit + 1, "every call within its budgets")
        if now < self._paused_until:
            free = 0
        else:
            free = max(0, self.limit - live)
            if trouble is None and self.limit == self.ceiling:
                self.reason = None
        if free == 0 and live < self.ceiling:
            self.refused += 1
            metrics.ADMISSION_REFUSED.labels(campaign=self.campaign,
                                             reason="paused" if now < self._paused_until else "limit").inc()
        return free

    @property
    def paused(self) -> bool:
        """No new call for a while (no headroom even at one call): due leads wait, the run goes on."""
        return self._clock() < self._paused_until

    def _step(self, limit: int, why: str) -> None:
        self._good_since_step = 0
        if limit == self.limit:
            return
        verb = "lowered" if limit < self.limit else "raised"
        self.limit = limit
        self.steps.append((limit, why))
        metrics.ADMISSION_LIMIT.labels(campaign=self.campaign).set(limit)
        self._note(f"calls at once {verb} to {limit} of {self.ceiling}: {why}", quiet=verb == "raised")

    def _note(self, reason: str, *, quiet: bool = False) -> None:
        self.reason = reason
        (log.info if quiet else log.warning)("admission: %s", reason)

    def status(self) -> dict[str, object]:
        """For ``dial --json`` and the live view."""
        return {"limit": self.limit, "ceiling": self.ceiling, "reason": self.reason, "refused": self.refused,
                "steps": [{"limit": n, "why": why} for n, why in self.steps]}
