"""The pricing catalogue: what one unit of each kind of usage costs.

Usage is priced where it happens (see :mod:`reauto.costs.meter`), in these units:

=============  ===========================  ==========================================
component      provider                     unit and price
=============  ===========================  ==========================================
telephony      twilio (sim: sim_priced_as)  started minute × ``telephony_per_min``
media_stream   twilio (sim: sim_priced_as)  started minute × ``media_stream_per_min``
amd            twilio (sim: sim_priced_as)  call × ``amd_per_call``
stt            provider name                second of audio × ``stt_per_second``
tts            local provider name          character × ``tts_per_character``
tts            ``elevenlabs:<model>``       credit × ``elevenlabs_usd_per_credit``
llm            ``ollama:<model>``           token × ``llm_per_1k_tokens``/1000, or a
                                            self-hosted share: GPU hour / 3600 / tokens per s
=============  ===========================  ==========================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from reauto.config import PricingSettings
from reauto.errors import ConfigError

#: Ledger amounts keep micro-dollars (the store's Money type has 6 decimals).
MICRO = Decimal("0.000001")


def dec(value: float | int | str | Decimal) -> Decimal:
    """A price or quantity as an exact Decimal (floats through their shortest repr)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Price:
    """The price of one unit of one kind of usage."""

    unit: str
    unit_price: Decimal
    source: str  # which catalogue key it came from, for the report


class Catalogue:
    """Prices for a campaign: the settings' ``[pricing]`` with the campaign's overrides.

    Raises:
        ConfigError: an override names an unknown key or has the wrong type.
    """

    def __init__(self, settings: PricingSettings, overrides: Mapping[str, Any] | None = None) -> None:
        if overrides:
            try:
                settings = PricingSettings.model_validate({**settings.model_dump(), **dict(overrides)})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ConfigError(f"campaign pricing.{where}: {first['msg']}") from None
        self.settings = settings

    def telephony_provider(self, provider: str) -> str:
        return self.settings.sim_priced_as if provider == "sim" else provider

    def price(self, component: str, provider: str) -> Price:
        """The price of one unit of ``component`` from ``provider`` (0 for a provider not listed)."""
        p = self.settings
        if component in ("telephony", "media_stream", "amd"):
            table = {"telephony": p.telephony_per_min, "media_stream": p.media_stream_per_min,
                     "amd": p.amd_per_call}[component]
            name = self.telephony_provider(provider)
            unit = "call" if component == "amd" else "minute"
            key = {"telephony": "telephony_per_min", "media_stream": "media_stream_per_min",
                   "amd": "amd_per_call"}[component]
            return Price(unit, dec(table.get(name, 0.0)), f"{key}.{name}")
        if component == "stt":
            return Price("second", dec(p.stt_per_second.get(provider, 0.0)), f"stt_per_second.{provider}")
        if component == "tts":
            if provider.startswith("elevenlabs"):
                return Price("credit", dec(p.elevenlabs_usd_per_credit), "elevenlabs_usd_per_credit")
            return Price("character", dec(p.tts_per_character.get(provider, 0.0)), f"tts_per_character.{provider}")
        if component == "llm":
            model = provider.split(":", 1)[1] if ":" in provider else provider
            if model in p.llm_per_1k_tokens:
                return Price("token", dec(p.llm_per_1k_tokens[model]) / 1000, f"llm_per_1k_tokens.{model}")
            per_token = dec(p.llm_gpu_hour_usd) / 3600 / dec(p.llm_tokens_per_second)
            return Price("token", per_token, "llm_gpu_hour_usd / 3600 / llm_tokens_per_second")
        raise ValueError(f"unknown cost component {component!r}")

    def elevenlabs_credits(self, model: str, characters: int) -> Decimal:
        """Credits ElevenLabs bills for ``characters`` with ``model`` (1 per character if unknown)."""
        return dec(self.settings.elevenlabs_credits_per_character.get(model, 1.0)) * characters

    def call_estimate(self, provider: str, minutes: float, *, amd: bool) -> Decimal:
        """What ``minutes`` of one call cost in telephony, media and AMD (what a dial reserves)."""
        whole = Decimal(math.ceil(dec(minutes)))  # started minutes
        per_min = self.price("telephony", provider).unit_price + self.price("media_stream", provider).unit_price
        return (whole * per_min + (self.price("amd", provider).unit_price if amd else 0)).quantize(MICRO)
