"""Days a lead names or rules out ("thursday", "not this week", "the 4th", "weekends", "anything before
friday"), as dates.

A negation carries over a list of days joined by "or", "and" or "nor": "any day but tuesday or
wednesday" rules out both, as does "tuesday and wednesday are out". A weekday said with "next"
("next tuesday") is kept, and also marked :attr:`Days.loose`: people mean by it either the coming one
or the one a week later, so it never picks an offer on its own."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from reauto.agent.numbers.dates import MONTHS

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: How far ahead "mondays", "weekdays" or "any weekend" reach.
HORIZON_DAYS = 28
#: Words before and after a day (or a part of the day) that rule it out: "not monday", "monday is bad".
NEGATE_BEFORE = re.compile(r"(\bnot|\bexcept|\bbut not|\banything but|\bany (day|time) but|\banytime but|"
                           r"\bevery day but|\bother than|\bcan'?t do|\bcannot do|"
                           r"\bcan'?t make|\bcan'?t|\bcannot|\bbusy|\bout|\baway|\bwork|\bworking|\bbooked|"
                           r"\bnot (free|available|around|home|open)|\bunavailable|\bmeetings?|\bappointments?|"
                           r"\bplans)"
                           r"\s*((on|during)\s*)?(the\s*)?$")
NEGATE_AFTER = re.compile(r"^\s*(is |are |'s |s )?(doesn'?t|does not|don'?t|do not|won'?t|will not|wouldn'?t|"
                          r"isn'?t|is not|are not|aren'?t)\s*(work|good|great|possible|going to work|do\b|suit)|"
                          r"^\s*(is|are|'s|s)\s*(bad|out|no good|tough|hard|booked|busy|full|impossible|"
                          r"not good|terrible)\b|^\s*i'?m (busy|out|away|working)\b|^\s*(is|are) out\b|"
                          r"^\s*(is|are)? ?off the table\b")


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=k) for k in range((last - first).days + 1)}


@dataclass
class Days:
    """Day mentions found so far and the text they used up."""

    today: date
    allowed: set[date] = field(default_factory=set)
    ruled_out: set[date] = field(default_factory=set)
    past: bool = False
    claimed: list[tuple[int, int]] = field(default_factory=list)
    loose: set[date] = field(default_factory=set)

    def free(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` is not part of a day already read."""
        return not any(s < end and start < e for s, e in self.claimed)

    def add(self, found: Iterable[date], *, negated: bool, loose: bool = False) -> None:
        """Days one mention names (``negated``: rules out); only past days say nothing but that."""
        days = set(found)
        future = {d for d in days if d >= self.today}
        if days and not future:
            self.past = True
            return
        (self.ruled_out if negated else self.allowed).update(future)
        if loose and not negated:
            self.loose.update(future)


@dataclass
class _Mention:
    """One day phrase in the text, and whether the words around it rule it out."""

    start: int
    end: int
    days: set[date]
    before: bool  # negated by what comes before it ("not monday")
    after: bool  # negated by what follows it ("monday is out")
    loose: bool = False
    kind: str = ""
    week: date | None = None  # a whole week ("next week"): its monday

    @property
    def negated(self) -> bool:
        return self.before or self.after


#: What joins the days of one list: "tuesday or wednesday", "monday and friday", "monday nor friday".
_JOINED = re.compile(r"^\s*(,\s*)?(or|and|nor|and or|or on|and on|or the|and the)\s*$")


def _whole_week(kind: str, m: re.Match[str], today: date) -> date | None:
    """The monday of a whole week named ("this week", "next week", "the following week"), else None."""
    if kind != "week" or m.group("wk") != "week" or m.group("wmod") or m.group("wrel") == "the":
        return None
    return _week_start(today) + timedelta(days=7 if m.group("wrel") in {"next", "the following"} else 0)


#: What lies between a weekday and the week it is in: "wednesday next week", "next week on wednesday".
_SAME_DAY = re.compile(r"^\s*(of |on |in )?(the )?$")


def _weekday_of_week(text: str, mentions: list[_Mention], today: date) -> list[_Mention]:
    """A weekday said with the week it is in is that one day ("wednesday next week" is not all next week);
    with "next" in it, it is :attr:`Days.loose`, as "next wednesday" is."""
    out: list[_Mention] = []
    skip: set[int] = set()
    for k, (a, b) in enumerate(zip(mentions, mentions[1:])):
        pair = {a.kind, b.kind}
        if k in skip or pair != {"weekday", "week"} or not _SAME_DAY.match(text[a.end:b.start]):
            continue
        day, week = (a, b) if a.kind == "weekday" else (b, a)
        if week.week is None or len(day.days) != 1 or a.negated != b.negated:
            continue
        wanted = week.week + timedelta(days=next(iter(day.days)).weekday())
        loose = week.week > _week_start(today) or day.loose
        out.append(_Mention(a.start, b.end, {wanted}, a.before or b.before, a.after or b.after, loose, "weekday"))
        skip.update({k, k + 1})
    out += [m for k, m in enumerate(mentions) if k not in skip]
    return sorted(out, key=lambda x: x.start)


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
    ("bound", rf"\b(?P<bound>before|until|till|til|by|after|not before|no earlier than) (?P<bmod>this|next)? ?"
              rf"(?P<bwd>{'|'.join(WEEKDAYS)})\b(?! after next)"),
    ("weekday", rf"\b(?P<mod>this coming|this|next|coming|last|a week from) ?(?P<wd>{'|'.join(WEEKDAYS)})\b"
                rf"|\b(?P<wd2>{'|'.join(WEEKDAYS)})(?P<pl>s)?\b(?P<after> after next)?"),
]


def read_days(text: str, today: date) -> Days:
    """The days ``text`` names, allows or rules out, counted from ``today``."""
    found = Days(today)
    mentions: list[_Mention] = []
    for kind, pattern in _DAY_PATTERNS:
        for m in re.finditer(pattern, text):
            if not found.free(m.start(), m.end()):
                continue
            days = _days_of(kind, m, today, text)
            if days is None:
                continue
            found.claimed.append((m.start(), m.end()))
            mentions.append(_Mention(
                m.start(), m.end(), days, bool(NEGATE_BEFORE.search(text[max(0, m.start() - 25):m.start()])),
                bool(NEGATE_AFTER.search(text[m.end():m.end() + 30])),
                kind == "weekday" and m.group("mod") in {"next", "a week from"}, kind, _whole_week(kind, m, today)))
    mentions.sort(key=lambda x: x.start)
    mentions = _weekday_of_week(text, mentions, today)
    pairs = [(a, b) for a, b in zip(mentions, mentions[1:]) if _JOINED.match(text[a.end:b.start])]
    for a, b in pairs:  # "not monday or friday": the "not" rules out both
        b.before = b.before or a.before
    for a, b in reversed(pairs):  # "tuesday and wednesday are out": so does the "out"
        a.after = a.after or b.after
    for mention in mentions:
        found.add(mention.days, negated=mention.negated, loose=mention.loose)
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
    if kind == "bound":
        return _bounded(m.group("bound"), _weekday(m.group("bwd"), m.group("bmod"), today), today)
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


def _bounded(bound: str, day: date, today: date) -> set[date]:
    """The days "before friday", "by friday" or "after friday" allow, from ``today`` to the horizon."""
    if bound in {"before", "until", "till", "til"}:
        return _span(today, day - timedelta(days=1)) if day > today else set()
    if bound == "by":
        return _span(today, day)
    first = day if bound in {"not before", "no earlier than"} else day + timedelta(days=1)
    return _span(first, max(first, today + timedelta(days=HORIZON_DAYS - 1)))


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
