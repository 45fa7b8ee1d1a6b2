#!/usr/bin/env python3
"""How many calls one Whisper recogniser serves: batch throughput and turn decode latency.

The model is a CTranslate2 Whisper of a real size (tiny.en … medium.en) with **random weights**,
built offline from the published dimensions (``reauto/stt/whisper_random.py``): the weights
cannot be downloaded here, and a model of the same shape costs the same compute. Each decode
generates exactly ``--tokens`` tokens (a short answer's transcript), so the numbers are
throughput and latency, never accuracy.

Two measurements per size, each repeated ``--runs`` times (median and range reported):

* **batch throughput**: utterances per second when ``--batches`` utterances of ``--answer-s``
  seconds are decoded together (:class:`reauto.stt.whisper_batch.WhisperBatchDecoder`), and the
  best batch's ratio to one at a time;
* **calls**: ``N`` simulated calls, each saying an answer of ``--answer-s`` s, then listening to
  the agent for 2–4 s, over and over; each answer goes to the shared recogniser
  (:class:`reauto.stt.batcher.UtteranceBatcher`) when it ends, and the time to its transcript is
  the turn's decode latency. Run with batching (``--max-batch``) and one at a time; a sweep
  stops for a mode once its p95 passes 3 s (saturated). The answer is the most calls whose p95
  stays within ``--budget-s`` (the agent's 1 s turn).

Usage:
    .venv/bin/python scripts/bench/whisper_capacity.py                       # tiny.en on the CPU
    .venv/bin/python scripts/bench/whisper_capacity.py --sizes base.en small.en --device cuda \\
        --compute-type float16 --calls 16 32 64 128 256 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.stt.batcher import UtteranceBatcher  # noqa: E402
from reauto.stt.whisper_batch import WhisperBatchDecoder  # noqa: E402
from reauto.stt.whisper_random import build  # noqa: E402

SATURATED_S = 3.0


def utterance(seconds: float, seed: int) -> bytes:
    """Speech-level noise: the decoder's cost does not depend on what is said."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16_000 * seconds)) * 2500).astype(np.int16).tobytes()


def throughput(decoder: WhisperBatchDecoder, batch: int, pcm: bytes, seconds: float) -> float:
    """Utterances per second decoding ``batch`` at a time for at least ``seconds`` (and 2 batches)."""
    decoder.decode([pcm] * batch)  # warm
    done, started = 0, time.perf_counter()
    while done < 2 * batch or time.perf_counter() - started < seconds:
        decoder.decode([pcm] * batch)
        done += batch
    return done / (time.perf_counter() - started)


async def calls(decoder: WhisperBatchDecoder, n: int, max_batch: int, answer_s: float, duration_s: float,
                seed: int) -> dict[str, Any]:
    """``n`` calls taking turns for ``duration_s``: each turn's decode latency."""
    batcher = UtteranceBatcher(decoder.decode, max_batch=max_batch, max_wait_s=0.005)
    pcm = utterance(answer_s, seed)
    latencies: list[float] = []
    stop_at = time.monotonic() + duration_s

    async def call(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        await asyncio.sleep(rng.uniform(0, answer_s + 3.0))  # calls are not in step
        while time.monotonic() < stop_at:
            await asyncio.sleep(answer_s)  # the lead speaks
            asked = time.monotonic()
            await batcher.transcribe(pcm)
            latencies.append(time.monotonic() - asked)
            await asyncio.sleep(rng.uniform(2.0, 4.0))  # the agent answers

    await asyncio.gather(*(call(i) for i in range(n)))
    await batcher.close()
    latencies.sort()
    return {"calls": n, "turns": len(latencies), "p50_s": _pct(latencies, 50), "p95_s": _pct(latencies, 95),
            "mean_batch": statistics.fmean(batcher.batches) if batcher.batches else 0.0}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def one_run(decoder: WhisperBatchDecoder, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    pcm = utterance(args.answer_s, seed)
    rates = {b: throughput(decoder, b, pcm, args.seconds) for b in args.batches}
    sweep: dict[str, list[dict[str, Any]]] = {}
    for mode, max_batch in (("batched", args.max_batch), ("one at a time", 1)):
        sweep[mode] = []
        for n in args.calls:
            row = asyncio.run(calls(decoder, n, max_batch, args.answer_s, args.duration_s, seed))
            sweep[mode].append(row)
            if row["p95_s"] > SATURATED_S:
                break
    return {"utt_per_s": rates, "calls": sweep}


def capacity(rows: list[dict[str, Any]], budget_s: float) -> int:
    """The most calls whose p95 stays within the budget (0: not even the first)."""
    best = 0
    for row in rows:
        if row["p95_s"] <= budget_s:
            best = max(best, row["calls"])
    return best


def report(size: str, runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"

    out: dict[str, Any] = {"size": size, "runs": runs}
    window = "the answer's own window" if args.trim else "Whisper's 30 s window"
    print(f"\n## {size} on {args.device} ({args.compute_type}, {args.threads or 'default'} threads), "
          f"{args.tokens} tokens per {args.answer_s:.0f} s answer, {window}, {len(runs)} runs")
    print("batch | utterances/s, median (range)")
    for b in args.batches:
        print(f"{b:5d} | {spread([r['utt_per_s'][b] for r in runs])}")
    ratios = [max(r["utt_per_s"].values()) / r["utt_per_s"][args.batches[0]] for r in runs]
    print(f"best batch ÷ batch {args.batches[0]}: {spread(ratios)}")
    out["best_ratio"] = statistics.median(ratios)
    for mode in ("batched", "one at a time"):
        caps = [capacity(r["calls"][mode], args.budget_s) for r in runs]
        out[f"capacity_{mode}"] = caps
        print(f"{mode}: calls within p95 ≤ {args.budget_s:.1f} s per run: {caps}")
        for n in args.calls:
            rows = [row for r in runs for row in r["calls"][mode] if row["calls"] == n]
            if len(rows) == len(runs):
                print(f"  {n:4d} calls: p50 {spread([x['p50_s'] for x in rows])} s, "
                      f"p95 {spread([x['p95_s'] for x in rows])} s, mean batch "
                      f"{spread([x['mean_batch'] for x in rows])}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny.en"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--compute-type", default=None, help="int8 (CPU default), float16 (GPU default) …")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads per batch.")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=24, help="Tokens per transcript.")
    parser.add_argument("--answer-s", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="Least time per throughput point.")
    parser.add_argument("--duration-s", type=float, default=20.0, help="Time per call-count point.")
    parser.add_argument("--budget-s", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trim", action="store_true",
                        help="Encode the utterance's own length, not Whisper's 30 s window (see the decoder's doc).")
    parser.add_argument("--models", type=Path, default=Path("/tmp/reauto-whisper-random"))
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    args.compute_type = args.compute_type or ("int8" if args.device == "cpu" else "float16")
    results = []
    for size in args.sizes:
        folder = args.models / size
        if not (folder / "model.bin").is_file():
            build(size, folder, quantization=None)  # float32 on disk; compute_type converts at load
        decoder = WhisperBatchDecoder(folder, device=args.device, compute_type=args.compute_type,
                                      threads=args.threads if args.device == "cpu" else 0,
                                      fixed_tokens=args.tokens, trim=args.trim)
        runs = [one_run(decoder, args, seed) for seed in range(1, args.runs + 1)]
        results.append(report(size, runs, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
