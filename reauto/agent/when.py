"""A lead's answer to offered appointment times, read as data.

The agent asks "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?"; the answer comes back
from the recogniser in lower case, without punctuation, numbers in words ("thursday around three
thirty", "sure but not this week"). :func:`read_preference` turns it into a
:class:`TimePreference` relative to ``now`` (aware, in the lead's time zone), and :func:`matching`
picks the free slots that fit it.

Dates and times are read by the rules here, not by a date library. On the 36 phone-style phrases of
tests/test_when.py (``LIBRARY_PHRASES``; now = Monday 2026-11-23 09:00 America/Chicago) dateparser
1.5 ``parse`` read 8 (11 with the numbers first written in digits), its ``search_dates`` 12 (15),
parsedatetime 2.6 16 (19): "at two" without "pm" comes back as 09:00 or a date in February, "next
tuesday" as tomorrow, "wednesday at ten" as 23 October, and none of them says what a lead ruled out
("not this week", "but not at two") or allows ("after five", "monday or tuesday"). The rules below
read all 36 (they were written with these phrases in view; the other tables there check them).

A person's rules, which these follow: an hour said alone from 1 to 7 is in the afternoon ("at two" →
14:00) unless "morning" or "am" is said, 8 to 11 in the morning; days already past ("i was out
yesterday") say nothing; an acceptance whose own condition rules an offer out ("wednesday but not at
two") accepts nothing; "either", "whichever", "doesn't matter" accept both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from reauto.agent.numbers.dates import MONTHS
from reauto.agent.numbers.words import spoken_digits

Accept = Literal["first", "second", "either", "none"]
Part = Literal["morning", "afternoon", "evening"]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: How far ahead "mondays", "weekdays" or "any weekend" reach.
HORIZON_DAYS = 28
#: Where each part of the day starts and ends, for matching slots.
PARTS: dict[str, tuple[time, time]] = {"morning": (time(5), time(12)), "afternoon": (time(12), time(17)),
                                       "evening": (time(17), time(23, 59))}


@dataclass(frozen=True)
class TimePreference:
    """What a lead said about when to meet.

    Attributes:
        accept: about the offers made: ``first``, ``second``, ``either``, ``none`` (declined, or
            every offer it accepted is ruled out by its own condition), or None (not said).
        days: days they named or allowed ("thursday", "tomorrow", "next week").
        not_days: days they ruled out ("not this week", "not monday").
        after, before, at: times of day ("after five", "before noon", "at two"), in their zone.
        part: part of the day they asked for.
        conditional: an acceptance with a condition ("sure, but not this week").
        chosen: the offers accepted, as offered.
        not_at: times ruled out ("wednesday but not at two").
        zone: the lead's time zone; days and times are local to it.
    """

    accept: Accept | None = None
    days: frozenset[date] = frozenset()
    not_days: frozenset[date] = frozenset()
    after: time | None = None
    before: time | None = None
    at: time | None = None
    part: Part | None = None
    conditional: bool = False
    chosen: tuple[datetime, ...] = ()
    not_at: frozenset[time] = frozenset()
    zone: tzinfo | None = field(default=None, compare=False)

    @property
    def constrained(self) -> bool:
        """Whether it says anything about days or times of its own."""
        return bool(self.days or self.not_days or self.after or self.before or self.at or self.part or self.not_at)


# --- days ------------------------------------------------------------------------------------------
_NEGATE_BEFORE = re.compile(r"(\bnot|\bexcept|\bbut not|\banything but|\bany (day|time) but|\banytime but|"
                            r"\bevery day but|\bother than|\bcan'?t do|\bcannot do|"
                            r"\bcan'?t make|\bcan'?t|\bcannot|\bbusy|\bout|\baway|\bwork|\bworking|\bbooked)"
                            r"\s*(on\s*)?(the\s*)?$")
_NEGATE_AFTER = re.compile(r"^\s*(is |are |'s |s )?(doesn'?t|does not|don'?t|do not|won'?t|will not|wouldn'?t|"
                           r"isn'?t|is not|are not|aren'?t)\s*(work|good|great|possible|going to work)|"
                           r"^\s*(is|are|'s|s)\s*(bad|out|no good|tough|hard|booked|busy|full|impossible|"
                           r"not good|terrible)\b|^\s*i'?m (busy|out|away|working)\b|^\s*(is|are) out\b|"
                           r"^\s*(is|are)? ?off the table\b")


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=k) for k in range((last - first).days + 1)}


@dataclass
class _Days:
    """Day mentions found so far and the text they used up."""

    today: date
    allowed: set[date] = field(default_factory=set)
    ruled_out: set[date] = field(default_factory=set)
    past: bool = False
    claimed: list[tuple[int, int]] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e in self.claimed)

    def add(self, text: str, start: int, end: int, found: Iterable[date]) -> None:
        self.claimed.append((start, end))
        days = set(found)
        future = {d for d in days if d >= self.today}
        if days and not future:
            self.past = True
            return
        negated = bool(_NEGATE_BEFORE.search(text[max(0, start - 25):start])) or bool(
            _NEGATE_AFTER.search(text[end:end + 30]))
        (self.ruled_out if negated else self.allowed).update(future)


def _weekday(name: str, mod: str | None, today: date) -> date:
    target = WEEKDAYS.index(name)
    ahead = (target - today.weekday()) % 7
    if mod in {"next", "a week from"}:
        return _week_start(today) + timedelta(days=7 + target) if mod == "next" else today + timedelta(
            days=(ahead or 7) + 7)
    if mod == "last":
        return today - timedelta(days=(today.weekday() - target) % 7 or 7)
    if mod == "this" and ahead == 0:
        return today
    return today + timedelta(days=ahead or 7)


_DAY_PATTERNS: list[tuple[str, str]] = [
    ("after_tomorrow", r"\b(the )?day after tomorrow\b"),
    ("tomorrow", r"\b(tomorrow|tmrw|tomorow)\b"),
    ("yesterday", r"\b(yesterday|the other day|last night|earlier today)\b"),
    ("week_from", r"\b(a|one) week from (today|now|tomorrow)\b|\bin a week\b"),
    ("today", r"\b(today|tonight|this (morning|afternoon|evening)|later today)\b"),
    ("in_days", r"\bin (a couple of|a couple|a few|\d{1,2}) days\b"),
    ("date", rf"\b(?P<dm>{'|'.join(MONTHS)}) (the )?(?P<dd>\d{{1,2}})(st|nd|rd|th)?\b"
             rf"|\bthe (?P<od>\d{{1,2}})(st|nd|rd|th)( of (?P<om>{'|'.join(MONTHS)}))?\b"),
    ("week", r"\b(?P<wmod>early|later|late|end of|the end of|rest of|beginning of|start of|sometime|any day)?"
             r" ?(?P<wrel>this|next|the following|the) (?P<wk>week|weekend)\b(?! from)"),
    ("weekend", r"\b(on )?(the )?weekends?\b"),
    ("weekdays", r"\b(weekdays|during the week|any weekday|on weekdays|a weekday)\b"),
    ("weekday", rf"\b(?P<mod>this coming|this|next|coming|last|a week from) ?(?P<wd>{'|'.join(WEEKDAYS)})\b"
                rf"|\b(?P<wd2>{'|'.join(WEEKDAYS)})(?P<pl>s)?\b(?P<after> after next)?"),
]


def _read_days(text: str, today: date) -> _Days:
    found = _Days(today)
    for kind, pattern in _DAY_PATTERNS:
        for m in re.finditer(pattern, text):
            if not found.free(m.start(), m.end()):
                continue
            days = _days_of(kind, m, today, text)
            if days is None:
                continue
            found.add(text, m.start(), m.end(), days)
    return found


def _days_of(kind: str, m: re.Match[str], today: date, text: str) -> set[date] | None:
    if kind == "after_tomorrow":
        return {today + timedelta(days=2)}
    if kind == "tomorrow":
        return {today + timedelta(days=1)}
    if kind == "yesterday":
        return {today - timedelta(days=1)}
    if kind == "today":
        return {today}
    if kind == "week_from":
        return {today + timedelta(days=8 if m.group(0).endswith("tomorrow") else 7)}
    if kind == "in_days":
        n = {"a couple of": 2, "a couple": 2, "a few": 3}.get(m.group(1)) or int(m.group(1))
        return {today + timedelta(days=n)}
    if kind == "date":
        return _date_of(m, today, text)
    if kind == "week":
        return _week_of(m, today)
    if kind == "weekend":
        days = {today + timedelta(days=k) for k in range(HORIZON_DAYS) if (today + timedelta(days=k)).weekday() >= 5}
        return days if m.group(0).endswith("s") else {d for d in days if d < _week_start(today) + timedelta(days=7)}
    if kind == "weekdays":
        return {today + timedelta(days=k) for k in range(HORIZON_DAYS) if (today + timedelta(days=k)).weekday() < 5}
    name = m.group("wd") or m.group("wd2")
    if re.match(rf"\s*(the\s*)?(\d{{1,2}}(st|nd|rd|th)\b|{'|'.join(MONTHS)})", text[m.end():]):
        return None  # "tuesday december 1st", "friday the 4th": the date says which
    if m.group("pl"):
        return {today + timedelta(days=k) for k in range(HORIZON_DAYS)
                if (today + timedelta(days=k)).weekday() == WEEKDAYS.index(name)}
    day = _weekday(name, m.group("mod"), today)
    if m.group("after"):
        day = _weekday(name, "next", today) + timedelta(days=7)
    return {day}


def _date_of(m: re.Match[str], today: date, text: str) -> set[date] | None:
    month_name = m.group("dm") or m.group("om")
    number = int(m.group("dd") or m.group("od"))
    if month_name is None:
        # "the 1st one", "the 2nd": the offers, unless a day of the month is plainly meant
        if number <= 2 and not re.search(r"\bon\s*$", text[:m.start()]):
            return None
        if re.match(r"\s*(one|option|time|slot|choice)\b", text[m.end():]):
            return None
    if not 1 <= number <= 31:
        return None
    for months_ahead in range(13):
        year, month = today.year + (today.month - 1 + months_ahead) // 12, (today.month - 1 + months_ahead) % 12 + 1
        if month_name is not None and month != MONTHS.index(month_name) + 1:
            continue
        try:
            day = date(year, month, number)
        except ValueError:
            continue
        if day >= today or (month_name is not None and months_ahead == 0):
            return {day}
    return None


def _week_of(m: re.Match[str], today: date) -> set[date] | None:
    rel, unit, mod = m.group("wrel"), m.group("wk"), (m.group("wmod") or "").replace("the ", "")
    if rel == "the" and not mod:
        return None
    start = _week_start(today) + timedelta(days=7 if rel in {"next", "the following"} else 0)
    if unit == "weekend":
        return {start + timedelta(days=5), start + timedelta(days=6)}
    days = _span(start, start + timedelta(days=6))
    if mod in {"early", "beginning of", "start of"}:
        days = {start, start + timedelta(days=1), start + timedelta(days=2)}
    elif mod in {"later", "late", "end of"}:
        days = {start + timedelta(days=k) for k in (3, 4)}
        if mod == "later" and rel == "this":
            days = {d for d in _span(start, start + timedelta(days=6)) if d > today}
    return {d for d in days if d >= today}


# --- times -----------------------------------------------------------------------------------------
_CLOCK = re.compile(
    r"(?<![\w.])(?:(?P<half>half|quarter) (?P<rel>past|after|to|till|of) (?P<qh>\d{1,2})|(?P<h>\d{1,2})"
    r"(?: (?P<m>[0-5]\d)| oh (?P<m1>\d))?)(?![\w.])(?: ?(?P<ampm>am|pm|a m|p m|o'clock|oclock|in the morning|"
    r"in the afternoon|in the evening|at night|tonight|this afternoon|this evening|this morning))?|"
    r"\b(?P<noon>noon|midday|lunch ?time|lunch)\b")
_NOT_A_TIME_AFTER = re.compile(r"^\s*(days?|weeks?|months?|years?|hours?|minutes?|mins?|people|of|st|nd|rd|th|"
                               r"bedrooms?|percent|times|kids|more|or so)\b")
_AFTER_WORDS = re.compile(r"\b(after|past|not before|no earlier than|(?<!no )(?<!not )later than|any ?time after|"
                          r"anytime after|sometime after|starting at|starting from)\s*(like\s*|about\s*|around\s*)?$")
_BEFORE_WORDS = re.compile(r"\b(before|by|until|till|til|no later than|not after|earlier than|up to|up until)\s*"
                           r"(like\s*|about\s*|around\s*)?$")
_NOT_AT_WORDS = re.compile(r"\b(not at|not|but not|except|anything but|other than|can'?t do|cannot do|not around)\s*"
                           r"(at\s*)?$")


@dataclass
class _Times:
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
             "after work": "evening"}
    for m in re.finditer(r"\b(mornings?|afternoons?|evenings?|tonight|night|after work)\b", text):
        part = words[m.group(1)]
        before = re.sub(r"\s(in|the|in the)\s*$", " ", text[max(0, m.start() - 25):m.start()])
        if _NEGATE_BEFORE.search(before) or re.search(r"\bno\s*$", before) or \
                _NEGATE_AFTER.search(text[m.end():m.end() + 30]):
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


def _read_times(text: str, days: _Days) -> _Times:
    out = _Times()
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


def _fixed_times(text: str, out: _Times) -> None:
    """Times said as words: "first thing", "end of the day", "after lunch", "late afternoon"."""
    rules: list[tuple[str, str, time]] = [
        (r"\b(first|1st) thing\b", "before", time(10)),
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


# --- the offers ------------------------------------------------------------------------------------
_EITHER = re.compile(r"\b(either|whichever|both|any of (them|those|these|the two)|doesn'?t matter|does not matter|"
                     r"don'?t care|dont care|no preference|whatever works|whatever is (easier|easiest|best|better)|"
                     r"whatever'?s (easier|easiest|best|better)|you (pick|choose|decide)|your (pick|choice|call)|"
                     r"any ?time|anytime|whenever|all good|they both|i'?m flexible|we'?re flexible|flexible)\b")
_AFFIRM = re.compile(r"(?<!\bnot )(?<!\bno )(?<!n't )\b(yes|yeah|yep|yup|yea|sure|ok|okay|sounds good|sounds great|"
                     r"that works|works for me|perfect|great|absolutely|definitely|of course|that'?s fine|"
                     r"that would work|that'?d work|let'?s do (it|that)|i'?ll take it|we'?ll take it|put me down|"
                     r"book it)\b")
_REJECT = re.compile(r"\b(neither|none of (those|them|these|that|the above)|nothing works|nope|no thanks|no thank you|"
                     r"not really|"
                     r"rather wait|rather not|hold off|not interested|not ready|not right now|not now|maybe later|"
                     r"another time|some other time|can'?t do (either|those|them|that|any)|"
                     r"(those|that|neither|them|both|these|none) (don'?t|doesn'?t|won'?t|wouldn'?t|do not|does not) "
                     r"work|(those|these|that|both) (are|is) (bad|no good|not good)|i'?ll pass|pass on|"
                     r"no can do|(both|either|those|these) (days|times|of (them|those|these))? ?(are|is|i'?m|we'?re)? ?"
                     r"(bad|no good|not good|out|booked|busy|slammed|full|tough|impossible)|can'?t (do|make) (either|"
                     r"both|any)|(neither|none) of (those|them|these|the)|not a chance|no way)\b|"
                     r"^(no|nah)\s*$|^(no|nah) (sorry|thanks|thank you|neither|none|those|that|not)\b")
_FIRST = re.compile(r"\b(the )?(1st|first)( one| option| time| slot| choice)?\b(?! of\b)|\bthe former\b|"
                    r"\bthe earlier( one| time| option)?\b|\b(the )?sooner( one)?\b|\b(the )?soonest\b|"
                    r"\b(the )?earliest\b|\bfirst available\b")
_SECOND = re.compile(r"(?<!\ba )(?<!\bone )\b(the )?(2nd|second)( one| option| time| slot| choice)?\b(?! of\b)|"
                     r"\bthe latter\b|\bthe later( one| time| option)?\b|\bthe last( one| option)?\b|\bthe other one\b|"
                     r"\b(the )?latest\b")
_CONDITION = re.compile(r"\b(but|except|unless|as long as|so long as|only if|provided|if|though|although|in theory|"
                        r"might (cancel|have to|not)|tentative(ly)?|pencil|not sure|i'?d have to check|have to check|"
                        r"let me check|scratch that|not ready to commit|possibly|probably|maybe|perhaps|"
                        r"let (you|ya) know|double check|i (do not|don'?t) know|not certain|might|get back to you|"
                        r"should be able)\b")
#: Being unavailable on the days named: "i'm busy both days", "we're out of town this week".
_UNAVAILABLE = re.compile(r"\b(busy|work|working|traveling|travelling|out of town|away|appointments?|booked|slammed|"
                          r"tied up|unavailable|crazy|swamped|not around|not free|not available|out)\b")
#: Words that accept, against which :data:`_UNAVAILABLE` is weighed.
_POSITIVE = re.compile(r"\b(works|that work|would work|work for (me|us)|good|fine|great|perfect|yes|yeah|sure|okay|"
                       r"ok|let'?s|book|take|free|open|available|better)\b")
#: Words that take back what came before them ("ten, hmm, actually no, two is better").
_TAKE_BACK = re.compile(r"\b(actually|no wait|wait no|i mean|scratch that|on second thought|make that|make it|"
                        r"well no|or rather|"
                        r"actually no|hmm no|no sorry|sorry no)\b")


def _ordinal_choice(text: str, days: _Days) -> set[int]:
    """Offers chosen by their place: "the first one", "the later one", "2nd works"."""
    chosen: set[int] = set()
    for pattern, index in ((_FIRST, 0), (_SECOND, 1)):
        for m in pattern.finditer(text):
            tail = text[m.end():m.end() + 25]
            if not days.free(m.start(), m.end()) or re.match(r"\s*(of|week|thing|time i|day)\b", tail):
                continue
            bare = m.group(0).strip() in {"1st", "first", "2nd", "second"}
            if bare and text.strip() != m.group(0).strip() and not re.match(
                    r"\s*(one|option|works|is|sounds|please|would be|that)\b", tail):
                continue  # "first" alone in a longer answer is seldom an offer
            chosen.add(index)
    return chosen


def _fits(pref: TimePreference, slot: datetime, *, ignore_days: bool = False) -> bool:
    local = slot.astimezone(pref.zone) if pref.zone is not None and slot.tzinfo is not None else slot
    day, clock = local.date(), local.time().replace(second=0, microsecond=0, tzinfo=None)
    if not ignore_days and pref.days and day not in pref.days:
        return False
    if day in pref.not_days or clock in pref.not_at:
        return False
    if pref.at is not None and clock != pref.at:
        return False
    if pref.after is not None and clock < pref.after:
        return False
    if pref.before is not None and clock >= pref.before:
        return False
    if pref.part is not None:
        low, high = PARTS[pref.part]
        if not low <= clock < high:
            return False
    return True


def read_preference(text: str, *, offers: Sequence[datetime], now: datetime) -> TimePreference:
    """What a lead's answer says about the offered times and about days and times in general.

    Args:
        text: the recognised words.
        offers: the times the agent offered, in the order it said them.
        now: the current time, aware and in the lead's time zone (days are counted in it).

    Never raises; an answer that says nothing about time is a preference with nothing in it.
    """
    try:
        return _read(text, offers, now)
    except (ValueError, OverflowError, TypeError):  # a date past the calendar's end, an odd ``now``
        return TimePreference(zone=now.tzinfo if isinstance(now, datetime) else None)


def _read(text: str, offers: Sequence[datetime], now: datetime) -> TimePreference:
    zone = now.tzinfo
    today = now.date()
    said = spoken_digits(text)
    taken_back = list(_TAKE_BACK.finditer(said))
    if taken_back and re.search(r"\w", said[taken_back[-1].end():]):
        tail = said[taken_back[-1].end():]
        if re.search(r"\d|\b(mon|tues|wednes|thurs|fri|satur|sun)day|first|second|other|either|both|neither|"
                     r"morning|afternoon|evening|tomorrow|week\b", tail):
            said = tail  # what was said after the correction stands
        else:
            said = f"{said} but"  # "the morning one, scratch that, i have a meeting": not an acceptance
    days = _read_days(said, today)
    times = _read_times(said, days)
    base = TimePreference(
        days=frozenset(days.allowed - days.ruled_out), not_days=frozenset(days.ruled_out), after=times.after,
        before=times.before, at=times.at, part=times.part,  # type: ignore[arg-type]
        not_at=frozenset(times.not_at), zone=zone)
    local = [o.astimezone(zone) if zone is not None and o.tzinfo is not None else o for o in offers]
    ordinals = {i for i in _ordinal_choice(said, days) if i < len(local)}
    if 1 in ordinals and len(local) > 2 and re.search(r"\bthe last\b", said):
        ordinals = (ordinals - {1}) | {len(local) - 1}
    either = bool(_EITHER.search(said))
    affirm = bool(_AFFIRM.search(said))
    hits: set[int] = set()
    for i, offer in enumerate(local):
        clock = offer.time().replace(second=0, microsecond=0, tzinfo=None)
        if offer.date() in base.days or (base.at is not None and clock == base.at):
            hits.add(i)
    if not hits and not base.days and base.at is None and times.parts:
        fitting = {i for i, o in enumerate(local) if any(
            PARTS[p][0] <= o.time().replace(tzinfo=None) < PARTS[p][1] for p in times.parts)}
        if 0 < len(fitting) < len(local):
            hits = fitting
    asked_for = ordinals or hits
    rejections = list(_REJECT.finditer(said))
    if _UNAVAILABLE.search(said) and not _POSITIVE.search(said) and not re.search(
            r"\b(yesterday|last (week|night|month)|was|were)\b", said):
        rejections.append(_UNAVAILABLE.search(said))  # type: ignore[arg-type]
    rejected = bool(rejections)
    # named explicitly: by its place, by either/yes, by its weekday or its hour; a broader span that
    # merely contains an offer ("later this week", "tomorrow morning") asks for a time, it accepts none
    named = bool(ordinals) or either or affirm or base.at is not None or any(
        re.search(rf"\b{o.strftime('%A').lower()}\b", said) for o in local)
    if not asked_for and (either or affirm) and not rejected:
        asked_for = set(range(len(local)))
    condition = bool(_CONDITION.search(said)) or bool(base.not_days or base.not_at)
    # a day or time that names an offer is an acceptance only as said: "tomorrow at two" when
    # tomorrow's offer is at ten asks for another time; "wednesday but not at two" turns it down
    said_yes = bool(ordinals) or either or affirm or condition
    kept = sorted(i for i in asked_for if _fits(base, offers[i])) if named else []
    last_yes = max((m.end() for m in re.finditer(r"\b(first|second|former|latter|either|both|whichever|yes|yeah|"
                                                 r"sure|works|good|fine|perfect|okay|ok)\b", said)), default=-1)
    if rejected and max(m.start() for m in rejections) >= last_yes:
        kept = []  # "wednesday, hmm, no, neither actually": turned down after it was named
    accept: Accept | None
    if kept:
        accept = "either" if len(kept) > 1 and len(kept) == len(local) else (
            "first" if kept == [0] else "second" if kept == [1] else "either" if len(kept) > 1 else None)
    elif (asked_for and said_yes) or rejected:
        accept = "none"
    else:
        accept = None
    conditional = bool(asked_for) and said_yes and condition
    return TimePreference(
        accept=accept, days=base.days, not_days=base.not_days, after=base.after, before=base.before, at=base.at,
        part=base.part, conditional=conditional, chosen=tuple(offers[i] for i in kept), not_at=base.not_at,
        zone=zone)


def matching(pref: TimePreference, slots: Sequence[datetime]) -> list[datetime]:
    """The free slots that fit a preference, in the order given.

    An accepted offer that is still free is the answer; otherwise the slots that fit what was said
    about days and times; nothing when nothing was said ("neither", "we'd rather wait").
    """
    if pref.chosen:
        picked = [s for s in slots if any(s == c for c in pref.chosen)]
        if picked:
            return picked
    if not pref.constrained:
        return []
    return [s for s in slots if _fits(pref, s)]
