"""The multi-touch cadence (call → voicemail drop → text → call …) and the after-hours notice to a
posted lead: every step gated, recorded and moved on in the store."""

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from reauto.campaign import load_campaign
from reauto.compliance import ComplianceRules
from reauto.config import DatabaseSettings, Settings
from reauto.dialer import assembly
from reauto.dialer.records import CallRecorder, RetryPolicy, advance_cadence
from reauto.dialer.building import DialOptions
from reauto.dialer.run import DialRun
from reauto.dialer.texting import QUIET, Texter, spoken_time
from reauto.errors import ConfigError
from reauto.store import migrate
from reauto.store.engine import session_factory
from reauto.store.models import Call, CallEvent, Campaign, ConsentRecord, Lead, LeadStatus, Touch
from reauto.store.types import utcnow
from reauto.telephony.sim import SimTelephony

from .conftest import create_database, drop_database
from .test_cli_leads import cli
from .test_dial import rows

ROOT = Path(__file__).resolve().parents[1]
MISSED = "Hi {first_name}, it's {agent_name} with {business}. Sorry we missed you! Call {callback_number}. Reply STOP to opt out."
LATER = "Hi {first_name}, thanks for reaching out to {business}! {agent_name} will call you at {call_time}. Reply STOP to opt out."
CADENCE = [{"action": "call"}, {"action": "sms", "after_min": 0, "template": "missed"},
           {"action": "call", "after_min": 0, "voicemail": "hang_up"}]


def campaign_data(**extra):
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data.update({"name": "touches", "cadence": CADENCE,
                 "sms": {"templates": {"missed": MISSED, "later": LATER}, "after_hours_intake": "later"}})
    data.update(extra)
    return data


def write(tmp_path, data):
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- the campaign file ---------------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize(("change", "message"), [
    ({"sms": {"templates": {"missed": "Hi {first_name}, call us"}}}, "must tell the lead how to opt out"),
    ({"sms": {"templates": {"missed": "Hi {name}. Reply STOP to opt out."}}}, "unknown {name}"),
    ({"sms": {"templates": {}}}, "cadence[1].template: no text named 'missed'"),
    ({"cadence": [{"action": "sms", "template": "missed"}],
      "sms": {"templates": {"missed": MISSED}}}, "the first touch is a call"),
    ({"cadence": [{"action": "call"}, {"action": "sms", "template": "missed", "voicemail": "message"}],
      "sms": {"templates": {"missed": MISSED}}}, "voicemail applies to call steps only"),
    ({"cadence": [{"action": "call"}, {"action": "call", "after_min": -5}]}, "greater than or equal to 0"),
])
def test_a_bad_cadence_or_text_is_refused_with_its_place(tmp_path, change, message):
    data = campaign_data()
    data.pop("sms")
    data.update(change)
    with pytest.raises(ConfigError) as err:
        load_campaign(write(tmp_path, data))
    assert message in str(err.value) and "touches.yaml:" in str(err.value)


@pytest.mark.unit
def test_voicemail_per_step_and_the_attempts_a_cadence_allows(tmp_path):
    campaign = load_campaign(write(tmp_path, campaign_data()))
    assert [assembly.step_voicemail(campaign, i) for i in range(4)] == ["message", "message", "hang_up", "message"]
    assert assembly.script_config(campaign, "Jo", step=2).leave_voicemail is False
    assert assembly.retry_for(campaign).cadence == (timedelta(0),) * 3
    four_calls = campaign_data(cadence=[{"action": "call"}] * 4)
    assert assembly.rules_for(load_campaign(write(tmp_path, four_calls))).max_attempts == 4


@pytest.mark.unit
def test_spoken_call_times_in_the_leads_zone():
    now = datetime.fromisoformat("2026-11-24T20:30:00-06:00")
    at = datetime.fromisoformat("2026-11-25T09:00:00-06:00")
    assert spoken_time(at, "America/Chicago", now) == "9:00 AM tomorrow"
    assert spoken_time(at, "America/Denver", now) == "8:00 AM tomorrow"
    assert spoken_time(now + timedelta(minutes=30), "America/Chicago", now) == "9:00 PM today"
    assert spoken_time(at + timedelta(days=3), "America/Chicago", now) == "9:00 AM on Saturday"
    assert spoken_time(at + timedelta(days=9), "America/Chicago", now) == "9:00 AM on Dec 4"


@pytest.mark.unit
def test_an_unanswered_call_moves_the_lead_along_its_cadence():
    waits = (timedelta(0), timedelta(minutes=2), timedelta(hours=1))
    now = utcnow()
    lead = Lead(cadence_step=0, attempts=0)
    assert advance_cadence(lead, waits, now) == LeadStatus.SCHEDULED
    assert (lead.cadence_step, lead.next_attempt_at) == (1, now + timedelta(minutes=2))
    CallRecorder._move_lead_on(lead, "no_answer", RetryPolicy(max_attempts=1, cadence=waits), now)
    assert (lead.status, lead.cadence_step, lead.next_attempt_at) == (LeadStatus.SCHEDULED, 2, now + timedelta(hours=1))
    CallRecorder._move_lead_on(lead, "voicemail", RetryPolicy(cadence=waits), now)
    assert (lead.status, lead.cadence_step) == (LeadStatus.EXHAUSTED, 3)
    answered = Lead(cadence_step=0, attempts=0)  # a person answered: the cadence is over
    CallRecorder._move_lead_on(answered, "booked", RetryPolicy(cadence=waits), now)
    assert (answered.status, answered.cadence_step) == (LeadStatus.BOOKED, 0)


# --- against the store -------------------------------------------------------------------------------

@pytest.fixture
def database():
    name = f"reauto_cad_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    migrate.upgrade(cfg)
    yield cfg
    drop_database(name)


@pytest.mark.integration
@pytest.mark.slow
async def test_call_voicemail_drop_text_and_call_again_until_the_cadence_ends(database, tmp_path):
    data = campaign_data(sim_personas=[
        {"name": "Nora Away", "phone": "+15125550166", "state": "TX", "answers": {"_unanswered": "no-answer"}},
        {"name": "Linda Park", "phone": "+12145550119", "state": "TX", "voicemail": True},
    ])
    campaign = load_campaign(write(tmp_path, data))
    result = await DialRun(database, campaign, DialOptions(
        concurrency=2, clock_start=datetime.fromisoformat("2026-11-24T14:00:00-06:00"), speed=4.0)).run()
    assert result.denied == []
    by_lead = {}
    for s in sorted(result.summaries, key=lambda s: s.call_id):
        by_lead.setdefault(s.lead_name, []).append(s.outcome)
    # two calls each; Linda's machine got the message on the first call, a hang-up on the second
    assert by_lead == {"Nora Away": ["no_answer", "no_answer"], "Linda Park": ["voicemail", "voicemail"]}
    leads = {lead.first_name: lead for lead in rows(database, Lead)}
    assert all((lead.status, lead.cadence_step) == (LeadStatus.EXHAUSTED, 3) for lead in leads.values())
    touches = rows(database, Touch)
    assert sorted((t.lead_id, t.kind, t.step, t.status) for t in touches) == sorted(
        (lead.id, "cadence", 1, "sent") for lead in leads.values())
    nora = next(t for t in touches if t.lead_id == leads["Nora"].id)
    assert nora.body == ("Hi Nora, it's Ava with Lone Star Realty. Sorry we missed you! Call 512 555 0100. "
                         "Reply STOP to opt out.") and nora.provider_sid.startswith("SMsim")
    steps = sorted((e.payload["cadence_step"], e.call_id) for e in rows(database, CallEvent, CallEvent.type == "dial"))
    assert [step for step, _ in steps] == [0, 0, 2, 2]
    linda_calls = [c.id for c in rows(database, Call, Call.lead_id == leads["Linda"].id)]
    said = {e.call_id: e for e in rows(database, CallEvent, CallEvent.type == "ended")}
    assert len(linda_calls) == 2 and all(said[c].payload["outcome"] == "voicemail" for c in linda_calls)


async def stored_lead(sessions, *, texts: bool = True, dnc: bool = False, state: str = "TX") -> Lead:
    async with sessions.begin() as s:
        campaign = Campaign(name=f"c{uuid.uuid4().hex[:6]}")
        s.add(campaign)
        await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164="+15125550166", first_name="Nora", state=state,
                    tz_candidates=["America/Chicago"], has_written_consent=True, dnc=dnc, cadence_step=1,
                    lease_owner="w1")
        s.add(lead)
        await s.flush()
        s.add(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_texts=texts))
    return lead


@pytest.mark.integration
async def test_texts_are_gated_by_consent_dnc_and_quiet_hours(pg_engine, pg_settings, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = load_campaign(write(tmp_path, campaign_data()))
    waits = assembly.retry_for(campaign).cadence
    evening = datetime.fromisoformat("2026-11-24T20:30:00-06:00")  # after the campaign's calls, legal for texts
    phone = SimTelephony()

    def texter(at):
        return Texter(sessions, phone, campaign, ComplianceRules(), waits=waits, clock=lambda: at)

    no_consent = await stored_lead(sessions, texts=False)
    await texter(evening).cadence_step(no_consent)
    listed = await stored_lead(sessions, dnc=True)
    await texter(evening).cadence_step(listed)
    fine = await stored_lead(sessions)
    await texter(evening).cadence_step(fine)
    assert [(t.lead_id, t.status, t.reason) for t in rows_of(await touches(sessions))] == [
        (no_consent.id, "skipped", "no consent on record covers texts"),
        (listed.id, "skipped", "dnc: on a do-not-call list"), (fine.id, "sent", None)]
    assert len(phone.texts) == 1 and phone.texts[0]["to"] == "+15125550166"
    shown = await asyncio.to_thread(cli, pg_settings, "leads", "show", str(no_consent.id))  # what an operator sees
    assert shown.exit_code == 0 and "texts" in shown.output and "skipped" in shown.output
    data = await asyncio.to_thread(cli, pg_settings, "leads", "show", str(no_consent.id), "--json")
    [touch] = json.loads(data.output)[0]["touches"]
    assert (touch["kind"], touch["status"], touch["reason"]) == ("cadence", "skipped", "no consent on record covers texts")
    # every one moved on to the next step (a call) and released
    async with sessions() as s:
        for lead_id in (no_consent.id, listed.id, fine.id):
            row = await s.get(Lead, lead_id)
            assert (row.cadence_step, row.status, row.lease_owner) == (2, LeadStatus.SCHEDULED, None)
    # at 22:30 in Austin a text waits for the first legal minute (09:00 in Texas) instead
    late = await stored_lead(sessions)
    night = datetime.fromisoformat("2026-11-24T22:30:00-06:00")
    assert await texter(night).refusal(late, night) == QUIET
    await texter(night).cadence_step(late)
    async with sessions() as s:
        row = await s.get(Lead, late.id)
    assert (row.cadence_step, row.status) == (1, LeadStatus.SCHEDULED)
    wait = row.next_attempt_at - utcnow()
    assert timedelta(hours=10, minutes=28) < wait <= timedelta(hours=10, minutes=30)
    assert len(phone.texts) == 1
    # a failing provider is recorded as failed; the cadence goes on
    broken = await stored_lead(sessions)

    class Down(SimTelephony):
        async def send_sms(self, **_kw):
            raise RuntimeError("Twilio REST error 30003")

    await Texter(sessions, Down(), campaign, ComplianceRules(), waits=waits, clock=lambda: evening).cadence_step(broken)
    [failed] = [t for t in rows_of(await touches(sessions)) if t.lead_id == broken.id]
    assert failed.status == "failed" and "30003" in failed.reason


async def touches(sessions):
    from sqlalchemy import select

    async with sessions() as s:
        return list((await s.execute(select(Touch).order_by(Touch.id))).scalars())


def rows_of(items):
    return list(items)


@pytest.mark.integration
async def test_after_hours_notice_is_sent_once_and_names_the_first_legal_minute(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = load_campaign(write(tmp_path, campaign_data()))
    phone = SimTelephony()
    evening = datetime.fromisoformat("2026-11-24T20:30:00-06:00")
    texter = Texter(sessions, phone, campaign, ComplianceRules(), clock=lambda: evening)
    lead = await stored_lead(sessions)
    call_at = datetime.fromisoformat("2026-11-25T09:00:00-06:00")
    await texter.after_hours(lead, call_at)
    await texter.after_hours(lead, call_at)  # posted twice, rescheduled twice: one text
    assert [t["body"] for t in phone.texts] == [
        "Hi Nora, thanks for reaching out to Lone Star Realty! Ava will call you at 9:00 AM tomorrow. "
        "Reply STOP to opt out."]
    quiet = await stored_lead(sessions)
    night = datetime.fromisoformat("2026-11-24T23:00:00-06:00")
    await Texter(sessions, phone, campaign, ComplianceRules(), clock=lambda: night).after_hours(quiet, call_at)
    assert len(phone.texts) == 1
    recorded = {t.lead_id: (t.kind, t.status, t.reason) for t in await touches(sessions)}
    assert recorded == {lead.id: ("after_hours", "sent", None), quiet.id: ("after_hours", "skipped", QUIET)}
    off = campaign.model_copy(update={"sms": campaign.sms.model_copy(update={"after_hours_intake": ""})})
    await Texter(sessions, phone, off, ComplianceRules(), clock=lambda: evening).after_hours(
        await stored_lead(sessions), call_at)
    assert len(await touches(sessions)) == 2


@pytest.mark.integration
async def test_twilio_texts_go_through_the_messages_resource():
    from reauto.config import TwilioSettings
    from reauto.telephony.twilio import CallRegistry, TwilioError, TwilioTelephony

    from .fakes.twilio import TwilioDouble

    async with TwilioDouble() as double:
        settings = TwilioSettings(account_sid=double.account_sid, auth_token=double.auth_token,
                                  api_base_url=double.base_url, public_url="http://127.0.0.1:9", request_timeout_s=3)
        telephony = TwilioTelephony(settings, CallRegistry(settings.public_url))
        await telephony.start()
        try:
            sid = await telephony.send_sms(to="+15125550166", from_="+15125550100", body="Hi. Reply STOP to opt out.")
            assert sid.startswith("SM") and double.messages[0]["body"] == "Hi. Reply STOP to opt out."
            with pytest.raises(TwilioError, match="21602"):
                await telephony.send_sms(to="+15125550166", from_="+15125550100", body="")
        finally:
            await telephony.close()
