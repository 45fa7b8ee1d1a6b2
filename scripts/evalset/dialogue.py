"""One generated call's conversation, following the campaign's scripted flow, and its labels.

The agent is modelled as reauto's scripted agent works (``reauto/agent/scripted/``), with a
listener that understands every sentence as the corpus says it should:

- the lead picks up ("hello"), the agent opens; the lead answers who they are;
- the campaign's questions come in order; one whose slot an earlier answer already filled is
  skipped; an answer without the asked slot ("not sure") gets the question once more, then the
  agent moves on;
- a robot question or a repeat request is answered and the same question asked again (a robot
  question while the agent still waits to know who it is talking to starts the questions);
- after the last question, the agent offers two times when the score of the true slots
  (``score_slots`` with the campaign's weights) reaches ``booking.book_threshold``, else it ends
  the call (``callback``); a time accepted (first, second, either) books, anything else (a
  refusal, a condition, a time of their own: the demo campaign has only its two fixed offers) is a
  ``callback``;
- an opt-out, a refusal, a wrong number, a request for a person or for a call later ends the
  call at once (``dnc``, ``not_interested``, ``bad_number``, ``callback``, ``callback``), and so
  does a plain no to who they are ("she's at work", "not really": ``callback``);
- an answering machine gets the voicemail message (``answered_by: machine``).

The labels are the slots the lead truly gave and the outcome a correct agent reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from evalset.corpus import Line, Pools
from reauto.agent.booking import CALLBACK
from reauto.agent.scoring import score_slots
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import ENDINGS, ScriptConfig

#: The campaign's slots a call.yaml can label (reauto.eval.recordings.Labels).
LABELLED = ("intent", "timeline_months", "budget_usd", "preapproved")
#: The lead is not there or has no time ("she's at work", "not really"): called back another time.
UNAVAILABLE = "unavailable"
#: How calls end, with their shares: a normal call (None) or the lead ending it.
ENDING_SHARES: Mapping[str | None, float] = {
    None: 0.55, "dnc": 0.13, "not_interested": 0.1, "callback_request": 0.08, "wrong_number": 0.06,
    "human_request": 0.05, UNAVAILABLE: 0.03,
}
P_VOICEMAIL = 0.07
P_ROBOT, P_REPEAT = 0.07, 0.05  # before any one answer
MAX_SIDE = 2  # side questions in one call
P_ACCEPT = 0.6  # the booking offer taken
P_SECOND_TRY_ANSWERS = 0.75  # the question asked again gets a usable answer

HELLOS = ("hello", "hello?", "hi", "hey", "yeah hello", "hello who's this", "yes hello", "hi there",
          "good morning", "good afternoon", "yello", "hello this is {first}", "{first} speaking",
          "hi it's {first}", "uh hello", "hello yes", "hey who is this", "this is {first}")
FIRST_NAMES = ("maria", "james", "linh", "darnell", "olivia", "rahul", "sofia", "kevin", "grace", "luis",
               "hannah", "omar", "emily", "marcus", "chloe", "andre", "nina", "victor", "tasha", "daniel",
               "rosa", "ethan", "megan", "felix", "aisha", "brian", "wendy", "tyler", "irene", "george")
LAST_NAMES = ("Alvarez", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ibrahim", "Johnson",
              "Kowalski", "Lopez", "Morgan", "Nguyen", "Owens", "Patel", "Quinn", "Reyes", "Schmidt", "Turner")
#: Names a lead may say: the made-up leads' and the corpus's own ("Is this Jane?").
NAMES = frozenset(FIRST_NAMES) | {"jane"}
STATES = ("TX", "TX", "TX", "FL", "CA", "AZ", "GA", "NC", "CO", "OH")
VOICEMAIL = (("hi you've reached {first}", "this is {first}", "hey it's {first}",
              "you have reached the voicemail of {first}", "hello you've reached the {last} residence"),
             ("i can't get to the phone right now", "sorry i missed your call", "we're not available at the moment",
              "i'm away from my phone", ""),
             ("leave your name and number and i'll call you back", "please leave a message after the beep",
              "leave a message and we'll get back to you", "leave me a message", "talk to you soon"))
ACKNOWLEDGE = {"timeline_months": "Got it. ", "budget_usd": "Thanks. ", "preapproved": "Good to know. "}
ROBOT_ANSWER = ("Yes, I'm an AI assistant working with the team at {business}. "
                "A licensed agent handles everything after this call.")


@dataclass(frozen=True)
class Turn:
    """One lead turn, what it is (a step of the flow), and the agent's reply to it."""

    text: str
    step: str
    agent: str = ""


@dataclass
class Dialogue:
    """A planned call: lead turns, the true slots, the outcome a correct agent reaches."""

    lead: dict[str, str]
    turns: list[Turn] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    outcome: str = "callback"
    answered_by: str = "human"

    def labels(self) -> dict[str, Any]:
        """call.yaml labels: the labelled slots, then the outcome."""
        out: dict[str, Any] = {k: label_value(k, self.slots[k]) for k in LABELLED if k in self.slots}
        out["outcome"] = self.outcome
        return out

    @property
    def steps(self) -> list[str]:
        return [t.step for t in self.turns]


def label_value(slot: str, value: Any) -> Any:
    """A slot's label: a budget range as its middle (one bound when open), numbers plain."""
    if slot == "budget_usd" and isinstance(value, Mapping):
        low, high = value.get("low"), value.get("high")
        value = (low + high) / 2 if low is not None and high is not None else (high if high is not None else low)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def make_lead(rng: np.random.Generator, n: int) -> dict[str, str]:
    """A made-up lead: name, a 555-01xx number (reserved for fiction), a state."""
    first = str(rng.choice(FIRST_NAMES)).title()
    last = str(rng.choice(LAST_NAMES))
    area = int(rng.choice([512, 713, 214, 305, 415, 602, 404, 919, 303, 614]))
    return {"name": f"{first} {last}", "phone": f"+1{area}55501{n % 100:02d}", "state": str(rng.choice(STATES))}


class Planner:
    """Plans calls of one campaign from one split's pools.

    Args:
        pools: the wording.
        config: the scripted agent's configuration for the campaign (questions, weights,
            threshold, offers; the lead's first name is filled per call).
    """

    def __init__(self, pools: Pools, config: ScriptConfig) -> None:
        self.pools = pools
        self.config = config

    def plan(self, rng: np.random.Generator, n: int) -> Dialogue:
        """Call number ``n``, drawn with ``rng``."""
        lead = make_lead(rng, n)
        if rng.random() < P_VOICEMAIL:
            return self._voicemail(rng, lead)
        kinds, shares = list(ENDING_SHARES), np.array(list(ENDING_SHARES.values()))
        ending = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
        stages = 2 + len(self.config.questions)  # identity, the questions, the booking answer
        # a wrong number comes out when the agent asks for the lead, or at the first question
        end_at = int(rng.random() >= 0.8) if ending == "wrong_number" else int(rng.integers(0, stages))
        if ending == UNAVAILABLE:
            end_at = 0  # the answer to who they are
        return _Call(self, rng, lead, ending, end_at).run()

    def _voicemail(self, rng: np.random.Generator, lead: dict[str, str]) -> Dialogue:
        """An answering machine's greeting (the agent leaves its message)."""
        first, last = lead["name"].split()[0].lower(), lead["name"].split()[1].lower()
        parts = [str(rng.choice(p)) for p in VOICEMAIL]
        text = " ".join(p for p in parts if p).format(first=first, last=last)
        brain = ScriptedBrain(self._config(lead), answered_by="machine")
        turn = Turn(text, "voicemail", brain.opening().text)
        return Dialogue(lead, [turn], {}, "voicemail", "machine")

    def _config(self, lead: Mapping[str, str]) -> ScriptConfig:
        return replace(self.config, lead_first_name=lead["name"].split()[0])


class _Call:
    """The walk through one call's flow."""

    def __init__(self, planner: Planner, rng: np.random.Generator, lead: dict[str, str], ending: str | None,
                 end_at: int) -> None:
        self.planner, self.pools, self.rng = planner, planner.pools, rng
        self.config = planner._config(lead)
        self.ending, self.end_at = ending, end_at
        self.dialogue = Dialogue(lead)
        self.asked = 0  # answers given so far (identity, questions, booking)
        self.side = 0
        self.passed: set[str] = set()  # questions asked and answered: the agent does not come back

    def pick(self, lines: list[Line]) -> Line | None:
        return lines[int(self.rng.integers(len(lines)))] if lines else None

    def say(self, text: str, step: str, agent: str) -> None:
        self.dialogue.turns.append(Turn(text, step, agent))

    def run(self) -> Dialogue:
        d = self.dialogue
        identity = self.pick(self.pools.answers("identity", {}))
        assert identity is not None, "no answers for identity"
        opening = ScriptedBrain(self.config).opening().text
        self.say("", "hello", opening)  # the hello is worded last, once the lead's name is settled
        stage = "identity"
        retried: set[str] = set()
        while stage != "close":
            if self._side_question(stage):
                if stage == "identity" and d.turns[-1].step == "robot_question":
                    # the agent answers and starts the questions: who they are goes unasked
                    stage, line = self._next(d.turns[-1].agent + " ")
                    d.turns[-1] = Turn(d.turns[-1].text, "robot_question", line)
                continue
            if self.ending is not None and self.asked >= self.end_at and self._end(stage):
                break
            self.asked += 1
            if stage == "booking":
                self._book()
                break
            if stage == "identity":
                self._take(identity)
                stage, line = self._next("Great. ")
                self.say(identity.text, "identity", line)
                continue
            answer = self._answer(stage, retried)
            if stage not in d.slots and stage not in retried:
                retried.add(stage)  # asked once more, then the agent moves on
                self.say(answer.text, stage, f"Sorry, I didn't quite catch that. {self._question(stage)}")
                continue
            asked = stage
            self.passed.add(asked)
            stage, line = self._next(_acknowledge(asked))
            self.say(answer.text, asked, line)
        self._settle_name(opening)
        return d

    def _settle_name(self, opening: str) -> None:
        """Name the lead as the call says (the corpus asks for "jane"), and word the hello: with
        the name only when the lead says who they are and it is no wrong number."""
        d = self.dialogue
        said = (w for t in d.turns for w in t.text.split())
        named = next((w for w in said if w in NAMES), None)
        if named is not None and named != (self.config.lead_first_name or "").lower():
            d.lead["name"] = f"{named.title()} {d.lead['name'].split()[1]}"
            self.config = self.planner._config(d.lead)
            again = ScriptedBrain(self.config).opening().text
            d.turns = [replace(t, agent=again) if t.agent == opening else t for t in d.turns]
        introduced = "identity" in d.steps and "wrong_number" not in d.steps
        hellos = [h for h in HELLOS if introduced or "{first}" not in h]
        first = (self.config.lead_first_name or "").lower()
        d.turns[0] = replace(d.turns[0], text=hellos[int(self.rng.integers(len(hellos)))].format(first=first))

    def _answer(self, slot: str, retried: set[str]) -> Line:
        known = self.dialogue.slots
        lines = self.pools.answers(slot, known)
        if slot in retried and self.rng.random() < P_SECOND_TRY_ANSWERS:
            lines = [ln for ln in lines if slot in ln.slots(self.pools.slots)] or lines
        line = self.pick(lines)
        assert line is not None, f"no answers for {slot}"
        self._take(line)
        return line

    def _take(self, line: Line) -> None:
        for slot, value in line.slots(self.pools.slots).items():
            self.dialogue.slots.setdefault(slot, value)

    def _question(self, slot: str) -> str:
        return next(q.text for q in self.config.questions if q.slot == slot)

    def _next(self, prefix: str) -> tuple[str, str]:
        """The agent's next step after an answer: a question, the booking offer, or the close."""
        for q in self.config.questions:
            if q.slot not in self.dialogue.slots and q.slot not in self.passed:
                return q.slot, prefix + q.text
        if score_slots(self.dialogue.slots, self.config.weights) >= self.config.book_threshold:
            return "booking", prefix + _offer(self.config)
        self.dialogue.outcome = "callback"
        return "close", (prefix + "Thank you, that's everything I need. One of our agents will follow up with "
                         "you soon. Goodbye.")

    def _side_question(self, stage: str) -> bool:
        """Maybe a robot question or a repeat request before the answer; True when one was said."""
        if self.side >= MAX_SIDE:
            return False
        roll = self.rng.random()
        intent = "robot_question" if roll < P_ROBOT else "repeat_request" if roll < P_ROBOT + P_REPEAT else None
        line = self.pick(self.pools.saying(intent, stage)) if intent else None
        if line is None:
            return False
        self.side += 1
        last = self.dialogue.turns[-1].agent
        if intent == "repeat_request":
            self.say(line.text, intent, last)  # the agent says its last line again
        else:
            robot = ROBOT_ANSWER.format(business=self.config.business)
            again = self._question(stage) if stage not in ("identity", "booking") else (
                _offer(self.config) if stage == "booking" else "")
            self.say(line.text, intent, f"{robot} {again}".strip())
        return True

    def _end(self, stage: str) -> bool:
        assert self.ending is not None
        if self.ending == UNAVAILABLE:
            line = self.pick(self.pools.unavailable()) if stage == "identity" else None
            name = f" {self.config.lead_first_name}" if self.config.lead_first_name else ""
            text, outcome = f"No problem, I'll try{name} another time. Thanks, and goodbye.", "callback"
        else:
            line = self.pick(self.pools.saying(self.ending, stage))
            text, outcome = ENDINGS[self.ending]
        if line is None:
            return False
        self.say(line.text, self.ending, text)
        self.dialogue.outcome = outcome
        return True

    def _book(self) -> None:
        d = self.dialogue
        answers = self.pools.answers("booking", d.slots)
        accept = self.rng.random() < P_ACCEPT
        chosen = [ln for ln in answers if (ln.accept != "none") == accept] or answers
        line = self.pick(chosen)
        assert line is not None, "no answers for booking"
        self._take(line)
        offers = list(self.config.booking_slots)
        if line.accept in ("first", "second", "either"):
            slot = offers[1] if line.accept == "second" and len(offers) > 1 else offers[0]
            reply = f"Perfect, you're booked for {slot}. You'll get a confirmation shortly. Thanks, and goodbye!"
            d.outcome = "booked"
        else:  # refused, conditional or another time: with the campaign's fixed offers, nothing is booked
            reply = CALLBACK
            d.outcome = "callback"
        self.say(line.text, "booking", reply)


def _offer(config: ScriptConfig) -> str:
    either = " or ".join(config.booking_slots[:2])
    return f"I can set up a call with one of our agents. Would {either} work for you?"


def _acknowledge(slot: str) -> str:
    """What the agent says before its next line after an answer to ``slot``."""
    return ACKNOWLEDGE.get(slot, "Okay. ")

