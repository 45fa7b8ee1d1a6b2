"""The cost meter of one call: every usage event becomes a priced ledger line as it happens.

Providers report usage where they know it (the STT service per utterance, the TTS below the
audio cache per synthesis — a cache hit costs nothing —, ElevenLabs from its ``character-cost``
header, Ollama from its token counts, the dialer for telephony minutes and AMD) by calling
:func:`usage`; it lands in the meter of the call whose task is running (a context variable, so
one shared provider serves many calls and each call is charged for its own work).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from reauto.costs.pricing import MICRO, Catalogue, dec
from reauto.metrics import TTS_CHARACTERS
from reauto.tts.base import TTSProvider


@dataclass(frozen=True)
class LedgerLine:
    """One priced usage event: quantity × unit price = amount."""

    component: str
    provider: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    source: str = ""

    def arithmetic(self) -> str:
        """"3 minute × $0.014000 = $0.042000"."""
        return f"{self.quantity.normalize():f} {self.unit} × ${self.unit_price:.6f} = ${self.amount:.6f}"


@dataclass
class CostMeter:
    """Running cost of one call.

    Args:
        catalogue: the campaign's prices.
        on_line: called with each new line (the live view).
    """

    catalogue: Catalogue
    on_line: Callable[[LedgerLine], None] | None = None
    lines: list[LedgerLine] = field(default_factory=list)
    #: The lead's current qualification score (the voice tier rule reads it per utterance).
    lead_score: Callable[[], float] | None = None

    def record(self, component: str, provider: str, quantity: float | int | Decimal,
               unit: str | None = None) -> LedgerLine:
        """Price one usage event and add it to the call's ledger."""
        price = self.catalogue.price(component, provider)
        if unit is not None and unit != price.unit:
            raise ValueError(f"{component} from {provider} is priced per {price.unit}, not per {unit}")
        q = dec(quantity)
        line = LedgerLine(component, provider, q, price.unit, price.unit_price,
                          (q * price.unit_price).quantize(MICRO), price.source)
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)
        return line

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def by_component(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.component] = out.get(line.component, Decimal(0)) + line.amount
        return out

    def record_call_time(self, provider: str, seconds: float, *, amd: bool) -> None:
        """Telephony and media stream per started minute, and AMD per call (at the call's end)."""
        minutes = max(1, math.ceil(seconds / 60)) if seconds > 0 else 0
        if minutes:
            self.record("telephony", provider, minutes, "minute")
            self.record("media_stream", provider, minutes, "minute")
        if amd:
            self.record("amd", provider, 1, "call")


current_meter: contextvars.ContextVar[CostMeter | None] = contextvars.ContextVar("reauto_cost_meter", default=None)


def usage(component: str, provider: str, quantity: float | int | Decimal, unit: str | None = None) -> None:
    """Report usage to the running call's meter (nothing happens outside a metered call)."""
    meter = current_meter.get()
    if meter is not None and quantity:
        meter.record(component, provider, quantity, unit)


def elevenlabs_usage(model: str, characters: int, billed: int | None) -> None:
    """ElevenLabs credits for one request: its ``character-cost`` header, else the model's rate."""
    TTS_CHARACTERS.labels(tier="premium", provider="elevenlabs").inc(characters)
    meter = current_meter.get()
    if meter is None:
        return
    credits = dec(billed) if billed is not None else meter.catalogue.elevenlabs_credits(model, characters)
    meter.record("tts", f"elevenlabs:{model}", credits, "credit")


class MeteredTTS(TTSProvider):
    """Reports each synthesis's characters once the provider has produced audio for it.

    Wrap the concrete provider *below* the audio cache, so a cached utterance is not charged.
    Providers that report their own billing (``reports_usage = True``) are not wrapped.
    """

    def __init__(self, inner: TTSProvider) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.tier = inner.tier  # type: ignore[misc]
        self.sample_rate = inner.sample_rate
        self.voice = str(getattr(inner, "voice", ""))

    async def start(self) -> None:
        await self.inner.start()
        self.sample_rate = self.inner.sample_rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        charged = False
        async for chunk in self.inner.synthesize(text):
            if not charged:
                charged = True
                usage("tts", self.inner.name, len(text), "character")
                TTS_CHARACTERS.labels(tier=self.inner.tier, provider=self.inner.name).inc(len(text))
            yield chunk

    async def close(self) -> None:
        await self.inner.close()


def metered(provider: TTSProvider) -> TTSProvider:
    """``provider`` wrapped in :class:`MeteredTTS` unless it reports its own usage."""
    return provider if getattr(provider, "reports_usage", False) else MeteredTTS(provider)
