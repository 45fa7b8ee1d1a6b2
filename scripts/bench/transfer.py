#!/usr/bin/env python3
"""Benchmark a lead asking for a person → the lead and the person connected, on simulated calls.

    .venv/bin/python scripts/bench/transfer.py --leads 8 --concurrency 4 --runs 3

``reauto dial`` runs in-process on a simulated campaign (the demo's questions and voice stack:
Silero VAD, Smart-Turn, pocketsphinx, Piper/flite, real audio over the simulated line at real
speed) whose leads each ask for a person at the first question. The campaign's person answers
after ``--ring-s`` seconds of ringing, hears the whisper (warm mode, spoken at 2.6 words/s) and
is joined to the lead. Per call, from the transfer event:

* ``request → start``: the lead stops speaking → the agent's reply is decided and the person's
  phone starts ringing (end of turn, recognition, the brain);
* ``start → bridged``: ringing, whisper, join;
* ``request → bridged``: what the lead waits, from asking to talking with the person.

The store is a fresh SQLite file per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.campaign import load_campaign  # noqa: E402
from reauto.config import DatabaseSettings, Settings  # noqa: E402
from reauto.dialer.building import DialOptions  # noqa: E402
from reauto.dialer.run import DialRun  # noqa: E402
from reauto.store import migrate  # noqa: E402
from reauto.store.models import CallEvent  # noqa: E402

AT = "2026-11-24T10:30:00-06:00"  # a Tuesday morning: the person is on shift, the leads may be called
VOICES = ["rms", "slt", "awb", "kal"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def campaign_file(workdir: Path, leads: int, ring_s: float, mode: str) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = "transfer-bench"
    data["sim_personas"] = [{"name": f"Asker {i}", "phone": f"+1512555{3000 + i:04d}", "state": "TX",
                             "asks_human": True, "voice": VOICES[i % len(VOICES)],
                             "answers": {"intent": "we want to buy"}} for i in range(leads)]
    data["transfer"] = {"to": "+15125550777", "agent_name": "Dana", "when": ["asked"], "mode": mode,
                        "sim_ring_s": ring_s, "sim_talk_s": 2.0,
                        "shift": {"timezone": "America/Chicago", "start": "08:00", "end": "20:00"}}
    path = workdir / "transfer-bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def one_run(workdir: Path, leads: int, concurrency: int, ring_s: float, mode: str) -> list[dict[str, Any]]:
    from datetime import datetime

    db = workdir / f"run-{len(list(workdir.glob('run-*.db')))}.db"
    cfg = Settings(database=DatabaseSettings(url=f"sqlite:///{db}"))
    migrate.upgrade(cfg)
    campaign = load_campaign(campaign_file(workdir, leads, ring_s, mode))
    await DialRun(cfg, campaign, DialOptions(concurrency=concurrency, clock_start=datetime.fromisoformat(AT))).run()
    engine = create_engine(cfg.database.url)
    with Session(engine) as s:
        events = [e.payload for e in s.execute(select(CallEvent).where(CallEvent.type == "transfer")).scalars()]
    engine.dispose()
    return events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=8, help="leads per run, each asking for a person")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ring-s", type=float, default=1.0, help="seconds the person's phone rings")
    parser.add_argument("--mode", choices=["warm", "cold"], default="warm")
    parser.add_argument("--json", action="store_true", help="every run's transfer events as JSON")
    args = parser.parse_args()
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            runs.append(asyncio.run(one_run(Path(tmp), args.leads, args.concurrency, args.ring_s, args.mode)))
    if args.json:
        print(json.dumps(runs, indent=1))
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{args.leads} leads, concurrency {args.concurrency}, {args.mode}, the person rings {args.ring_s:g} s")
    print("| run | asked | bridged | request → start p50 / p95 | start → bridged p50 / p95 | "
          "request → bridged p50 / p95 / max |")
    print("|---:|---:|---:|---|---|---|")
    p95s = []
    for i, events in enumerate(runs, 1):
        done = [e for e in events if e["status"] == "bridged" and e.get("request_to_bridge_s") is not None]
        start = [e["request_to_start_s"] for e in done]
        join = [e["bridged_s"] for e in done]
        total = [e["request_to_bridge_s"] for e in done]
        if not done:
            print(f"| {i} | {len(events)} | 0 | – | – | – |")
            continue
        p95s.append(pct(total, 95))
        print(f"| {i} | {len(events)} | {len(done)} | {pct(start, 50):.2f} / {pct(start, 95):.2f} s | "
              f"{pct(join, 50):.2f} / {pct(join, 95):.2f} s | {pct(total, 50):.2f} / {pct(total, 95):.2f} / "
              f"{max(total):.2f} s |")
    if p95s:
        print(f"request → bridged p95: median {statistics.median(p95s):.2f} s (spread {min(p95s):.2f}–{max(p95s):.2f})")
    return 0 if len(p95s) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
