"""What the dialer reports about calls: the live view's rows, the per-call summary, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reauto import metrics
from reauto.voice.pipeline import CallOutcome


@dataclass
class LiveCall:
    """A call in progress, for the live view."""

    lead_name: str
    phone: str
    stage: str = "dialing"
    last_text: str = ""
    turns: int = 0
    started: float = 0.0
    cost: float = 0.0


@dataclass
class CallSummary:
    """One finished call, for the final table and JSON."""

    call_id: int
    lead_id: int
    lead_name: str
    phone: str
    outcome: str
    status: str
    slots: dict[str, Any]
    score: float | None
    turns: int
    first_audio_p50_ms: float | None
    first_audio_p95_ms: float | None
    hello_to_first_audio_ms: float | None
    overhead_p95_ms: float | None
    cost_usd: float
    recorded: bool
    details: dict[str, Any] = field(default_factory=dict)


def refusal_kind(reason: str) -> str:
    """A bounded label for a gate refusal (the reason itself is free text)."""
    lowered = reason.lower()
    for kind in ("dnc", "consent", "holiday", "window", "attempt", "abandon", "24"):
        if kind in lowered:
            return {"24": "frequency", "attempt": "attempts"}.get(kind, kind)
    return "other"


def observe_call(result: CallOutcome, greeting_ms: float | None, vad_stop_s: float) -> None:
    """Per-turn stage latencies and the lead turns' recogniser confidence of one finished call.

    Stages, per answered lead turn: ``vad`` the end-of-turn wait after the VAD stop, ``stt``
    recognition, ``llm_first_token`` the agent's reply, ``tts_first_byte`` the first audio
    chunk, ``first_audio`` VAD stop → first audio out, ``turn_total`` the lead's last word →
    first audio out (the VAD needs ``vad_stop_s`` of silence before it stops).
    """
    for t in result.latency.completed():
        first = t.first_audio_ms
        metrics.observe_stages([
            ("vad", t.turn_wait_ms), ("stt", None if t.greeting else t.stt_ms), ("llm_first_token", t.brain_ms),
            ("tts_first_byte", t.tts_ms), ("first_audio", first),
            ("turn_total", None if first is None else first + vad_stop_s * 1000),
        ])
    if greeting_ms is not None:
        metrics.HELLO_TO_AUDIO.observe(greeting_ms / 1000)
    for turn in result.turns:
        if turn.speaker == "lead" and turn.confidence is not None:
            metrics.STT_CONFIDENCE.observe(turn.confidence)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
