"""Usage events: what providers report for the running call's cost meter, without knowing it.

Providers report usage where they know it (the STT service per utterance, the TTS below the
audio cache per synthesis — a cache hit costs nothing —, ElevenLabs from its ``character-cost``
header, Ollama from its token counts, the dialer for telephony minutes and AMD) by calling
:func:`usage`; it lands in the meter of the call whose task is running (a context variable, so
one shared provider serves many calls and each call is charged for its own work).

The meter is :class:`reauto.costs.meter.CostMeter`, which prices each event; the providers only
know the :class:`UsageMeter` protocol it implements, the way a speech plugin emits usage events
that an agent's collector prices, so the speech and LLM providers sit below :mod:`reauto.costs`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol


class UsageMeter(Protocol):
    """What a call's meter takes: usage events, priced as they are recorded."""

    #: The lead's current qualification score (the voice tier rule reads it per utterance).
    lead_score: Callable[[], float] | None

    def record(self, component: str, provider: str, quantity: float | int | Decimal,
               unit: str | None = None) -> object:
        """Price one usage event and add it to the call's ledger."""
        ...

    def elevenlabs_credits(self, model: str, characters: int) -> Decimal:
        """Credits ElevenLabs bills for ``characters`` with ``model`` (without a character-cost header)."""
        ...


current_meter: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar("reauto_cost_meter", default=None)


def usage(component: str, provider: str, quantity: float | int | Decimal, unit: str | None = None) -> None:
    """Report usage to the running call's meter (nothing happens outside a metered call)."""
    meter = current_meter.get()
    if meter is not None and quantity:
        meter.record(component, provider, quantity, unit)
