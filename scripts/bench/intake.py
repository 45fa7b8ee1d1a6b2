#!/usr/bin/env python3
"""Benchmark speed to lead: a lead posted to ``/v1/leads`` → its call dialed.

    .venv/bin/python scripts/bench/intake.py --posts 20

A serving dialer (`reauto serve --campaign` in-process: intake + dial loop, poll interval 30 s, 4
call slots for the backlog, simulated telephony with 3 s of ringing, admission control off so the
slots are what the run says) has 500 leads already queued. Leads are posted one at a time, 1 s
apart, with an API key; each one's intake → dial started is read from its stored call. Three runs:

* ``waiting``: the 500 queued leads are due later (retries); the call slots are free. The dialer
  sleeps in its poll and must be woken by the post.
* ``busy``: the 500 queued leads are due now and keep every call slot busy (each call rings 3 s and
  is not answered); a posted lead must take the next free slot ahead of all 500.
* ``busy, hot lane``: as ``busy``, with the campaign's ``hot_lane: 4`` beside the 4 backlog slots
  (``concurrency: 8``): the backlog keeps its 4 slots busy, a posted lead finds a lane slot free.

The database is a fresh SQLite file (the embedded default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.campaign import load_campaign  # noqa: E402
from reauto.config import DatabaseSettings, IntakeSettings, Settings, TwilioSettings  # noqa: E402
from reauto.dialer import assembly  # noqa: E402
from reauto.dialer.building import DialOptions  # noqa: E402
from reauto.dialer.run import DialRun  # noqa: E402
from reauto.serve.embed import start_server  # noqa: E402
from reauto.store import migrate  # noqa: E402
from reauto.store.engine import make_engine, session_factory  # noqa: E402
from reauto.store.models import Lead  # noqa: E402
from reauto.store.types import utcnow  # noqa: E402

KEY = "bench-key"
AT = datetime.fromisoformat("2026-11-24T14:00:00-06:00")
QUEUED = 500


def pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))] if ordered else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phone(i: int) -> str:
    return f"+1512555{i:04d}"


async def one_run(queue: str, posts: int, workdir: Path, lane: int = 0) -> dict[str, Any]:
    base = load_campaign(ROOT / "campaigns" / "demo.yaml")
    nobody = {"_unanswered": "no-answer"}
    queued = [{"name": f"Queued {i}", "phone": phone(i), "state": "TX", "answers": nobody} for i in range(QUEUED)]
    posted = [{"name": f"Posted {i}", "phone": phone(5000 + i), "state": "TX", "answers": nobody}
              for i in range(posts)]
    data = {**base.model_dump(mode="json"), "name": f"intake-{queue}{'-lane' if lane else ''}",
            "concurrency": 4 + lane, "hot_lane": lane}
    campaign = type(base).model_validate({**data, "sim_personas": queued + posted})
    cfg = Settings(database=DatabaseSettings(url=f"sqlite:///{workdir / (data['name'] + '.db')}"),
                   intake=IntakeSettings(api_keys=[KEY], consent_written=True, consent_ai_voice=True),
                   twilio=TwilioSettings(listen_port=free_port()))
    migrate.upgrade(cfg)
    engine = make_engine(cfg.database)
    sessions = session_factory(engine)
    only_queued = type(base).model_validate({**data, "sim_personas": queued})
    await assembly.seed_sim_leads(sessions, await assembly.upsert_campaign(sessions, campaign), only_queued)
    if queue == "waiting":
        async with sessions.begin() as s:
            await s.execute(update(Lead).values(next_attempt_at=utcnow() + timedelta(days=1)))
    await engine.dispose()
    serving = asyncio.create_task(DialRun(cfg, campaign, DialOptions(
        clock_start=AT, seed=False, forever=True, poll_s=30.0, admission=False), web=start_server).run())
    url = f"http://127.0.0.1:{cfg.twilio.listen_port}/v1/leads"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(300):
            try:
                async with http.get(url.replace("/v1/leads", "/healthz")) as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(5.0)  # the slots fill (busy) or the dialer settles into its poll (waiting)
        started = time.perf_counter()
        for p in posted:
            async with http.post(url, params={"campaign": campaign.name}, headers={"Authorization": f"Bearer {KEY}"},
                                 json={"phone": p["phone"], "first_name": p["name"], "state": "TX",
                                       "consent": "yes"}) as r:
                assert r.status == 200, await r.text()
            await asyncio.sleep(1.0)
        await asyncio.sleep(8.0)  # the last posted lead's call is placed
        os.kill(os.getpid(), signal.SIGTERM)
        summaries = (await asyncio.wait_for(serving, 120)).summaries
    dial = [s.details["speed_to_lead"]["dial_s"] for s in summaries if "speed_to_lead" in s.details]
    return {"queue": queue + (", hot lane" if lane else ""), "posted": posts, "dialed": len(dial), "queued_calls": len(summaries) - len(dial),
            "p50_s": pct(dial, 50), "p95_s": pct(dial, 95), "max_s": max(dial) if dial else None,
            "wall_s": round(time.perf_counter() - started, 1)}


async def main_async(posts: int) -> list[dict[str, Any]]:
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        return [await one_run(queue, posts, Path(tmp), lane) for queue, lane in (("waiting", 0), ("busy", 0),
                                                                                 ("busy", 4))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20, help="leads posted per run")
    results = asyncio.run(main_async(parser.parse_args().posts))
    print("| queue | posted | dialed | queued leads called meanwhile | intake → dial p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['queue']} | {r['posted']} | {r['dialed']} | {r['queued_calls']} | {r['p50_s']:.2f} s | "
              f"{r['p95_s']:.2f} s | {r['max_s']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
