"""Rule-based understanding of one lead utterance: slot values and conversational intents.

Text comes from a phone recogniser: lower case, no punctuation, numbers spelled out, sometimes
mangled. Matching is by word boundaries with small synonym lists; the slot the agent just asked
about (``expecting``) lets short answers ("yes", "three months") be read in context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reauto.agent.intents import intents_of
from reauto.agent.lead_intent import read_lead_intent
from reauto.agent.numbers.durations import parse_duration_months
from reauto.agent.numbers.money import parse_money_usd

#: ``expecting`` while the lead answers the times offered for the appointment: "next week" or
#: "this week is crazy" is about the appointment, so no timeline is read from it.
APPOINTMENT = "appointment"
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
CASH = (r"\b(cash|paying cash|all cash|outright|no (loan|mortgage)(?! yet)|without (a )?(loan|mortgage|financing)|"
        r"(do not|don'?t|won'?t|will not) need (a )?(loan|mortgage|financing))\b")
_WHEN = (r"(day|week|month|year|spring|summer|fall|autumn|winter|january|february|march|april|may|june|"
         r"july|august|september|october|november|december)s?")
_FILLER = (r"(about|around|maybe|probably|roughly|the|a|an|few|couple|of|next|early|late|mid|coming|\d+|"
           r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|half|and)")
TIMELINE_PHRASE = (rf"\b(in|within|by|next|this|around|about|until|after|before)\s+({_FILLER}\s+){{0,3}}{_WHEN}\b|"
                   rf"\b(asap|right away|as soon as possible|immediately)\b|\b\w+\s+{_WHEN}\s+(from now|away|or so)\b")
PREAPPROVED = r"\b(pre ?approved|preapproved|pre ?qualified|prequalified|approval letter|pre ?approval|approved|approval)\b"
#: Financing under way but not approved yet: a no to "are you pre-approved?".
IN_PROGRESS = (r"\b(working on (it|that|one|getting)|in progress|in the process|applied|applying|application|"
               r"(talking|talked|speaking|spoke|meeting|met) (to|with) (a |our |my |the |some |a couple of |two )?"
               r"(lender|lenders|bank|banks|loan officer|broker|mortgage broker|credit union)|"
               r"waiting (to hear|on|for)(?! (the right|a|the|our) (house|home|place|one))|"
               r"(wait|waiting) (until|till) we (find|found)|find (a|the) (house|home|place) first|"
               r"(have not|havent|haven'?t) (even )?(thought|looked into|started|gotten around)|"
               r"sent (in )?(our|the|my|all the) (documents|paperwork|papers|pay ?stubs)|"
               r"(doing|filling out|fill out|working on|gathering|getting|finishing|submitting|submitted|turning in|"
               r"turned in|pulling together) (all )?(the |our |my )?paperwork|"
               r"paperwork (is|was|has been|got) (in|submitted|sent|turned in)|"
               r"underwrit\w*|under review|being (reviewed|processed)|processing|"
               r"still (has|have|reviewing|looking at|working on)|denied|declined|turned (us |me )?down|rejected|"
               r"shopping (around )?"
               r"(for )?(lenders|a loan|a mortgage|rates)|putting it together|running (our|my) credit|almost there|"
               r"few more days|should be approved|started|in the middle of|not fully|expired|just prequalified|"
               r"only prequalified|just pre qualified|about to|going to (get|apply)|need to (get|apply)|"
               r"have (an|a) appointment|pending|submitted|supposed to|hopefully|putting it off|to do list|where to start|"
               r"needs? (some )?work|credit (is|needs)|not (currently|as of now|at the moment|right now|yet)|"
               r"(do not|don'?t|did not|didn'?t|have not|haven'?t) (have|get|got|gotten|done|started) (one|it|that|"
               r"any|a letter|approved)|going to ask you)\b")
#: Financing in place without the word "approved".
FINANCED = (r"\b(all set with (the )?(financing|the bank|a lender|our lender|the loan)|good to go|already done|"
            r"(have|got) (the|our|a|my) (letter|approval|pre ?approval|financing)|financing (is )?(in place|lined up|"
            r"sorted|done|set|ready)|loan is (approved|ready|done)|got approved|we are approved|i am approved|"
            r"went through|cleared (us|me)|green light|lined up|squared away|taken care of|handled|in hand|"
            r"locked (in|and loaded)|signed sealed|we are golden|good on that|ready to go|"
            r"(have|got) (all )?(the |our )?paperwork( done| in hand)?|"
            r"ok'?d|okayed|okay'?d|green ?lit|green ?lighted|signed off|cleared (us |me )?for|approved (us|me)|"
            r"(application|loan|it|everything) (went|has gone) through|"
            r"(application|loan) (was|got|has been|came back) approved|golden|thumbs up|go ahead)\b")
#: Answers that leave the question open ("not sure what that is", "does prequalified count?").
UNSURE = (r"\b(not sure|no idea|do not know|don'?t know|dunno|what does|what is that|what counts|does that count|"
          r"i think so|maybe|not certain|i would have to check|have to ask|let me check|"
          r"(what'?s|what is|whats) the difference|difference between|depends|what do you mean|what you mean|"
          r"is that (the same|different)|same thing as|how does that work)\b")
#: An answer that starts with a no: a no even when the rest is a question ("no what does that involve").
LEADING_NO = (r"^(no|nope|nah|negative|not yet|not really|not at the moment|not right now)\b"
              r"(?! (problem|doubt|question))")
#: Bare no's and not-yet's: a yes/no answer, not a refusal of the call.
BARE_NO = r"^(no|nope|nah|not (yet|really|at the moment|right now|so far|at this time|currently|quite))( (no|not yet|sorry|thanks))*$"


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


_NEGATED = re.compile(r"\b(not|no|never|nobody|havent|hasnt|hadnt|didnt|isnt|arent|wasnt|werent|wont|without)"
                      r"( \w+){0,2} $")


def _last_end(pattern: str, text: str, *, unless_negated: bool = False) -> int:
    """Where the last match of ``pattern`` in ``text`` ends; -1 without one. With ``unless_negated``,
    a match with a negation up to two words before it ("no one has approved us") does not count."""
    ends = [m.end() for m in re.finditer(pattern, text)
            if not (unless_negated and _NEGATED.search(text[:m.start()]))]
    return max(ends, default=-1)


def _financing(t: str, expecting: str | None, out: Extraction) -> None:
    """Pre-approval and financing: cash, approved, under way (a no), unsure (nothing), or a yes/no."""
    asked = expecting == "preapproved"
    clause = t.replace("'", "")
    led_by_no = asked and _search(LEADING_NO, clause)
    pending, done = _last_end(IN_PROGRESS, clause), _last_end(FINANCED, clause, unless_negated=True)
    if _search(CASH, t) and not _search(r"\b(no|not|without) (\w+ )?cash\b", t):
        out.slots["financing"] = SlotValue("cash", 0.9)
        # a cash buyer needs no approval: as good as one; "not yet, we're paying cash" still says no
        out.slots["preapproved"] = SlotValue(False, 0.75) if led_by_no else SlotValue(True, 0.7)
    elif asked and _search(UNSURE, clause) and done < 0:
        if led_by_no:  # "no, what does that involve?"
            out.slots["preapproved"] = SlotValue(False, 0.75)
        # else asked again once, then left open
    elif pending > done and (asked or _search(PREAPPROVED, t)):
        # of "in progress" and "done", the one said last counts: "we applied and it went through"
        out.slots["preapproved"] = SlotValue(False, 0.85)
        out.slots["financing"] = SlotValue("mortgage", 0.6)
    elif done >= 0 and (asked or _search(PREAPPROVED, t)):
        out.slots["preapproved"] = SlotValue(True, 0.85)
        out.slots["financing"] = SlotValue("mortgage", 0.7)
    elif _search(PREAPPROVED, t) and (asked or _search(r"\bpre ?(approved|approval|qualified)|preapproved|"
                                                       r"prequalified\b", t)):
        negated = _search(r"\b(not|haven'?t|hasn'?t|aren'?t|isn'?t|weren'?t|wasn'?t|didn'?t|no|nobody|never|without)"
                          r"( \w+){0,2} (been |gotten |got |get )?"
                          r"(pre ?approved|preapproved|pre ?qualified|prequalified|approved|approval|pre ?approval)\b", t)
        out.slots["preapproved"] = SlotValue(not negated, 0.9)
        out.slots["financing"] = SlotValue("mortgage", 0.7)
    elif asked and ("affirm" in out.intents or "deny" in out.intents):
        out.slots["preapproved"] = SlotValue("deny" not in out.intents, 0.75)
    elif led_by_no:
        out.slots["preapproved"] = SlotValue(False, 0.75)
    if asked and "preapproved" in out.slots:
        # a yes/no answered: "nope", "all set", "we're working on it now" refuse nothing, ask no call back
        if _search(BARE_NO, t) or not _search(r"\b(not interested|no thanks|no thank you|stop|leave)\b", t):
            out.intents -= {"not_interested", "callback_request"}


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, hyphenated words joined by a space."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9$' ]", " ", text.lower().replace("-", " "))).strip()


def extract(text: str, *, expecting: str | None = None, today_month: int | None = None,
            today: date | None = None, question: str | None = None) -> Extraction:
    """Intents and slot values in one lead utterance.

    Args:
        text: the recognised words.
        expecting: the slot the agent just asked about, if any; :data:`APPOINTMENT` while the
            lead answers the times offered for the appointment (its days and weeks are not the
            move's timeline).
        today_month: the current month (1–12) for seasons and month names in timelines (when
            ``today`` is not given).
        today: the day of the call: seasons, month names and dates in timelines count from it.
        question: the question just asked (for answers such as "the second one").
    """
    t = normalise(text)
    out = Extraction()
    out.intents = intents_of(text)
    asked = expecting == "intent"
    found_intent, corrected = read_lead_intent(t.replace("'", ""), asked=asked, question=question)
    if found_intent is not None:
        confidence = INTENT_ASKED if asked else INTENT_UNASKED
        out.slots["intent"] = SlotValue(found_intent, CORRECTED if corrected else confidence)

    months = parse_duration_months(t, today_month or 1, today=today) if today is None else \
        parse_duration_months(t, today=today)
    timeline_cue = _search(r"\b(month|months|week|weeks|year|years|spring|summer|fall|autumn|winter|"
                           r"asap|soon|right away|next|january|february|march|april|may|june|july|"
                           r"august|september|october|november|december)\b", t)
    if months is not None and (expecting == "timeline_months"
                               or (expecting != APPOINTMENT and _search(TIMELINE_PHRASE, t))):
        # unasked, a timeline needs a whole phrase ("in about three months", "next spring"): a
        # lone season or month word is too often a misrecognised name or filler
        out.slots["timeline_months"] = SlotValue(months, 0.85 if timeline_cue else 0.6)

    money_cue = _search(r"\b(budget|thousand|million|k|grand|dollars|price|afford|\$)|\$\d", t)
    if money_cue or expecting == "budget_usd":
        money = parse_money_usd(t, asked=expecting == "budget_usd")
        if money is not None and not (expecting != "budget_usd" and "timeline_months" in out.slots and not money_cue):
            out.slots["budget_usd"] = SlotValue(money, 0.85 if money_cue else 0.6)

    _financing(t, expecting, out)

    for value, pattern in PROPERTY_TYPES.items():
        # "home" and "house" are said about everything ("he's not home"): a type only when asked
        # for, or said as the thing wanted ("a house", "single family")
        if _search(pattern, t) and (value != "house" or expecting == "property_type"
                                    or _search(r"\b(a|an) (\w+ ){0,2}(house|home)\b|\bsingle family\b", t)):
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
