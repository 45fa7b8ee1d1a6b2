"""Wiring the premium-or-local voice rule to live calls: score, budget and share per utterance.

:class:`~reauto.tts.tier.TierPolicy` decides; this module feeds it, for the utterance about to
be spoken, the lead's current score (from the running call's agent), the campaign's budget
utilisation (from the budget guard) and the share of utterances that went premium so far, and
logs every decision with its inputs. The campaign's ``tts_tier`` chooses the mode: ``local``
never uses premium, ``premium`` always does while the budget allows, ``auto`` applies the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from reauto.tts.base import TTSProvider
from reauto.tts.factory import TtsTiers
from reauto.tts.tier import TierDecision, TierInputs, TieredTTS, TierPolicy
from reauto.usage import current_meter

log = logging.getLogger(__name__)


@dataclass
class TierStats:
    """Utterances per tier across a campaign run (the premium share the cap applies to)."""

    premium: int = 0
    local: int = 0

    @property
    def premium_share(self) -> float:
        total = self.premium + self.local
        return self.premium / total if total else 0.0

    def count(self, decision: TierDecision) -> None:
        if decision.tier == "premium":
            self.premium += 1
        else:
            self.local += 1


def tiered_tts(tiers: TtsTiers, *, mode: str, share_cap: float, premium_off_at: float,
               utilisation: Callable[[], float], stats: TierStats | None = None) -> TTSProvider:
    """The campaign's voice: the local provider, or a :class:`TieredTTS` deciding per utterance.

    Args:
        tiers: the built providers (``premium`` None when not configured).
        mode: the campaign's ``tts_tier`` (local | premium | auto).
        share_cap: the campaign's ``premium_share_cap``.
        premium_off_at: the budget utilisation at which premium stops (emergency breaker).
        utilisation: the campaign's current budget utilisation, 0..1.
        stats: where decisions are counted (a fresh one when not given).
    """
    if tiers.premium is None or mode == "local":
        return tiers.local
    stats = stats if stats is not None else TierStats()
    min_score = 0.0 if mode == "premium" else TierPolicy.min_score
    penalty = 0.0 if mode == "premium" else TierPolicy.utilisation_penalty
    cap = 1.0 if mode == "premium" else share_cap
    policy = TierPolicy(min_score=min_score, utilisation_penalty=penalty, max_utilisation=premium_off_at,
                        premium_share_cap=cap if cap < 1.0 else 1.0)

    def inputs() -> TierInputs:
        meter = current_meter.get()
        score = meter.lead_score() if meter is not None and meter.lead_score is not None else 0.0
        return TierInputs(lead_score=min(1.0, max(0.0, score)),
                          budget_utilisation=min(1.0, max(0.0, utilisation())),
                          premium_share=stats.premium_share if mode == "auto" else 0.0)

    def on_decision(decision: TierDecision) -> None:
        stats.count(decision)
        log.info("tts tier decision: %s", decision.as_log())

    return TieredTTS(tiers.local, tiers.premium, policy, inputs, on_decision=on_decision)
