"""Calls through Twilio's protocol end to end: the real twilio SDK places them against the loopback
double, which fetches reauto's TwiML, sends signed callbacks, streams the simulated lead's audio
over the media WebSocket and plays the agent's back. The same campaign over ``telephony: sim``
must end the same way.
"""

import socket
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from reauto.campaign import load_campaign
from reauto.config import DatabaseSettings, Settings, TwilioSettings, SttSettings
from reauto.dialer import assembly
from reauto.dialer.building import DialOptions
from reauto.dialer.run import DialRun
from reauto.errors import UsageError
from reauto.serve.embed import start_server
from reauto.store import migrate
from reauto.store.engine import make_engine, session_factory
from reauto.store.models import Call, CallEvent, CallStatus, DncEntry
from reauto.telephony.twilio import CallRegistry, TwilioTelephony

from .conftest import create_database, drop_database
from .test_dial import rows
from .fakes.twilio import TwilioDouble

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
AT = datetime.fromisoformat("2026-11-24T19:30:00-06:00")
SPEED = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def databases():
    names = [f"reauto_tw_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    cfgs = []
    for name in names:
        # what the calls end as, not how fast a busy machine decodes: beside CI's CPU burners one
        # transcription can take longer than the 5 s a live call allows, and the turn goes unheard
        cfg = Settings(database=DatabaseSettings(url=create_database(name)),
                       stt=SttSettings(timeout_s=60.0))
        migrate.upgrade(cfg)
        cfgs.append(cfg)
    yield cfgs
    for name in names:
        drop_database(name)


@pytest.fixture
def campaign(tmp_path):
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    keep = {"Jane Doe", "Tom Becker", "Linda Park"}
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] in keep]
    data["sim_personas"].append({"name": "Nora Away", "phone": "+15125550166", "state": "TX",
                                 "answers": {"_unanswered": "no-answer"}})
    path = tmp_path / "twilio-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_campaign(path)


def twilio_settings(double: TwilioDouble, port: int) -> TwilioSettings:
    return TwilioSettings(account_sid=double.account_sid, auth_token=double.auth_token, api_base_url=double.base_url,
                          public_url=f"http://127.0.0.1:{port}", listen_port=port, request_timeout_s=3)


async def run(cfg, campaign, **kw):
    if campaign.telephony == "twilio":  # real numbers are never seeded from personas: the test adds them
        engine = make_engine(cfg.database)
        sessions = session_factory(engine)
        await assembly.seed_sim_leads(sessions, await assembly.upsert_campaign(sessions, campaign), campaign)
        await engine.dispose()
    result = await DialRun(cfg, campaign, DialOptions(concurrency=4, clock_start=AT, speed=SPEED, **kw),
                          web=start_server).run()
    return {s.lead_name: s for s in result.summaries}


async def test_same_campaign_ends_the_same_on_sim_and_on_twilio(databases, campaign):
    sim_cfg, tw_cfg = databases
    sim = await run(sim_cfg, campaign)

    twilio_campaign = campaign.model_copy(update={"telephony": "twilio"})
    async with TwilioDouble(personas=assembly.lead_scripts(campaign), speed=SPEED, ring_s=1.0) as double:
        cfg = tw_cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        tw = await run(cfg, twilio_campaign, agent_text_tap=double.agent_text)
        reports = {c.script.name: await double.finished(sid) for sid, c in double.calls.items()}
        calls = dict(double.calls)

    assert set(sim) == set(tw) == {"Jane Doe", "Tom Becker", "Linda Park", "Nora Away"}
    for name in sim:
        assert (tw[name].outcome, tw[name].status) == (sim[name].outcome, sim[name].status), (name, tw[name])
    jane = tw["Jane Doe"]
    assert jane.outcome == "booked" and jane.slots["timeline_months"] == 3 and jane.slots["preapproved"] is True
    assert jane.slots == sim["Jane Doe"].slots
    assert tw["Linda Park"].outcome == "voicemail" and tw["Nora Away"].outcome == "no_answer"
    # the lead heard the agent's opening after "hello?" (how fast: scripts/bench/telephony.py)
    assert reports["Jane Doe"]["hello_to_first_audio_ms"] is not None
    # Twilio's view of each call: signed callbacks accepted, the media protocol spoken both ways
    for call in calls.values():
        assert all(hook.status == 204 for hook in call.callbacks if hook.kind != "twiml"), call.callbacks
    jane_call = next(c for c in calls.values() if c.script.name == "Jane Doe")
    assert jane_call.received["media"] > 100 and jane_call.received["mark"] >= 3
    # the agent's audio goes in messages of about 80 ms (640 bytes; pipecat's resampler evens them out)
    assert 600 <= jane_call.media_bytes.most_common(1)[0][0] <= 800
    assert jane_call.marks_echoed and jane_call.params["MachineDetection"] == "DetectMessageEnd"
    assert jane_call.params["AsyncAmd"] == "true" and jane_call.params["TimeLimit"] == "900"

    stored = {c.lead_id: c for c in rows(cfg, Call)}
    assert all(c.provider == "twilio" and c.provider_sid and c.provider_sid.startswith("CA") for c in stored.values())
    by_status = sorted(c.status.value for c in stored.values())
    assert by_status == sorted(["completed", "completed", "voicemail", "no-answer"])
    events = {e.type for e in rows(cfg, CallEvent)}
    assert {"status:ringing", "status:in-progress", "status:completed", "amd"} <= events
    assert [d.phone_e164 for d in rows(cfg, DncEntry)] == ["+17135550165"]  # Tom said "do not call"


async def test_keypad_opt_out_and_callbacks_out_of_order(databases, campaign):
    cfg = databases[0]
    data = campaign.model_dump(mode="json")
    data["sim_personas"] = [{"name": "Dee Keys", "phone": "+15125550144", "state": "TX",
                             "answers": {"_dtmf": "9", "intent": "we want to buy a house"}}]
    keypad = type(campaign).model_validate({**data, "telephony": "twilio", "name": "keypad"})
    async with TwilioDouble(personas=assembly.lead_scripts(keypad), speed=SPEED, ring_s=0.5) as double:
        double.duplicate_callbacks = True
        double.shuffle_callbacks = True
        cfg = cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        result = await run(cfg, keypad, agent_text_tap=double.agent_text)
        call = next(iter(double.calls.values()))
        await double.finished(call.sid)
    dee = result["Dee Keys"]
    assert dee.outcome == "dnc", dee
    assert call.dtmf_sent == ["9"]
    [stored] = rows(cfg, Call)
    assert stored.status == CallStatus.COMPLETED and stored.answered_at is not None
    kinds = [e.type for e in rows(cfg, CallEvent, CallEvent.call_id == stored.id) if e.type.startswith("status:")]
    assert sorted(kinds) == sorted(set(kinds))  # each status stored once, whatever order and repeats
    assert [d.phone_e164 for d in rows(cfg, DncEntry)] == ["+15125550144"]


async def test_a_dropped_media_connection_is_called_back_and_the_conversation_resumes(databases, campaign):
    cfg = databases[0]
    data = campaign.model_dump(mode="json")
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Jane Doe"]
    data["retry"] = {**data["retry"], "dropped_min": 0}  # call back at once (the test's clock is real time)
    dropping = type(campaign).model_validate({**data, "telephony": "twilio", "name": "dropping"})
    async with TwilioDouble(personas=assembly.lead_scripts(dropping), speed=SPEED, ring_s=0.5) as double:
        double.drop_media_after_marks = 3  # the opening and two questions heard, then the network fails
        cfg = cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        await run(cfg, dropping, agent_text_tap=double.agent_text)
        placed = list(double.calls.values())
        for call in placed:
            await double.finished(call.sid)
    stored = sorted(rows(cfg, Call), key=lambda c: c.id)
    ends = [e.payload for e in rows(cfg, CallEvent) if e.type == "ended"]
    assert [c.dropped for c in placed] == [True, False] and "stop" not in placed[0].received, (stored, ends)
    first, second = stored
    assert first.lead_id == second.lead_id and first.outcome == "callback", first
    ended = next(e for e in rows(cfg, CallEvent, CallEvent.call_id == first.id) if e.type == "ended")
    assert ended.payload["media_dropped"] is True
    assert second.outcome == "booked", second
    from reauto.store.models import Lead, Turn

    opening = next(t.text for t in rows(cfg, Turn, Turn.call_id == second.id) if t.speaker == "agent")
    assert "got cut off" in opening, opening  # the call-back resumed where the conversation stood
    first_questions = [t.text for t in rows(cfg, Turn, Turn.call_id == first.id) if t.speaker == "agent"]
    assert all(q not in opening for q in first_questions[1:2])  # not asked again from the start
    [lead] = rows(cfg, Lead)
    assert lead.status.value == "booked" and "_recovery" not in (lead.custom or {})


async def test_placing_calls_fails_clearly(campaign):
    with pytest.raises(UsageError, match="public_url"):
        TwilioTelephony(TwilioSettings(), CallRegistry(""))
    telephony = TwilioTelephony(TwilioSettings(public_url="https://x.example.com"), CallRegistry("https://x.example.com"))
    with pytest.raises(UsageError, match="account_sid and auth_token"):
        await telephony.start()
    async with TwilioDouble() as double:
        settings = twilio_settings(double, free_port()).model_copy(update={"auth_token": "wrong", "retries": 0})
        telephony = TwilioTelephony(settings, CallRegistry(settings.public_url))
        from reauto.telephony.twilio import TwilioError

        with pytest.raises(TwilioError, match="HTTP 401"):
            await telephony.place_call(to="+15125550123", caller_id="+15125550100", call_ref="1")
        assert telephony.registry.get("1") is None


async def test_a_serving_dialer_waits_for_leads_until_a_signal(databases, campaign):
    import asyncio
    import os
    import signal

    cfg = databases[1]
    data = campaign.model_dump(mode="json")
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Nora Away"]
    away = type(campaign).model_validate({**data, "telephony": "twilio", "name": "serving"})
    async with TwilioDouble(personas=assembly.lead_scripts(away), speed=SPEED, ring_s=0.2) as double:
        cfg = cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        serving = asyncio.create_task(run(cfg, away, agent_text_tap=double.agent_text, forever=True))
        for _ in range(300):  # the call is placed and ends; the dialer keeps waiting for leads
            if double.calls and all(c.ended.is_set() for c in double.calls.values()):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert not serving.done()
        os.kill(os.getpid(), signal.SIGTERM)  # what `reauto serve --campaign` gets from systemd
        result = await asyncio.wait_for(serving, 30)
    assert result["Nora Away"].outcome == "no_answer" and len(double.calls) == 1
