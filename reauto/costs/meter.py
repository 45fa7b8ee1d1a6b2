"""The cost meter of one call: every usage event becomes a priced ledger line as it happens.

Providers report usage events through :mod:`reauto.usage` (which knows the meter only as the
:class:`~reauto.usage.UsageMeter` protocol); :class:`CostMeter` implements it, and a call's meter
is the one set in :data:`~reauto.usage.current_meter` for the call's task.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from reauto.costs.pricing import MICRO, Catalogue, dec


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

    def elevenlabs_credits(self, model: str, characters: int) -> Decimal:
        """Credits ElevenLabs bills for ``characters`` with ``model`` (at the campaign's rates)."""
        return self.catalogue.elevenlabs_credits(model, characters)

    def record_call_time(self, provider: str, seconds: float, *, amd: bool) -> None:
        """Telephony and media stream per started minute, and AMD per call (at the call's end)."""
        minutes = max(1, math.ceil(seconds / 60)) if seconds > 0 else 0
        if minutes:
            self.record("telephony", provider, minutes, "minute")
            self.record("media_stream", provider, minutes, "minute")
        if amd:
            self.record("amd", provider, 1, "call")
