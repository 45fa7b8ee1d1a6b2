#!/usr/bin/env python3
"""Benchmark calls through Twilio's protocol on loopback: N concurrent calls, the same campaign
over ``telephony: sim`` in the same run for comparison.

    .venv/bin/python scripts/bench/telephony.py --calls 20

Each call is placed with the real twilio SDK against the loopback double (tests/fakes/twilio.py,
in its own process: Twilio's side does not share reauto's event loop), which fetches reauto's TwiML, sends signed callbacks and streams a simulated lead (flite voice,
8 kHz μ-law, real time) over the media WebSocket into the same call pipeline ``reauto dial``
runs: Silero VAD, Smart-Turn, pocketsphinx (2 processes), the scripted agent, Piper. The database
is a fresh SQLite file (the embedded default).

Reported per telephony: calls and outcomes, first agent audio after the lead's "hello" at the
lead's end (p50/p95), first audio of later turns at the agent's side (VAD stop → first audio out,
p95 over calls' p95), orchestration overhead p95, and audio underruns heard by the leads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.campaign import load_campaign  # noqa: E402
from reauto.config import DatabaseSettings, Settings, TwilioSettings  # noqa: E402
from reauto.dialer import assembly  # noqa: E402
from reauto.dialer.building import DialOptions  # noqa: E402
from reauto.dialer.run import DialRun  # noqa: E402
from reauto.serve.embed import start_server  # noqa: E402
from reauto.store import migrate  # noqa: E402
from reauto.store.engine import make_engine, session_factory  # noqa: E402
from tests.fakes.twilio import DoubleProcess  # noqa: E402

AT = datetime.fromisoformat("2026-11-24T14:00:00-06:00")
VOICES = ["rms", "awb", "kal16", "slt"]


def personas(n: int) -> list[dict[str, Any]]:
    """N cooperative Texas leads (distinct numbers and names)."""
    base = load_campaign(ROOT / "campaigns" / "demo.yaml").sim_personas[0].answers
    return [{"name": f"Lead {i:02d}", "phone": f"+1512555{2000 + i:04d}", "state": "TX",
             "voice": VOICES[i % len(VOICES)], "answers": dict(base)} for i in range(n)]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_run(telephony: str, n: int, workdir: Path) -> dict[str, Any]:
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    data = campaign.model_dump(mode="json")
    data.update(name=f"bench-{telephony}", telephony=telephony, concurrency=n, sim_personas=personas(n))
    campaign = type(campaign).model_validate(data)
    cfg = Settings(database=DatabaseSettings(url=f"sqlite:///{workdir / f'{telephony}-{n}.db'}"))
    migrate.upgrade(cfg)
    started = time.perf_counter()
    if telephony == "sim":
        summaries = (await DialRun(cfg, campaign, DialOptions(concurrency=n, clock_start=AT)).run()).summaries
        far = [s.details.get("hello_to_first_audio_ms") for s in summaries]
        underruns = sum(s.details.get("underruns", 0) for s in summaries)
    else:
        engine = make_engine(cfg.database)
        sessions = session_factory(engine)
        await assembly.seed_sim_leads(sessions, await assembly.upsert_campaign(sessions, campaign), campaign)
        await engine.dispose()
        async with DoubleProcess(assembly.lead_scripts(campaign), ring_s=3.0) as double:
            port = free_port()
            cfg = cfg.model_copy(update={"twilio": TwilioSettings(
                account_sid=double.account_sid, auth_token=double.auth_token, api_base_url=double.base_url,
                public_url=f"http://127.0.0.1:{port}", listen_port=port)})
            options = DialOptions(concurrency=n, clock_start=AT, agent_text_tap=double.agent_text)
            summaries = (await DialRun(cfg, campaign, options, web=start_server).run()).summaries
            reports = list((await double.reports()).values())
        far = [r.get("hello_to_first_audio_ms") for r in reports]
        underruns = sum(r.get("underruns", 0) for r in reports)
    wall = time.perf_counter() - started
    hello = [v for v in far if v is not None]
    turn95 = [s.first_audio_p95_ms for s in summaries if s.first_audio_p95_ms is not None]
    over95 = [s.overhead_p95_ms for s in summaries if s.overhead_p95_ms is not None]
    return {
        "telephony": telephony, "calls": len(summaries), "wall_s": round(wall, 1),
        "outcomes": dict(Counter(s.outcome for s in summaries)),
        "hello_to_audio_p50_ms": pct(hello, 50), "hello_to_audio_p95_ms": pct(hello, 95),
        "turn_first_audio_p95_ms": pct(turn95, 95), "overhead_p95_ms": pct(over95, 95),
        "underruns": underruns,
    }


async def main_async(calls: list[int]) -> list[dict[str, Any]]:
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in calls:
            for telephony in ("sim", "twilio"):
                result = await one_run(telephony, n, Path(tmp))
                print(json.dumps(result), flush=True)
                results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, nargs="+", default=[20], help="concurrent calls per run")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.calls))
    print("| telephony | calls | outcomes | hello → audio p50 / p95 | turn first audio p95 | overhead p95 | underruns |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in results:
        def ms(v: float | None) -> str:
            return "—" if v is None else f"{v:,.0f} ms"
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        print(f"| {r['telephony']} | {r['calls']} | {outcomes} | {ms(r['hello_to_audio_p50_ms'])} / "
              f"{ms(r['hello_to_audio_p95_ms'])} | {ms(r['turn_first_audio_p95_ms'])} | {ms(r['overhead_p95_ms'])} "
              f"| {r['underruns']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
