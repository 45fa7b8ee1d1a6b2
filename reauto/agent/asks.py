"""What an agent's line asks: the slot a question is about, so a reworded line can be checked.

The LLM brain lets the model word the line the scripted flow planned. A reworded line that asks
about something else (the timeline while the plan asks the intent) would move the call off its
script: the lead answers a question the flow did not ask, and the flow asks its own next. This
module reads the question sentences of a line and tells which slots they are about, from the words
such questions use; a campaign's own slot is recognised by the content words of the campaign's
question for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from reauto.agent.sentences import sentences

#: Words by which a question is about each known slot.
SLOT_CUES: Mapping[str, str] = {
    "intent": r"\b(buy|buying|sell|selling|purchase|purchasing|list|listing|rent|renting|looking for|in the market|"
              r"plans? for (your|the) (home|house|property))\b",
    "timeline_months": r"\b(when|timeline|time ?frame|how soon|how long|move|moving|by when|what time of year|date|"
                       r"planning to make)\b",
    "budget_usd": r"\b(budget|price|price range|spend|afford|how much|range|cost|comfortable paying|looking to pay|"
                  r"asking)\b",
    "preapproved": r"\b(pre ?approv\w*|approv\w*|mortgage|lender|loan|financ\w*|cash|bank)\b",
    "financing": r"\b(financ\w*|mortgage|cash|loan|lender|pay for)\b",
    "property_type": r"\b(kind of (home|house|property|place)|type of (home|house|property|place)|condo|townhouse|"
                     r"single family|bedrooms?)\b",
    "location": r"\b(where|area|neighbou?rhood|city|town|location|part of town|zip)\b",
    "motivation": r"\b(why|reason|what('s| is) (prompting|driving|behind)|motivat\w*)\b",
}
_STOP = frozenset("a an the and or to of for in on at you your are is do does what how would will we i it "
                  "that this have has with be can could about any already".split())


def questions(line: str) -> list[str]:
    """The sentences of ``line`` that are questions."""
    return [s for s in sentences(line) if s.rstrip().endswith("?")]


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP and len(w) > 2}


def asks_about(line: str, slot: str, planned: str = "") -> bool:
    """Whether ``line`` asks about ``slot`` (the planned question is ``planned``) and about no
    other known slot in its last question."""
    asked = questions(line)
    if not asked:
        return False
    # a leading subordinate clause ("when you buy, what price range …") is not what is asked
    last = re.sub(r"^(when|if|once|as|since|while|before|after)\b[^,]*,\s*", "", asked[-1].lower())
    cue = SLOT_CUES.get(slot)
    if cue is not None:
        if not re.search(cue, last):
            return False
    else:
        shared = _content_words(last) & _content_words(planned)
        if not shared:
            return False
    others = [s for s, c in SLOT_CUES.items() if s != slot and not _related(s, slot) and re.search(c, last)]
    # a question can name another slot in passing ("when" in "when you buy"): only one that the
    # planned question itself does not touch counts against it
    planned_l = planned.lower()
    return not [s for s in others if not re.search(SLOT_CUES[s], planned_l) and _only_about(last, s, slot)]


def _related(a: str, b: str) -> bool:
    return {a, b} <= {"preapproved", "financing"}


def _only_about(question: str, other: str, slot: str) -> bool:
    """``other``'s cue is in ``question`` more strongly than ``slot``'s: it leads the question."""
    first_other = re.search(SLOT_CUES[other], question)
    mine = SLOT_CUES.get(slot)
    first_mine = re.search(mine, question) if mine else None
    return first_other is not None and (first_mine is None or first_other.start() < first_mine.start())


def offers_kept(line: str, offers: list[str]) -> bool:
    """Whether a reworded booking line still names each offered time (day and hour)."""
    said = line.lower()
    for offer in offers:
        words = re.findall(r"[a-z0-9]+", offer.lower())
        day = words[0] if words else ""
        hour = next((w for w in words if w.isdigit()), "")
        if day not in said or (hour and not re.search(rf"\b{hour}\b", said)):
            return False
    return True
