"""Handing a lead to a person: when the agent may, what each side hears, the simulated person, and
whole calls through ``reauto dial`` (real audio through VAD, STT and TTS) that end with the lead
bridged, or — the person not answering — offered a time instead, never on a dead line."""

import asyncio
import json
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from reauto.agent.handover import HOLD_LINE, TransferPlan
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.agent.wording import whisper
from reauto.audio.line import PhoneLine
from reauto.campaign import Shift, load_campaign
from reauto.dialer import assembly
from reauto.errors import ConfigError
from reauto.store.models import Call, CallEvent, CostEntry, Lead, LeadStatus, Turn
from reauto.telephony.base import CallHandle
from reauto.telephony.sim import HumanAgent, SimTelephony

from .test_dial import AT, ROOT, cli, rows

PERSON = "+15125550777"
QUESTIONS = [Question("intent", "Are you looking to buy or sell?"),
             Question("timeline_months", "When are you hoping to move?"),
             Question("budget_usd", "What price range are you thinking about?"),
             Question("preapproved", "Are you pre-approved for a mortgage?")]


def brain(plan: TransferPlan | None, **extra) -> ScriptedBrain:
    config = ScriptConfig(agent_name="Ava", business="Sunrise Realty", questions=QUESTIONS, lead_first_name="Nora",
                          booking_slots=["Tuesday at 10 AM", "Wednesday at 2 PM"], today=date(2026, 11, 24),
                          transfer=plan, **extra)
    return ScriptedBrain(config)


async def talk(b: ScriptedBrain, *answers: str):
    b.opening()
    return [await b.respond(a, 0.9) for a in answers]


# --- the brain ------------------------------------------------------------------------------------

@pytest.mark.unit
async def test_a_lead_who_asks_for_a_person_is_handed_over_and_held_while_it_rings():
    b = brain(TransferPlan(agent_name="Dana"))
    yes, asked, waiting = await talk(b, "yes this is nora", "can i talk to a real person please", "okay sure")
    assert asked.transfer and not asked.end_call and "connecting you with Dana" in asked.text
    assert (waiting.text, waiting.transfer, b.transfer_reason) == (HOLD_LINE, False, "asked")
    # the person does not pick up: the lead is offered times, never left on the line alone
    instead = await b.transfer_failed("no-answer")
    assert not instead.end_call and b.agent == "scheduler"
    assert "Dana isn't able to pick up" in instead.text and "Tuesday at 10 AM" in instead.text
    booked = await b.respond("tuesday at ten works", 0.9)
    assert booked.outcome == "booked"


@pytest.mark.unit
async def test_without_a_person_on_shift_a_request_ends_as_a_call_back_as_before():
    b = brain(None)
    _, asked = await talk(b, "yes", "can i speak to a human")
    assert not asked.transfer and asked.end_call and asked.outcome == "callback"


@pytest.mark.unit
async def test_an_opt_out_is_never_taken_for_a_transfer():
    b = brain(TransferPlan())
    _, said = await talk(b, "yes", "stop calling me i do not want to talk to anyone")
    assert said.outcome == "dnc" and not said.transfer


@pytest.mark.unit
async def test_a_hot_lead_is_offered_the_person_and_the_answer_decides():
    answers = ("yes", "we want to buy", "in two months", "about four hundred thousand", "yes we are pre approved")
    b = brain(TransferPlan(agent_name="Dana", on_asked=False, hot_score=0.9))
    *_, offer = await talk(b, *answers)
    assert b.agent == "transfer_offer" and "Dana is available right now" in offer.text and not offer.transfer
    connect = await b.respond("yes please", 0.9)
    assert connect.transfer and b.transfer_reason == "hot"
    assert b.whisper() == "Nora, buying within 2 months, about $400,000, pre-approved, with a mortgage. Qualified hot."

    b = brain(TransferPlan(agent_name="Dana", on_asked=False, hot_score=0.9))
    await talk(b, *answers)
    declined = await b.respond("no thanks not now", 0.9)
    assert not declined.transfer and b.agent == "scheduler" and "Tuesday at 10 AM" in declined.text
    cold = brain(TransferPlan(agent_name="Dana", on_asked=False, hot_score=0.9))
    *_, last = await talk(cold, "yes", "just looking to rent", "maybe in a year or two", "not sure", "no")
    assert cold.agent != "transfer_offer" and not last.transfer  # not hot: no offer


@pytest.mark.unit
def test_the_whisper_says_what_the_lead_said_and_nothing_else():
    assert whisper(None, {}, reason="asked") == "A lead, nothing qualified yet. Asked for you."
    assert whisper("Sam", {"intent": "sell", "budget_usd": {"low": 300000, "high": 350000}, "financing": "cash",
                           "preapproved": False}, reason="asked") == \
        "Sam, selling $300,000 to $350,000, not pre-approved, paying cash. Asked for you."


@pytest.mark.unit
def test_the_shift_and_the_campaign_decide_whether_a_call_may_transfer(tmp_path):
    shift = Shift(timezone="America/Chicago", start="09:00", end="18:00", days=["mon", "tue", "wed", "thu", "fri"])
    assert shift.on(datetime.fromisoformat("2026-11-24T10:00:00-06:00"))  # a Tuesday morning
    assert not shift.on(datetime.fromisoformat("2026-11-24T18:00:00-06:00"))
    assert not shift.on(datetime.fromisoformat("2026-11-28T10:00:00-06:00"))  # Saturday
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["transfer"] = {"to": "+1 (512) 555-0777", "agent_name": "Dana", "when": ["asked", "hot"], "hot_score": 0.7}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    campaign = load_campaign(path)
    assert campaign.transfer.to == PERSON
    plan = assembly.transfer_plan(campaign, datetime.fromisoformat("2026-11-24T10:00:00-06:00"))
    assert plan == TransferPlan(agent_name="Dana", on_asked=True, hot_score=0.7)
    assert assembly.transfer_plan(campaign, datetime.fromisoformat("2026-11-24T22:00:00-06:00")) is None
    data["transfer"]["to"] = "+1555"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="transfer.to"):
        load_campaign(path)
    data["transfer"]["to"], data["telephony"] = PERSON, "twilio"
    path.write_text(yaml.safe_dump(data))
    assert load_campaign(path).transfer.to == PERSON  # Twilio transfers through a conference room


# --- the simulated person --------------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize(("person", "status", "bridged"), [
    (HumanAgent("answers", ring_s=0.2, talk_s=0.2), "bridged", True),
    (HumanAgent("declines", ring_s=0.2), "declined", False),
    (HumanAgent("no_answer"), "no-answer", False),
    (HumanAgent("busy"), "busy", False),
])
async def test_the_simulated_person_answers_declines_or_lets_it_ring(person, status, bridged):
    phone = SimTelephony(human_agents={PERSON: person}, speed=20.0)
    line = PhoneLine(speed=20.0)
    handle = CallHandle(sid="SIM1", far_end=line)
    result = await phone.transfer(handle, to=PERSON, caller_id="+15125550100", whisper="Nora wants to buy.",
                                  timeout_s=5.0)
    assert (result.status, result.bridged) == (status, bridged)
    if bridged:
        assert result.answered_s >= 0.2 and result.bridged_s > result.answered_s  # the whisper played first
        assert phone.whispers == [{"to": PERSON, "text": "Nora wants to buy.", "call": "SIM1"}]
        await asyncio.wait_for(line.hung_up.wait(), 5)  # they talked, then the person hung up
    else:
        assert not phone.whispers and not line.hung_up.is_set()
    await phone.close()


@pytest.mark.unit
async def test_a_lead_who_hangs_up_while_the_person_rings_ends_the_transfer():
    phone = SimTelephony(human_agents={PERSON: HumanAgent("answers", ring_s=30)}, speed=10.0)
    line = PhoneLine(speed=10.0)
    pending = asyncio.ensure_future(phone.transfer(CallHandle(sid="SIM2", far_end=line), to=PERSON,
                                                   caller_id="+15125550100", whisper="", timeout_s=30))
    line.hang_up()
    result = await asyncio.wait_for(pending, 5)
    assert result.status == "failed" and "hung up" in result.reason


# --- whole calls -----------------------------------------------------------------------------------

@pytest.fixture
def db_cfg(fresh_db_cfg):
    return fresh_db_cfg


def transfer_campaign(tmp_path: Path, answers: str) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["sim_personas"] = [{"name": "Sam Asker", "phone": "+15125550131", "state": "TX", "asks_human": True,
                             "answers": {"intent": "we want to buy", "booking": "the first one works for me"}}]
    data["transfer"] = {"to": PERSON, "agent_name": "Dana", "when": ["asked"], "sim_answers": answers,
                        "sim_ring_s": 1.0, "sim_talk_s": 5.0, "ring_timeout_s": 6,
                        "shift": {"timezone": "America/Chicago", "start": "08:00", "end": "21:00"}}
    path = tmp_path / f"transfer-{answers}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.integration
def test_a_lead_who_asks_for_a_person_is_put_through_and_the_call_says_so(db_cfg, tmp_path):
    result = cli(db_cfg, "dial", str(transfer_campaign(tmp_path, "answers")), "--at", AT, "--speed", "1.5", "--json")
    assert result.exit_code == 0, result.output
    [call] = json.loads(result.stdout)["calls"]
    assert call["outcome"] == "transferred", call
    [stored] = rows(db_cfg, Call)
    assert stored.outcome == "transferred"
    [event] = rows(db_cfg, CallEvent, CallEvent.type == "transfer")
    assert event.payload["status"] == "bridged" and event.payload["reason"] == "asked"
    assert 0 < event.payload["answered_s"] < event.payload["bridged_s"]
    assert event.payload["request_to_bridge_s"] > event.payload["bridged_s"] > 0
    [ended] = rows(db_cfg, CallEvent, CallEvent.type == "ended")
    assert ended.payload["transfer"]["status"] == "bridged"
    [lead] = rows(db_cfg, Lead)
    assert lead.status == LeadStatus.QUALIFIED
    # the person's leg is priced: two telephony lines (the lead's and the person's)
    telephony = [c for c in rows(db_cfg, CostEntry) if c.component == "telephony"]
    assert len(telephony) == 2, [(c.component, c.quantity) for c in telephony]
    files = db_cfg.model_copy(update={"export": db_cfg.export.model_copy(update={"out_dir": tmp_path})})
    exported = cli(files, "export", "--to", "jsonl", "--json")
    assert exported.exit_code == 0, exported.output
    [record] = [json.loads(line) for line in Path(json.loads(exported.stdout)["file"]).read_text().splitlines()]
    assert record["disposition"] == "transferred"


@pytest.mark.integration
def test_a_person_who_does_not_answer_leaves_the_lead_with_a_time_booked(db_cfg, tmp_path):
    result = cli(db_cfg, "dial", str(transfer_campaign(tmp_path, "no_answer")), "--at", AT, "--speed", "1.5", "--json")
    assert result.exit_code == 0, result.output
    [call] = json.loads(result.stdout)["calls"]
    assert call["outcome"] in {"booked", "callback"}, call
    [event] = rows(db_cfg, CallEvent, CallEvent.type == "transfer")
    assert event.payload["status"] == "no-answer"
    said = [t.text for t in rows(db_cfg, Turn) if t.speaker == "agent"]
    assert any("isn't able to pick up" in s for s in said), said


# --- the conversation in a real Pipecat pipeline ------------------------------------------------------

async def _to_the_request(call, fake_reply_done) -> None:
    from pipecat.frames.frames import BotStoppedSpeakingFrame

    from .test_conversation_stream import until

    await call.lead_says("hello")
    await until(lambda: call.speaker.kinds() == ["say", "mark"])
    await call.upstream(BotStoppedSpeakingFrame())
    call.speaker.speaking = False
    await call.lead_says("yes this is jane")
    await until(lambda: call.speaker.kinds().count("mark") == 2)
    await call.upstream(BotStoppedSpeakingFrame())
    call.speaker.speaking = False
    await call.lead_says("can i talk to a real person please")
    await until(fake_reply_done)


@pytest.mark.integration
@pytest.mark.parametrize("bridged", [True, False])
async def test_the_conversation_hands_over_and_goes_on_as_the_transfer_ends(bridged):
    from pipecat.frames.frames import BotStoppedSpeakingFrame

    from reauto.agent.llm import LLMBrain
    from reauto.agent.prompts import PromptTemplate
    from reauto.config import LlmSettings
    from reauto.llm.ollama import OllamaChat
    from reauto.voice.conversation import TransferResultFrame
    from reauto.voice.pipeline import quiet_pipecat
    from tests.fakes.ollama import FakeOllama

    from .test_conversation_stream import PROMPT, Call, until

    quiet_pipecat("ERROR")
    fake = FakeOllama(reply="Lovely to meet you, Jane! Are you looking to buy or sell?", token_s=0.001)
    await fake.start()
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane", questions=QUESTIONS,
                          booking_slots=["Tuesday at 10 AM", "Wednesday at 2 PM"], today=date(2026, 11, 24),
                          transfer=TransferPlan(agent_name="Dana"))
    brain = LLMBrain(ScriptedBrain(config), OllamaChat(LlmSettings(hosts=[fake.url], timeout_s=3.0)),
                     PromptTemplate.load(PROMPT))
    asked: list[int] = []
    try:
        async with Call(brain, on_transfer=lambda since: asked.append(1)) as call:
            await _to_the_request(call, lambda: call.speaker.kinds().count("mark") == 3)
            handing = call.speaker.said()[-1]
            assert "connecting you with Dana" in handing and asked == [1]  # word for word, dialed once
            await until(lambda: call.conversation._bot_started is not None)  # still saying it
            await call.worker.queue_frame(TransferResultFrame(bridged=bridged, reason="no-answer"))
            if bridged:  # the agent finishes its sentence, then leaves the call to the person
                await until(lambda: call.conversation.outcome == "transferred")
                assert not call.run.done()
                await call.upstream(BotStoppedSpeakingFrame())
                await asyncio.wait_for(asyncio.shield(call.run), 5)
            else:  # the person did not answer: the lead hears why, and times to meet
                await until(lambda: "isn't able to pick up" in call.speaker.said()[-1])
                assert "cut" in call.speaker.kinds() and call.conversation.outcome is None
                assert "Tuesday at 10 AM" in call.speaker.said()[-1] and asked == [1]
    finally:
        await brain.chat.close()
        await fake.close()
    assert brain.scripted.agent == ("transferred" if bridged else "scheduler")


@pytest.mark.unit
def test_the_persons_leg_is_counted_while_it_lasts_and_priced_by_the_minute():
    from reauto.config import PricingSettings
    from reauto.costs.meter import CostMeter
    from reauto.costs.pricing import Catalogue
    from reauto.dialer.handover import extra_leg_s, price_leg

    handle = CallHandle(sid="SIM3")
    assert extra_leg_s(handle, now=100.0, speed=1.0) == 0.0  # no hand-over
    handle.details["transfer_started_at"] = 90.0
    assert extra_leg_s(handle, now=100.0, speed=2.0) == 20.0  # under way, on a simulated clock
    handle.details["transfer_ended_at"] = 95.0
    assert extra_leg_s(handle, now=300.0, speed=1.0) == 5.0  # not taken: it rang 5 s, then stopped counting
    meter = CostMeter(Catalogue(PricingSettings()))
    price_leg(meter, "sim", handle)
    assert not meter.lines  # an unanswered leg has no talk time to price
    handle.details["transfer_leg_s"] = 61.0
    price_leg(meter, "sim", handle)
    assert [(line.component, line.quantity) for line in meter.lines] == [("telephony", 2)]


# --- through Twilio's protocol: a conference room --------------------------------------------------

async def _twilio_transfer(cfg, tmp_path, answers: str):
    """A transfer campaign on Twilio against the loopback double, whose person at PERSON ``answers``."""
    from reauto.telephony.sim import HumanAgent

    from .fakes.twilio import TwilioDouble
    from .test_twilio import free_port, run, twilio_settings

    campaign = load_campaign(transfer_campaign(tmp_path, answers)).model_copy(update={"telephony": "twilio"})
    async with TwilioDouble(personas=assembly.lead_scripts(campaign), speed=1.5, ring_s=0.5) as double:
        double.people[PERSON] = HumanAgent(answers, ring_s=1.0, talk_s=5.0)
        tw_cfg = cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        summaries = await run(tw_cfg, campaign, agent_text_tap=double.agent_text)
        for sid in list(double.calls):
            await double.finished(sid)
        return summaries, double


@pytest.mark.integration
@pytest.mark.slow
async def test_on_twilio_the_lead_is_put_through_a_conference_after_the_person_heard_the_whisper(db_cfg, tmp_path):
    summaries, double = await _twilio_transfer(db_cfg, tmp_path, "answers")
    assert summaries["Sam Asker"].outcome == "transferred", summaries["Sam Asker"]
    lead_call = next(c for c in double.calls.values() if c.params.get("To") == "+15125550131")
    person_call = next(c for c in double.calls.values() if c.params.get("To") == PERSON)
    # the person heard the whisper first, then joined the room; the lead's stream was redirected into it
    assert person_call.said and "Asked for you." in person_call.said[0]
    assert person_call.rooms == lead_call.rooms == [f"reauto-call-{summaries['Sam Asker'].call_id}"]
    assert lead_call.redirect is not None and lead_call.received["media"] > 0
    assert "Asked for you" not in " ".join(lead_call.said)  # the lead never hears the whisper
    assert lead_call.status == person_call.status == "completed"
    conference = [h.form["StatusCallbackEvent"] for h in person_call.callbacks if h.kind == "conference"]
    assert conference[:2] == ["conference-start", "participant-join"] and "participant-leave" in conference
    [event] = rows(db_cfg, CallEvent, CallEvent.type == "transfer")
    assert event.payload["status"] == "bridged" and 0 < event.payload["answered_s"] < event.payload["bridged_s"]
    [stored] = rows(db_cfg, Call, Call.provider == "twilio")
    assert stored.outcome == "transferred"
    telephony = [c for c in rows(db_cfg, CostEntry) if c.component == "telephony"]
    assert len(telephony) == 2, [(c.component, c.quantity) for c in telephony]  # the lead's leg and the person's


@pytest.mark.integration
@pytest.mark.slow
async def test_on_twilio_a_person_who_does_not_answer_leaves_the_lead_with_the_agent(db_cfg, tmp_path):
    summaries, double = await _twilio_transfer(db_cfg, tmp_path, "no_answer")
    assert summaries["Sam Asker"].outcome in {"booked", "callback"}, summaries["Sam Asker"]
    person_call = next(c for c in double.calls.values() if c.params.get("To") == PERSON)
    lead_call = next(c for c in double.calls.values() if c.params.get("To") == "+15125550131")
    assert person_call.status in {"no-answer", "canceled"} and not person_call.rooms and not person_call.said
    assert lead_call.redirect is None and not lead_call.rooms
    [event] = rows(db_cfg, CallEvent, CallEvent.type == "transfer")
    assert event.payload["status"] == "no-answer"
