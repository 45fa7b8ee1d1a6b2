"""How agent audio is paced to a phone's far end.

A phone far end (Twilio's media stream, the simulated line) plays what it receives in real time
and buffers the rest, until a ``clear``. The sender must not run far ahead of the playing (the
pipeline would believe the agent done speaking long before the lead heard it), nor fall behind
it: each time the far end's buffer runs dry inside an utterance, the lead hears a gap (an
underrun). Pipecat's WebSocket transports send each chunk at twice real time from the first one
on, so the far end holds one chunk when the second is due; a sender stalled for longer than that
by other calls' work at that moment leaves a gap at the start of the reply.

:class:`PlayoutPacer` sends the first :data:`LEAD_S` of each utterance at once (what a jitter
buffer holds) and the rest at twice real time, so that the far end is never less than the lead
ahead. A barge-in clears the far end and restarts the pacing.

Phone legs also carry :data:`PHONE_CHUNK_10MS` × 10 ms of audio per message: each chunk costs the
event loop a wake-up and a trip through the output transport whatever its length, and 80 ms is
well inside what Twilio's media messages carry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: Audio sent at once at the start of each utterance (seconds of audio).
LEAD_S = 0.2
#: Output chunk of a phone leg, in 10 ms units (Pipecat's ``audio_out_10ms_chunks``; its default is 4).
PHONE_CHUNK_10MS = 8


class PlayoutPacer:
    """When the next chunk of agent audio may go to the far end.

    Args:
        lead_s: audio sent without waiting at the start of an utterance, and the most that goes
            at once after the sender was held up.
        rate: sending speed after the lead, in multiples of the far end's playing speed.
        speed: the far end's playing speed (1.0 = real time; the simulated line may play faster).
        gap_s: a pause in sending longer than this starts a new utterance.
        clock / sleep: the monotonic clock and the sleep it is paced with.
    """

    def __init__(self, *, lead_s: float = LEAD_S, rate: float = 2.0, speed: float = 1.0, gap_s: float = 0.1,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.lead_s = lead_s
        self.rate = rate
        self.speed = speed
        self.gap_s = gap_s
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None  # when the next chunk is due on the schedule
        self._last = 0.0  # when the last chunk went

    def restart(self) -> None:
        """The far end was cleared (barge-in): the next chunk starts an utterance."""
        self._next = None

    async def sent(self, seconds: float) -> None:
        """Call after sending ``seconds`` of audio; returns when the next chunk may go."""
        now = self._clock()
        lead = self.lead_s / (self.rate * self.speed)  # the lead, in schedule time
        if self._next is None or now - self._last > self.gap_s:
            self._next = now - lead  # a new utterance: its lead goes at once
        self._next = max(self._next, now - lead) + seconds / (self.rate * self.speed)
        delay = self._next - now
        if delay > 0:
            await self._sleep(delay)
        self._last = self._clock()
