#!/usr/bin/env python3
"""`reauto dial` on a busy machine: calls placed, abandoned and waited for by admission control.

Runs the demo campaign (simulated telephony, the embedded voice stack) against a fresh SQLite
database, ``--runs`` times for each number of CPU burners (processes spinning a core each beside
the dialer), and reports per run: calls placed, answered by a person, abandoned (a person heard
nothing within 2 s of their hello), hello → first audio, how often due leads waited for headroom,
the admission limit it ended at, and the exit status; then the median and spread per burner count.

Usage:
    .venv/bin/python scripts/bench/load.py                        # 0, 1 and 2 burners, 3 runs each, 16 leads
    .venv/bin/python scripts/bench/load.py --burners 2 --runs 5 --concurrency 8
    .venv/bin/python scripts/bench/load.py --no-admission          # the same, with admission off
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REAUTO = [sys.executable, "-m", "reauto.cli.main"]
AT = "2026-11-24T15:00:00-06:00"  # a weekday afternoon in Austin: every persona is callable


def burners(n: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def campaign_with(leads: int, folder: Path) -> Path:
    """The demo campaign with ``leads`` simulated leads: its personas in turn, each on a number of its own."""
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    personas = data["sim_personas"]
    data["sim_personas"] = [{**p, "name": f"{p['name']} {i}", "phone": f"{p['phone'][:-4]}{7000 + i:04d}"}
                            for i, p in ((i, personas[i % len(personas)]) for i in range(leads))]
    for key in ("leads_csv", "leads"):
        data.pop(key, None)
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def one_run(concurrency: int, burning: int, admission: bool, leads: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        campaign = campaign_with(leads, Path(tmp)) if leads else ROOT / "campaigns" / "demo.yaml"
        env = {**os.environ, "REAUTO_DATABASE_URL": f"sqlite:///{tmp}/reauto.db", "PYTHONPATH": str(ROOT)}
        subprocess.run([*REAUTO, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
        spinning = burners(burning)
        time.sleep(2)  # the burners are running before the first dial
        started = time.monotonic()
        try:
            args = [*REAUTO, "dial", str(campaign), "--at", AT, "--concurrency", str(concurrency), "--json"]
            if not admission:
                args.append("--fixed-concurrency")
            done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT, timeout=900)
        finally:
            for p in spinning:
                p.kill()
        elapsed = time.monotonic() - started
    data = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    calls = data.get("calls", [])
    person = [c for c in calls if c.get("status") == "completed" and c.get("outcome") != "voicemail"]
    hellos = [c["hello_to_first_audio_ms"] for c in person if c.get("hello_to_first_audio_ms") is not None]
    abandoned = [c for c in person if c.get("hello_to_first_audio_ms") is None or c["hello_to_first_audio_ms"] > 2000]
    admission_state = data.get("admission") or {}
    return {"burners": burning, "exit": done.returncode, "seconds": round(elapsed, 1), "placed": len(calls),
            "answered_by_a_person": len(person), "abandoned": len(abandoned),
            "hello_ms_max": round(max(hellos)) if hellos else None,
            "hello_ms_median": round(statistics.median(hellos)) if hellos else None,
            "waited_for_headroom": admission_state.get("refused"), "limit_at_end": admission_state.get("limit"),
            "outcomes": sorted(c.get("outcome") for c in calls),
            "error": done.stderr.strip().splitlines()[-1] if done.returncode not in (0, 4, 5) and done.stderr else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burners", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--leads", type=int, default=16, help="simulated leads (0: the demo's own)")
    parser.add_argument("--no-admission", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for burning in args.burners:
        for _ in range(args.runs):
            result = one_run(args.concurrency, burning, not args.no_admission, args.leads)
            results.append(result)
            if not args.json:
                print(json.dumps(result), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"\nload: {os.getloadavg()[0]:.1f} (1 min) at the end; {os.cpu_count()} cores")
    for burning in args.burners:
        rows = [r for r in results if r["burners"] == burning]
        def stat(key: str) -> str:
            values = [r[key] for r in rows if r[key] is not None]
            return f"{statistics.median(values)} [{min(values)}–{max(values)}]" if values else "—"
        print(f"{burning} burners: placed {stat('placed')}, abandoned {stat('abandoned')}, hello max "
              f"{stat('hello_ms_max')} ms, waited {stat('waited_for_headroom')}, limit {stat('limit_at_end')}, "
              f"exits {[r['exit'] for r in rows]}")


if __name__ == "__main__":
    main()
