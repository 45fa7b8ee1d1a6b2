"""Pausing a campaign while three dialers (three ``reauto dial`` processes) run it: once the pause
is answered no dialer opens another call, live calls end as they would, claimed leads stay due;
a resume lets it dial again. Over ``reauto serve`` the same, authenticated."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from reauto.config import IntakeSettings, TwilioSettings
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.server import WebServer
from reauto.store.models import Call, Campaign, Lead, LeadStatus
from reauto.telephony.twilio import CallRegistry

from .test_dial import AT, ROOT, cli

REAUTO = str(Path(sys.executable).parent / "reauto")
LEADS = 120


@pytest.fixture
def db_cfg(fresh_db_cfg):
    return fresh_db_cfg


def campaign_file(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data.update(name="paused-test", concurrency=2, sim_personas=[
        {"name": f"Lead {i}", "phone": f"+1512555{4000 + i:04d}", "state": "TX",
         "answers": {"_unanswered": "no-answer"}} for i in range(LEADS)])
    path = tmp_path / "paused-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def count(engine, query):
    with Session(engine) as s:
        return s.execute(query).scalar()


@pytest.mark.integration
def test_a_pause_stops_every_dialer_at_once_and_a_resume_lets_them_dial(db_cfg, tmp_path, redis_settings):
    path = campaign_file(tmp_path)
    env = {**os.environ, "REAUTO_DATABASE_URL": db_cfg.database.url, "REAUTO_REDIS_URL": redis_settings.url,
           "REAUTO_REDIS_KEY_PREFIX": redis_settings.key_prefix}
    logs = [(tmp_path / f"dialer-{i}.log").open("wb") for i in range(3)]
    dialers = [subprocess.Popen([REAUTO, "dial", str(path), "--at", AT, "--speed", "1", "--json"], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=logs[i]) for i in range(3)]
    engine = create_engine(db_cfg.database.url)
    try:
        deadline = time.monotonic() + 180
        while count(engine, select(func.count(func.distinct(Call.worker)))) < 3:  # all three are dialing
            assert time.monotonic() < deadline and all(d.poll() is None for d in dialers), \
                [p.read_text()[-2000:] for p in tmp_path.glob("dialer-*.log")]
            time.sleep(0.2)
        paused = cli(db_cfg, "campaign", "pause", "paused-test", "--json")
        assert paused.exit_code == 0, paused.output
        assert json.loads(paused.stdout)["paused"] is True
        last = count(engine, select(func.max(Call.id)))
        for d in dialers:  # each ends once its live calls have
            assert d.wait(timeout=120) == 0
        # not one call was opened after the pause was answered, by any of the three
        assert count(engine, select(func.max(Call.id))) == last
        due = count(engine, select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.NEW))
        dialing = count(engine, select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.DIALING))
        assert due > 0 and dialing == 0  # claimed leads were given back, still due
        status = cli(db_cfg, "campaign", "status", "paused-test", "--json")
        assert json.loads(status.stdout)["paused"] and "paused" in json.loads(status.stdout)["stopped_by"]
        resumed = cli(db_cfg, "campaign", "resume", "paused-test", "--json")
        assert resumed.exit_code == 0 and json.loads(resumed.stdout)["paused"] is False
        again = cli(db_cfg, "dial", str(path), "--at", AT, "--speed", "2", "--max-calls", "2", "--json")
        assert again.exit_code == 0, again.output
        assert count(engine, select(func.max(Call.id))) == last + 2
    finally:
        for d in dialers:
            if d.poll() is None:
                d.kill()
            d.wait()
        for log in logs:
            log.close()
        engine.dispose()


@pytest.mark.integration
async def test_pause_and_resume_over_the_server_are_authenticated(pg_engine):
    async with pg_engine.begin() as conn:
        await conn.execute(Campaign.__table__.insert().values(name="served", config={}, active=True))
    woken: list[int] = []
    ctx = ServeContext(TwilioSettings(), CallRegistry(""), engine=pg_engine, on_intake=woken.append,
                       intake=IntakeSettings(api_keys=["k3y"]))
    web = WebServer(create_app(ctx), port=0)
    await web.start()
    base = f"http://127.0.0.1:{web.port}/v1/campaigns"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/served/pause") as r:
                assert r.status == 401
            async with http.post(f"{base}/served/pause", headers={"Authorization": "Bearer wrong"}) as r:
                assert r.status == 403
            async with http.post(f"{base}/nope/pause", headers={"Authorization": "Bearer k3y"}) as r:
                assert r.status == 404 and "no campaign named 'nope'" in (await r.json())["detail"]
            async with http.post(f"{base}/served/pause", headers={"Authorization": "Bearer k3y"}) as r:
                assert r.status == 200 and (await r.json())["paused"] is True
            async with pg_engine.connect() as conn:
                assert (await conn.execute(select(Campaign.active))).scalar() is False
            async with http.post(f"{base}/served/resume", headers={"Authorization": "Bearer k3y"}) as r:
                body = await r.json()
                assert r.status == 200 and body["paused"] is False and body["changed"] is True
        assert len(woken) == 1  # the resume woke the serving dialers
    finally:
        await web.close()
