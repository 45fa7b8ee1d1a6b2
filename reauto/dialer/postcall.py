"""Post-call analysis: what a person reads about a call in the CRM, and what a workflow acts on.

Every ended call gets the same fields — ``summary``, ``disposition``, ``sentiment``,
``objections``, ``next_step``, ``follow_up_at`` — written by rules at the call's end (in the
transaction that stores it: :meth:`reauto.dialer.records.CallRecorder.finish`). With the Ollama
brain configured, the LLM writes them again from the transcript a moment later
(:class:`LLMAnalyst`, for calls where the lead spoke; checked against a JSON schema, the rules'
stay when it fails). Each
is a call event ``analysis`` (the latest is the call's) and a ``call.analyzed`` event; the export
records carry the latest, and ``reauto calls show`` prints it.

The rules read the lead's turns with the conversation's own intent reader
(:func:`reauto.agent.intents.intents_of`) plus a few price and timing phrasings, and weigh the
lead's tone words with the call's outcome for the sentiment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import events
from reauto.agent.intents import intents_of
from reauto.store.models import Call, CallEvent, Turn
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

#: The intents that are objections, by the name an analysis gives them (in this order).
OBJECTION_INTENTS = {"dnc": "opt_out", "not_interested": "not_interested", "wrong_number": "wrong_number",
                     "robot_question": "robot", "recording_objection": "recording", "human_request": "wants_person",
                     "callback_request": "timing"}
#: Objections said in words the intents do not cover.
OBJECTION_WORDS = (
    ("price", re.compile(r"\b(too expensive|can'?t afford|prices? (are|is) (too|way too|so) high|out of (our|my) "
                         r"(price range|budget)|interest rates?|rates are (too )?high|too pricey|overpriced)\b")),
    ("timing", re.compile(r"\b(not ready|not yet|too soon|next year|maybe later|not right now|busy right now|"
                          r"in a meeting|driving|bad time|not a good time|call (me )?(back )?later)\b")),
    ("has_agent", re.compile(r"\b(already (have|working with|got) (an? )?(agent|realtor|broker)|my (agent|realtor))\b")),
)
POSITIVE = re.compile(r"\b(great|perfect|sounds good|awesome|love|excited|wonderful|thank you|thanks|yes please|"
                      r"that works|works for me|definitely|absolutely|appreciate)\b")
NEGATIVE = re.compile(r"\b(annoy\w*|stop calling|leave me alone|waste|scam|spam|angry|rude|don'?t call|"
                      r"not interested|go away|harass\w*|f(uck)? off)\b")
#: How an outcome leans the sentiment.
LEAN = {"booked": 1, "transferred": 1, "dnc": -1, "not_interested": -1, "bad_number": 0}
SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Analysis:
    """One call's analysis (see the module)."""

    summary: str
    disposition: str
    sentiment: str
    objections: list[str] = field(default_factory=list)
    next_step: str = ""
    follow_up_at: datetime | None = None
    by: str = "rules"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["follow_up_at"] = self.follow_up_at.isoformat() if self.follow_up_at is not None else None
        return out


def objections(lead_turns: Sequence[str]) -> list[str]:
    """What the lead objected to, in the order first said."""
    found: list[str] = []
    for text in lead_turns:
        lowered = text.lower()
        heard = [OBJECTION_INTENTS[i] for i in OBJECTION_INTENTS if i in intents_of(text)]
        heard += [name for name, words in OBJECTION_WORDS if words.search(lowered)]
        found += [h for h in heard if h not in found]
    return found


def sentiment(lead_turns: Sequence[str], outcome: str) -> str:
    """``positive``, ``neutral`` or ``negative``: the lead's tone words, leaned by the outcome."""
    said = " ".join(lead_turns).lower()
    score = len(POSITIVE.findall(said)) - 2 * len(NEGATIVE.findall(said)) + 2 * LEAN.get(outcome, 0)
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def next_step(outcome: str, when: datetime | None) -> str:
    """What happens next, in words (``when``: the appointment or the call back, UTC)."""
    at = f" at {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""
    return {
        "booked": f"Meeting with an agent{at}.",
        "transferred": "The agent who took the call follows up.",
        "callback": f"Call back{at}." if at else "Call back.",
        "voicemail": f"Try again{at} (a message was left)." if at else "Try again (a message was left).",
        "no_answer": f"Try again{at}." if at else "Try again.",
        "not_interested": "None: not interested.",
        "dnc": "None: on the do-not-call list.",
        "bad_number": "Find a correct number for the lead.",
    }.get(outcome, "Review the call.")


def budget_words(low: float | None, high: float | None) -> str:
    """A budget range in words; either end may be open ("under $400,000", "over $1,000,000")."""
    if low is not None and high is not None:
        return f"budget ${low:,.0f}" if low == high else f"budget ${low:,.0f} to ${high:,.0f}"
    if high is not None:
        return f"budget under ${high:,.0f}"
    if low is not None:
        return f"budget over ${low:,.0f}"
    return ""


def described(slots: Mapping[str, Any]) -> str:
    """What the lead said, in words: intent, timeline, budget, financing, then any other slot."""
    parts = []
    intent = slots.get("intent")
    if intent:
        parts.append({"buy": "wants to buy", "sell": "wants to sell", "rent": "wants to rent"}.get(str(intent),
                                                                                               f"intent {intent}"))
    months = slots.get("timeline_months")
    if isinstance(months, int | float):
        parts.append(f"timeline {months:g} month{'s' if months != 1 else ''}")
    budget = slots.get("budget_usd")
    if isinstance(budget, dict) and ("low" in budget or "high" in budget):
        if said := budget_words(budget.get("low"), budget.get("high")):
            parts.append(said)
    elif isinstance(budget, int | float):
        parts.append(f"budget ${budget:,.0f}")
    if isinstance(slots.get("preapproved"), bool):
        parts.append("pre-approved" if slots["preapproved"] else "not pre-approved")
    known = {"intent", "timeline_months", "budget_usd", "preapproved", "appointment", "booking"}
    parts += [f"{k.replace('_', ' ')} {v}" for k, v in slots.items() if k not in known and v not in (None, "")]
    return ", ".join(parts)


def summarise(name: str | None, slots: Mapping[str, Any], outcome: str, found: Sequence[str], step: str,
              inbound: bool = False) -> str:
    """Two or three sentences: who and what they said, how the call ended, what comes next."""
    who = name or "The lead"
    said = described(slots)
    first = f"{who} called in" if inbound else f"{who} was called"
    first += f": {said}." if said else "."
    ended = {"booked": "A meeting was booked.", "transferred": "The lead was put through to an agent.",
             "callback": "The call ended with a call back to make.", "not_interested": "Not interested.",
             "dnc": "Asked not to be called again.", "bad_number": "Wrong number.",
             "voicemail": "Voicemail.", "no_answer": "No answer."}.get(outcome, f"Ended: {outcome}.")
    objected = f" Objected: {', '.join(o.replace('_', ' ') for o in found)}." if found else ""
    return f"{first} {ended}{objected} Next: {step}"


def analyse(turns: Sequence[tuple[str, str]], *, outcome: str, slots: Mapping[str, Any], name: str | None = None,
            follow_up_at: datetime | None = None, inbound: bool = False) -> Analysis:
    """The rules' analysis of a call: its turns as (speaker, text), how it ended, what it learned."""
    lead = [text for speaker, text in turns if speaker == "lead" and text.strip()]
    found = objections(lead)
    step = next_step(outcome, follow_up_at)
    return Analysis(summarise(name, slots, outcome, found, step, inbound), outcome, sentiment(lead, outcome), found,
                    step, follow_up_at, "rules")


def store_analysis(s: AsyncSession, call: Call, found: Analysis, now: datetime) -> None:
    """A call's analysis: its ``analysis`` call event (the latest is the call's) and ``call.analyzed``."""
    data = found.as_json()
    s.add(CallEvent(call_id=call.id, type="analysis", ts=now, payload=data))
    events.record(s, "call.analyzed", campaign_id=call.campaign_id, at=now, call_id=call.id, lead_id=call.lead_id,
                  **data)


#: What the LLM is asked to write (the call's facts — disposition, follow-up — come from the store).
LLM_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["summary", "sentiment", "objections", "next_step"],
    "properties": {
        "summary": {"type": "string", "minLength": 10, "maxLength": 600},
        "sentiment": {"enum": list(SENTIMENTS)},
        "objections": {"type": "array", "maxItems": 8, "items": {"type": "string", "minLength": 2, "maxLength": 40}},
        "next_step": {"type": "string", "minLength": 3, "maxLength": 200},
    },
}
LLM_PROMPT = (
    "You read the transcript of a phone call between an AI assistant of a real-estate brokerage (agent) and a "
    "lead (lead). Answer with JSON only: summary (two or three sentences for the human agent: what the lead "
    "wants, their timeline, budget and financing as stated, how the call ended), sentiment of the lead "
    "(positive, neutral or negative), objections (short snake_case labels of what the lead objected to, e.g. "
    "price, timing, has_agent, not_interested, robot, recording, opt_out; [] if none), next_step (one sentence). "
    "Use only what the transcript says. The call ended as: {outcome}.")


class LLMAnalyst:
    """Writes each answered call's analysis again with the LLM, after the rules' (see the module).

    ``chat`` is the brain's :class:`~reauto.llm.ollama.OllamaChat`; calls are taken one at a time
    in the background as they end (:meth:`call_ended`), so a call never waits for it.
    """

    def __init__(self, chat: Any, sessions: async_sessionmaker[AsyncSession], *, model: str | None = None,
                 timeout_s: float = 30.0, clock: Callable[[], datetime] = utcnow) -> None:
        import jsonschema

        self.chat, self.sessions, self.model, self.timeout_s, self.clock = chat, sessions, model, timeout_s, clock
        self._validator = jsonschema.Draft202012Validator(LLM_SCHEMA)
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="post-call-analysis")

    def call_ended(self, call_id: int) -> None:
        self._queue.put_nowait(call_id)

    async def finish(self, within_s: float = 60.0) -> None:
        """Analyse what is queued (up to ``within_s``), then stop; the rules' analysis stands for the rest."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), within_s)
        except TimeoutError:
            log.warning("post-call analysis: %d calls keep the rules' analysis (no time left)", self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            call_id = await self._queue.get()
            try:
                await self.analyse_call(call_id)
            except Exception as exc:  # noqa: BLE001 - the rules' analysis stands
                self.failed += 1
                log.warning("post-call analysis of call %s by the LLM failed: %s: %s", call_id, type(exc).__name__, exc)
            finally:
                self._queue.task_done()

    async def analyse_call(self, call_id: int) -> Analysis | None:
        """The LLM's analysis of call ``call_id``, stored (None: the call has none by the rules to improve)."""
        async with self.sessions() as s:
            call = await s.get(Call, call_id)
            rules = (await s.execute(select(CallEvent.payload).where(
                CallEvent.call_id == call_id, CallEvent.type == "analysis").order_by(CallEvent.id.desc()).limit(1))
            ).scalar_one_or_none()
            turns = (await s.execute(select(Turn.speaker, Turn.text).where(Turn.call_id == call_id)
                                     .order_by(Turn.seq))).all()
        if call is None or not rules or not any(speaker == "lead" for speaker, _ in turns):
            return None  # nothing the lead said: the rules' analysis says all there is
        transcript = "\n".join(f"{speaker}: {text}" for speaker, text in turns)
        messages = [{"role": "system", "content": LLM_PROMPT.format(outcome=rules["disposition"])},
                    {"role": "user", "content": transcript}]
        raw = await asyncio.wait_for(self.chat.complete(messages, model=self.model, format=LLM_SCHEMA,
                                                        options={"temperature": 0.0, "num_predict": 400}),
                                     self.timeout_s)
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        errors = list(self._validator.iter_errors(answer)) if answer is not None else ["not JSON"]
        if errors:
            self.failed += 1
            log.warning("post-call analysis of call %s: the LLM's answer was refused (%s)", call_id,
                        getattr(errors[0], "message", errors[0]))
            return None
        follow_up = datetime.fromisoformat(rules["follow_up_at"]) if rules.get("follow_up_at") else None
        found = Analysis(answer["summary"].strip(), rules["disposition"], answer["sentiment"],
                         [o.strip().lower().replace(" ", "_") for o in answer["objections"]],
                         answer["next_step"].strip(), follow_up, "llm")
        async with self.sessions.begin() as s:
            store_analysis(s, call, found, self.clock())
        self.written += 1
        return found
