"""What a lead's words do in the conversation: opt out, refuse, object, ask, agree or disagree.

Text comes from a phone recogniser (lower case, no punctuation) or from a transcript. Each
intent is read from the structure of the sentence rather than from a list of the phrases it was
built around: an opt-out is a verb of contacting (call, ring, text, contact, bother …) under a
refusal (do not, never, stop, quit, rather not, no more …) and not limited to a time ("don't call
me before noon" asks for a later call), or a request to be taken off a list, or one of the words
the FCC's revocation rule names (unsubscribe, opt out, revoke …). Contractions are expanded and
fillers dropped first, so "don't", "dont" and "do not" read the same.

A refusal is read by its kind: staying put ("we're not budging", "no plans to relocate"), having
done it already ("we found a place", "it's taken care of") or a polite no ("thanks anyway", "I'll
call you if that changes"); a refusal to move limited to a time ("not until spring") is a
timeline, not a refusal. A question about a machine is an address ("are you", "am I talking to")
before a word for one; a request for a person is a hand-off verb or a wish before a word for
one, and beside it "not a bot" is a contrast, not a question. A call back is a verb of calling
or of taking the talk up again before a later time; a weekday or a clock time counts only after
a verb of calling, so that a time offered for the meeting is not read as one.

Opt-outs win over everything else: a sentence that opts out is never also read as agreeing, nor
as asking for a person. A wrong number is also a no to "is this Jane?". :func:`read_intents`
returns every intent found with how sure the reading is (0..1); the rules here are checked by
``tests/test_intents.py`` and, on wording they were not written from, by the corpus's dev split
(``scripts/bench/understanding.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from reauto.agent.intents.identity import NOT_AVAILABLE, WRONG_NUMBER, read_stance
from reauto.agent.intents.optout import (
    ADDRESSED, CALLS_TOO, OPT_OUT, RECORD_WORD, RECORDING_OBJECTION, REFUSAL_WORD, THIRD_PARTY_CALLS, refused_contact,
)
from reauto.agent.intents.refusal import NOT_INTERESTED
from reauto.agent.intents.requests import (
    BUSY, CALLBACK, GO_AHEAD, HUMAN, HUMAN_CALLS, NOT_A_MACHINE, REPEAT, ROBOT,
)
from reauto.agent.intents.text import clean

__all__ = ["Reading", "clean", "intents_of", "not_available", "read_intents"]


@dataclass(frozen=True)
class Reading:
    """One intent found in an utterance and how sure the reading is (0..1)."""

    intent: str
    confidence: float


def _any(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.search(text) for p in patterns)


@lru_cache(maxsize=4096)
def read_intents(text: str) -> tuple[Reading, ...]:
    """Every conversational intent in ``text``, most binding first; never raises."""
    t = clean(text)
    if not t:
        return ()
    found: list[Reading] = []
    # "the seller won't stop calling": a complaint about someone else, unless the caller is addressed
    heard = t if ADDRESSED.search(t) else THIRD_PARTY_CALLS.sub(" ", t)
    dnc = _any(OPT_OUT, heard) or refused_contact(heard)
    if dnc:
        found.append(Reading("dnc", 0.95))
    if _any(RECORDING_OBJECTION, t) or (RECORD_WORD.search(t) and REFUSAL_WORD.search(t)):
        found.append(Reading("recording_objection", 0.9))
        if dnc and not CALLS_TOO.search(t):  # "don't record this call", "i want you to stop": the recording
            found.remove(Reading("dnc", 0.95))
            dnc = False
    if _any(WRONG_NUMBER, t):
        found.append(Reading("wrong_number", 0.9))
    refused = _any(NOT_INTERESTED, t)
    if refused:
        found.append(Reading("not_interested", 0.85))
    human_calls = HUMAN_CALLS.search(t) is not None
    human = (human_calls or _any(HUMAN, t)) and not dnc
    # "a person please, not a bot": beside a request for a person, the machine named is a contrast
    robot = _any(ROBOT, NOT_A_MACHINE.sub(" ", t) if human else t)
    if robot:
        found.append(Reading("robot_question", 0.9))
    if human and not robot:
        found.append(Reading("human_request", 0.85))
    busy = BUSY.search(t) is not None and not GO_AHEAD.search(t)
    if (human_calls or busy or _any(CALLBACK, t)) and not dnc and not refused:
        found.append(Reading("callback_request", 0.8))
    if _any(REPEAT, t) and not found:
        found.append(Reading("repeat_request", 0.8))
    stance = read_stance(t)
    if any(r.intent == "wrong_number" for r in found):
        stance = "deny"  # not the lead's number: a no to "is this Jane?"
    if stance is not None and not (dnc or refused):
        found.append(Reading(stance, 0.8))
    return tuple(found)


def not_available(text: str) -> bool:
    """Whether ``text`` says the person asked for is not there ("she's at work", "this is her son")."""
    return NOT_AVAILABLE.search(clean(text)) is not None


def intents_of(text: str) -> set[str]:
    """The names of :func:`read_intents`."""
    return {r.intent for r in read_intents(text)}
