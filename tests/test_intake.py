"""Speed to lead: leads posted to ``reauto serve`` are validated like a file load, stored at the
head of the queue, and dialed at once — when the calling rules allow."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import uuid
from datetime import datetime, timedelta

import aiohttp
import pytest
import yaml
from pathlib import Path

from reauto.campaign import load_campaign
from reauto.config import DatabaseSettings, IntakeSettings, Settings, TwilioSettings
from reauto.dialer.building import DialOptions
from reauto.dialer.run import DialRun
from reauto.intake.auth import Forbidden, Unauthorized, authenticate
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.embed import start_server
from reauto.signature import sign
from reauto.serve.server import WebServer
from reauto.store import migrate
from reauto.store.engine import session_factory
from reauto.store.models import Call, Campaign, Lead, LeadStatus
from reauto.store.types import utcnow
from reauto.telephony.twilio import CallRegistry

from .conftest import create_database, drop_database
from .test_dial import rows

ROOT = Path(__file__).resolve().parents[1]
KEY = "intake-key-1"
SECRET = "intake-hmac-secret"
INTAKE = IntakeSettings(api_keys=[KEY], hmac_secret=SECRET, max_leads=10, consent_written=True,
                        consent_ai_voice=True)


@pytest.mark.unit
def test_api_key_or_signature_is_required():
    body = b'{"phone": "+15125550123"}'
    headers = {"authorization": f"Bearer {KEY}"}
    assert authenticate(headers, body, api_keys=[KEY], hmac_secret="") == "api_key"
    assert authenticate({"x-reauto-signature": sign(SECRET, body)}, body, api_keys=[], hmac_secret=SECRET) == \
        "signature"
    with pytest.raises(Unauthorized):
        authenticate({}, body, api_keys=[KEY], hmac_secret=SECRET)
    with pytest.raises(Forbidden, match="unknown API key"):
        authenticate({"authorization": "Bearer nope"}, body, api_keys=[KEY], hmac_secret=SECRET)
    with pytest.raises(Forbidden, match="does not match"):
        authenticate({"x-reauto-signature": sign(SECRET, body)}, body + b" ", api_keys=[], hmac_secret=SECRET)
    with pytest.raises(Forbidden, match="from now"):  # a replay an hour later
        authenticate({"x-reauto-signature": sign(SECRET, body, int(time.time()) - 3600)}, body, api_keys=[],
                     hmac_secret=SECRET)
    with pytest.raises(Forbidden, match="malformed"):
        authenticate({"x-reauto-signature": "v1=abc"}, body, api_keys=[], hmac_secret=SECRET)
    with pytest.raises(Forbidden, match="not accepted"):
        authenticate({"x-reauto-signature": sign(SECRET, body)}, body, api_keys=[], hmac_secret="")


class Intake:
    """The app with intake on a socket."""

    def __init__(self, engine, woken):
        ctx = ServeContext(TwilioSettings(), CallRegistry(""), session_factory(engine), intake=INTAKE,
                           engine=engine, on_intake=woken.append)
        self.web = WebServer(create_app(ctx), port=0)

    async def __aenter__(self):
        await self.web.start()
        self.http = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{self.web.port}/v1/leads"
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.web.close()

    async def post(self, payload, campaign="web", *, auth="key"):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if auth == "key":
            headers["Authorization"] = f"Bearer {KEY}"
        elif auth == "signed":
            headers["X-Reauto-Signature"] = sign(SECRET, body)
        elif auth == "badsig":
            headers["X-Reauto-Signature"] = sign("wrong", body)
        async with self.http.post(self.url, params={"campaign": campaign}, data=body, headers=headers) as r:
            return r.status, await r.json()


@pytest.mark.integration
async def test_posted_leads_are_validated_stored_first_and_idempotent(pg_engine):
    async with session_factory(pg_engine).begin() as s:
        s.add(Campaign(name="web"))
    woken: list[int] = []
    good = {"external_id": "web-1", "first_name": "Jane", "last_name": "Doe", "phone": "(512) 555-0123",
            "state": "TX", "email": "jane@example.com"}
    async with Intake(pg_engine, woken) as api:
        assert (await api.post(good, auth="none"))[0] == 401
        assert (await api.post(good, auth="badsig"))[0] == 403
        assert await lead_count(pg_engine) == 0  # refused requests store nothing
        status, body = await api.post({"leads": [good, {"phone": "not a number", "first_name": "Bad"},
                                                 {**good, "external_id": "web-2"}, "junk",
                                                 {"phone": "+1 214 555 0119", "first_name": "Lin"}]}, auth="signed")
        assert status == 200
        assert [c["index"] for c in body["created"]] == [0, 4]
        rejected = {r["index"]: r for r in body["rejected"]}
        assert rejected[1]["field"] == "phone" and rejected[3]["reason"] == "expected a JSON object"
        assert rejected[2]["reason"] == "duplicate of record 0"
        # the same lead again (a retried webhook): acknowledged, not stored twice
        status, again = await api.post([good])
        assert status == 200 and again["created"] == [] and again["already_present"][0]["lead_id"] == \
            body["created"][0]["lead_id"]
        assert (await api.post([{"phone": "nope"}]))[0] == 422
        assert (await api.post([good], campaign="nosuch"))[0] == 404
        assert (await api.post([good] * 11))[0] == 413
    assert len(woken) == 1  # the dialer is woken once, for the batch that created leads
    async with session_factory(pg_engine)() as s:
        from sqlalchemy import select

        leads = list((await s.execute(select(Lead).order_by(Lead.id))).scalars())
    assert [(lead.phone_e164, lead.priority, lead.source) for lead in leads] == [
        ("+15125550123", 100, "intake"), ("+12145550119", 100, "intake")]
    assert "intake_at" in leads[0].custom["_import"]


async def lead_count(engine):
    from sqlalchemy import func, select

    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(Lead))


# --- the dialer woken by a posted lead --------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serving(tmp_path):
    name = f"reauto_in_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)), intake=INTAKE,
                   twilio=TwilioSettings(listen_port=free_port()))
    migrate.upgrade(cfg)
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = "speed"
    # the posted lead never picks up: the call is placed and ends at once
    data["sim_personas"] = [{"name": "Nora Posted", "phone": "+15125550166", "state": "TX",
                             "answers": {"_unanswered": "no-answer"}}]
    data["sms"] = {"templates": {"later": "Hi {first_name}, {agent_name} from {business} will call you at "
                                          "{call_time}. Reply STOP to opt out."}, "after_hours_intake": "later"}
    path = tmp_path / "speed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    yield cfg, load_campaign(path)
    drop_database(name)


async def serve_and_post(cfg, campaign, at: str, **lead):
    """Run the campaign's dialer (serving, 60 s poll) and post the lead once it idles."""
    return await serve_and_post_to(cfg, campaign, at, cfg.twilio.listen_port, **lead)


async def serve_and_post_to(cfg, campaign, at: str, port: int, **lead):
    """Run the campaign's dialer (serving, 60 s poll) and post the lead to ``port`` once it idles."""
    from reauto.dialer import assembly
    from reauto.store.engine import make_engine

    engine = make_engine(cfg.database)
    await assembly.upsert_campaign(session_factory(engine), campaign)
    await engine.dispose()
    task = asyncio.create_task(DialRun(cfg, campaign, DialOptions(
        concurrency=2, clock_start=datetime.fromisoformat(at), speed=1.5, seed=False, forever=True,
        poll_s=60.0), web=start_server).run())
    url = f"http://127.0.0.1:{port}/v1/leads"
    own = f"http://127.0.0.1:{cfg.twilio.listen_port}/healthz"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(200):  # wait for the server
            try:
                async with http.get(own) as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the dialer found nothing due and is in its 60 s wait
        posted = time.monotonic()
        async with http.post(url, params={"campaign": "speed"}, headers={"Authorization": f"Bearer {KEY}"},
                             json={"phone": "+1 512 555 0166", "first_name": "Nora", "state": "TX",
                                   "consent": "yes", "consent_at": "2026-11-24T13:59:00-06:00", **lead}) as r:
            assert r.status == 200, await r.text()
    return task, posted


#: A posted lead dialed within this is woken, not polled (the tests' dialers poll every 60 s); the
#: margin is for a machine busy with other work (a dial waits for headroom and its opening).
WAKE_S = 40.0


async def seconds_to_first_call(cfg, posted: float, within_s: float = WAKE_S) -> float | None:
    """Seconds from ``posted`` (monotonic) until a call row exists; None if none within ``within_s``."""
    deadline = posted + within_s
    while time.monotonic() < deadline:
        if rows(cfg, Call):
            return time.monotonic() - posted
        await asyncio.sleep(0.1)
    return None


async def stop(task):
    os.kill(os.getpid(), signal.SIGTERM)
    return await asyncio.wait_for(task, 30)


@pytest.mark.integration
@pytest.mark.slow
async def test_a_posted_lead_is_dialed_in_seconds_without_waiting_for_a_poll(serving):
    cfg, campaign = serving
    task, posted = await serve_and_post(cfg, campaign, "2026-11-24T14:00:00-06:00")
    dialed = await seconds_to_first_call(cfg, posted)
    result = await stop(task)
    assert dialed is not None and dialed < WAKE_S  # the poll interval is 60 s
    [summary] = result.summaries
    assert summary.outcome == "no_answer" and 0 <= summary.details["speed_to_lead"]["dial_s"] < WAKE_S
    # ... and in `reauto report`
    from reauto.analytics.report import build_report
    from reauto.store.engine import make_engine

    engine = make_engine(cfg.database)
    report = await build_report(engine, "speed", "day", utcnow())
    await engine.dispose()
    assert report.speed.posted_leads_dialed == 1 and report.speed.dial_p95_s < WAKE_S and report.speed.answered == 0


@pytest.mark.unit
def test_speed_to_lead_percentiles():
    from reauto.analytics.report import speed_to_lead

    s = speed_to_lead([{"dial_s": 1.0, "answered_s": 4.0}, {"dial_s": 2.0}, {"dial_s": 9.0}])
    assert (s.posted_leads_dialed, s.dial_p50_s, s.dial_p95_s) == (3, 2.0, 9.0)
    assert (s.answered, s.answered_p50_s) == (1, 4.0)


@pytest.mark.integration
@pytest.mark.slow
async def test_outside_legal_hours_a_posted_lead_waits_for_the_first_legal_minute(serving):
    from reauto.metrics import QUEUE_DEPTH

    def queue_depth_series() -> list[float]:
        return [x.value for m in QUEUE_DEPTH.collect() for x in m.samples if x.labels.get("campaign") == "speed"]

    with contextlib.suppress(KeyError):
        QUEUE_DEPTH.remove("speed")
    cfg, campaign = serving
    task, _posted = await serve_and_post(cfg, campaign, "2026-11-24T23:00:00-06:00")  # 23:00 in Austin
    lead = None
    for _ in range(100):
        [lead] = rows(cfg, Lead) or [None]
        if lead is not None and lead.status == LeadStatus.SCHEDULED:
            break
        await asyncio.sleep(0.1)
    await stop(task)
    assert rows(cfg, Call) == []
    assert queue_depth_series() == [0.0]  # a serving worker keeps its store gauges (alerts, autoscaling)
    # the window opens at 09:00 in every zone the lead may be in (Texas: Central and Mountain)
    assert lead is not None and lead.status == LeadStatus.SCHEDULED and lead.tz_candidates
    at = datetime.fromisoformat("2026-11-24T23:00:00-06:00")
    expected = max(first_nine(at, zone) for zone in lead.tz_candidates) - at
    wait = lead.next_attempt_at - utcnow()
    assert expected - timedelta(minutes=2) < wait <= expected


@pytest.mark.integration
@pytest.mark.slow
async def test_after_hours_a_posted_lead_is_texted_when_we_will_call(serving):
    """20:30 in Austin: past the campaign's calls (20:00), inside Texas's legal hours (21:00)."""
    import re

    from reauto.store.models import Touch

    cfg, campaign = serving
    text = "I agree to calls and text messages, including with an artificial voice."
    task, _posted = await serve_and_post(cfg, campaign, "2026-11-24T20:30:00-06:00", consent_text=text)
    touches = []
    for _ in range(100):
        touches = rows(cfg, Touch)
        if touches:
            break
        await asyncio.sleep(0.1)
    await stop(task)
    assert rows(cfg, Call) == []
    [touch] = touches
    assert (touch.kind, touch.status) == ("after_hours", "sent"), touch.reason
    assert re.fullmatch(r"Hi Nora, Ava from Lone Star Realty will call you at (9|10):00 AM tomorrow\. "
                        r"Reply STOP to opt out\.", touch.body)


def first_nine(at: datetime, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(zone))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    return nine if nine > local else nine + timedelta(days=1)
