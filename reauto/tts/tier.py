"""Which voice tier speaks an utterance: a pure cost–benefit rule, and a provider that applies it.

The premium voice costs per character; the local voice costs nothing extra. Premium is worth
it where a better voice is most likely to change the outcome — on promising leads — and only
while the campaign can afford it. :class:`TierPolicy` decides per utterance, in this order:

1. premium is unavailable (not configured, or its breaker is open)  → local ``premium_unavailable``
2. budget utilisation ≥ ``max_utilisation``                          → local ``budget_ceiling``
3. premium share so far ≥ ``premium_share_cap``                       → local ``share_cap``
4. lead score < ``min_score + utilisation_penalty × utilisation``     → local ``low_score``
5. otherwise                                                          → premium ``high_value_lead``

Rule 4 is the cost–benefit trade: the score a lead needs rises as the budget is spent, so the
last premium characters go to the best leads. Every decision carries its inputs, the score it
needed and its reason, for the logs and the cost meter.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from reauto.tts.base import TTSProvider
from reauto.tts.fallback import resampled

Tier = Literal["local", "premium"]


def _check_fraction(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and not math.isnan(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class TierInputs:
    """What the policy looks at for one utterance.

    Attributes:
        lead_score: how promising the lead is, 0..1 (from the agent's scoring).
        budget_utilisation: share of the campaign budget already spent, 0..1.
        premium_share: share of the campaign's spoken characters that went premium so far, 0..1.
        premium_available: the premium provider is configured and healthy.
    """

    lead_score: float
    budget_utilisation: float
    premium_share: float
    premium_available: bool = True

    def __post_init__(self) -> None:
        _check_fraction("lead_score", self.lead_score)
        _check_fraction("budget_utilisation", self.budget_utilisation)
        _check_fraction("premium_share", self.premium_share)


@dataclass(frozen=True)
class TierDecision:
    """One decision, with everything needed to explain it in a log line.

    Attributes:
        tier: local | premium.
        reason: premium_unavailable | budget_ceiling | share_cap | low_score | high_value_lead.
        inputs: what was decided on.
        required_score: the lead score premium needed at this utilisation.
    """

    tier: Tier
    reason: str
    inputs: TierInputs
    required_score: float

    def as_log(self) -> dict[str, Any]:
        """Flat fields for structured logs."""
        return {"tier": self.tier, "reason": self.reason,
                "required_score": round(self.required_score, 4), **asdict(self.inputs)}


@dataclass(frozen=True)
class TierPolicy:
    """The premium-or-local rule (see the module docstring).

    Attributes:
        min_score: lead score premium needs with an untouched budget.
        utilisation_penalty: how much the needed score rises per unit of budget spent.
        max_utilisation: no premium at or above this budget utilisation.
        premium_share_cap: no premium once this share of characters went premium.
    """

    min_score: float = 0.6
    utilisation_penalty: float = 0.3
    max_utilisation: float = 0.9
    premium_share_cap: float = 0.5

    def __post_init__(self) -> None:
        for name in ("min_score", "utilisation_penalty", "max_utilisation", "premium_share_cap"):
            _check_fraction(name, getattr(self, name))

    def required_score(self, budget_utilisation: float) -> float:
        """The lead score premium needs at this budget utilisation."""
        return self.min_score + self.utilisation_penalty * budget_utilisation

    def decide(self, inputs: TierInputs) -> TierDecision:
        """Local or premium for one utterance."""
        required = self.required_score(inputs.budget_utilisation)
        if not inputs.premium_available:
            reason: str = "premium_unavailable"
        elif inputs.budget_utilisation >= self.max_utilisation:
            reason = "budget_ceiling"
        elif inputs.premium_share >= self.premium_share_cap:
            reason = "share_cap"
        elif inputs.lead_score < required:
            reason = "low_score"
        else:
            return TierDecision("premium", "high_value_lead", inputs, required)
        return TierDecision("local", reason, inputs, required)


class TieredTTS(TTSProvider):
    """Speaks each utterance with the tier :class:`TierPolicy` picks.

    Args:
        local: the local-tier provider.
        premium: the premium-tier provider (usually a ``FallbackTTS`` onto ``local``).
        policy: the rule.
        inputs: called per utterance for the current :class:`TierInputs` (the cost meter
            and the lead's score live elsewhere).
        on_decision: called with each :class:`TierDecision`.

    Output is PCM16 at the premium rate when the rates differ; local audio is resampled.
    """

    name = "tiered"

    def __init__(
        self,
        local: TTSProvider,
        premium: TTSProvider,
        policy: TierPolicy,
        inputs: Callable[[], TierInputs],
        *,
        on_decision: Callable[[TierDecision], None] | None = None,
    ) -> None:
        self.local = local
        self.premium = premium
        self.policy = policy
        self.inputs = inputs
        self.on_decision = on_decision
        self.sample_rate = premium.sample_rate
        self.last_decision: TierDecision | None = None

    async def start(self) -> None:
        """Start both tiers (the local one first: it must be ready)."""
        await self.local.start()
        await self.premium.start()
        self.sample_rate = self.premium.sample_rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text`` with the tier the policy picks for it."""
        decision = self.policy.decide(self.inputs())
        self.last_decision = decision
        if self.on_decision is not None:
            self.on_decision(decision)
        provider = self.premium if decision.tier == "premium" else self.local
        stream = provider.synthesize(text)
        async for chunk in resampled(stream, provider.sample_rate, self.sample_rate):
            yield chunk

    async def close(self) -> None:
        """Close both tiers."""
        try:
            await self.premium.close()
        finally:
            await self.local.close()
