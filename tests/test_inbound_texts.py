"""Texts from leads: every opt-out phrasing reaches the do-not-call list before the webhook answers;
HELP, START and replies do what they say; the webhook is signed, idempotent and exported."""

import itertools
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from reauto.campaign import load_campaign
from reauto.compliance import ComplianceRules
from reauto.dialer.texting import Texter
from reauto.errors import ConfigError
from reauto.export.records import pending
from reauto.intake.replies import read_reply, sentences
from reauto.intake.texts import TEXT_OPT_OUT, callback_time
from reauto.serve.context import ServeContext
from reauto.serve.sms_routes import twiml_message
from reauto.store.engine import session_factory
from reauto.store.models import Campaign, ConsentRecord, DncEntry, DncSource, Lead, LeadStatus, Touch
from reauto.telephony.sim import SimTelephony
from reauto.telephony.twilio import CallRegistry

from .test_cadence import campaign_data, write
from .test_serve import PUBLIC, TOKEN, Server

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "sms_replies.yaml").read_text())
CALLER_ID = "+15125550100"
_numbers = itertools.count(1000)


def new_number() -> str:
    return f"+1512555{next(_numbers):04d}"


# --- reading --------------------------------------------------------------------------------------

@pytest.mark.unit
def test_the_corpus_is_large_and_varied_enough_to_mean_something():
    assert len(CORPUS["opt_out"]) >= 50 and len(CORPUS["message"]) >= 30
    assert len({" ".join(sentences(t)) for t in CORPUS["opt_out"]}) >= 50  # not the same words re-punctuated


@pytest.mark.unit
@pytest.mark.parametrize(("kind", "text"), [(k, t) for k, texts in CORPUS.items() for t in texts])
def test_every_text_of_the_corpus_is_read_as_labelled(kind, text):
    assert read_reply(text).kind == kind, text


@pytest.mark.unit
def test_a_reply_carries_what_a_person_or_the_dialer_needs():
    assert read_reply("Can you stop by at 5?").keyword_in_sentence
    assert not read_reply("Sounds good").keyword_in_sentence
    assert "wrong_number" in read_reply("wrong number sorry").intents
    assert "callback_request" in read_reply("can you call me back tomorrow at 4").intents
    assert read_reply("yes").yes and read_reply("Yes please").yes and not read_reply("yes call me").yes
    for hostile in ("", "   ", "\x00\x01", "🏠" * 5000, "stop " * 5000, "ａｂｃ", "STOP" + "!" * 10_000):
        read_reply(hostile)  # never raises, whatever arrives
    assert read_reply("ＳＴＯＰ").kind == "opt_out"  # full-width letters (NFKC)
    assert read_reply("stop " * 5000).kind == "opt_out"


CHICAGO = ZoneInfo("America/Chicago")
MONDAY_2PM = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)  # 14:00 in Chicago


@pytest.mark.unit
@pytest.mark.parametrize(("text", "local"), [
    ("call me at 5", "2026-12-07 17:00"),
    ("Call me at 4PM", "2026-12-07 16:00"),
    ("call me tomorrow at 10am", "2026-12-08 10:00"),
    ("call me at noon", "2026-12-08 12:00"),  # noon has passed: tomorrow
    ("call me after 3", "2026-12-07 15:00"),
    ("call me after 1", "2026-12-07 14:00"),  # a bound already passed: now
    ("call me tomorrow", "2026-12-08 09:00"),  # a day alone: the calling window's start
    ("call me friday after 2", "2026-12-11 14:00"),
    ("can you call me", "2026-12-07 14:00"),
])
def test_a_call_back_is_scheduled_when_the_lead_asked(text, local):
    at = callback_time(text, MONDAY_2PM, CHICAGO, time(9))
    assert at.tzinfo is not None and at.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.unit
def test_twiml_answers_are_escaped_and_empty_when_nothing_is_said():
    assert twiml_message(None).endswith("<Response/>")
    assert "<Message>A &amp; B &lt;x&gt;</Message>" in twiml_message("A & B <x>")


@pytest.mark.unit
@pytest.mark.parametrize(("sms", "message"), [
    ({"help_answer": "We are {business}."}, "sms.help_answer: the answer to HELP must tell the lead how to opt out"),
    ({"opt_out_answer": "Bye {first_name}"}, "sms.opt_out_answer: unknown {first_name}"),
])
def test_a_bad_answer_text_is_refused_with_its_place(tmp_path, sms, message):
    data = campaign_data()
    data["sms"] = {**data["sms"], **sms}
    with pytest.raises(ConfigError, match="touches.yaml:") as err:
        load_campaign(write(tmp_path, data))
    assert message in str(err.value)


# --- the webhook, on a socket, against PostgreSQL -------------------------------------------------

async def campaign_row(sessions, tmp_path, name="touches", **sms):
    data = campaign_data(name=name, caller_id=CALLER_ID)
    data["sms"] = {**data["sms"], **sms}
    campaign = load_campaign(write(tmp_path, data))
    async with sessions.begin() as s:
        row = Campaign(name=campaign.name, config=campaign.model_dump(mode="json"))
        s.add(row)
        await s.flush()
        return row.id


async def stored_lead(sessions, campaign_id, phone, *, status=LeadStatus.SCHEDULED) -> int:
    async with sessions.begin() as s:
        lead = Lead(campaign_id=campaign_id, phone_e164=phone, first_name="Nora", state="TX",
                    tz_candidates=["America/Chicago"], has_written_consent=True, status=status)
        s.add(lead)
        await s.flush()
        s.add(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_texts=True))
        return lead.id


def sms_form(phone, body, sid=None, to=CALLER_ID):
    return {"MessageSid": sid or f"SM{next(_numbers):032d}", "AccountSid": "AC1", "From": phone, "To": to,
            "Body": body, "NumMedia": "0"}


def context(engine):
    from reauto.config import TwilioSettings

    return ServeContext(TwilioSettings(auth_token=TOKEN, public_url=PUBLIC), CallRegistry(PUBLIC),
                        session_factory(engine), engine=engine)


async def listed(sessions, phone):
    async with sessions() as s:
        return (await s.execute(select(DncEntry).where(DncEntry.phone_e164 == phone,
                                                       DncEntry.removed_at.is_(None)))).scalars().all()


@pytest.mark.integration
async def test_every_opt_out_phrasing_is_on_the_dnc_list_when_the_webhook_answers(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign_id = await campaign_row(sessions, tmp_path)
    async with Server(context(pg_engine)) as srv:
        for body in CORPUS["opt_out"]:
            phone = new_number()
            lead_id = await stored_lead(sessions, campaign_id, phone)
            status, answer = await srv.post("/twilio/sms", sms_form(phone, body))
            assert status == 200 and "<Message>" in answer and "unsubscribed" in answer, (body, answer)
            [entry] = await listed(sessions, phone)  # listed before the answer came back
            assert (entry.source, entry.reason) == (DncSource.INTERNAL, TEXT_OPT_OUT), body
            async with sessions() as s:
                lead = await s.get(Lead, lead_id)
                assert lead.dnc and lead.status == LeadStatus.DNC
                assert all(c.revoked_at is not None for c in (await s.execute(
                    select(ConsentRecord).where(ConsentRecord.lead_id == lead_id))).scalars())
        # none of the messages is an opt-out
        for body in CORPUS["message"]:
            phone = new_number()
            await stored_lead(sessions, campaign_id, phone)
            status, answer = await srv.post("/twilio/sms", sms_form(phone, body))
            assert status == 200 and answer.endswith("<Response/>") and not await listed(sessions, phone), body


@pytest.mark.integration
async def test_an_opted_out_lead_gets_no_more_texts_and_start_lifts_only_a_text_opt_out(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign_id = await campaign_row(sessions, tmp_path)
    phone, said_on_a_call = new_number(), new_number()
    lead_id = await stored_lead(sessions, campaign_id, phone)
    other_id = await stored_lead(sessions, campaign_id, said_on_a_call)
    async with sessions.begin() as s:
        s.add(DncEntry(phone_e164=said_on_a_call, source=DncSource.INTERNAL, reason="asked on a call"))
    campaign = load_campaign(write(tmp_path, campaign_data(caller_id=CALLER_ID)))
    texter = Texter(sessions, SimTelephony(), campaign, ComplianceRules(),
                    clock=lambda: datetime.fromisoformat("2026-11-24T12:30:00-06:00"))
    async with Server(context(pg_engine)) as srv:
        assert (await srv.post("/twilio/sms", sms_form(phone, "Please don't text me anymore")))[0] == 200
        async with sessions() as s:
            lead = await s.get(Lead, lead_id)
        assert (await texter.refusal(lead, texter.clock())).startswith("dnc")
        status, answer = await srv.post("/twilio/sms", sms_form(phone, "START"))
        assert status == 200 and "resubscribed" in answer and not await listed(sessions, phone)
        async with sessions() as s:
            lead = await s.get(Lead, lead_id)
            fresh = (await s.execute(select(ConsentRecord).where(ConsentRecord.lead_id == lead_id,
                                                                 ConsentRecord.revoked_at.is_(None)))).scalars().all()
        assert [(c.covers_texts, c.covers_calls, c.method) for c in fresh] == [(True, False, "text START")]
        assert await texter.refusal(lead, texter.clock()) is None  # texts again, calls still need consent
        # an opt-out said on a call is not lifted by a text
        status, answer = await srv.post("/twilio/sms", sms_form(said_on_a_call, "start"))
        assert status == 200 and answer.endswith("<Response/>") and await listed(sessions, said_on_a_call)
        # YES re-subscribes a number that opted out by text, and is a plain answer otherwise
        await srv.post("/twilio/sms", sms_form(phone, "STOP"))
        assert "resubscribed" in (await srv.post("/twilio/sms", sms_form(phone, "Yes")))[1]
        assert (await srv.post("/twilio/sms", sms_form(said_on_a_call, "yes")))[1].endswith("<Response/>")
    async with sessions() as s:
        replies = (await s.execute(select(Touch.reason).where(Touch.lead_id == other_id, Touch.kind == "reply")
                                   .order_by(Touch.id))).scalars().all()
    assert replies[0].startswith("read as opt_in: not resubscribed: the number is on a do-not-call list")


@pytest.mark.integration
async def test_help_replies_and_requests_move_the_lead_and_reach_the_export(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    campaign_id = await campaign_row(sessions, tmp_path, help_answer="{business} help: call {callback_number}. "
                                                                     "Reply STOP to opt out.")
    asks, wrong, cold, unknown = new_number(), new_number(), new_number(), new_number()
    asks_id = await stored_lead(sessions, campaign_id, asks)
    wrong_id = await stored_lead(sessions, campaign_id, wrong)
    cold_id = await stored_lead(sessions, campaign_id, cold)
    async with Server(context(pg_engine)) as srv:
        status, answer = await srv.post("/twilio/sms", sms_form(asks, "HELP"))
        assert status == 200 and "help: call" in answer and "STOP" in answer
        sid = "SM" + "7" * 32
        before = datetime.now(UTC)
        assert (await srv.post("/twilio/sms", sms_form(asks, "Busy now, call me tomorrow at 10am", sid)))[0] == 200
        after = datetime.now(UTC)  # (Chicago's midnight may fall between the two)
        assert (await srv.post("/twilio/sms", sms_form(asks, "Busy now, call me tomorrow at 10am", sid)))[0] == 200
        await srv.post("/twilio/sms", sms_form(wrong, "wrong number, no Nora here"))
        await srv.post("/twilio/sms", sms_form(cold, "Not interested, thanks"))
        status, answer = await srv.post("/twilio/sms", sms_form(unknown, "stop"))  # no lead: listed all the same
        assert status == 200 and "unsubscribed" in answer and await listed(sessions, unknown)
        # a forged signature changes nothing
        forged = new_number()
        assert (await srv.post("/twilio/sms", sms_form(forged, "STOP"), signature="forged"))[0] == 403
        assert not await listed(sessions, forged)
    async with sessions() as s:
        a, w, c = [await s.get(Lead, i) for i in (asks_id, wrong_id, cold_id)]
        replies = (await s.execute(select(Touch).where(Touch.lead_id == asks_id,
                                                       Touch.kind == "reply"))).scalars().all()
    assert len(replies) == 2  # HELP and the call-back request, which Twilio delivered twice: stored once
    tomorrow = {(moment + timedelta(days=1)).astimezone(CHICAGO).date() for moment in (before, after)}
    assert a.status == LeadStatus.CALLBACK
    assert a.next_attempt_at.astimezone(CHICAGO).replace(tzinfo=None) in {datetime.combine(d, time(10))
                                                                          for d in tomorrow}
    assert (w.status, c.status) == (LeadStatus.BAD_NUMBER, LeadStatus.NOT_INTERESTED)
    items = await pending(pg_engine, "csv")
    texts = [i.record for i in items if i.record["kind"] == "text" and i.record["lead"]["id"] == asks_id]
    bodies = {r["text"]["body"] for r in texts}
    assert "Busy now, call me tomorrow at 10am" in bodies
    assert any("call back scheduled" in (r["text"]["reason"] or "") for r in texts)
    assert any(r["summary"].startswith("Text (reply from the lead)") for r in texts)


@pytest.mark.integration
async def test_the_twilio_double_delivers_texts_as_twilio_does_and_gets_its_answers(pg_engine, tmp_path):
    from tests.fakes.twilio import TwilioDouble

    sessions = session_factory(pg_engine)
    campaign_id = await campaign_row(sessions, tmp_path)
    phone = new_number()
    await stored_lead(sessions, campaign_id, phone)
    async with Server(context(pg_engine)) as srv, TwilioDouble(auth_token=TOKEN) as double:
        # the double signs for the URL it posts to; the server checks against its public URL
        url = f"{srv.base}/twilio/sms"
        srv.ctx.settings = srv.ctx.settings.model_copy(update={"public_url": srv.base})
        status, _ = await double.incoming_text(url, from_=phone, to=CALLER_ID, body="Who is this?")
        assert status == 200 and not double.messages
        status, _ = await double.incoming_text(url, from_=phone, to=CALLER_ID, body="Wrong person. Remove me pls")
        assert status == 200 and await listed(sessions, phone)
        [confirmation] = double.messages
        assert confirmation["to"] == phone and "unsubscribed" in confirmation["body"]
        double.signature = "forged"
        other = new_number()
        status, _ = await double.incoming_text(url, from_=other, to=CALLER_ID, body="STOP")
        assert status == 403 and not await listed(sessions, other)
