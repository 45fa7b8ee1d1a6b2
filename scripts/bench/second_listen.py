#!/usr/bin/env python3
"""The opt-out safety net: opt-outs the live recogniser hears, and what hearing them again adds.

Every opt-out of reauto's corpus in one split (``dev`` by default: wording the recogniser's
language models were not built from; ``test``: wording nobody tuned anything on) and, for false
alarms, twice as many other answers of the same split (refusals, "not interested", slot answers,
requests), are each spoken by a voice of the generated evaluation sets (flite, espeak-ng, Piper;
rate and pitch changed), through that set's line conditions (coloured noise, band-limiting, level;
``--mild`` for its milder ones) and the 8 kHz μ-law phone round trip. Each answer is then read

* live: pocketsphinx as a call runs it (its live search, the question's language model, the
  n-best readings), read for an opt-out as the agent reads it (the best reading, or two others);
* again: :func:`reauto.dialer.second_listen.hear_file` on a two-channel recording of the answer
  (Silero VAD, pocketsphinx's thorough search), as the safety net does after the call.

Reports, per seed, opt-out recall live, again, and together (live or again: what the lead's
number ends up with), and false opt-outs among the other answers; then median and range over
the seeds. Voices, conditions and the order are drawn from the seed.

Usage:
    .venv/bin/python scripts/bench/second_listen.py                  # seeds 1 2 3, dev split
    .venv/bin/python scripts/bench/second_listen.py --seeds 4 --mild --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evalset.line import degrade, pick_conditions, voice_effects  # noqa: E402
from evalset.voices import pick_voice, speak  # noqa: E402

from reauto.agent.intents import intents_of  # noqa: E402
from reauto.audio.codec import SAMPLE_RATE, phone_round_trip, write_wav  # noqa: E402
from reauto.campaign import load_campaign  # noqa: E402
from reauto.config import SttSettings  # noqa: E402
from reauto.corpus import entries  # noqa: E402
from reauto.dialer.assembly import vocabulary  # noqa: E402
from reauto.dialer.second_listen import hear_file, says_opt_out  # noqa: E402
from reauto.stt.pocketsphinx import PocketSphinxSTT  # noqa: E402


def answers(split: str, seed: int) -> list[tuple[str, str, bool]]:
    """(text, context, opts out) for every opt-out of ``split`` and twice as many other answers."""
    found = entries(split=split)
    opt_outs = [e for e in found if "dnc" in e.expect.get("intents", ())]
    others = [e for e in found if "dnc" not in e.expect.get("intents", ())]
    rng = np.random.default_rng(seed)
    picked = [others[i] for i in rng.choice(len(others), size=min(len(others), 2 * len(opt_outs)), replace=False)]
    return [(e.text, e.context, True) for e in opt_outs] + [(e.text, e.context, False) for e in picked]


def render(text: str, rng: np.random.Generator, mild: bool) -> bytes:
    """One answer through a voice, the line and the phone: 16 kHz PCM16 with silence around it."""
    voice, cond = pick_voice(rng, mild=mild), pick_conditions(rng, mild=mild)
    said = voice_effects(speak(voice, text), cond)
    pad = np.zeros(int(0.6 * SAMPLE_RATE))
    signal = np.concatenate([pad, said, pad])
    rms = float(np.sqrt(np.mean(said.astype(np.float64) ** 2))) or 1.0
    pcm, _clipped = degrade(signal, rms, cond, rng, [])
    return phone_round_trip(pcm.tobytes())


async def one_seed(seed: int, split: str, mild: bool, tmp: Path, limit: int | None = None,
                   verbose: bool = False) -> dict[str, object]:
    words = vocabulary(load_campaign(ROOT / "campaigns" / "demo.yaml"))
    live = PocketSphinxSTT()
    live.set_vocabulary(words)
    await live.start()
    rng = np.random.default_rng(seed)
    rows = []
    picked = answers(split, seed)
    if limit is not None:  # a smoke run: a few of each
        picked = [a for a in picked if a[2]][:limit] + [a for a in picked if not a[2]][:limit]
    for text, context, opts_out in picked:
        pcm = render(text, rng, mild)
        heard = await live.transcribe(pcm, context=context)
        live_says = says_opt_out(heard)
        path = tmp / "answer.wav"
        stereo = np.column_stack([np.frombuffer(pcm, dtype=np.int16), np.zeros(len(pcm) // 2, dtype=np.int16)])
        write_wav(path, stereo.tobytes(), rate=SAMPLE_RATE, channels=2)
        _utterances, said, _at = await asyncio.to_thread(hear_file, str(path), SttSettings().model_dump(), tuple(words))
        if verbose:
            print(f"{'OPT-OUT' if opts_out else 'other  '} {text!r}\n  live:  {heard.text!r} {heard.alternatives[:3]}"
                  f"\n  again: {said!r}", file=sys.stderr)
        rows.append({"opts_out": opts_out, "live": live_says, "again": said is not None,
                     "dnc_in_text": "dnc" in intents_of(text)})
    await live.close()
    outs = [r for r in rows if r["opts_out"]]
    rest = [r for r in rows if not r["opts_out"]]

    def share(items: list[dict[str, bool]], key: str) -> float:
        return round(100 * sum(bool(r[key]) for r in items) / len(items), 1) if items else 0.0

    for r in rows:
        r["either"] = r["live"] or r["again"]
    return {"seed": seed, "opt_outs": len(outs), "others": len(rest),
            "recall_live": share(outs, "live"), "recall_again": share(outs, "again"),
            "recall_either": share(outs, "either"),
            "false_live": sum(r["live"] for r in rest), "false_again": sum(r["again"] for r in rest),
            "false_either": sum(r["either"] for r in rest)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--split", default="dev", choices=("dev", "train", "test"))
    parser.add_argument("--mild", action="store_true", help="the generated sets' milder line conditions")
    parser.add_argument("--limit", type=int, help="only this many opt-outs and others (a smoke run)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="each answer and what was heard, on stderr")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            result = asyncio.run(one_seed(seed, args.split, args.mild, Path(tmp), args.limit, args.verbose))
            results.append(result)
            if not args.json:
                print(json.dumps(result), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print()
    for key in ("recall_live", "recall_again", "recall_either", "false_live", "false_again", "false_either"):
        values = [r[key] for r in results]
        print(f"{key:14} median {statistics.median(values)}  range {min(values)}–{max(values)}")


if __name__ == "__main__":
    main()
