"""Booking on the call: real free slots offered, the chosen one booked once even when two calls
want it, a confirmation by text or by email with the invite."""

import asyncio
import email
from datetime import datetime
from pathlib import Path

import icalendar
import pytest
import yaml
from sqlalchemy import select

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.campaign import load_campaign
from reauto.compliance import ComplianceRules
from reauto.config import SchedulingSettings
from reauto.dialer.texting import Texter
from reauto.scheduling.booking import BusyFeed, Scheduler
from reauto.store.engine import session_factory
from reauto.store.models import Appointment, Campaign, ConsentRecord, Lead, Touch
from reauto.telephony.sim import SimTelephony

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.fromisoformat("2026-11-24T14:00:00-06:00")  # a Tuesday afternoon in Austin
HOURS = {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"], "wed": ["09:00-17:00"], "thu": ["09:00-17:00"],
         "fri": ["09:00-17:00"]}


def campaign_file(tmp_path, **booking):
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["booking"] = {"calendar": "austin-team", "timezone": "America/Chicago", "slot_minutes": 30,
                       "hours": HOURS, "book_threshold": 0.0,
                       "meeting_link": "https://meet.example.com/{calendar}/{appointment_id}", **booking}
    path = tmp_path / "booking.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_campaign(path)


async def stored_lead(sessions, name, phone, *, texts=True, email_address=None):
    async with sessions.begin() as s:
        campaign = (await s.execute(select(Campaign).where(Campaign.name == "demo"))).scalar_one_or_none()
        if campaign is None:
            campaign = Campaign(name="demo")
            s.add(campaign)
            await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164=phone, first_name=name, state="TX", email=email_address,
                    timezone="America/Chicago", has_written_consent=True)
        s.add(lead)
        await s.flush()
        s.add(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_texts=texts,
                            covers_artificial_voice=True))
    return lead


def scheduler(sessions, campaign, lead, tmp_path, phone=None, feed=None):
    texter = Texter(sessions, phone or SimTelephony(), campaign, ComplianceRules(), clock=lambda: NOW)
    return Scheduler(sessions, campaign, lead, settings=SchedulingSettings(outbox_dir=tmp_path / "outbox",
                                                                          organizer_email="team@example.com"),
                     feed=feed, texter=texter, clock=lambda: NOW)


async def test_two_calls_wanting_the_same_slot_book_it_once(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = campaign_file(tmp_path, buffer_minutes=0)
    jane, mark = await stored_lead(sessions, "Jane", "+15125550123"), await stored_lead(sessions, "Mark", "+15125550124")
    a, b = scheduler(sessions, campaign, jane, tmp_path), scheduler(sessions, campaign, mark, tmp_path)
    offers_a, offers_b = await a.offers(), await b.offers()
    # 14:00 + 2 h notice → 16:00 today; the second offer is another day or 3 h later: tomorrow 9:00
    assert offers_a == offers_b == ["today at 4 PM", "tomorrow at 9 AM"]
    won = await asyncio.gather(a.book("today at 4 PM"), b.book("today at 4 PM"))
    assert sorted(won) == [False, True]
    loser = b if won[0] else a
    assert await loser.offers() == ["today at 4:30 PM", "tomorrow at 9 AM"]  # 16:00 is gone
    assert await loser.book("today at 4:30 PM")
    await asyncio.gather(a.drain(), b.drain())
    async with sessions() as s:
        rows = list((await s.execute(select(Appointment).order_by(Appointment.starts_at))).scalars())
    assert [(r.starts_at.astimezone(NOW.tzinfo).strftime("%H:%M"), r.status) for r in rows] == [
        ("16:00", "booked"), ("16:30", "booked")]
    assert rows[0].meeting_link == f"https://meet.example.com/austin-team/{rows[0].id}"


async def test_the_brain_books_on_the_call_and_offers_again_when_the_slot_was_just_taken(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = campaign_file(tmp_path, buffer_minutes=0)
    jane, mark = await stored_lead(sessions, "Jane", "+15125550123"), await stored_lead(sessions, "Mark", "+15125550124")
    first = scheduler(sessions, campaign, jane, tmp_path)
    await first.offers()
    assert await first.book("today at 4 PM")

    brain = ScriptedBrain(ScriptConfig(agent_name="Ava", business="Lone Star Realty", book_threshold=0.0,
                                       questions=[Question("intent", "Are you buying or selling?")],
                                       scheduler=scheduler(sessions, campaign, mark, tmp_path)))
    brain.opening()
    await brain.respond("yes this is Mark", None)
    offer = await brain.respond("we want to buy", None)
    assert "today at 4:30 PM or tomorrow at 9 AM" in offer.text  # 16:00 was booked before this call
    # between the offer and the answer another call takes 16:30
    other = scheduler(sessions, campaign, jane, tmp_path)
    await other.offers()
    assert await other.book("today at 4:30 PM")
    retry = await brain.respond("the first one works for me", None)
    assert "just taken" in retry.text and "tomorrow at 9 AM or tomorrow at 12 PM" in retry.text
    assert not retry.end_call
    booked = await brain.respond("the first one works for me", None)
    assert booked.outcome == "booked" and brain.slots["appointment"] in retry.text


async def test_confirmation_by_text_or_by_email_with_the_invite(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = campaign_file(tmp_path, buffer_minutes=0)
    phone = SimTelephony()
    texted = await stored_lead(sessions, "Jane", "+15125550123")
    mailed = await stored_lead(sessions, "Mark", "+15125550124", texts=False, email_address="mark@example.com")
    neither = await stored_lead(sessions, "Lee", "+15125550125", texts=False)
    for lead in (texted, mailed, neither):
        s = scheduler(sessions, campaign, lead, tmp_path, phone=phone)
        offers = await s.offers()
        assert await s.book(offers[0])
        await s.drain()
    assert len(phone.texts) == 1 and phone.texts[0]["to"] == "+15125550123"
    assert phone.texts[0]["body"].startswith("You're booked with Lone Star Realty today at 4 PM (your time). Join: ")
    async with sessions() as s:
        touches = {t.lead_id: t for t in (await s.execute(select(Touch))).scalars()}
    assert (touches[texted.id].channel, touches[texted.id].status) == ("sms", "sent")
    assert (touches[mailed.id].channel, touches[mailed.id].status) == ("email", "queued")
    assert touches[neither.id].status == "skipped" and "no email" in touches[neither.id].reason
    message = email.message_from_bytes(Path(touches[mailed.id].body).read_bytes())
    assert message["To"] == "mark@example.com"
    [ics] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
    assert event["DTSTART"].dt == datetime.fromisoformat("2026-11-24T16:30:00-06:00")
    assert "mark@example.com" in str(event["ATTENDEE"])


async def test_the_agents_own_calendar_is_busy_time_and_a_stale_copy_beats_none(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign = campaign_file(tmp_path)
    lead = await stored_lead(sessions, "Jane", "+15125550123")
    feed_file = tmp_path / "agent.ics"
    feed_file.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\n"
                         "DTSTART:20261124T220000Z\r\nDTEND:20261124T230000Z\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\n"
                         "END:VCALENDAR\r\n")  # 16:00-17:00 in Austin
    feed = BusyFeed(str(feed_file), "America/Chicago", cache_s=0)
    assert await scheduler(sessions, campaign, lead, tmp_path, feed=feed).offers() == [
        "tomorrow at 9 AM", "tomorrow at 12 PM"]
    feed_file.write_text("not a calendar")  # broken now: the last good copy is used
    assert (await scheduler(sessions, campaign, lead, tmp_path, feed=feed).offers())[0] == "tomorrow at 9 AM"
    never = BusyFeed(str(tmp_path / "missing.ics"), "America/Chicago")
    assert await scheduler(sessions, campaign, lead, tmp_path, feed=never).offers() == []  # offering blind: no


@pytest.mark.slow
async def test_a_dialed_lead_books_a_real_slot_linked_to_the_call(tmp_path):
    import uuid

    from reauto.config import DatabaseSettings, Settings
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.store import migrate

    from .conftest import create_database, drop_database
    from .test_dial import rows

    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["booking"] = {"calendar": "austin-team", "timezone": "America/Chicago", "hours": HOURS,
                       "book_threshold": 0.6, "min_notice_minutes": 100}  # the call itself takes a minute
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Jane Doe"]
    path = tmp_path / "booked.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    name = f"reauto_bk_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)),
                   scheduling=SchedulingSettings(outbox_dir=tmp_path / "outbox"))
    try:
        migrate.upgrade(cfg)
        result = await DialRun(cfg, load_campaign(path), DialOptions(max_calls=1, concurrency=1, speed=1.5,
                                                                     clock_start=NOW)).run()
        [summary] = result.summaries
        assert summary.outcome == "booked", summary
        [appointment] = rows(cfg, Appointment)
        assert appointment.call_id == summary.call_id and appointment.calendar == "austin-team"
        assert appointment.starts_at == datetime.fromisoformat("2026-11-24T16:00:00-06:00")
        assert summary.slots["appointment"] == "today at 4 PM"
        [touch] = rows(cfg, Touch)
        assert (touch.kind, touch.status) == ("confirmation", "sent")
    finally:
        drop_database(name)


async def test_the_confirmation_text_goes_through_twilio(pg_engine, tmp_path):
    from reauto.config import TwilioSettings
    from reauto.telephony.twilio import CallRegistry, TwilioTelephony

    from .fakes.twilio import TwilioDouble

    sessions = session_factory(pg_engine)
    campaign = campaign_file(tmp_path)
    lead = await stored_lead(sessions, "Jane", "+15125550123")
    async with TwilioDouble() as double:
        settings = TwilioSettings(account_sid=double.account_sid, auth_token=double.auth_token,
                                  api_base_url=double.base_url, public_url="http://127.0.0.1:9", request_timeout_s=3)
        twilio = TwilioTelephony(settings, CallRegistry(settings.public_url))
        await twilio.start()
        try:
            s = scheduler(sessions, campaign, lead, tmp_path, phone=twilio)
            assert await s.book((await s.offers())[0])
            await s.drain()
        finally:
            await twilio.close()
    [message] = double.messages
    assert message["to"] == "+15125550123" and message["from"] == campaign.caller_id
    assert "You're booked with Lone Star Realty today at 4 PM" in message["body"] and "STOP" in message["body"]
    async with sessions() as db:
        [touch] = (await db.execute(select(Touch))).scalars()
    assert (touch.kind, touch.status, touch.provider_sid) == ("confirmation", "sent", message["sid"])
