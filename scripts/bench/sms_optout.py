#!/usr/bin/env python3
"""Benchmark a lead's opt-out text → its number on the do-not-call list.

    .venv/bin/python scripts/bench/sms_optout.py --texts 500 --concurrency 10 --runs 3
    .venv/bin/python scripts/bench/sms_optout.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB

``reauto serve``'s app listens on 127.0.0.1 (uvicorn, one process) over a fresh store holding a
campaign and one lead per text. A client sends Twilio-signed ``POST /twilio/sms`` webhooks, each
from its own lead's number, cycling through every opt-out phrasing of
``tests/data/sms_replies.yaml``, ``--concurrency`` at a time. The time measured is from the request
being sent to its answer: the number is listed (committed) before the answer is written. After
each run every number is checked to be on the list. The store is a fresh SQLite file (the embedded
default) unless ``--database-url`` names an empty, migrated PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.campaign import load_campaign  # noqa: E402
from reauto.config import DatabaseSettings, Settings, TwilioSettings  # noqa: E402
from reauto.serve.app import create_app  # noqa: E402
from reauto.serve.context import ServeContext  # noqa: E402
from reauto.serve.server import WebServer  # noqa: E402
from reauto.store import migrate  # noqa: E402
from reauto.store.engine import make_engine, session_factory  # noqa: E402
from reauto.store.models import Base, Campaign, ConsentRecord, DncEntry, Lead  # noqa: E402
from reauto.telephony.twilio import CallRegistry  # noqa: E402

TOKEN = "bench-token"
PUBLIC = "https://reauto.example.com"
CALLER_ID = "+15125550100"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def one_run(cfg: Settings, texts: int, concurrency: int, phrasings: list[str]) -> dict[str, Any]:
    engine = make_engine(cfg.database)
    sessions = session_factory(engine)
    async with engine.begin() as conn:  # an empty store each run
        if engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml").model_copy(update={"caller_id": CALLER_ID})
    phones = [f"+1512{7000000 + i:07d}" for i in range(texts)]
    async with sessions.begin() as s:
        row = Campaign(name=campaign.name, config=campaign.model_dump(mode="json"))
        s.add(row)
        await s.flush()
        leads = [Lead(campaign_id=row.id, phone_e164=p, first_name="Bench", state="TX", has_written_consent=True)
                 for p in phones]
        s.add_all(leads)
        await s.flush()
        s.add_all(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_texts=True) for lead in leads)
    server = WebServer(create_app(ServeContext(TwilioSettings(auth_token=TOKEN, public_url=PUBLIC),
                                               CallRegistry(PUBLIC), sessions, engine=engine)), port=0)
    await server.start()
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(texts):
        queue.put_nowait(i)

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            form = {"MessageSid": f"SM{i:032d}", "AccountSid": "AC1", "From": phones[i], "To": CALLER_ID,
                    "Body": phrasings[i % len(phrasings)], "NumMedia": "0"}
            sig = validator.compute_signature(PUBLIC + "/twilio/sms", form)
            started = time.perf_counter()
            async with http.post(f"http://127.0.0.1:{server.port}/twilio/sms", data=form,
                                 headers={"X-Twilio-Signature": sig}) as r:
                body = await r.text()
            latencies.append(time.perf_counter() - started)
            assert r.status == 200 and "<Message>" in body, (r.status, body[:200])

    wall = time.perf_counter()
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(client(http) for _ in range(concurrency)))
    finally:
        await server.close()
    wall = time.perf_counter() - wall
    async with sessions() as s:
        listed = await s.scalar(select(func.count()).select_from(DncEntry).where(DncEntry.phone_e164.in_(phones)))
    await engine.dispose()
    return {"texts": texts, "listed": int(listed or 0), "p50_ms": pct(latencies, 50) * 1000,
            "p95_ms": pct(latencies, 95) * 1000, "max_ms": max(latencies) * 1000, "per_s": texts / wall}


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    corpus = yaml.safe_load((ROOT / "tests" / "data" / "sms_replies.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'sms.db'}"
        cfg = Settings(database=DatabaseSettings(url=url))
        migrate.upgrade(cfg)
        return [await one_run(cfg, args.texts, args.concurrency, corpus["opt_out"]) for _ in range(args.runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=500, help="opt-out texts per run (one lead each)")
    parser.add_argument("--concurrency", type=int, default=10, help="webhooks in flight at once")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="an empty, migrated database (default: fresh SQLite)")
    args = parser.parse_args()
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    results = asyncio.run(main_async(args))
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs")
    print("| run | texts | listed | webhook → listed p50 | p95 | max | texts/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(results, 1):
        print(f"| {i} | {r['texts']} | {r['listed']} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
              f"{r['max_ms']:.1f} ms | {r['per_s']:.0f} |")
    p95 = [r["p95_ms"] for r in results]
    print(f"p95 median {statistics.median(p95):.1f} ms (spread {min(p95):.1f}–{max(p95):.1f})")
    return 0 if all(r["listed"] == r["texts"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
