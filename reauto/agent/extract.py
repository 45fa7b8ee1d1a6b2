"""Rule-based understanding of one lead utterance: slot values and conversational intents.

Text comes from a phone recogniser: lower case, no punctuation, numbers spelled out, sometimes
mangled. Matching is by word boundaries with small synonym lists; the slot the agent just asked
about (``expecting``) lets short answers ("yes", "three months") be read in context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reauto.agent.intents import intents_of
from reauto.agent.numbers import parse_duration_months, parse_money_usd

INTENT_WORDS = {
    "buy": r"\b(buy|buying|purchase|purchasing|looking for a (home|house|place|condo|property)|"
           r"find (a|our|my) (new )?(home|house|place)|shopping for|house hunting)\b",
    "sell": r"\b(sell|selling|sale|list (my|our|the) (home|house|place|property|condo)|listing|"
            r"put (it|my house|our house|the house|our home|my home|our place|my place) (up )?(on the market|for sale)|"
            r"market (our|my) (home|house))\b",
    "rent": r"\b(rent|renting|lease|leasing)\b",
}
#: Words before an intent that deny it ("we are not selling").
_NEGATED = re.compile(r"\b(not|never|no longer|do not want to|not planning to|not looking to|no plans to|nothing to|"
                      r"instead of|rather than|not going to|not gonna)( \w+){0,2}$")
#: Words that replace what came before them ("we were going to sell, actually we want to buy").
CORRECTION = re.compile(r"\b(actually|i mean|i meant|no wait|wait no|correction|let me correct|scratch that|"
                        r"changed (our|my) minds?|on second thought|but now|now we)\b")
#: Renting as a plan, when the intent was not asked ("we are renting right now" is where the lead
#: lives, not what they want).
RENT_PLAN = (r"\b(looking|want|wanting|need|needing|trying|planning|hoping|like|going) to (rent|lease)\b"
             r"|\b(rent|lease) (it |them |our place |my place )?out\b|\bfor (rent|lease)\b")
#: An intent the lead stated when asked outweighs one mentioned in passing; a correction ("actually
#: we want to sell") outweighs both.
INTENT_ASKED, INTENT_UNASKED, CORRECTED = 0.9, 0.7, 0.95
PROPERTY_TYPES = {
    "condo": r"\b(condo|condominium|apartment)\b",
    "townhouse": r"\b(town ?house|townhome)\b",
    "multi_family": r"\b(duplex|triplex|multi ?family|fourplex)\b",
    "land": r"\b(land|lot|acreage)\b",
    "house": r"\b(house|single family|home)\b",
}
CASH = r"\b(cash|paying cash|all cash)\b"
_WHEN = (r"(day|week|month|year|spring|summer|fall|autumn|winter|january|february|march|april|may|june|"
         r"july|august|september|october|november|december)s?")
_FILLER = (r"(about|around|maybe|probably|roughly|the|a|an|few|couple|of|next|early|late|mid|coming|\d+|"
           r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|half|and)")
TIMELINE_PHRASE = (rf"\b(in|within|by|next|this|around|about|until|after|before)\s+({_FILLER}\s+){{0,3}}{_WHEN}\b|"
                   rf"\b(asap|right away|as soon as possible|immediately)\b|\b\w+\s+{_WHEN}\s+(from now|away|or so)\b")
PREAPPROVED = r"\b(pre ?approved|preapproved|pre ?qualified|prequalified|approval letter)\b"


@dataclass(frozen=True)
class SlotValue:
    """One extracted value and how sure the rule is (0..1)."""

    value: Any
    confidence: float


@dataclass
class Extraction:
    """What one utterance said."""

    intents: set[str] = field(default_factory=set)
    slots: dict[str, SlotValue] = field(default_factory=dict)

    def has(self, intent: str) -> bool:
        return intent in self.intents


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _intent(t: str, asked: bool) -> str | None:
    """The intent the lead states: the last one not denied, after a correction if there is one."""
    marker = None
    for marker in CORRECTION.finditer(t):
        pass
    tail = t[marker.end():] if marker is not None and _any_intent(t[marker.end():], asked) else t
    found: list[tuple[int, str]] = []
    for value, pattern in INTENT_WORDS.items():
        if value == "rent" and not asked:
            pattern = RENT_PLAN
        for match in re.finditer(pattern, tail):
            if not _NEGATED.search(tail[:match.start()]):
                found.append((match.start(), value))
    if not found:
        return None
    found.sort()
    values = [v for _, v in found]
    if marker is not None and tail is not t:
        return values[0]  # the first thing said after the correction
    if "buy" in values and "sell" in values:
        return "sell" if values.index("sell") < values.index("buy") else "buy"  # the first step they take
    return values[0]


def _any_intent(text: str, asked: bool) -> bool:
    return any(re.search(RENT_PLAN if v == "rent" and not asked else p, text) for v, p in INTENT_WORDS.items())


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, hyphenated words joined by a space."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9$' ]", " ", text.lower().replace("-", " "))).strip()


def extract(text: str, *, expecting: str | None = None, today_month: int = 1) -> Extraction:
    """Intents and slot values in one lead utterance.

    Args:
        text: the recognised words.
        expecting: the slot the agent just asked about, if any.
        today_month: the current month (1–12) for seasons and month names in timelines.
    """
    t = normalise(text)
    out = Extraction()
    out.intents = intents_of(text)
    corrected = CORRECTION.search(t)
    asked = expecting == "intent"
    found_intent = _intent(t, asked)
    if found_intent is not None:
        confidence = INTENT_ASKED if asked else INTENT_UNASKED
        out.slots["intent"] = SlotValue(found_intent, CORRECTED if corrected else confidence)

    months = parse_duration_months(t, today_month)
    timeline_cue = _search(r"\b(month|months|week|weeks|year|years|spring|summer|fall|autumn|winter|"
                           r"asap|soon|right away|next|january|february|march|april|may|june|july|"
                           r"august|september|october|november|december)\b", t)
    if months is not None and (expecting == "timeline_months" or _search(TIMELINE_PHRASE, t)):
        # unasked, a timeline needs a whole phrase ("in about three months", "next spring"): a
        # lone season or month word is too often a misrecognised name or filler
        out.slots["timeline_months"] = SlotValue(months, 0.85 if timeline_cue else 0.6)

    money_cue = _search(r"\b(budget|thousand|million|k|grand|dollars|price|afford|\$)|\$\d", t)
    if money_cue or expecting == "budget_usd":
        money = parse_money_usd(t)
        if money is not None and not (expecting != "budget_usd" and "timeline_months" in out.slots and not money_cue):
            out.slots["budget_usd"] = SlotValue(money, 0.85 if money_cue else 0.6)

    if _search(CASH, t):
        out.slots["financing"] = SlotValue("cash", 0.9)
        out.slots["preapproved"] = SlotValue(True, 0.7)
    elif _search(PREAPPROVED, t):
        negated = _search(r"\b(not|haven'?t|aren'?t|isn'?t|no) (yet )?(been )?(pre ?approved|preapproved|pre ?qualified)\b", t)
        out.slots["preapproved"] = SlotValue(not negated, 0.9)
        out.slots["financing"] = SlotValue("mortgage", 0.7)
    elif expecting == "preapproved" and ("affirm" in out.intents or "deny" in out.intents):
        out.slots["preapproved"] = SlotValue("deny" not in out.intents, 0.75)

    for value, pattern in PROPERTY_TYPES.items():
        if _search(pattern, t) and (value != "house" or expecting == "property_type" or "intent" not in out.slots):
            out.slots["property_type"] = SlotValue(value, 0.8 if expecting == "property_type" else 0.6)
            break

    place = re.search(r"\b(?:in|around|near|downtown) ((?:[a-z]+ ){0,2}[a-z]+)$", t)
    if expecting == "location" and t and "deny" not in out.intents:
        value = place.group(1) if place else t
        out.slots["location"] = SlotValue(value, 0.7 if place else 0.5)
    elif place and not timeline_cue and not money_cue and place.group(1) not in {"the", "a", "about"}:
        out.slots["location"] = SlotValue(place.group(1), 0.5)

    if expecting in {"motivation", "callback_time"} and t and not out.intents & {"dnc", "not_interested"}:
        out.slots[expecting] = SlotValue(t, 0.6)
    return out
