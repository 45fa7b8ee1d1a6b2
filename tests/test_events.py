"""Call and lead events: written with the change they report, delivered once to every configured URL
as signed JSON (during a dial run, in real time), retried, parked and replayed like any export."""

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from reauto import events
from reauto.config import EventsSettings
from reauto.export.runner import dead_letters, retry_dead_letters, run_export
from reauto.export.targets.base import PermanentExportError
from reauto.export.targets.events import EventsTarget
from reauto.store.models import Call, Event

from .test_dial import AT, ROOT, cli, rows
from .test_export import Receiver

SECRET = "evt-s3cret"
WHEN = datetime.fromisoformat(AT)


@pytest.mark.unit
def test_an_event_has_exactly_the_fields_of_its_schema():
    class Session:
        def __init__(self):
            self.added, self.info = [], {}

        def add(self, row):
            self.added.append(row)

    s = Session()
    events.record(s, "lead.opted_out", campaign_id=1, at=WHEN, phone="+15125550123", lead_ids=[1], reason="texted")
    assert s.added[0].type == "lead.opted_out" and s.added[0].payload["lead_ids"] == [1]
    with pytest.raises(events.UnknownEvent, match="unknown event type 'call.exploded'"):
        events.record(s, "call.exploded", campaign_id=1, at=WHEN)
    with pytest.raises(events.UnknownEvent, match="differ from the schema"):
        events.record(s, "lead.opted_out", campaign_id=1, at=WHEN, phone="+15125550123")
    with pytest.raises(PermanentExportError, match=r"\[export\.events\] urls"):
        EventsTarget([], SECRET)
    with pytest.raises(PermanentExportError, match=r"\[export\.events\] secret"):
        EventsTarget(["http://127.0.0.1:1/e"], "")
    assert "## `call.analyzed`" in events.reference() and "`follow_up_at`" in events.reference()


def event_campaign(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] in {"Jane Doe", "Tom Becker"}]
    data["export_targets"] = ["events"]
    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.integration
@pytest.mark.slow
async def test_a_dial_run_sends_each_calls_events_to_every_url_once_and_signed(fresh_db_cfg, tmp_path):
    async with Receiver(SECRET) as first, Receiver(SECRET) as second:
        cfg = fresh_db_cfg.model_copy(update={"export": fresh_db_cfg.export.model_copy(update={
            "events": EventsSettings(urls=[first.url, second.url], secret=SECRET)})})
        result = await asyncio.to_thread(cli, cfg, "dial", str(event_campaign(tmp_path)), "--at", AT,
                                         "--speed", "1.5", "--json")
        assert result.exit_code == 0, result.output
    assert first.received == second.received  # every URL gets every event
    calls = {c.id: c for c in rows(fresh_db_cfg, Call)}
    assert len(calls) == 2
    got: dict[int, list[str]] = {}
    for body in first.received:
        assert body["schema"] == "reauto.event/1" and body["campaign"] == "demo" and body["id"].startswith("evt_")
        assert set(body["data"]) == set(events.TYPES[body["type"]][1])  # the documented fields, no more
        if "call_id" in body["data"]:
            got.setdefault(body["data"]["call_id"], []).append(body["type"])
    for call_id, call in calls.items():
        expected = ["call.queued", "call.answered", "call.ended"]
        if call.outcome == "booked":
            expected.append("lead.booked")
        expected.append("call.analyzed")  # both were answered by a person who spoke
        assert got[call_id] == expected, (call.outcome, got[call_id])
    opted = [b for b in first.received if b["type"] == "lead.opted_out"]
    assert len(opted) == 1 and opted[0]["data"]["reason"] == "asked on a call"
    ended = {b["data"]["call_id"]: b["data"] for b in first.received if b["type"] == "call.ended"}
    assert "dnc" in {d["outcome"] for d in ended.values()}  # Tom opts out at the greeting
    assert all(d["outcome"] == calls[i].outcome and d["duration_s"] > 0 for i, d in ended.items())
    analyzed = {b["data"]["call_id"]: b["data"] for b in first.received if b["type"] == "call.analyzed"}
    for call_id, data in analyzed.items():
        assert data["disposition"] == calls[call_id].outcome and data["by"] == "rules"
        assert data["sentiment"] in ("positive", "neutral", "negative") and data["summary"].endswith(".")
    refused = next(d for d in analyzed.values() if d["disposition"] == "dnc")
    assert refused["sentiment"] == "negative" and "opt_out" in refused["objections"]
    assert refused["next_step"] == "None: on the do-not-call list." and refused["follow_up_at"] is None
    jane_id, jane = next((i, d) for i, d in analyzed.items() if d["disposition"] != "dnc")
    if jane["disposition"] == "booked":  # recognised as she said it (a busy machine may make it a call back)
        assert jane["sentiment"] == "positive" and "A meeting was booked" in jane["summary"]
    # the same analysis is the call's: shown by `reauto calls show`, carried in the CRM's note
    shown = await asyncio.to_thread(cli, fresh_db_cfg, "calls", "show", str(jane_id), "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    analysis = {k: v for k, v in jane.items() if k not in ("call_id", "lead_id")}
    assert detail["analysis"] == analysis and detail["turns"][0]["speaker"] == "agent"
    text = await asyncio.to_thread(cli, fresh_db_cfg, "calls", "show", str(jane_id))
    assert "analysis (rules): " in text.output and f"sentiment {jane['sentiment']}" in text.output
    files = fresh_db_cfg.model_copy(update={"export": fresh_db_cfg.export.model_copy(update={"out_dir": tmp_path})})
    exported = await asyncio.to_thread(cli, files, "export", "--to", "jsonl", "--json")
    records = [json.loads(line) for line in Path(json.loads(exported.stdout)["file"]).read_text().splitlines()]
    note = next(r for r in records if r["key"] == f"call:{jane_id}")
    assert note["analysis"] == analysis and f"Sentiment: {jane['sentiment']}." in note["summary"]
    missing = await asyncio.to_thread(cli, fresh_db_cfg, "calls", "show", "999999")
    assert missing.exit_code != 0 and "no call 999999" in str(missing.exception or missing.output)
    assert len(rows(fresh_db_cfg, Event)) == len(first.received)  # nothing left undelivered


@pytest.mark.integration
async def test_an_event_a_receiver_keeps_refusing_is_parked_then_replayed(pg_engine):
    from reauto.export import runner
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign
    from reauto.store.types import utcnow

    async with session_factory(pg_engine).begin() as s:
        campaign = Campaign(name="events-dlq")
        s.add(campaign)
        await s.flush()
        for i in range(2):
            events.record(s, "lead.opted_out", campaign_id=campaign.id, at=utcnow(), phone=f"+1512555010{i}",
                          lead_ids=[], reason="opted out by text")
    async with Receiver(SECRET, statuses=[500] * runner.PARK_AFTER) as hook:
        for _ in range(runner.PARK_AFTER):
            report = await run_export(pg_engine, EventsTarget([hook.url], SECRET, retries=0))
            assert report.exported == [] and report.stopped
        [letter] = await dead_letters(pg_engine, target="events")
        assert letter["attempts"] == runner.PARK_AFTER
        rest = await run_export(pg_engine, EventsTarget([hook.url], SECRET, retries=0))
        assert len(rest.exported) == 1  # the parked one waits in the list; the next goes
        replayed = await retry_dead_letters(pg_engine, EventsTarget([hook.url], SECRET))
        assert len(replayed.exported) == 1 and await dead_letters(pg_engine, target="events") == []
        assert sorted(b["data"]["phone"] for b in hook.received) == ["+15125550100", "+15125550101"]
        assert (await run_export(pg_engine, EventsTarget([hook.url], SECRET))).exported == []
        # a receiver that takes only some types gets only those; the rest count as delivered
        async with session_factory(pg_engine).begin() as s:
            events.record(s, "call.answered", campaign_id=None, at=utcnow(), call_id=1, lead_id=1, answered_by="human")
        quiet = await run_export(pg_engine, EventsTarget([hook.url], SECRET, types=["lead.opted_out"]))
        assert len(quiet.exported) == 1 and len(hook.received) == 2
    assert json.dumps(hook.received)  # plain JSON


@pytest.mark.integration
async def test_a_commit_that_stored_events_wakes_the_real_time_push_and_a_rollback_does_not(pg_engine):
    from reauto.config import Settings
    from reauto.export.realtime import RealtimeExport
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign
    from reauto.store.types import utcnow

    told: list[int] = []
    unsubscribe = events.subscribe(lambda: told.append(1))
    async with session_factory(pg_engine).begin() as s:
        campaign = Campaign(name="events-wake")
        s.add(campaign)
        await s.flush()
    assert told == []  # no event in that transaction
    with pytest.raises(RuntimeError):
        async with session_factory(pg_engine).begin() as s:
            events.record(s, "lead.opted_out", campaign_id=campaign.id, at=utcnow(), phone="+15125550199",
                          lead_ids=[], reason="opted out by text")
            raise RuntimeError("rolled back")
    assert told == []  # the change it reported was not stored: nothing to send
    unsubscribe()
    base = Settings()
    async with Receiver(SECRET) as hook:
        cfg = base.model_copy(update={"export": base.export.model_copy(update={
            "events": EventsSettings(urls=[hook.url], secret=SECRET)})})
        # a poll an hour apart: only the commit's wake can send the event within the test
        push = RealtimeExport(pg_engine, cfg, "events-wake", ["events"], events_every_s=3600)
        push.start()
        try:
            async with session_factory(pg_engine).begin() as s:
                events.record(s, "lead.opted_out", campaign_id=campaign.id, at=utcnow(), phone="+15125550100",
                              lead_ids=[], reason="opted out by text")
            async with asyncio.timeout(60):
                while not hook.received:
                    await asyncio.sleep(0.05)
            assert push.runs == 1 and told == []  # unsubscribed: told no more
        finally:
            await push.close()
    assert [b["data"]["phone"] for b in hook.received] == ["+15125550100"]


@pytest.mark.integration
async def test_an_llm_analysis_that_breaks_the_schema_is_refused_and_the_rules_stand(pg_engine):
    from reauto.dialer.postcall import LLMAnalyst, analyse, store_analysis
    from reauto.store.engine import session_factory
    from reauto.store.models import CallEvent, Campaign, Lead, Turn
    from reauto.store.types import utcnow

    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        campaign = Campaign(name="analysis")
        s.add(campaign)
        await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164="+15125550199", first_name="Sam")
        s.add(lead)
        await s.flush()
        call = Call(campaign_id=campaign.id, lead_id=lead.id, provider="sim", status="completed", outcome="callback")
        s.add(call)
        await s.flush()
        s.add_all([Turn(call_id=call.id, seq=0, speaker="agent", text="Hi Sam"),
                   Turn(call_id=call.id, seq=1, speaker="lead", text="prices are too high, call me next year")])
        store_analysis(s, call, analyse([("lead", "prices are too high, call me next year")], outcome="callback",
                                        slots={}, name="Sam"), utcnow())

    class Chat:
        def __init__(self, answers):
            self.answers, self.asked = list(answers), []

        async def complete(self, messages, **kw):
            self.asked.append((messages, kw))
            return self.answers.pop(0)

    bad = Chat(['{"summary": "x", "sentiment": "ecstatic", "objections": [], "next_step": "?"}', "not json"])
    analyst = LLMAnalyst(bad, sessions)
    assert await analyst.analyse_call(call.id) is None and await analyst.analyse_call(call.id) is None
    assert analyst.failed == 2 and bad.asked[0][1]["format"]["required"]
    good = Chat(['{"summary": "Sam finds prices too high and asked to be called next year.", '
                 '"sentiment": "neutral", "objections": ["Price", "timing"], "next_step": "Call back next year."}'])
    analyst = LLMAnalyst(good, sessions)
    analyst.start()
    analyst.call_ended(call.id)
    await analyst.finish(30)
    async with sessions() as s:
        latest = (await s.execute(select(CallEvent.payload).where(CallEvent.type == "analysis")
                                  .order_by(CallEvent.id.desc()).limit(1))).scalar_one()
    assert latest["by"] == "llm" and latest["objections"] == ["price", "timing"] and latest["disposition"] == "callback"
    assert "lead: prices are too high" in good.asked[0][0][1]["content"] and "ended as: callback" in good.asked[0][0][0][
        "content"]
