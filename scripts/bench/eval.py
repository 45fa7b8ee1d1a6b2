#!/usr/bin/env python3
"""How fast ``reauto eval`` scores a set of recorded calls, against the length of their audio.

Generates an evaluation set with scripts/make_eval_set.py (the seven labelled calls of
tests/data/eval, in variants at other speaking rates and noise), then runs ``reauto eval`` on it
as a user would (a subprocess, JSON out) and reports wall time, the audio's length and their
ratio; with ``--realtime`` the report says how long a real-time replay would take instead.

Usage:
    .venv/bin/python scripts/bench/eval.py                  # 50 calls, 2 recogniser processes
    .venv/bin/python scripts/bench/eval.py --calls 50 --jobs 1 --json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = Path(tmp) / "set"
        copies = -(-args.calls // 7)
        subprocess.run([PY, str(ROOT / "scripts" / "make_eval_set.py"), str(sets), "--copies", str(copies)],
                       check=True, capture_output=True)
        for extra in sorted(sets.iterdir())[args.calls:]:
            subprocess.run(["rm", "-rf", str(extra)], check=True)
        started = time.perf_counter()
        out = subprocess.run([PY, "-m", "reauto.cli.main", "eval", str(sets), "--jobs", str(args.jobs), "--json",
                              "--campaign", str(ROOT / "campaigns" / "demo.yaml")],
                             capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
    if out.returncode not in (0, 1):
        sys.exit(f"reauto eval failed ({out.returncode}): {out.stderr[-2000:]}")
    s = json.loads(out.stdout)["summary"]
    result = {"calls": s["calls"], "failed_calls": s["failed_calls"], "turns": s["turns"], "audio_s": s["audio_s"],
              "eval_s": s["elapsed_s"], "wall_s": round(wall, 1), "wall_per_audio": round(wall / s["audio_s"], 3),
              "stt_ms_p95": s["stt_ms_p95"], "wer": s["wer"], "slot_accuracy": s["slot_accuracy"],
              "outcome_accuracy": s["outcome_accuracy"], "jobs": args.jobs}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:>18}: {v}")


if __name__ == "__main__":
    main()
