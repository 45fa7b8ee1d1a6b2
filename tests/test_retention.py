"""Recording retention (reauto.store.retention, `reauto calls purge-recordings`)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import DatabaseSettings, RecordingSettings, Settings
from reauto.store import migrate
from reauto.store.engine import make_engine, session_factory
from reauto.store.models import Call, CallEvent, CallStatus, Campaign, Lead
from reauto.store.retention import purge_recordings

from .conftest import create_database, drop_database

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
_PHONES = itertools.count(7000)  # one lead per batch of calls, each its own number


@pytest.fixture
def store():
    name = f"reauto_retention_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    migrate.upgrade(cfg)
    yield cfg
    drop_database(name)


async def _calls(cfg, tmp_path, n: int, *, campaign: str, age_days: float, files: bool = True) -> list[int]:
    engine = make_engine(cfg.database)
    try:
        async with session_factory(engine).begin() as s:
            camp = (await s.execute(select(Campaign).where(Campaign.name == campaign))).scalar_one_or_none()
            if camp is None:
                camp = Campaign(name=campaign)
                s.add(camp)
                await s.flush()
            lead = Lead(campaign_id=camp.id, phone_e164=f"+1512555{next(_PHONES):04d}", state="TX")
            s.add(lead)
            await s.flush()
            folder = tmp_path / campaign
            folder.mkdir(exist_ok=True)
            rows = []
            for i in range(n):
                path = folder / f"{uuid.uuid4().hex}.wav"
                if files:
                    path.write_bytes(b"RIFF" + bytes(96))
                rows.append({"campaign_id": camp.id, "lead_id": lead.id, "provider": "sim",
                             "status": CallStatus.COMPLETED, "recorded": True, "recording_path": str(path),
                             "created_at": NOW - timedelta(days=age_days, minutes=i)})
            await s.execute(insert(Call), rows)
            ids = (await s.execute(select(Call.id).where(Call.campaign_id == camp.id)
                                   .order_by(Call.id.desc()).limit(n))).scalars()
            return sorted(ids)
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_only_recordings_past_their_days_are_deleted_once_on_the_record(store, tmp_path):
    old = await _calls(store, tmp_path, 3, campaign="a", age_days=40)
    fresh = await _calls(store, tmp_path, 2, campaign="a", age_days=5)
    other = await _calls(store, tmp_path, 2, campaign="b", age_days=40)
    missing = await _calls(store, tmp_path, 1, campaign="a", age_days=50, files=False)
    engine = make_engine(store.database)
    sessions = session_factory(engine)
    try:
        dry = await purge_recordings(sessions, keep_days=30, now=NOW, campaign="a", dry_run=True)
        assert sorted(dry.calls) == sorted(old + missing) and dry.purged == 4 and dry.already_gone == 1
        assert all(p.exists() for p in (tmp_path / "a").glob("*.wav"))  # a dry run deletes nothing
        done = await purge_recordings(sessions, keep_days=30, now=NOW, campaign="a")
        assert done.purged == 4 and done.already_gone == 1 and done.bytes_freed == 3 * 100
        again = await purge_recordings(sessions, keep_days=30, now=NOW, campaign="a")
        assert again.purged == 0  # idempotent
        async with sessions() as s:
            calls = {c.id: c for c in (await s.execute(select(Call))).scalars()}
            events = (await s.execute(select(func.count()).select_from(CallEvent)
                                      .where(CallEvent.type == "recording_purged"))).scalar_one()
    finally:
        await engine.dispose()
    assert events == 4
    for i in old + missing:
        assert calls[i].recording_path is None and calls[i].recording_purged_at == NOW and calls[i].recorded
    for i in fresh + other:
        assert calls[i].recording_path and calls[i].recording_purged_at is None
    assert len(list((tmp_path / "a").glob("*.wav"))) == 2 and len(list((tmp_path / "b").glob("*.wav"))) == 2


@pytest.mark.integration
def test_the_command_reads_the_retention_period_and_refuses_without_one(store, tmp_path):
    import asyncio

    asyncio.run(_calls(store, tmp_path, 2, campaign="demo", age_days=4000))
    runner = CliRunner()
    refused = runner.invoke(app, ["calls", "purge-recordings", "--json"], obj=AppState(_settings=store))
    assert refused.exit_code != 0 and "no retention period" in str(refused.exception)
    cfg = store.model_copy(update={"recording": RecordingSettings(keep_days=30)})
    dry = runner.invoke(app, ["calls", "purge-recordings", "--dry-run", "--json"], obj=AppState(_settings=cfg))
    assert dry.exit_code == 0 and json.loads(dry.stdout)["purged"] == 2 and json.loads(dry.stdout)["dry_run"]
    done = runner.invoke(app, ["calls", "purge-recordings", "--campaign", "campaigns/demo.yaml", "--keep-days", "90"],
                         obj=AppState(_settings=store))
    assert done.exit_code == 0 and "deleted 2 recording(s)" in done.output
    listed = runner.invoke(app, ["calls", "list", "--json"], obj=AppState(_settings=store))
    assert [c["recording"] for c in json.loads(listed.stdout)] == ["purged", "purged"]


@pytest.mark.integration
@pytest.mark.slow
async def test_ten_thousand_recordings_are_purged_well_within_a_minute(store, tmp_path):
    await _calls(store, tmp_path, 10_000, campaign="big", age_days=100)
    engine = make_engine(store.database)
    try:
        started = time.monotonic()
        report = await purge_recordings(session_factory(engine), keep_days=30, now=NOW, campaign="big")
        elapsed = time.monotonic() - started
    finally:
        await engine.dispose()
    assert report.purged == 10_000 and not list((tmp_path / "big").glob("*.wav"))
    print(f"10,000 recordings purged in {elapsed:.1f} s")
