"""Timelines from speech, in months from today.

:func:`parse_duration` reads a point, a range or a bound (:class:`DurationRange`),
:func:`parse_duration_months` one number. Counts of days, weeks, months and years ("six or seven
weeks") and years said as years ("by 2028") are read here, calendar dates by
:mod:`reauto.agent.numbers.dates`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reauto.agent.numbers.amounts import Amount, plain_number, read_amounts
from reauto.agent.numbers.dates import Found, Today, calendar_anchors
from reauto.agent.numbers.kinds import TIME_UNITS, chains_of, correction_cut, kind_of


@dataclass(frozen=True)
class DurationRange:
    """A timeline in months from today: a point (low == high), a range, or a single bound."""

    low: float | None
    high: float | None

    @property
    def point(self) -> float | None:
        if self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        return self.low if self.low is not None else self.high


_ASAP = re.compile(r"\b(asap|a s a p|right away|immediately|as soon as possible|as soon as we can|"
                   r"as quick as possible|as fast as possible)\b")
#: Said with no other time, these are now too; beside one ("we rent right now but…") they are not.
_ALREADY = re.compile(
    r"\b(this week|already|this weekend|any day now|right now|the sooner the better|as soon as)\b|"
    r"^now\b|\b(like|ready|basically|pretty much|literally|honestly|even|move|moving|buy|buying|sell|selling|list|"
    r"listing|go|going|start|starting|looking|do it|in) now\b(?! that)|"
    r"\b(like|needed|need|needs|wanted|want|should|should've|ideally|by|done)\b.*\byesterday\b|"
    r"^(tomorrow|today)\b|\b(like|by|move|moving|close|closing|ready|even|as early as|start|starting) "
    r"(tomorrow|today)\b")
#: A day said about a call ("call me tomorrow") is no timeline.
_ABOUT_A_CALL = re.compile(r"\b(call|calling|talk|phone|ring|text|email|reach|busy|get back)\b")
_VAGUE = re.compile(r"\b(not sure|no idea|just looking|don'?t know|dont know|no rush|no hurry|not in a (big )?"
                    r"(hurry|rush)|someday|some day|eventually|whenever|no time ?frame|no timeline|hard to say|"
                    r"who knows|depends|not decided|haven'?t decided|one of these days)\b|(?<!\bin )(?<!within )"
                    r"\bone day\b")
_PAST_BEFORE = {"been", "lived", "living", "owned", "past", "last", "for", "spent", "rented", "renting"}
_FUTURE_BEFORE = {"in", "within", "another", "next", "about", "around", "maybe", "roughly", "probably", "than",
                  "least", "under", "over", "to", "or"}
_DURATION_HIGH = re.compile(r"\b(within|in the next|less than|under|no more than|up to|before|no later than|"
                            r"not more than|inside of|at most|at the most)\s*$")
_DURATION_LOW = re.compile(r"\b(at least|more than|over|not for another|not for|after|not before|not until|"
                           r"no sooner than|no earlier than|longer than)\s*(another\s*)?$")
_QUANTITY_WORDS = {"couple": 2.0, "few": 3.0, "several": 4.0, "dozen": 12.0}
#: Words between "a" and a unit that leave it one: "a good year", "a full month".
_ONE_UNIT_ADJECTIVES = {"good", "full", "solid", "whole", "short", "long", "single"}
#: Words after a unit that say the other end of a range: "a month or two", "a year and a half maybe two".
_OTHER_END = {"or", "to", "maybe", "possibly", "perhaps"}


def _unit_durations(tokens: Sequence[str], found: Sequence[Amount]) -> list[Found]:
    """Counts of days, weeks, months and years: "six or seven weeks", "a year and a half"."""
    out: list[Found] = []
    chains = chains_of(tokens, found)
    ending = {c.end: c for c in chains}
    for u, tok in enumerate(tokens):
        factor = TIME_UNITS.get(tok)
        if factor is None:
            continue
        chain = ending.get(u)
        start = u
        if chain is not None:
            if chain.first.band is not None:
                continue
            low, high, start = chain.first.value, chain.last.value, chain.start
        elif u >= 2 and tokens[u - 1] in _ONE_UNIT_ADJECTIVES and tokens[u - 2] in {"a", "an", "one"}:
            low = high = 1.0
            start = u - 2
        elif u >= 1 and tokens[u - 1] in {"a", "an", "one"}:
            if u >= 2 and (tokens[u - 2] == "half" or ending.get(u - 1) is not None):
                if tokens[u - 2] != "half":
                    continue  # "two thousand a month": a rate, not a duration
                low = high = 0.5
                start = u - 2
            else:
                low = high = 1.0
                start = u - 1
        elif u >= 2 and tokens[u - 1] == "half" and tokens[u - 2] in {"a", "an"}:
            low = high = 0.5
            start = u - 2
        elif u >= 1 and (tokens[u - 1] in _QUANTITY_WORDS or
                         (u >= 2 and tokens[u - 1] == "of" and tokens[u - 2] in _QUANTITY_WORDS)):
            word = tokens[u - 1] if tokens[u - 1] in _QUANTITY_WORDS else tokens[u - 2]
            low = high = _QUANTITY_WORDS[word]
            start = u - (1 if tokens[u - 1] in _QUANTITY_WORDS else 2)
        else:
            continue
        end = u + 1
        if tokens[end:end + 3] == ["and", "a", "half"]:
            low, high, end = low + 0.5, high + 0.5, end + 3
        # "a month or two", "a week or so": the other end said after the unit
        if end + 1 < len(tokens) and tokens[end] in _OTHER_END:
            nxt = tokens[end + 1]
            other = plain_number(nxt)
            if other is not None and (end + 2 >= len(tokens) or tokens[end + 2] not in TIME_UNITS):
                high = max(high, other[0])
        before = list(tokens[max(0, start - 3):start])
        after = tokens[end:end + 2]
        if after[:1] in (["ago"], ["old"], ["back"]) or before[-1:] in (["every"], ["each"], ["per"]):
            continue
        if "times" in before[-2:]:
            continue  # "three times in five years": how often, not when
        future = (before[-1:] and before[-1] in _FUTURE_BEFORE) or "not" in before
        if set(before) & _PAST_BEFORE and not future and not set(after) & {"more", "left", "from", "away"}:
            continue
        if low > high:
            low, high = high, low
        bound = None
        text_before = " ".join(tokens[max(0, start - 4):start])
        if _DURATION_HIGH.search(text_before):
            bound = "high"
        elif _DURATION_LOW.search(text_before) or tokens[end:end + 2] in (["or", "more"], ["or", "longer"]):
            bound = "low"
        out.append(Found(start, round(low * factor, 2), round(high * factor, 2), bound))
    return out


def _merged(tokens: Sequence[str], found: list[Found]) -> list[Found]:
    """ "six months to a year", "march or april": two times joined by "to"/"or" are one range."""
    out: list[Found] = []
    for item in found:
        if out:
            prev = out[-1]
            gap = tokens[prev.start:item.start]
            if 2 <= len(gap) <= 6 and ("to" in gap or "or" in gap) and gap[-1] in {"to", "or", "a", "an"} | \
                    set(_QUANTITY_WORDS) or (gap[-2:-1] in (["to"], ["or"]) and len(gap) <= 4):
                out[-1] = Found(prev.start, min(prev.low, item.low), max(prev.high, item.high))
                continue
        out.append(item)
    return out


def _year_anchors(tokens: Sequence[str], found: Sequence[Amount], today: Today) -> list[Found]:
    """ "in twenty twenty seven", "by 2028": a year said as a year."""
    out: list[Found] = []
    this_year = today.day.year if today.day else None
    for chain in chains_of(tokens, found):
        if chain.first is not chain.last or kind_of(tokens, chain) != "year" or this_year is None:
            continue
        year = int(chain.first.value)
        if not this_year <= year <= this_year + 10:
            continue
        prev = tokens[chain.start - 1] if chain.start else ""
        month, day = (1, 1) if prev in {"by", "before", "until", "till", "early"} else (
            (12, -1) if prev in {"late", "end"} else (6, None))
        out.append(Found(chain.start, *(today.until(year - this_year, month, day),) * 2))
    return out


def parse_duration(text: str, today_month: int | None = None, *, today: date | None = None) -> DurationRange | None:
    """How many months away a timeline answer is, as a range: "six or seven weeks" → 1.5 to 1.75.

    Args:
        text: the recognised words.
        today_month: the current month (1–12); calendar answers ("next spring") count whole months.
        today: the current date; calendar answers count days (``today_month`` is then ignored).
            With neither, today's date.

    "asap" and "right away" are 0; "not sure", "no rush" and "someday" are None unless a time is
    said as well. "Within six months" is a range with only a high end, "at least a year" one with
    only a low end. Of several times, the first said counts, after the last correction ("three no
    wait four months").
    """
    reading = read_amounts(text)
    joined = " ".join(reading.tokens)
    if _ASAP.search(joined):
        return DurationRange(0.0, 0.0)
    when = Today(today, today.month) if today is not None else Today(
        None, today_month) if today_month is not None else Today(date.today(), date.today().month)
    tokens = reading.tokens
    found = _unit_durations(tokens, reading.amounts)
    try:
        found += calendar_anchors(tokens, when) + _year_anchors(tokens, reading.amounts, when)
    except (ValueError, OverflowError):  # a date past the calendar's last year: no calendar answer
        pass
    # "april nope may", "six months actually closer to a year": what is said after the last
    # correction counts
    cut = correction_cut(tokens, [f.start for f in found] + [a.start for a in reading.amounts])
    tail = [a for a in reading.amounts if a.start >= cut]
    found = _merged(tokens, sorted((f for f in found if f.start >= cut), key=lambda f: f.start))
    if cut and not found:
        # "four months no actually six": the corrected number keeps the unit said before it
        units = [t for t in tokens[:cut] if t in TIME_UNITS]
        if units and tail:
            value = tail[0].value * TIME_UNITS[units[-1]]
            found = [Found(tail[0].start, round(value, 2), round(value, 2))]
    if not found:
        if _ALREADY.search(joined) and not _VAGUE.search(joined) and not _ABOUT_A_CALL.search(joined):
            return DurationRange(0.0, 0.0)
        return None
    first = min(found, key=lambda f: f.start)
    if first.bound == "high":
        return DurationRange(None, first.high)
    if first.bound == "low":
        return DurationRange(first.low, None)
    return DurationRange(first.low, first.high)


def parse_duration_months(text: str, today_month: int | None = None, *, today: date | None = None) -> float | None:
    """How many months away a timeline answer is ("about three months", "next spring").

    The middle of a range ("six or seven weeks" → 1.62), the bound of a bound ("within a year" → 12).
    See :func:`parse_duration` for the arguments.
    """
    found = parse_duration(text, today_month, today=today)
    if found is None:
        return None
    point = found.point
    return None if point is None else round(point, 2)
