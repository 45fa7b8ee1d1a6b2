"""Real pipelines over real audio: Silero VAD, Smart-Turn, pocketsphinx, Piper, flite leads."""

import asyncio

import numpy as np
import pytest

from reauto.audio.codec import rms_dbfs
from reauto.audio.line import PhoneLine
from reauto.config import SttSettings
from reauto.sim.lead import LeadScript, SimulatedLead, asked_slot
from reauto.stt.pool import ProcessPoolSTT
from reauto.tts.piper import PiperTTS
from reauto.voice.conversation import Reply
from reauto.voice.pipeline import CallSession, quiet_pipecat
from reauto.voice.transport_sim import SimTransport

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SPEED = 1.5  # the simulated far end runs faster than real time in CI

ANSWERS = {
    "timeline_months": "in about three months",
    "budget_usd": "around four hundred thousand dollars",
    "preapproved": "yes we are pre approved",
}
VOCABULARY = ["in about three months", "around four hundred thousand dollars", "yes we are pre approved",
              "hello", "yes this is jane"]


class QuestionBrain:
    """Asks a fixed list of questions; the last reply can be long (to be interrupted)."""

    def __init__(self, questions, closing="Thank you, goodbye!"):
        self.questions = list(questions)
        self.closing = closing
        self.heard: list[tuple[str, float | None]] = []
        self.cut: list[str] = []

    def opening(self):
        return Reply("Hi, this is Ava, an AI assistant with Acme Realty. Is this Jane?", agent="greeter")

    async def respond(self, text, confidence):
        self.heard.append((text, confidence))
        if self.questions:
            return Reply(self.questions.pop(0), agent="qualifier")
        return Reply(self.closing, end_call=True, outcome="callback", agent="closer")

    def interrupted(self, spoken):
        self.cut.append(spoken)


@pytest.fixture(scope="module")
def providers():
    quiet_pipecat("ERROR")

    async def make():
        stt = ProcessPoolSTT(SttSettings(), workers=1, vocabulary=VOCABULARY)
        tts = PiperTTS()
        await asyncio.gather(stt.start(), tts.start())
        return stt, tts

    loop = asyncio.new_event_loop()
    stt, tts = loop.run_until_complete(make())
    yield stt, tts
    loop.run_until_complete(stt.close())
    loop.run_until_complete(tts.close())
    loop.close()


async def run_call(providers, brain, script, *, record=False, greet=True):
    stt, tts = providers
    line = PhoneLine(speed=SPEED)
    session = CallSession(SimTransport(line), stt, tts, brain, record=record, on_agent_text=line.say_text,
                          greet_on_first_words=greet, timeout_s=120)
    lead = asyncio.create_task(SimulatedLead(script, line, max_s=90).run())
    outcome = await session.run()
    if not line.hung_up.is_set():
        line.hang_up()  # what telephony does when our side ends the call
    return outcome, await lead, line


async def test_call_collects_the_leads_answers_over_the_phone_path(providers):
    brain = QuestionBrain(["When are you hoping to buy?", "What budget do you have in mind?",
                           "Are you pre-approved for a mortgage?"])
    streamed = providers[0].streamed
    outcome, report, line = await run_call(providers, brain, LeadScript("Jane Doe", ANSWERS), record=True)
    heard = " | ".join(t for t, _ in brain.heard)
    assert "three months" in heard
    assert "four hundred thousand" in heard
    assert "pre approved" in heard or "preapproved" in heard
    assert outcome.outcome == "callback"
    assert providers[0].streamed - streamed >= 3  # the answers were decoded while the lead spoke them
    assert [t.speaker for t in outcome.turns][:2] == ["agent", "lead"]
    # the opening answered "hello" quickly, measured at the lead's end of the line
    assert report.hello_to_first_audio_ms is not None and report.hello_to_first_audio_ms < 2000
    greeting = outcome.latency.turns[0]
    assert greeting.greeting and greeting.first_audio_ms is not None
    assert all(t.overhead_ms is not None for t in outcome.latency.completed())
    assert line.stats.underruns == 0
    # every reply's mark came back after its audio played (the lead waited for the whole reply);
    # the closing one may not, as the agent hangs up once it has been spoken
    replies = [t for t in outcome.turns if t.speaker == "agent" and t.text]
    assert len(replies) - 1 <= len(line.marks_played) <= len(replies)
    # dual-channel recording: lead on the left, agent on the right, both audible
    stereo = np.frombuffer(outcome.recording, dtype=np.int16).reshape(-1, 2)
    assert rms_dbfs(stereo[:, 0].tobytes()) > -60 and rms_dbfs(stereo[:, 1].tobytes()) > -60


async def test_barge_in_clears_agent_audio_and_keeps_only_what_was_heard(providers):
    long_reply = ("Let me tell you a little about how this works: I will ask you a few quick questions "
                  "about your timeline, your budget and your financing, and then I can set up a time for you "
                  "to talk with one of our licensed agents who knows your neighborhood very well. "
                  # long enough that agent audio is still being written when the interruption is
                  # detected, even on a loaded machine (the far end then has audio to clear)
                  "They can walk you through the homes that fit, the schools nearby, the commute, and "
                  "what similar houses have sold for this year, so you know what to expect before you "
                  "tour anything or talk with a lender about your numbers.")
    brain = QuestionBrain([long_reply, "When are you hoping to buy?"])
    script = LeadScript("Jane Doe", {**ANSWERS, "interruption": "sorry who is this again"}, interrupts=True)
    outcome, report, line = await run_call(providers, brain, script)
    assert report.interrupted_agent
    # the far end's play-out buffer was cleared, as Twilio's clear does
    assert line.stats.clears >= 1, (line.stats, [(t.speaker, t.text, t.interrupted) for t in outcome.turns], report)
    cut = [t for t in outcome.turns if t.interrupted]
    assert cut and len(cut[0].text) < len(long_reply)
    assert brain.cut and long_reply.startswith(brain.cut[0])
    # what the lead heard of the long reply is far shorter than the reply itself
    assert len(line.heard) / 8000 < 60


async def test_answering_machine_gets_the_opening_after_the_greeting(providers):
    brain = QuestionBrain([], closing="")
    brain.opening = lambda: Reply("Hi, this is Ava from Acme Realty, please call us back at 512 555 0100. "
                                  "Goodbye.", end_call=True, outcome="voicemail", agent="voicemail")
    outcome, report, line = await run_call(providers, brain, LeadScript("Jane Doe", voicemail=True), greet=False)
    assert outcome.outcome == "voicemail"
    agent_turns = [t for t in outcome.turns if t.speaker == "agent"]
    assert len(agent_turns) == 1
    assert report.hung_up_by == "agent"


def test_asked_slot_reads_the_question():
    assert asked_slot("When are you hoping to buy?") == "timeline_months"
    assert asked_slot("What budget do you have in mind?") == "budget_usd"
    assert asked_slot("Are you pre-approved for a mortgage?") == "preapproved"
    assert asked_slot("Would Tuesday at 3 or Wednesday at 10 work for you?") == "booking"
    assert asked_slot("Lovely weather.") is None
