#!/usr/bin/env python3
"""Generate a labelled evaluation set for ``reauto eval``: flite voices through a phone line.

Each call is a lead's side of a conversation with the demo campaign's agent: the lead's turns
spoken by a flite voice at its own speaking rate, with line noise at a given SNR, pauses where
the agent talks, written as 8 kHz μ-law (the telephony format), 8 kHz PCM or 16 kHz PCM. Some
calls give their turns' times, the others leave them to the VAD.

Usage:
    .venv/bin/python scripts/make_eval_set.py tests/data/eval           # the committed set
    .venv/bin/python scripts/make_eval_set.py /tmp/set --copies 8        # 8 variants of each call

Deterministic: the same arguments write the same files (noise is seeded per call).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from reauto.voice.audio import SAMPLE_RATE, phone_round_trip, read_wav, to_internal, write_ulaw_wav, write_wav


@dataclass(frozen=True)
class CallPlan:
    name: str
    lead: dict[str, str]
    voice: str
    stretch: float  # flite duration_stretch: > 1 speaks slower
    snr_db: float
    fmt: str  # ulaw8k | pcm8k | pcm16k
    timed: bool
    turns: list[str]
    labels: dict[str, object]
    answered_by: str = "human"
    agent: tuple[str, ...] = ()


PLANS = [
    CallPlan("buyer-jane", {"name": "Jane Doe", "phone": "+15125550123", "state": "TX"}, "slt", 1.0, 30, "ulaw8k",
             True, ["hello", "yes this is jane", "we want to buy a house", "in about three months",
                    "around four hundred thousand", "yes we are pre approved", "the first one works for me"],
             {"intent": "buy", "timeline_months": 3, "budget_usd": 400000, "preapproved": True, "outcome": "booked"},
             agent=("Hi Jane, this is Ava, an AI assistant calling from Lone Star Realty. Is this Jane?",)),
    CallPlan("seller-mark", {"name": "Mark Rivera", "phone": "+13055550142", "state": "FL"}, "awb", 1.15, 20,
             "pcm16k", False, ["hello", "yes speaking", "we are thinking about selling our house",
                               "probably in six months", "can you call me back tomorrow"],
             {"intent": "sell", "timeline_months": 6, "outcome": "callback"}),
    CallPlan("dnc-tom", {"name": "Tom Becker", "phone": "+17135550165", "state": "TX"}, "rms", 1.0, 20, "ulaw8k",
             True, ["hello", "please take me off your list and do not call me again"], {"outcome": "dnc"}),
    CallPlan("robot-priya", {"name": "Priya Shah", "phone": "+14155550187", "state": "CA"}, "slt", 0.9, 25,
             "ulaw8k", True, ["hello", "yes", "wait are you a robot", "i want to buy a condo",
                              "about a year from now", "under a million", "not yet"],
             {"intent": "buy", "timeline_months": 12, "budget_usd": 1000000, "preapproved": False,
              "outcome": "callback"}),
    CallPlan("voicemail-linda", {"name": "Linda Park", "phone": "+12145550119", "state": "TX"}, "slt", 1.0, 30,
             "ulaw8k", False, ["hi you have reached linda please leave a message after the tone"],
             {"outcome": "voicemail"}, answered_by="machine"),
    CallPlan("renter-sam", {"name": "Sam Okafor", "phone": "+15125550144", "state": "TX"}, "kal16", 1.1, 20,
             "pcm8k", False, ["hello", "this is sam", "i am looking to rent an apartment",
                              "no thanks i am not interested"],
             {"intent": "rent", "outcome": "not_interested"}),
    CallPlan("buyer-ana", {"name": "Ana Silva", "phone": "+15125550166", "state": "TX"}, "kal", 1.0, 25, "ulaw8k",
             True, ["hello", "yes it is", "we want to buy", "in two months", "about three hundred fifty thousand",
                    "yes we are", "wednesday works better"],
             {"intent": "buy", "timeline_months": 2, "budget_usd": 350000, "preapproved": True, "outcome": "booked"}),
]


def speak(text: str, voice: str, stretch: float) -> np.ndarray:
    """flite's rendering of ``text`` at 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(out)],
                       check=True, capture_output=True)
        audio = read_wav(out)
    return np.frombuffer(to_internal(audio.pcm, audio.rate), dtype=np.int16)


def build(plan: CallPlan, out: Path, seed: int, stretch: float | None = None) -> None:
    rng = np.random.default_rng(seed)
    silence = lambda s: np.zeros(int(s * SAMPLE_RATE), dtype=np.float64)  # noqa: E731
    pieces, times, t = [silence(0.6)], [], 0.6
    for i, text in enumerate(plan.turns):
        speech = speak(text, plan.voice, stretch or plan.stretch).astype(np.float64)
        times.append((round(t, 2), round(t + len(speech) / SAMPLE_RATE, 2)))
        pieces.append(speech)
        t += len(speech) / SAMPLE_RATE
        gap = 0.8 if plan.answered_by == "machine" else (1.6 if i < len(plan.turns) - 1 else 0.8)
        pieces.append(silence(gap))
        t += gap
    signal = np.concatenate(pieces)
    speech_rms = float(np.sqrt(np.mean(np.concatenate([p for p in pieces if p.any()]) ** 2)))
    noise = rng.normal(0.0, speech_rms / 10 ** (plan.snr_db / 20), signal.size)
    pcm = np.clip(np.round(signal + noise), -32768, 32767).astype(np.int16).tobytes()
    pcm = phone_round_trip(pcm)  # every call went through a phone line
    out.mkdir(parents=True, exist_ok=True)
    if plan.fmt == "ulaw8k":
        write_ulaw_wav(out / "lead.wav", pcm)
    elif plan.fmt == "pcm8k":
        write_wav(out / "lead.wav", np.frombuffer(pcm, dtype=np.int16)[::2].tobytes(), rate=8000)
    else:
        write_wav(out / "lead.wav", pcm)
    turns: list[dict[str, object]] = []
    for i, (text, (a, b)) in enumerate(zip(plan.turns, times, strict=True)):
        turns.append({"speaker": "lead", "text": text, **({"start": a, "end": b} if plan.timed else {})})
        if i < len(plan.agent):
            turns.append({"speaker": "agent", "text": plan.agent[i]})
    flow = lambda v: yaml.safe_dump(v, default_flow_style=True, width=200, sort_keys=False).strip()  # noqa: E731
    lines = [f"# Generated by scripts/make_eval_set.py: flite voice {plan.voice}, duration stretch "
             f"{stretch or plan.stretch}, SNR {plan.snr_db} dB, {plan.fmt}.",
             "campaign: demo", f"lead: {flow(plan.lead)}"]
    if plan.answered_by != "human":
        lines.append(f"answered_by: {plan.answered_by}")
    lines += ["turns:", *(f"  - {flow(t)}" for t in turns), "labels:",
              *(f"  {flow({k: v})[1:-1]}" for k, v in plan.labels.items())]
    (out / "call.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=1, help="variants of each call (other rate and noise)")
    args = parser.parse_args()
    for copy in range(args.copies):
        for n, plan in enumerate(PLANS):
            name = plan.name if args.copies == 1 else f"{plan.name}-{copy + 1:02d}"
            stretch = None if copy == 0 else round(plan.stretch * (0.9 + 0.05 * (copy % 5)), 3)
            build(plan, args.out / name, seed=1000 * copy + n, stretch=stretch)
            print(args.out / name)


if __name__ == "__main__":
    main()
