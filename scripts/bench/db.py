#!/usr/bin/env python3
"""Benchmark reauto's hot queries on PostgreSQL at production-like volume.

Seeds a throwaway database (migrated with reauto's own migrations) with 100k leads, 200k calls
and 1M call events via COPY, runs ANALYZE, then times each standard query through reauto's
repositories (async SQLAlchemy + psycopg, the code path the dialer uses):

* next lead to dial (peek, and claim with FOR UPDATE SKIP LOCKED, rolled back)
* a lead's history
* a campaign's calls today
* a call's events

Usage:
    .venv/bin/python scripts/bench/db.py                      # defaults: 100k leads, 1M events
    .venv/bin/python scripts/bench/db.py --leads 10000 --events-per-call 5 --iterations 500 --json

The database is created from --admin-url (default postgresql+psycopg://postgres@127.0.0.1:5432/test)
and dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.config import DatabaseSettings, Settings  # noqa: E402
from reauto.store import migrate, repositories  # noqa: E402
from reauto.store.engine import make_engine, session_factory  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = ["new"] * 50 + ["scheduled"] * 10 + ["callback"] * 10 + ["booked"] * 5 + [
    "not_interested"] * 15 + ["exhausted"] * 10
EVENT_TYPES = ["initiated", "ringing", "answered", "turn_final", "agent_spoke", "completed"]


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows) -> None:  # type: ignore[no-untyped-def]
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(dsn: str, leads: int, campaigns: int, calls_per_lead: int, events_per_call: int) -> dict:
    rng = random.Random(7)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=False) as conn:
        _copy(conn, "campaigns", ["id", "name", "config", "active", "created_at", "updated_at"],
              ((c + 1, f"bench-{c}", "{}", True, NOW, NOW) for c in range(campaigns)))

        def lead_rows():  # type: ignore[no-untyped-def]
            for i in range(leads):
                status = rng.choice(STATUSES)
                yield (i + 1, i % campaigns + 1, f"+1{rng.randint(201, 989)}{i:07d}", "TX",
                       "America/Chicago", '["America/Chicago"]', True, rng.random() < 0.02, status,
                       rng.choice([0, 0, 0, 0, 5]), rng.randint(0, 3),
                       NOW + timedelta(minutes=rng.randint(-7 * 1440, 1440)),
                       "[]", "{}", NOW, NOW)

        _copy(conn, "leads", ["id", "campaign_id", "phone_e164", "state", "timezone", "tz_candidates",
                              "has_written_consent", "dnc", "status", "priority", "attempts",
                              "next_attempt_at", "alt_phones", "custom", "created_at", "updated_at"],
              lead_rows())
        n_calls = leads * calls_per_lead

        def call_rows():  # type: ignore[no-untyped-def]
            for c in range(n_calls):
                lead = c % leads + 1
                yield (c + 1, (lead - 1) % campaigns + 1, lead, "sim", f"CA{c:032x}", "completed",
                       False, "0.050000", NOW - timedelta(seconds=rng.randint(0, 30 * 86400)))

        _copy(conn, "calls", ["id", "campaign_id", "lead_id", "provider", "provider_sid", "status",
                              "recorded", "cost_total", "created_at"], call_rows())

        def event_rows():  # type: ignore[no-untyped-def]
            eid = 0
            for c in range(n_calls):
                base = NOW - timedelta(seconds=rng.randint(0, 30 * 86400))
                for k in range(events_per_call):
                    eid += 1
                    yield (eid, c + 1, base + timedelta(seconds=k * 7),
                           EVENT_TYPES[k % len(EVENT_TYPES)], '{"ms": %d}' % rng.randint(50, 900))

        _copy(conn, "call_events", ["id", "call_id", "ts", "type", "payload"], event_rows())
        for table in ("campaigns", "leads", "calls", "call_events"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {"leads": leads, "calls": n_calls, "events": n_calls * events_per_call,
            "seconds": round(time.perf_counter() - started, 1)}


async def measure(settings: Settings, leads: int, campaigns: int, calls: int, iterations: int) -> dict:
    engine = make_engine(settings.database)
    sessions = session_factory(engine)
    rng = random.Random(11)
    day = NOW.replace(hour=0, minute=0, second=0)

    async def peek(s):  # type: ignore[no-untyped-def]
        await repositories.peek_next_leads(s, rng.randint(1, campaigns), now=NOW)

    async def claim(s):  # type: ignore[no-untyped-def]
        await repositories.claim_next_leads(s, rng.randint(1, campaigns), worker="bench",
                                            lease=timedelta(seconds=90), now=NOW)
        await s.rollback()

    async def history(s):  # type: ignore[no-untyped-def]
        await repositories.lead_history(s, rng.randint(1, leads))

    async def today(s):  # type: ignore[no-untyped-def]
        await repositories.campaign_calls_between(s, rng.randint(1, campaigns), day, day + timedelta(days=1))

    async def today_all(s):  # type: ignore[no-untyped-def]
        campaign, after, rows = rng.randint(1, campaigns), None, 0
        while True:
            page = await repositories.campaign_calls_between(
                s, campaign, day, day + timedelta(days=1), after=after, limit=500)
            rows += len(page)
            if len(page) < 500:
                return rows
            after = (page[-1].created_at, page[-1].id)

    async def events(s):  # type: ignore[no-untyped-def]
        await repositories.call_events(s, rng.randint(1, calls))

    results = {}
    for name, fn in [("next lead to dial (peek)", peek), ("next lead to dial (claim, SKIP LOCKED)", claim),
                     ("a lead's history", history), ("a campaign's calls today (page of 200)", today),
                     ("a campaign's calls today (all rows)", today_all),
                     ("a call's events", events)]:
        async with sessions() as s:
            for _ in range(50):  # warm the pool, caches and statement cache
                await fn(s)
            timings = []
            for _ in range(iterations):
                t0 = time.perf_counter()
                await fn(s)
                timings.append((time.perf_counter() - t0) * 1000)
                await s.rollback()
        timings.sort()
        results[name] = {
            "p50_ms": round(statistics.median(timings), 3),
            "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
            "max_ms": round(timings[-1], 3),
        }
    await engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--calls-per-lead", type=int, default=2)
    parser.add_argument("--events-per-call", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    admin = make_url(args.admin_url)
    name = f"reauto_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name)
    try:
        settings = Settings(database=DatabaseSettings(url=url.render_as_string(hide_password=False)))
        migrate.upgrade(settings)
        seeded = seed(url.set(drivername="postgresql").render_as_string(hide_password=False),
                      args.leads, args.campaigns, args.calls_per_lead, args.events_per_call)
        results = asyncio.run(measure(settings, args.leads, args.campaigns, seeded["calls"], args.iterations))
    finally:
        if not args.keep:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report = {"seeded": seeded, "iterations": args.iterations, "queries": results}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"seeded {seeded['leads']:,} leads, {seeded['calls']:,} calls, {seeded['events']:,} events "
              f"in {seeded['seconds']} s; {args.iterations} runs per query")
        print(f"{'query':44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for q, r in results.items():
            print(f"{q:44} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
