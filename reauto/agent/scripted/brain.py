"""The scripted brain (:class:`ScriptedBrain`): the campaign's qualification flow with rule-based
understanding, from the opening to the close; booking and transfers are its steps in
:mod:`reauto.agent.scripted.scheduler` and :mod:`reauto.agent.scripted.transfer`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reauto.agent.booking import Negotiation
from reauto.agent.extract import APPOINTMENT, Extraction, SlotValue, extract, normalise
from reauto.agent.handover import offer_line
from reauto.agent.inbound import CallerFacts, booked_line, follow_up_close, greeting
from reauto.agent.intents import intents_of, not_available
from reauto.agent.numbers.money import MoneyRange
from reauto.agent.scoring import score_slots
from reauto.agent.scripted.script import ENDINGS, NOT_RECORDED, RECORDING_OFF, RECORDING_STOPPED, ScriptConfig
from reauto.agent.scripted.transfer import TransferSteps
from reauto.agent.wording import recap
from reauto.voice.conversation import OPT_OUT_KEY, Reply
from reauto.voice.services import UNHEARD

#: Another reader of a lead's answer: its slot values (``await more()``).
MoreFacts = Callable[[], Awaitable[Mapping[str, SlotValue]]]

#: How many of the recogniser's next best readings are read, and how much less a slot read there is trusted.
ALTERNATIVES, ALTERNATIVE_TRUST = 6, 0.8
#: Turns in a row the recogniser may fail on before the agent gives up on the line (asked again each time).
MAX_UNHEARD = 1
#: A refusal of the call itself, as opposed to of the times offered.
STRONG_REFUSAL = re.compile(r"\b(not interested|no thanks|no thank you|do not want|don'?t want|not looking|changed our "
                            r"minds?|never mind|forget it|stop)\b")


def stored(value: Any) -> Any:
    """A slot's value as :attr:`ScriptedBrain.slots` stores it, back in the brain's own form (a
    budget's ``{low, high}`` is a :class:`MoneyRange`)."""
    if isinstance(value, dict) and set(value) == {"low", "high"}:
        return MoneyRange(value["low"], value["high"])
    return value


class ScriptedBrain(TransferSteps):
    """A :class:`~reauto.voice.conversation.Brain` that follows the campaign script."""

    def __init__(self, config: ScriptConfig, *, answered_by: str = "human") -> None:
        self.config = config
        self.answered_by = answered_by
        self.agent = "greeter"
        self.history: list[tuple[str, str]] = []
        self.values: dict[str, SlotValue] = {}
        self.transitions: list[tuple[str, str, str]] = []
        self._index = 0
        self._retried: set[str] = set()
        self._last = ""
        self._offers: list[str] = list(config.booking_slots)
        self._negotiation: Negotiation | None = None
        self._resumed = False  # a call that was cut off, continued on this one
        self._unheard = False  # the lead went on over the last reply before its question began
        self._broken = 0  # turns the recogniser failed on
        self._alternatives: tuple[str, ...] = ()  # the recogniser's other readings of the next turn
        self.recording_declined = False  # the lead objected to being recorded (the call stops recording)
        self.transfer_reason: str | None = None  # "asked" or "hot" once a transfer was started
        self._called_in: tuple[str, str, str | None] | None = None  # a caller's opening: text, agent, outcome
        self._booked: str | None = None  # a caller's live appointment, in words

    # --- Brain protocol -------------------------------------------------------
    def opening(self) -> Reply:
        c = self.config
        if self.answered_by == "machine":
            if not c.leave_voicemail:
                return self._say("", "voicemail", end_call=True, outcome="voicemail")
            text = (f"Hi, this is {c.agent_name}, an AI assistant calling from {c.business} about your "
                    f"home search. Please call us back at {c.callback_number or 'this number'}. "
                    "If you'd rather not hear from us, call that number and say stop. Goodbye.")
            return self._say(text, "voicemail", end_call=True, outcome="voicemail")
        if self._called_in is not None:
            text, agent, outcome = self._called_in
            return self._say(text, agent, end_call=outcome is not None, outcome=outcome)
        name = f" {c.lead_first_name}" if c.lead_first_name else ""
        if self._resumed and self.agent in ("qualifier", "scheduler"):
            return self._say(self._resume_line(name), self.agent)
        parts = [f"Hi{name}, this is {c.agent_name}, an AI assistant calling from {c.business}."]
        parts += list(c.disclosures)
        parts.append(f"If you'd rather not get these calls, just say stop or press {OPT_OUT_KEY}.")
        parts.append(f"Is this {c.lead_first_name}?" if c.lead_first_name else "Do you have a quick minute?")
        return self._say(" ".join(parts), "greeter")

    async def respond(self, text: str, confidence: float | None, *, more: MoreFacts | None = None) -> Reply:
        """The reply to one finished lead turn.

        Args:
            text: what the lead said.
            confidence: the recogniser's confidence in it.
            more: another reader of the answer (the LLM's extraction), asked when the rules do not
                find the slot just asked about; its values only fill slots that are still empty.
        """
        self.history.append(("lead", text))
        alternatives, self._alternatives = self._alternatives, ()
        if text.strip() == UNHEARD:
            return self._line_broke_up()
        self._broken = 0
        expecting = self._current_slot()
        unheard, self._unheard = self._unheard, False
        found = extract(text, expecting=self._reading(expecting), today=self.config.today,
                        question=self._ask_current())
        self._read_alternatives(found, alternatives, expecting)
        if self.agent == "scheduler" and not STRONG_REFUSAL.search(normalise(text)):
            found.intents.discard("not_interested")  # "neither", "none of those": about the times offered
        if self.agent == "transfer_offer" and not re.search(r"\bnot interested\b", normalise(text)):
            found.intents.discard("not_interested")  # "no thanks": to being connected now, not to the call
        objected = found.has("recording_objection")
        first_objection = objected and not self.recording_declined
        self.recording_declined = self.recording_declined or objected
        if not found.intents & {"dnc", "wrong_number", "not_interested"}:
            handed = await self._handover(found)
            if handed is not None:
                return handed
        for intent, (line, outcome) in ENDINGS.items():
            if found.has(intent):
                return self._say(line, "closer", end_call=True, outcome=outcome)
        if found.has("robot_question"):
            return await self._answer_objection(
                f"Yes, I'm an AI assistant working with the team at {self.config.business}. "
                "A licensed agent handles everything after this call.", "asked if AI")
        if found.has("repeat_request") and self._last:
            return self._say(self._last, self.agent)
        if more is not None and expecting is not None and expecting not in found.slots:
            for slot, value in (await more()).items():
                if slot not in found.slots and slot not in self.values:
                    found.slots[slot] = value
        for slot, value in found.slots.items():
            if slot not in self.values or value.confidence >= self.values[slot].confidence:
                self.values[slot] = value
        if objected:  # acknowledged in one sentence; the call goes on where it was, unrecorded
            ack = (RECORDING_OFF if not first_objection else
                   RECORDING_STOPPED if self.config.recorded else NOT_RECORDED)
            return await self._recording_stopped(ack, expecting)
        if self.agent == "scheduler":
            return await self._book(text)
        if self.agent == "follow_up":
            line, outcome = follow_up_close(normalise(text), self._booked)
            return self._say(line, "closer", end_call=True, outcome=outcome)
        if self.agent == "greeter" and not_available(text):
            name = f" {self.config.lead_first_name}" if self.config.lead_first_name else ""
            return self._say(f"No problem, I'll try{name} another time. Thanks, and goodbye.", "closer",
                             end_call=True, outcome="callback")
        if self.agent == "greeter":
            return await self._next_question(prefix="Great. ")
        if unheard and expecting is not None and expecting not in self.values:
            # the lead went on over the question (still on their last answer): ask it again, as
            # asked the first time; not a try of theirs at answering it
            return self._say(self._ask_current(), self.agent)
        unclear = confidence is not None and confidence < self.config.min_confidence
        if (unclear and expecting is not None and expecting not in found.slots
                and f"{expecting}:unclear" not in self._retried):
            self._retried.add(f"{expecting}:unclear")  # the line, not the lead: one more try
            return self._say(f"Sorry, the line broke up for a second. {self._ask_current()}", self.agent)
        if expecting is not None and expecting not in self.values and expecting not in self._retried:
            self._retried.add(expecting)
            return self._say(f"Sorry, I didn't quite catch that. {self._ask_current()}", "qualifier")
        self._index += 1
        return await self._next_question(prefix=self._acknowledge(expecting))

    def hear(self, alternatives: Sequence[str]) -> None:
        """The recogniser's other readings of the turn about to be answered (best first)."""
        self._alternatives = tuple(alternatives)

    def _read_alternatives(self, found: Extraction, alternatives: Sequence[str], expecting: str | None) -> None:
        """What the best reading missed, from the recogniser's next best ones: an opt-out two of
        them agree on (an opt-out is never left unheard), or the slot just asked about (trusted
        less than one heard in the best reading). Nothing else is taken from them."""
        if not alternatives:
            return
        if "dnc" not in found.intents and sum("dnc" in intents_of(a) for a in alternatives[:ALTERNATIVES]) >= 2:
            found.intents.add("dnc")
        if expecting is None or expecting in found.slots or found.intents - {"affirm", "deny"}:
            return
        for alternative in alternatives[:ALTERNATIVES]:
            other = extract(alternative, expecting=expecting, today=self.config.today, question=self._ask_current())
            if expecting in other.slots:
                value = other.slots[expecting]
                found.slots[expecting] = SlotValue(value.value, value.confidence * ALTERNATIVE_TRUST)
                return

    def _line_broke_up(self) -> Reply:
        """The recogniser failed on the lead's words (an error, a timeout): ask them to say it
        again; the second time in a row, close politely and call back. The conversation never
        moves on as if the lead had answered."""
        self._broken += 1
        if self._broken > MAX_UNHEARD:
            return self._say("I'm sorry, the line keeps breaking up. One of our agents will call you back. Goodbye.",
                             "closer", end_call=True, outcome="callback")
        again = "" if self.agent == "greeter" else self._ask_current()
        return self._say(f"Sorry, the line broke up. Could you say that again? {again}".strip(), self.agent)

    def answers(self, text: str) -> bool:
        """Whether ``text`` is a complete answer to what the agent last said (the lead's turn may
        end at once): the slot asked about is in it, the identity question got a yes or a no, a
        booking offer got a choice, or the lead asked to stop, asked a question, or objected.
        Reads only; the conversation does not change."""
        if self.answered_by == "machine" or not normalise(text) or text.strip() == UNHEARD:
            return False
        if self._unheard and self.agent == "qualifier":
            return True  # the lead goes on from before the question, which is asked again anyway
        expecting = self._current_slot()
        found = extract(text, expecting=self._reading(expecting), today=self.config.today)
        if found.intents - {"affirm", "deny"}:  # stop, wrong number, a question of their own …
            return True
        if self.agent == "greeter":
            return bool(found.intents & {"affirm", "deny"})
        if self.agent == "scheduler":
            talk = self._negotiation or Negotiation(self._calendar(), offered=list(self._offers))
            return talk.answers(text)
        return expecting is not None and expecting in found.slots

    def opt_out(self) -> Reply:
        """The lead pressed the opt-out key: confirm and end the call as "do not call"."""
        self.history.append(("lead", "[pressed the opt-out key]"))
        line, outcome = ENDINGS["dnc"]
        return self._say(line, "closer", end_call=True, outcome=outcome)

    async def _answer_objection(self, answer: str, reason: str) -> Reply:
        """Answer a side question, then go back to where the script was."""
        back = self.agent
        self._move("objection", reason)
        if back == "greeter":  # the lead is on the line and listening: start qualifying
            return await self._next_question(prefix=answer + " ")
        self._move(back, "objection answered")
        return self._say(f"{answer} {self._ask_current()}", back)

    def fill(self, values: Mapping[str, SlotValue]) -> list[str]:
        """Take the values of slots that are still empty (facts read after the turn was answered);
        returns the slots filled."""
        filled = [slot for slot in values if slot not in self.values]
        for slot in filled:
            self.values[slot] = values[slot]
        return filled

    def interrupted(self, spoken: str) -> None:
        """The lead spoke over the last reply; ``spoken`` is as much of it as they heard."""
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i][0] == "agent":
                self.history[i] = ("agent", spoken)  # keep only what the lead heard
                break
        # went on before a word of the question (a reply is an acknowledgement, then the question)
        question = self._ask_current() if self.agent == "qualifier" else ""
        before = len(self._last.split()) - len(question.split())
        self._unheard = bool(question) and len(spoken.split()) <= max(0, before)

    def listening_for(self) -> str | None:
        """What the lead is answering, for the recogniser: ``identity`` (the opening's question),
        the slot asked, ``booking`` (the times offered), or None."""
        if self.answered_by == "machine":
            return None
        if self.agent == "greeter":
            return "identity"
        if self.agent == "scheduler":
            return "booking"
        return self._current_slot()

    def planned_slot(self) -> str | None:
        """The slot the last planned line asks about (``None`` outside qualification)."""
        return self._current_slot()

    def offered_now(self) -> list[str]:
        """The times the last planned line offers (the scheduler's two)."""
        return list(self._offers[:2])

    # --- session state --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Where the conversation stands, as JSON-able data (checkpointed after every turn)."""
        return {
            "agent": self.agent, "history": [list(h) for h in self.history], "index": self._index,
            "retried": sorted(self._retried), "last": self._last, "offers": list(self._offers),
            "transitions": [list(t) for t in self.transitions], "slots": self.slots,
            "confidence": {k: v.confidence for k, v in self.values.items()},
            "recording_declined": self.recording_declined,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue a conversation from :meth:`snapshot` (another worker, or after a restart)."""
        self.agent, self._index, self._last = state["agent"], int(state["index"]), state["last"]
        self.recording_declined = bool(state.get("recording_declined", False))  # it holds for the rest of the call
        self.history = [(speaker, text) for speaker, text in state["history"]]
        self._retried, self._offers = set(state["retried"]), list(state["offers"])
        self.transitions = [(a, b, why) for a, b, why in state["transitions"]]
        self.values = {slot: SlotValue(stored(value), float(state["confidence"].get(slot, 0.5)))
                       for slot, value in state["slots"].items()}

    async def call_in(self, facts: CallerFacts) -> None:
        """The lead called the campaign's number (see :mod:`reauto.agent.inbound`): the opening
        greets the caller and the call goes on from what the store knows about them."""
        c = self.config
        hello = greeting(c.inbound, facts, business=c.business, agent_name=c.agent_name)
        if facts.opted_out:
            self._called_in = (greeting(replace(c.inbound, greeting=c.inbound.opted_out), facts,
                                        business=c.business, agent_name=c.agent_name), "closer", "dnc")
            return
        self.restore_slots(facts.slots)
        parts = [hello, *c.disclosures, f"If you'd rather not get calls from us, just say stop or press {OPT_OUT_KEY}."]
        self._booked = facts.booked
        if facts.booked:
            self._called_in = (" ".join([*parts, booked_line(facts.booked)]), "follow_up", None)
            return
        said = recap(self.slots)
        if said:
            parts.append(f"Last time you told me {said}.")
        self._index = next((i for i, q in enumerate(c.questions) if q.slot not in self.values), len(c.questions))
        if self._index < len(c.questions):
            self._called_in = (" ".join([*parts, c.questions[self._index].text]), "qualifier", None)
        elif self.score >= c.book_threshold and await self._load_offers():
            self._called_in = (" ".join([*parts, self._offer()]), "scheduler", None)
        else:
            self._called_in = (" ".join([*parts, "Is there anything I can help you with?"]), "follow_up", None)

    def restore_slots(self, slots: Mapping[str, Any], confidence: float = 0.9) -> None:
        """Take what the lead said on earlier calls (stored slots) as known."""
        for slot, value in slots.items():
            if slot != "appointment" and value is not None:
                self.values[slot] = SlotValue(stored(value), confidence)

    def resume(self) -> None:
        """The restored conversation continues on a new call (the opening says we got cut off)."""
        self._resumed = True

    def _resume_line(self, name: str) -> str:
        c = self.config
        parts = [f"Hi{name}, this is {c.agent_name} again, the AI assistant from {c.business}. "
                 "I think we got cut off."]
        parts += list(c.disclosures)
        said = recap(self.slots)
        if said:
            parts.append(f"You were telling me {said}.")
        parts.append(self._ask_current())
        return " ".join(parts)

    # --- results ----------------------------------------------------------------
    @property
    def slots(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for slot, value in self.values.items():
            v = value.value
            if isinstance(v, MoneyRange):
                v = {"low": v.low, "high": v.high}
            out[slot] = v
        return out

    @property
    def score(self) -> float:
        return score_slots(self.slots, self.config.weights)

    # --- flow -------------------------------------------------------------------
    def _reading(self, expecting: str | None) -> str | None:
        """What an answer is read as: the slot asked, or the times offered while booking."""
        return APPOINTMENT if self.agent == "scheduler" else expecting

    def _current_slot(self) -> str | None:
        questions = self.config.questions
        if self.agent != "qualifier" or self._index >= len(questions):
            return None
        return questions[self._index].slot

    async def _recording_stopped(self, ack: str, expecting: str | None) -> Reply:
        """The lead objected to the recording: say it is off, then go on from where the call was."""
        if self.agent == "greeter":
            name = self.config.lead_first_name
            return self._say(ack + (f"Is this {name}?" if name else "Do you have a quick minute?"), "greeter")
        if self.agent == "qualifier" and expecting is not None and expecting in self.values:
            self._index += 1  # they answered the question too
            return await self._next_question(prefix=ack)
        return self._say(ack + self._ask_current(), self.agent)

    def _ask_current(self) -> str:
        questions = self.config.questions
        if self.agent == "qualifier" and self._index < len(questions):
            return questions[self._index].text
        if self.agent == "scheduler":
            return self._offer()
        return "How can I help?"

    async def _next_question(self, prefix: str = "") -> Reply:
        questions = self.config.questions
        while self._index < len(questions) and questions[self._index].slot in self.values:
            self._index += 1  # the lead already told us
        if self._index < len(questions):
            self._move("qualifier", "next question")
            return self._say(prefix + questions[self._index].text, "qualifier")
        plan = self.config.transfer
        if plan is not None and plan.hot_score is not None and self.score >= plan.hot_score \
                and self.transfer_reason is None and self.agent != "transfer_offer":
            self._move("transfer_offer", f"score {self.score}")
            return self._say(prefix + offer_line(plan), "transfer_offer")
        if self.score >= self.config.book_threshold and await self._load_offers():
            self._move("scheduler", f"score {self.score}")
            return self._say(prefix + self._offer(), "scheduler")
        return self._say(prefix + "Thank you, that's everything I need. One of our agents will follow up "
                         "with you soon. Goodbye.", "closer", end_call=True, outcome="callback")

    @staticmethod
    def _acknowledge(slot: str | None) -> str:
        return {"timeline_months": "Got it. ", "budget_usd": "Thanks. ", "preapproved": "Good to know. "}.get(
            slot or "", "Okay. ")

    def _move(self, agent: str, reason: str) -> None:
        if agent != self.agent:
            self.transitions.append((self.agent, agent, reason))
            self.agent = agent

    def _say(self, text: str, agent: str, *, end_call: bool = False, outcome: str | None = None) -> Reply:
        self._move(agent, "reply")
        self._last = text
        self.history.append(("agent", text))
        return Reply(text, end_call=end_call, outcome=outcome, agent=agent)
