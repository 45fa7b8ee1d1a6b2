#!/usr/bin/env python3
"""Benchmark ``reauto leads load`` on PostgreSQL: rows per second for a large CRM export.

Generates a CSV of --rows leads (default 100,000) shaped like a CRM export (mixed phone formats,
two phone columns, addresses, consent columns, custom columns, ~1% bad numbers and ~1% repeated
numbers), loads it through reauto's loader (the code path of ``reauto leads load``) into a
throwaway PostgreSQL database, then loads it again to time the idempotent re-run.

Usage:
    .venv/bin/python scripts/bench/leads_load.py                  # 100k rows, fresh database
    .venv/bin/python scripts/bench/leads_load.py --rows 20000 --json
    .venv/bin/python scripts/bench/leads_load.py --url postgresql+psycopg://postgres@127.0.0.1/scratch

Without --url a database is created from --admin-url (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped at the end unless --keep is given.
With --url the database is migrated and used as is (it should be a throwaway one).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.config import DatabaseSettings, Settings  # noqa: E402
from reauto.leads.loader import load_leads  # noqa: E402
from reauto.store import migrate  # noqa: E402
from reauto.store.engine import make_engine  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Area codes with their state, spread over every continental zone.
AREAS = [
    ("512", "TX", "Austin"), ("214", "TX", "Dallas"), ("915", "TX", "El Paso"),
    ("312", "IL", "Chicago"), ("415", "CA", "San Francisco"), ("212", "NY", "New York"),
    ("305", "FL", "Miami"), ("850", "FL", "Pensacola"), ("602", "AZ", "Phoenix"),
    ("206", "WA", "Seattle"), ("303", "CO", "Denver"), ("404", "GA", "Atlanta"),
    ("617", "MA", "Boston"), ("702", "NV", "Las Vegas"), ("208", "ID", "Boise"),
    ("615", "TN", "Nashville"), ("865", "TN", "Knoxville"), ("907", "AK", "Anchorage"),
]
FORMATS = ["({a}) {e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "1-{a}-{e}-{n}", "{a}{e}{n}"]
HEADER = [
    "Lead ID", "First Name", "Last Name", "Phone 1", "Phone 2", "Email", "Street", "City",
    "State", "Zip", "Lead Source", "TCPA Consent", "Consent Date", "Notes", "Budget", "Timeline",
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a CRM-like CSV of ``rows`` leads."""
    rng = random.Random(seed)
    used: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            area, state, city = rng.choice(AREAS)
            number = (area, f"{rng.randint(200, 999)}", f"{rng.randint(0, 9999):04d}")
            roll = rng.random()
            if roll < 0.01:
                number = ("123", number[1], number[2])  # invalid area code
            elif roll < 0.02 and used:
                number = tuple(rng.choice(used).split("-"))  # type: ignore[assignment]
            used.append("-".join(number))
            phone = rng.choice(FORMATS).format(a=number[0], e=number[1], n=number[2])
            alt = f"({area}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}" if rng.random() < 0.3 else ""
            consent = rng.random() < 0.6
            out.writerow([
                f"crm-{i}", f"First{i}", f"Last{i}", phone, alt, f"lead{i}@example.com",
                f"{rng.randint(1, 9999)} Main St, Unit {rng.randint(1, 40)}", city, state,
                f"{rng.randint(10000, 99999)}", rng.choice(["Zillow", "Realtor.com", "Open house"]),
                "Yes" if consent else "No", "2026-01-15T14:03:00Z" if consent else "",
                "Prefers evenings" if rng.random() < 0.2 else "", str(rng.randint(100, 900) * 1000),
                rng.choice(["0-3 months", "3-6 months", "6-12 months"]),
            ])


async def run(url: str, file: Path, batch: int) -> dict:
    settings = Settings(database=DatabaseSettings(url=url))
    migrate.upgrade(settings)
    engine = make_engine(settings.database)
    try:
        first = await load_leads(engine, file, "bench", batch_size=batch)
        again = await load_leads(engine, file, "bench", batch_size=batch)
    finally:
        await engine.dispose()
    return {
        "rows": first.rows,
        "inserted": first.inserted,
        "rejected": first.rejected,
        "duplicates_in_file": first.duplicates_in_file,
        "consent_records": first.consent_records,
        "seconds": round(first.seconds, 2),
        "rows_per_second": round(first.rows / first.seconds),
        "rerun_inserted": again.inserted,
        "rerun_already_present": again.already_present,
        "rerun_seconds": round(again.seconds, 2),
        "batch_size": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate (default 100000)")
    parser.add_argument("--batch", type=int, default=1000, help="rows per transaction (default 1000)")
    parser.add_argument("--url", help="a throwaway PostgreSQL database to load into")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where to create the database")
    parser.add_argument("--keep", action="store_true", help="keep the created database")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    created = None
    url = args.url
    if url is None:
        created = f"reauto_bench_leads_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created}"'))
        admin.dispose()
        url = make_url(args.admin_url).set(database=created).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "leads.csv"
            started = time.perf_counter()
            generate(file, args.rows)
            generated = time.perf_counter() - started
            result = asyncio.run(run(url, file, args.batch))
            result["file_mb"] = round(file.stat().st_size / 1e6, 1)
            result["generate_seconds"] = round(generated, 2)
    finally:
        if created is not None and not args.keep:
            admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
            admin.dispose()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['rows']:,} rows ({result['file_mb']} MB): {result['inserted']:,} inserted, "
            f"{result['rejected']:,} rejected, {result['duplicates_in_file']:,} duplicates in file — "
            f"{result['seconds']} s, {result['rows_per_second']:,} rows/s "
            f"(batch {result['batch_size']}); re-run: {result['rerun_inserted']} inserted, "
            f"{result['rerun_already_present']:,} already present in {result['rerun_seconds']} s"
        )


if __name__ == "__main__":
    main()
