"""Times of day a lead names, allows or rules out ("at two", "after five", "not at ten", "mornings").

A number that counts the offers ("either of the two", "those two", "whichever one") is no time, and
"first thing" is the morning, before 11:00."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from reauto.agent.when.days import NEGATE_AFTER, NEGATE_BEFORE, Days

_CLOCK = re.compile(
    r"(?<![\w.])(?:(?P<half>half|quarter) (?P<rel>past|after|to|till|of) (?P<qh>\d{1,2})|(?P<h>\d{1,2})"
    r"(?: (?P<m>[0-5]\d)| oh (?P<m1>\d))?)(?![\w.])(?: ?(?P<ampm>am|pm|a m|p m|o'clock|oclock|in the morning|"
    r"in the afternoon|in the evening|at night|tonight|this afternoon|this evening|this morning))?|"
    r"\b(?P<noon>noon|midday|lunch ?time|lunch)\b")
_NOT_A_TIME_AFTER = re.compile(r"^\s*(days?|weeks?|months?|years?|hours?|minutes?|mins?|people|of|st|nd|rd|th|"
                               r"bedrooms?|percent|times|kids|more|or so)\b")
#: Words before a bare number that make it a count of the offers: "either of the two", "all three".
_COUNT_BEFORE = re.compile(r"\b(of|both|all) (the\s*)?$|\b(those|these)\s*$")
#: Words before "one" that make it the pronoun ("whichever one", "that one"), not one o'clock.
_ONE_BEFORE = re.compile(r"\b(whichever|which|that|this|each|every|any|either|no|other|same|good|\d+(st|nd|rd|th))\s*$")
_AFTER_WORDS = re.compile(r"\b(after|past|not before|no earlier than|(?<!no )(?<!not )later than|any ?time after|"
                          r"anytime after|sometime after|starting at|starting from)\s*(like\s*|about\s*|around\s*)?$")
_BEFORE_WORDS = re.compile(r"\b(before|by|until|till|til|no later than|not after|earlier than|up to|up until)\s*"
                           r"(like\s*|about\s*|around\s*)?$")
_NOT_AT_WORDS = re.compile(r"\b(not at|not|but not|except|anything but|other than|can'?t do|cannot do|not around)\s*"
                           r"(at\s*)?$")


#: Words just before a bare number that make it a time: "at two", "let's say ten", "around four".
_TIME_BEFORE = re.compile(r"\b(at|say|around|about|like|by|after|before|till|til|until|from|between|past|than|"
                          r"starting|maybe|how about|what about|any ?time|but|or|except|not|is)\s*$")
#: Words just after a bare number that make it a time: "ten's fine", "two works", "two or three".
_TIME_AFTER = re.compile(r"^\s*('?s\b|is\b|works?\b|would\b|sounds?\b|should\b|could\b|will\b|please\b|then\b|"
                         r"or\b|to\b|till\b|until\b|and later|sharp\b|ish\b|is fine|on\b|$)")
#: An answer this short is a time when it says a bare number ("uh ten", "two").
_SHORT = 3


def _said_as_time(m: re.Match[str], text: str) -> bool:
    """Whether a number is said as a time: with minutes or a marker, next to a word that makes it
    one, or as almost the whole answer. Misheard speech is full of stray numbers ("one and two he
    kept"), and a stray one must not pick the offer at that hour."""
    if not m.group("h") or m.group("m") or m.group("m1") or m.group("ampm"):
        return True
    before, after = text[max(0, m.start() - 20):m.start()], text[m.end():m.end() + 20]
    return bool(_TIME_BEFORE.search(before) or _TIME_AFTER.match(after)) or len(text.split()) <= _SHORT


@dataclass
class Times:
    """The times of day an answer names, allows or rules out, and the parts of the day it asks for."""

    at: time | None = None
    after: time | None = None
    before: time | None = None
    not_at: set[time] = field(default_factory=set)
    part: str | None = None
    parts: set[str] = field(default_factory=set)


def _part_words(text: str) -> tuple[set[str], set[str]]:
    """Parts of the day asked for and parts ruled out."""
    wanted: set[str] = set()
    refused: set[str] = set()
    words = {"morning": "morning", "mornings": "morning", "afternoon": "afternoon", "afternoons": "afternoon",
             "evening": "evening", "evenings": "evening", "tonight": "evening", "night": "evening",
             "after work": "evening", "1st thing": "morning", "first thing": "morning"}
    for m in re.finditer(r"\b(mornings?|afternoons?|evenings?|tonight|night|after work|(1st|first) thing)\b", text):
        part = words[m.group(1)]
        before = re.sub(r"\s(in|the|in the)\s*$", " ", text[max(0, m.start() - 25):m.start()])
        if NEGATE_BEFORE.search(before) or re.search(r"\bno\s*$", before) or \
                NEGATE_AFTER.search(text[m.end():m.end() + 30]):
            refused.add(part)
        else:
            wanted.add(part)
    return wanted, refused


def _hour(h: int, minute: int, marker: str | None, parts: set[str]) -> time | None:
    if h > 23 or minute > 59:
        return None
    if h > 12 or h == 0:
        return time(h, minute)
    marker = (marker or "").replace(" ", "")
    if marker in {"am", "inthemorning", "thismorning"}:
        return time(h % 12, minute)
    if marker in {"pm", "intheafternoon", "intheevening", "atnight", "tonight", "thisafternoon", "thisevening"}:
        return time(h % 12 + 12, minute)
    if parts == {"morning"}:
        return time(h % 12, minute)
    if parts and parts <= {"afternoon", "evening"}:
        return time(h % 12 + 12, minute)
    if h == 12:
        return time(12, minute)
    # business hours: "at two" is 14:00, "at nine" 09:00
    return time(h + 12, minute) if 1 <= h <= 7 else time(h, minute)


def _clock_value(m: re.Match[str], text: str, wanted: set[str]) -> time | None:
    """The time of day one clock match says, or None where it is no time ("two weeks")."""
    if m.group("noon"):
        return time(12)
    if m.group("half"):
        base = _hour(int(m.group("qh")), 0, None, wanted)
        if base is None:
            return None
        minutes = timedelta(minutes=30 if m.group("half") == "half" else 15)
        stamp = datetime.combine(date(2000, 1, 2), base)
        return (stamp + minutes if m.group("rel") in {"past", "after"} else stamp - minutes).time()
    if _NOT_A_TIME_AFTER.search(text[m.end():m.end() + 12]) and not m.group("ampm"):
        return None
    if _COUNT_BEFORE.search(text[max(0, m.start() - 20):m.start()]) and not m.group("ampm"):
        return None  # "any of the two", "both the two": how many offers, not a time
    if m.group("h") == "1" and not m.group("ampm") and _ONE_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
        return None  # "whichever one", "that one": the pronoun
    if not _said_as_time(m, text):
        return None  # "my partner deals with one and two of them": a bare number inside other talk
    h, minute = int(m.group("h")), int(m.group("m") or m.group("m1") or 0)
    if h > 12 and not m.group("m"):
        return None
    return _hour(h, minute, m.group("ampm"), wanted)


_NOT_AT_AFTER = re.compile(r"^\s*(doesn'?t|does not|won'?t|is bad|is out)")
_LATER_AFTER = re.compile(r"^\s*(or later|or after|and later|onwards?|on out)\b")
_EARLIER_AFTER = re.compile(r"^\s*(or earlier|or before|at the latest)\b")
_RANGE_START = re.compile(r"\b(between|from)\s*(like\s*|about\s*|around\s*)?$")
_RANGE_END = re.compile(r"\b(between|from)\b[^.]{0,20}\b(and|to|till|until)\s*$")


def _clock_role(before: str, after: str, have_start: bool) -> str:
    """What a time said is to the lead: ``not_at``, ``after``, ``before`` or ``at``."""
    if _NOT_AT_WORDS.search(before) or _NOT_AT_AFTER.match(after):
        return "not_at"
    if _AFTER_WORDS.search(before) or _LATER_AFTER.match(after) or _RANGE_START.search(before):
        return "after"
    if _BEFORE_WORDS.search(before) or _EARLIER_AFTER.match(after) or (have_start and _RANGE_END.search(before)):
        return "before"
    return "at"


def read_times(text: str, days: Days) -> Times:
    """The times of day in ``text``; numbers already read as days (``days``) are no times."""
    out = Times()
    wanted, refused = _part_words(text)
    for m in _CLOCK.finditer(text):
        core = m.span("h") if m.group("h") else m.span("qh") if m.group("half") else m.span("noon")
        if not days.free(*core):
            continue
        before = text[max(0, m.start() - 30):m.start()]
        if (m.group("noon") or "").startswith("lunch") and _AFTER_WORDS.search(before):
            out.after = time(13)  # "after lunch"
            continue
        value = _clock_value(m, text, wanted)
        if value is None:
            continue
        role = _clock_role(before, text[m.end():m.end() + 25], out.after is not None)
        if role == "not_at":
            out.not_at.add(value)
        elif role == "at":
            out.at = out.at or value
        else:
            setattr(out, role, value)
    _fixed_times(text, out)
    if "morning" in refused and out.after is None:
        out.after = time(12)
    if "evening" in refused and out.before is None:
        out.before = time(17)
    if "afternoon" in refused and "morning" in wanted and out.before is None:
        out.before = time(12)
    out.parts = wanted
    out.part = next(iter(wanted)) if len(wanted) == 1 else None
    return out


def _fixed_times(text: str, out: Times) -> None:
    """Times said as words: "first thing", "end of the day", "after lunch", "late afternoon"."""
    rules: list[tuple[str, str, time]] = [
        (r"\b(first|1st) thing\b", "before", time(11)),  # the morning's first hours of business
        (r"\b(end of the day|late in the day|end of day)\b", "after", time(16)),
        (r"\bafter work\b", "after", time(17)),
        (r"\bbefore work\b", "before", time(9)),
        (r"\bbefore lunch\b", "before", time(12)),
        (r"\blate afternoon\b", "after", time(15)),
        (r"\bearly afternoon\b", "before", time(15)),
        (r"\blate morning\b", "after", time(10)),
        (r"\bearly (in the )?morning\b", "before", time(10)),
        (r"\bearly evening\b", "before", time(19)),
    ]
    for pattern, slot, value in rules:
        if re.search(pattern, text) and getattr(out, slot) is None:
            setattr(out, slot, value)
