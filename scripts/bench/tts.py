#!/usr/bin/env python3
"""Time to first chunk and real-time factor of the local TTS engines.

For each provider (Piper with the joe voice, every built-in flite voice, espeak-ng) the
provider is started once (voice loaded), then speaks :data:`SENTENCES` — twenty things the
agent really says — one at a time, as a call would. Per utterance it records the time to the
first audio chunk and the total synthesis time; the table shows the median and p95 time to
first chunk and the RTF = total synthesis time / total audio duration (below 1 is faster than
real time; a call needs well below 1).

Usage:
    .venv/bin/python scripts/bench/tts.py               # table
    .venv/bin/python scripts/bench/tts.py --json        # JSON
    .venv/bin/python scripts/bench/tts.py --providers piper flite:slt

Needs the Debian packages ``flite`` and ``espeak-ng``; Piper and the joe voice are Python
dependencies of reauto.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.tts.base import TTSProvider  # noqa: E402
from reauto.tts.espeak import EspeakTTS  # noqa: E402
from reauto.tts.flite import FliteTTS  # noqa: E402
from reauto.tts.piper import PiperTTS  # noqa: E402

SENTENCES = (
    "Hi, this is Joe calling from Sunrise Realty.",
    "Is now a good time to talk for a couple of minutes?",
    "I'm an automated assistant, and this call may be recorded for quality purposes.",
    "I saw you were looking at homes in the Austin area. Are you still thinking about buying?",
    "Great. What kind of timeline do you have in mind?",
    "Got it, so sometime in the next three to six months.",
    "And roughly what price range are you considering?",
    "Have you already spoken with a lender, or been pre-approved for a mortgage?",
    "That's no problem at all. We work with several lenders who can help.",
    "Are you looking for a single family home, a condo, or a townhouse?",
    "How many bedrooms would you need?",
    "Is there a particular neighborhood or school district you prefer?",
    "Would you also need to sell a home before you buy?",
    "Thanks, that's really helpful.",
    "One of our agents, Maria, specializes in that part of town.",
    "Would Tuesday at four in the afternoon work for a quick call with her?",
    "Perfect. You'll get a text confirmation in a moment.",
    "If anything changes, just reply to that message and we'll reschedule.",
    "I understand. I'll make sure you're not contacted again.",
    "Thanks so much for your time, and have a great day!",
)

FACTORIES: dict[str, Callable[[], TTSProvider]] = {
    "piper:joe": PiperTTS,
    **{f"flite:{v}": (lambda v=v: FliteTTS(v)) for v in ("kal", "kal16", "awb", "rms", "slt")},
    "espeak-ng:en-us": EspeakTTS,
}


async def measure(label: str, make: Callable[[], TTSProvider]) -> dict[str, object]:
    """Start one provider and time every sentence."""
    tts = make()
    started = time.perf_counter()
    await tts.start()
    load_s = time.perf_counter() - started
    first_chunks, synth_s, audio_s = [], 0.0, 0.0
    for sentence in SENTENCES:
        t0, first, nbytes = time.perf_counter(), None, 0
        async for chunk in tts.synthesize(sentence):
            first = first if first is not None else time.perf_counter() - t0
            nbytes += len(chunk)
        synth_s += time.perf_counter() - t0
        audio_s += nbytes / 2 / tts.sample_rate
        first_chunks.append(first if first is not None else float("nan"))
    await tts.close()
    ordered = sorted(first_chunks)
    return {
        "provider": label,
        "rate_hz": tts.sample_rate,
        "load_s": round(load_s, 3),
        "ttfc_median_ms": round(1000 * statistics.median(ordered), 1),
        "ttfc_p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
        "audio_s": round(audio_s, 2),
        "synth_s": round(synth_s, 3),
        "rtf": round(synth_s / audio_s, 4) if audio_s else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: scripts/bench/tts.py --json")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--providers", nargs="+", choices=sorted(FACTORIES), default=list(FACTORIES),
                        help="which providers to measure (default: all)")
    args = parser.parse_args(argv)
    rows = [asyncio.run(measure(name, FACTORIES[name])) for name in args.providers]
    if args.json:
        print(json.dumps({"sentences": len(SENTENCES), "results": rows}, indent=2))
        return 0
    header = ("provider", "rate_hz", "load_s", "ttfc_median_ms", "ttfc_p95_ms", "audio_s", "synth_s", "rtf")
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(header, widths, strict=True)))
    print(f"\n{len(SENTENCES)} sentences each; RTF = synthesis time / audio duration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
