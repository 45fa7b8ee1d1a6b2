"""The tier policy as a table, and TieredTTS applying it per utterance."""

from __future__ import annotations

import pytest

from reauto.tts.tier import TierDecision, TieredTTS, TierInputs, TierPolicy
from tests.fakes import FakeTTS

pytestmark = pytest.mark.unit

POLICY = TierPolicy(min_score=0.6, utilisation_penalty=0.3, max_utilisation=0.9, premium_share_cap=0.5)


@pytest.mark.parametrize(
    ("score", "utilisation", "share", "available", "tier", "reason"),
    [
        (0.9, 0.0, 0.0, True, "premium", "high_value_lead"),
        (0.6, 0.0, 0.0, True, "premium", "high_value_lead"),  # exactly the threshold
        (0.59, 0.0, 0.0, True, "local", "low_score"),
        (0.7, 0.5, 0.1, True, "local", "low_score"),  # needs 0.75 at half the budget spent
        (0.8, 0.5, 0.1, True, "premium", "high_value_lead"),
        (1.0, 0.89, 0.0, True, "premium", "high_value_lead"),  # needs 0.867
        (1.0, 0.9, 0.0, True, "local", "budget_ceiling"),
        (1.0, 1.0, 0.0, True, "local", "budget_ceiling"),
        (1.0, 0.0, 0.5, True, "local", "share_cap"),
        (1.0, 0.0, 0.49, True, "premium", "high_value_lead"),
        (1.0, 0.0, 0.0, False, "local", "premium_unavailable"),
        (0.0, 1.0, 1.0, False, "local", "premium_unavailable"),  # unavailable is checked first
        (0.1, 0.95, 0.9, True, "local", "budget_ceiling"),  # then the budget
        (0.1, 0.2, 0.9, True, "local", "share_cap"),  # then the share
    ],
)
def test_policy_table(score: float, utilisation: float, share: float, available: bool,
                      tier: str, reason: str) -> None:
    inputs = TierInputs(score, utilisation, share, available)
    decision = POLICY.decide(inputs)
    assert (decision.tier, decision.reason) == (tier, reason)
    assert decision.inputs is inputs
    assert decision.required_score == pytest.approx(0.6 + 0.3 * utilisation)
    log = decision.as_log()
    assert log["tier"] == tier and log["lead_score"] == score and log["premium_available"] is available


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_inputs_and_policy_are_validated(bad: float) -> None:
    with pytest.raises(ValueError, match="lead_score"):
        TierInputs(bad, 0.0, 0.0)
    with pytest.raises(ValueError, match="budget_utilisation"):
        TierInputs(0.5, bad, 0.0)
    with pytest.raises(ValueError, match="premium_share"):
        TierInputs(0.5, 0.0, bad)
    with pytest.raises(ValueError, match="min_score"):
        TierPolicy(min_score=bad)


async def test_tiered_tts_follows_the_policy() -> None:
    local = FakeTTS([b"\x01\x00" * 441], sample_rate=22_050, name="piper")
    premium = FakeTTS([b"\x02\x00" * 160], tier="premium", name="elevenlabs")
    state = {"score": 0.9}
    decisions: list[TierDecision] = []
    tts = TieredTTS(local, premium, POLICY, lambda: TierInputs(state["score"], 0.1, 0.0),
                    on_decision=decisions.append)
    await tts.start()
    assert local.started and premium.started and tts.sample_rate == 16_000
    assert [c async for c in tts.synthesize("Great news.")] == [b"\x02\x00" * 160]
    state["score"] = 0.2
    local_pcm = b"".join([c async for c in tts.synthesize("Okay.")])
    assert abs(len(local_pcm) / 2 - 320) <= 8  # 441 samples at 22050 → ~320 at 16000
    assert [d.tier for d in decisions] == ["premium", "local"] and tts.last_decision is decisions[-1]
    assert premium.calls == ["Great news."] and local.calls == ["Okay."]
    await tts.close()
    assert local.closed and premium.closed
