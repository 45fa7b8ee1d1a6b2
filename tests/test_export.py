"""``reauto export``: each call and text reaches each target once — across reruns, crashes, locks,
failing targets and the dead-letter list."""

import asyncio
import csv
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from aiohttp import web

from reauto.config import FollowUpBossSettings
from reauto.export import records
from reauto.export.runner import ExportLocked, dead_letters, export_lock, retry_dead_letters, run_export
from reauto.export.targets.base import ExportTarget
from reauto.export.targets.files import CsvTarget, JsonlTarget
from reauto.export.targets.followupboss import FollowUpBossTarget
from reauto.export.targets.webhook import WebhookTarget
from reauto.store.engine import session_factory
from reauto.store.models import (
    Appointment,
    Call,
    CallEvent,
    CallStatus,
    Campaign,
    ExportItem,
    Lead,
    QualificationSnapshot,
    Touch,
    Turn,
)
from reauto.store.types import utcnow

from .fakes.crm.followupboss import FakeFollowUpBoss

pytestmark = pytest.mark.integration


async def seed(engine, *, calls: int = 2, texts: int = 1) -> dict:
    """A campaign with a booked call (turns, slots, appointment), unanswered calls and texts."""
    now = utcnow()
    async with session_factory(engine).begin() as s:
        campaign = Campaign(name="austin")
        s.add(campaign)
        await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164="+15125550123", first_name="Jane", last_name="Doe",
                    email="jane@example.com", state="TX", external_id="web-1841")
        s.add(lead)
        await s.flush()
        ids = []
        for i in range(calls):
            booked = i == 0
            call = Call(campaign_id=campaign.id, lead_id=lead.id, provider="sim", created_at=now - timedelta(minutes=30 - i),
                        status=CallStatus.COMPLETED if booked else CallStatus.NO_ANSWER,
                        outcome="booked" if booked else "no_answer", cost_total=0.0421 if booked else 0,
                        answered_at=now - timedelta(minutes=29) if booked else None,
                        ended_at=now - timedelta(minutes=25 - i))
            s.add(call)
            await s.flush()
            ids.append(call.id)
            s.add(CallEvent(call_id=call.id, type="dial", payload={"worker": "w", "cadence_step": i}))
            if booked:
                s.add_all([Turn(call_id=call.id, seq=0, speaker="agent", text="Hi Jane, this is Ava."),
                           Turn(call_id=call.id, seq=1, speaker="lead", text="We want to buy in three months.")])
                s.add(QualificationSnapshot(lead_id=lead.id, call_id=call.id, version=1, score=0.82,
                                            slots={"intent": "buy", "timeline_months": 3, "budget_usd": 400000,
                                                   "preapproved": True}))
                s.add(Appointment(lead_id=lead.id, call_id=call.id, calendar="austin-team",
                                  starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, minutes=30),
                                  timezone="America/Chicago"))
        for i in range(texts):
            s.add(Touch(campaign_id=campaign.id, lead_id=lead.id, channel="sms", kind="cadence", step=1, status="sent",
                        body="Hi Jane, sorry we missed you. Reply STOP to opt out.", provider_sid=f"SM{i}",
                        created_at=now - timedelta(minutes=10 - i)))
    return {"calls": ids, "lead": lead.id}


async def ledger(engine, target):
    from sqlalchemy import select

    async with session_factory(engine)() as s:
        return sorted((await s.execute(select(ExportItem.item_key).where(ExportItem.target == target))).scalars())


@pytest.mark.unit
def test_summary_line_reads_like_a_note():
    line = records.summary_line("booked", {"intent": "buy", "timeline_months": 3, "budget_usd": 400000,
                                           "preapproved": True}, 0.82, {"offer": "Tuesday at 10 AM"})
    assert line == ("Booked (score 0.82): intent buy, timeline 3 months, budget $400,000, preapproved yes; "
                    "appointment Tuesday at 10 AM")
    assert records.summary_line("no_answer", {}, None, None) == "No answer"


async def test_records_follow_the_documented_schema(pg_engine):
    ids = await seed(pg_engine)
    items = await records.pending(pg_engine, "csv")
    assert [i.key for i in items] == [f"call:{ids['calls'][0]}", f"call:{ids['calls'][1]}", "text:1"]
    booked = items[0].record
    assert set(booked) == {"schema", "kind", "key", "campaign", "lead", "at", "disposition", "status", "answered_at",
                           "ended_at", "duration_s", "slots", "score", "summary", "transcript", "recording", "direction",
                           "analysis",
                           "recording_declined_at", "appointment", "cost_usd", "cadence_step", "text"}
    assert booked["recording_declined_at"] is None
    assert booked["schema"] == "reauto.export/1" and booked["disposition"] == "booked" and booked["score"] == 0.82
    assert booked["lead"]["external_id"] == "web-1841" and booked["appointment"]["calendar"] == "austin-team"
    assert booked["transcript"][1] == {"speaker": "lead", "text": "We want to buy in three months."}
    assert booked["cost_usd"] == pytest.approx(0.0421) and booked["cadence_step"] == 0
    text = items[2].record
    assert text["kind"] == "text" and text["text"]["body"].endswith("Reply STOP to opt out.")
    assert set(text) == set(booked)


async def test_csv_twice_gives_one_row_per_record_and_a_crash_loses_nothing(pg_engine, tmp_path):
    await seed(pg_engine)

    class Killed(CsvTarget):  # the process dies in the middle of the run
        async def send(self, record, key):
            if self.count == 2:
                raise KeyboardInterrupt
            return await super().send(record, key)

    with pytest.raises(KeyboardInterrupt):
        await run_export(pg_engine, Killed(tmp_path))
    assert list(tmp_path.iterdir()) == [] and await ledger(pg_engine, "csv") == []  # no half file, nothing marked
    first = await run_export(pg_engine, CsvTarget(tmp_path))
    assert len(first.exported) == 3 and first.failed == []
    again = await run_export(pg_engine, CsvTarget(tmp_path))
    assert again.exported == [] and again.file is None
    [file] = list(tmp_path.iterdir())
    rows = list(csv.DictReader(file.open()))
    assert [r["kind"] for r in rows] == ["call", "call", "text"] and rows[0]["external_id"] == "web-1841"
    assert json.loads(rows[0]["slots"])["budget_usd"] == 400000 and rows[0]["schema"] == "reauto.export/1"
    # a new call later: only it goes out
    await seed_more(pg_engine)
    later = await run_export(pg_engine, JsonlTarget(tmp_path / "j"))
    assert len(later.exported) == 4  # jsonl is another target: everything, once
    assert (await run_export(pg_engine, CsvTarget(tmp_path))).exported == ["call:3"]


async def seed_more(engine):
    async with session_factory(engine).begin() as s:
        s.add(Call(campaign_id=1, lead_id=1, provider="sim", status=CallStatus.VOICEMAIL, outcome="voicemail",
                   ended_at=utcnow()))


class Receiver:
    """A webhook receiver that verifies signatures with the documented recipe."""

    def __init__(self, secret, statuses=()):
        self.secret, self.statuses, self.received, self.keys = secret, list(statuses), [], []

    async def handle(self, request):
        body = await request.read()
        t, v1 = (p.split("=", 1)[1] for p in request.headers["X-Reauto-Signature"].split(","))
        expected = hmac.new(self.secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, v1)
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        if request.headers["Idempotency-Key"] in self.keys:  # a receiver deduplicates on it
            return web.Response(status=200)
        self.keys.append(request.headers["Idempotency-Key"])
        self.received.append(json.loads(body))
        return web.Response(status=202)

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/hooks/reauto", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hooks/reauto"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


async def test_webhook_signed_retried_then_parked_and_retried_from_the_list(pg_engine):
    from reauto.export import runner

    await seed(pg_engine, calls=2, texts=0)
    async with Receiver("s3cret", statuses=[503, 500, 500]) as hook:
        # the receiver is down (every retry of the first record fails): the run stops, nothing is parked
        down = await run_export(pg_engine, WebhookTarget(hook.url, "s3cret", timeout_s=1, retries=2))
        assert down.exported == [] and "HTTP 500" in down.failed[0]["error"] and "unavailable" in down.stopped
        assert await dead_letters(pg_engine) == [] and hook.received == []
        # it is back: the next run sends both, in order
        back = await run_export(pg_engine, WebhookTarget(hook.url, "s3cret"))
        assert back.exported == ["call:1", "call:2"] and back.stopped is None
        # a record refused (400) is parked at once; one failing transiently run after run is parked too
        await seed_more(pg_engine)
        await seed_more(pg_engine)
        hook.statuses = [400]
        refused = await run_export(pg_engine, WebhookTarget(hook.url, "s3cret", retries=0))
        assert refused.exported == ["call:4"] and "HTTP 400" in refused.failed[0]["error"]
        for _ in range(runner.PARK_AFTER):
            await seed_more(pg_engine)
            hook.statuses = [500]
            await run_export(pg_engine, WebhookTarget(hook.url, "s3cret", retries=0))
        # call:5 failed in each of those runs (each stopped there): parked after the third
        letters = await dead_letters(pg_engine)
        assert [(d["key"], d["attempts"]) for d in letters] == [("reauto:webhook:call:5", 3),
                                                                  ("reauto:webhook:call:3", 1)]
        # retried from the list: sent, resolved, never sent again
        retried = await retry_dead_letters(pg_engine, WebhookTarget(hook.url, "s3cret"))
        assert retried.exported == ["call:3", "call:5"] and await dead_letters(pg_engine) == []
        assert (await run_export(pg_engine, WebhookTarget(hook.url, "s3cret"))).exported == ["call:6", "call:7"]
        assert (await run_export(pg_engine, WebhookTarget(hook.url, "s3cret"))).exported == []
        keys = [r["key"] for r in hook.received]
        assert sorted(keys) == sorted(set(keys)) and len(keys) == 7
        assert hook.keys[0] == "reauto:webhook:call:1"
    assert len(await ledger(pg_engine, "webhook")) == 7


async def test_two_runs_never_overlap(pg_engine, sqlite_engine):
    for engine in (pg_engine, sqlite_engine):
        async with export_lock(engine, "csv"):
            with pytest.raises(ExportLocked):
                async with export_lock(engine, "csv"):
                    pass
            async with export_lock(engine, "jsonl"):  # another target is independent
                pass
        async with export_lock(engine, "csv"):  # released
            pass


@pytest.fixture
async def crm():
    fake = FakeFollowUpBoss(unassigned_for=2)
    await fake.start()
    yield fake
    await fake.close()


async def test_follow_up_boss_gets_events_calls_notes_and_the_appointment_once(pg_engine, crm):
    await seed(pg_engine)
    settings = FollowUpBossSettings(api_key=crm.api_key, system=crm.system, system_key=crm.system_key,
                                    base_url=crm.url, timeout_s=1.0, retries=1)

    class Dies(FollowUpBossTarget):  # a crash after the first record was delivered
        sent = 0

        async def send(self, record, key):
            if Dies.sent == 1:
                raise KeyboardInterrupt
            Dies.sent += 1
            return await super().send(record, key)

    with pytest.raises(KeyboardInterrupt):
        await run_export(pg_engine, Dies(settings, settle_s=0.01))
    assert await ledger(pg_engine, "followupboss") == ["call:1"]
    report = await run_export(pg_engine, FollowUpBossTarget(settings, settle_s=0.01))
    assert report.exported == ["call:2", "text:1"] and report.failed == []
    assert [e["type"] for e in crm.events] == ["General Inquiry"] * 3 and len(crm.people) == 1  # one person
    assert [c["outcome"] for c in crm.calls] == ["Interested", "No Answer"]
    assert all(c["isIncoming"] is False for c in crm.calls)
    assert "We want to buy in three months." in crm.calls[0]["note"] and "reauto:followupboss:call:1" in crm.calls[0]["note"]
    assert [n["subject"] for n in crm.notes] == ["reauto call: booked", "reauto call: no answer", "Text sent by reauto"]
    assert len(crm.appointments) == 1 and crm.appointments[0]["invitees"] == [{"personId": crm.calls[0]["personId"]}]
    # the same record again (a lost answer): nothing new in Follow Up Boss
    booked = (await records.pending(pg_engine, "other"))[0]
    await FollowUpBossTarget(settings).send(booked.record, "reauto:followupboss:call:1")
    assert len(crm.calls) == 2 and len(crm.notes) == 3
    # a conversation cut off by a crash is called back at once (as a call back is); one cut off
    # before anyone answered is no answer
    cut = {**booked.record, "disposition": "interrupted", "status": "interrupted", "appointment": None}
    await FollowUpBossTarget(settings).send(cut, "reauto:followupboss:call:cut")
    await FollowUpBossTarget(settings).send({**cut, "answered_at": None}, "reauto:followupboss:call:unanswered")
    assert [c["outcome"] for c in crm.calls[2:]] == ["Interested", "No Answer"]


async def test_follow_up_boss_rejecting_the_key_is_permanent_and_named(pg_engine, crm):
    await seed(pg_engine, calls=1, texts=0)
    settings = FollowUpBossSettings(api_key="wrong", system=crm.system, system_key=crm.system_key, base_url=crm.url)
    report = await run_export(pg_engine, FollowUpBossTarget(settings))
    assert "HTTP 401" in report.failed[0]["error"]


async def test_dry_run_lists_and_stores_nothing(pg_engine, tmp_path):
    await seed(pg_engine)
    report = await run_export(pg_engine, CsvTarget(tmp_path), dry_run=True)
    assert [r["key"] for r in report.would_export] == ["call:1", "call:2", "text:1"]
    assert list(tmp_path.iterdir()) == [] and await ledger(pg_engine, "csv") == []
    only = await run_export(pg_engine, CsvTarget(tmp_path), dry_run=True, campaign="other")
    assert only.would_export == []


async def test_a_broken_target_aborts_the_run_cleanly(pg_engine):
    await seed(pg_engine, calls=1, texts=0)

    class Broken(ExportTarget):
        name = "broken"
        closed = False

        async def send(self, record, key):
            raise RuntimeError("bug")

        async def close(self):
            Broken.closed = True

    with pytest.raises(RuntimeError):
        await run_export(pg_engine, Broken())
    assert Broken.closed and await ledger(pg_engine, "broken") == []


def test_the_cli_exports_and_lists_dead_letters(sqlite_settings, tmp_path):
    from reauto.store import migrate

    from typer.testing import CliRunner

    from reauto.cli.context import AppState
    from reauto.cli.main import app

    def cli(settings, *args):
        return CliRunner().invoke(app, list(args), obj=AppState(_settings=settings))

    migrate.upgrade(sqlite_settings)
    cfg = sqlite_settings.model_copy(update={"export": sqlite_settings.export.model_copy(update={"out_dir": tmp_path})})
    from reauto.store.engine import make_engine

    async def prepare():
        engine = make_engine(cfg.database)
        await seed(engine)
        await engine.dispose()

    asyncio.run(prepare())
    dry = cli(cfg, "export", "--to", "jsonl", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert len(json.loads(dry.output)["would_export"]) == 3
    done = cli(cfg, "export", "--to", "jsonl")
    assert done.exit_code == 0 and "3 exported" in done.output
    [file] = tmp_path.glob("reauto-jsonl-*.jsonl")
    assert [json.loads(line)["key"] for line in file.read_text().splitlines()] == ["call:1", "call:2", "text:1"]
    assert "0 dead letters" in cli(cfg, "export", "dlq", "list").output


@pytest.mark.slow
async def test_a_dialing_campaign_pushes_each_call_to_its_targets_when_it_ends(tmp_path):
    import uuid
    from datetime import datetime
    from pathlib import Path

    import yaml

    from reauto.campaign import load_campaign
    from reauto.config import DatabaseSettings, ExportSettings, Settings, WebhookSettings
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.store import migrate

    from .conftest import create_database, drop_database

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "campaigns" / "demo.yaml").read_text())
    data.update(name="pushed", export_targets=["webhook", "csv"], sim_personas=[
        {"name": "Nora Away", "phone": "+15125550166", "state": "TX", "answers": {"_unanswered": "no-answer"}},
        {"name": "Ray Busy", "phone": "+15125550177", "state": "TX", "answers": {"_unanswered": "busy"}}])
    path = tmp_path / "pushed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    name = f"reauto_exp_{uuid.uuid4().hex[:8]}"
    async with Receiver("s3cret") as hook:
        cfg = Settings(database=DatabaseSettings(url=create_database(name)),
                       export=ExportSettings(webhook=WebhookSettings(url=hook.url, secret="s3cret"), out_dir=tmp_path / "out"))
        try:
            migrate.upgrade(cfg)
            summaries = (await DialRun(cfg, load_campaign(path), DialOptions(
                max_calls=2, concurrency=2, speed=4.0,
                clock_start=datetime.fromisoformat("2026-11-24T14:00:00-06:00"))).run()).summaries
        finally:
            drop_database(name)
    assert len(summaries) == 2
    assert sorted(r["lead"]["first_name"] for r in hook.received) == ["Nora", "Ray"]
    assert {r["disposition"] for r in hook.received} == {"no_answer"} and not (tmp_path / "out").exists()


async def test_small_batches_and_campaign_runs_never_hide_records(pg_engine, tmp_path):
    await seed(pg_engine, calls=3, texts=5)
    scoped = await run_export(pg_engine, JsonlTarget(tmp_path), campaign="other")
    assert scoped.exported == []
    sent: list[str] = []
    for _ in range(6):
        sent += (await run_export(pg_engine, JsonlTarget(tmp_path), limit=2)).exported
    assert sorted(sent) == sorted(["call:1", "call:2", "call:3"] + [f"text:{i}" for i in range(1, 6)])
    assert len(sent) == len(set(sent))


@pytest.mark.unit
async def test_every_export_target_is_built_from_the_settings_by_its_registry_line(tmp_path):
    from reauto.config import (
        EventsSettings,
        ExportSettings,
        HubSpotSettings,
        SalesforceSettings,
        Settings,
        WebhookSettings,
    )
    from reauto.errors import UsageError
    from reauto.export.targets import REGISTRY, TARGETS, create_target

    cfg = Settings(export=ExportSettings(
        out_dir=str(tmp_path), webhook=WebhookSettings(url="http://127.0.0.1:9/hook", secret="s"),
        events=EventsSettings(urls=["http://127.0.0.1:9/events"], secret="s"), hubspot=HubSpotSettings(token="pat"),
        salesforce=SalesforceSettings(instance_url="http://127.0.0.1:9", token="tok")),
        followupboss=FollowUpBossSettings(api_key="k"))
    assert set(TARGETS) == {"followupboss", "hubspot", "salesforce", "webhook", "events", "csv", "jsonl"}
    for name in TARGETS:
        target = create_target(name, cfg)
        try:
            assert type(target) is REGISTRY.load(name) and target.name == name
        finally:
            await target.close()
    bare = Settings(export=ExportSettings(out_dir=str(tmp_path)))
    for name in ("webhook", "events", "hubspot", "salesforce", "followupboss"):
        with pytest.raises(UsageError, match=f"the {name} target needs"):
            create_target(name, bare)
    with pytest.raises(UsageError, match="unknown target"):
        create_target("pipedrive", cfg)


async def test_real_time_export_keeps_one_client_per_target_so_its_breaker_remembers(pg_engine):
    from reauto import resilience
    from reauto.config import ExportSettings, Settings, WebhookSettings
    from reauto.export.realtime import RealtimeExport

    await seed(pg_engine, calls=1, texts=0)
    saved = resilience._defaults, resilience._breaker_defaults
    resilience.configure(saved[0], breaker_threshold=2, breaker_reset_s=600)
    try:
        async with Receiver("s3cret", statuses=[503] * 10) as hook:
            cfg = Settings(export=ExportSettings(webhook=WebhookSettings(url=hook.url, secret="s3cret"), retries=0))
            push = RealtimeExport(pg_engine, cfg, "austin", ["webhook", "csv"])
            assert push.targets == ["webhook"]  # files are written by `reauto export`
            for _ in range(4):
                await push.push()
            # the receiver failed the first two pushes, which opened the webhook's breaker: the next
            # two asked nothing of it (a client per push would have a new breaker, and ask again)
            assert len(hook.statuses) == 8 and push.runs == 4
            target = push._live["webhook"]
            await push.close()
            assert push._live == {} and target.endpoint.api._http.is_closed
    finally:
        resilience._defaults, resilience._breaker_defaults = saved
