"""A live call's turns and slot readings, stored as they happen, so a dialer that dies loses none.

Every finished turn is appended to the call's turns in the store (with its reply's latency once
the reply has played) and every slot reading becomes a qualification snapshot; the conversation's
session (the brain as of the last reply, the transcript and the slots) is saved after every turn.
Both happen in the background, one writer each, newest state first: the call never waits on the
store or on Redis. A write the store cannot take goes to the recorder's spool like the call's
other records (:mod:`reauto.dialer.spool`). :meth:`CallRecorder.finish` completes what is
already stored; the recovery sweep (:mod:`reauto.dialer.recovery`) takes whatever the session
has that the store lacks when the dialer died.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reauto.dialer.records import CallRecorder, TurnRow, with_latency
from reauto.sessions import SessionStore
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import CallLatency

log = logging.getLogger(__name__)


class CallJournal:
    """Writes one live call's conversation to the store and its session as it goes.

    Args:
        call_id: the call.
        recorder: the dialer's recorder (spooling while the store is down).
        sessions: the conversation sessions (None: no session is kept).
        clock: the store's clock; stamps each turn when it is reported.
    """

    def __init__(self, call_id: int, recorder: CallRecorder, *, sessions: SessionStore | None,
                 clock: Callable[[], datetime]) -> None:
        self.call_id = call_id
        self.recorder = recorder
        self.session_store = sessions
        self.clock = clock
        self.latency: CallLatency | None = None  # the call's latency while it runs (set by the pipeline)
        self.turns: list[tuple[TurnRecord, datetime]] = []
        self.brain_state: dict[str, Any] | None = None  # as of the last reply: what a call-back resumes from
        self.slots: dict[str, Any] | None = None
        self.score: float | None = None
        self.failures = 0  # writes the store refused (the call's end writes them again)
        self._stored: dict[int, TurnRow] = {}
        self._stored_slots: tuple[dict[str, Any], float | None] | None = None
        self._store_due = asyncio.Event()
        self._session_due = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    def record(self, turn: TurnRecord, brain: Any) -> None:
        """A turn was said (called from the call's pipeline: never waits)."""
        self.turns.append((turn, self.clock()))
        if turn.speaker == "agent":
            snapshot = getattr(brain, "snapshot", None)
            if snapshot is not None:
                self.brain_state = snapshot()
            self.slots = dict(getattr(brain, "slots", {}) or {})
            score = getattr(brain, "score", None)
            self.score = float(score) if isinstance(score, int | float) else None
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._store_loop(), name=f"journal-{self.call_id}"),
                           asyncio.create_task(self._session_loop(), name=f"session-{self.call_id}")]
        self._store_due.set()
        self._session_due.set()

    def played(self) -> None:
        """A reply's first audio played (its timing is known now): checkpoint it at once, so a call
        cut off before the lead answers the greeting still shows the greeting played in time."""
        if self._tasks:
            self._store_due.set()
            self._session_due.set()

    def rows(self) -> list[TurnRow]:
        """The turns so far as rows: the n-th reply takes the n-th reply latency completed so far."""
        timings = iter(self.latency.completed() if self.latency is not None else [])
        rows = []
        for seq, (turn, at) in enumerate(self.turns):
            agent = turn.speaker == "agent"
            row = TurnRow(seq, turn.speaker, turn.text, turn.confidence, turn.interrupted,
                          started_at=at if agent else None, ended_at=None if agent else at)
            rows.append(with_latency(row, next(timings, None)) if agent else row)
        return rows

    def session_state(self) -> dict[str, Any]:
        """The conversation's session: the brain to resume, the transcript and the slots."""
        return {"call_id": self.call_id, "brain": self.brain_state, "turns": [r.as_json() for r in self.rows()],
                "slots": self.slots, "score": self.score}

    async def close(self) -> None:
        """Write what is still waiting, then stop (before the call's end is stored)."""
        if self._closing:
            return
        self._closing = True
        self._store_due.set()
        self._session_due.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _store_loop(self) -> None:
        while True:
            await self._store_due.wait()
            self._store_due.clear()
            await self._store()
            if self._closing and not self._store_due.is_set():
                return

    async def _store(self) -> None:
        rows = [row for row in self.rows() if self._stored.get(row.seq) != row]
        reading = (dict(self.slots), self.score) if self.slots is not None else None
        if reading is not None and not reading[0] and self._stored_slots is None:
            reading = None  # nothing read yet: no empty snapshot
        slots = reading if reading != self._stored_slots else None
        if not rows and slots is None:
            return
        try:
            await self.recorder.journal(self.call_id, rows=rows, slots=slots[0] if slots else None,
                                        score=slots[1] if slots else None)
        except Exception as exc:  # noqa: BLE001 - the next turn, or the call's end, writes them again
            self.failures += 1
            log.warning("call %s: turns not stored yet (%s: %s)", self.call_id, type(exc).__name__, exc)
            return
        self._stored.update((row.seq, row) for row in rows)
        if slots is not None:
            self._stored_slots = slots

    async def _session_loop(self) -> None:
        while True:
            await self._session_due.wait()
            self._session_due.clear()
            if self.session_store is not None and self.brain_state is not None:  # from the first reply on
                try:
                    await self.session_store.save(self.call_id, self.session_state())
                except Exception as exc:  # noqa: BLE001 - the call goes on; only its checkpoint is late
                    log.warning("call %s: session checkpoint failed: %s: %s", self.call_id, type(exc).__name__, exc)
            if self._closing and not self._session_due.is_set():
                return
