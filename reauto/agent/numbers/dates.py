"""Calendar dates a timeline is said against, counted in months from today.

"next spring", "by the end of the year", "in march", "christmas", "the spring after next", "around
labor day" (holidays and the school year: :mod:`.events`): each is found where it is said and
counted from :class:`Today` (a date, or only a month), as the timeline rules of the corpus count
them: a month named alone is its 15th, early in it its 1st, late in it its last day; a season is
its middle month, early or late in it its first or last month; a bound ("by october", "until
spring") is the date itself.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reauto.agent.numbers.events import named_days

#: Average month length in days, for timelines counted to a calendar date.
DAYS_PER_MONTH = 365.25 / 12
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
SEASON_MONTHS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "fall": (9, 10, 11), "autumn": (9, 10, 11),
                 "winter": (12, 1, 2)}
#: First month of each season, as the timeline rules count it.
SEASON_MONTH = {season: months[0] for season, months in SEASON_MONTHS.items()}


@dataclass(frozen=True)
class Found:
    """A time said in an answer: its first token, months from today (low to high), and whether it is
    only a bound."""

    start: int
    low: float
    high: float
    bound: str | None = None  # "high", "low" or None


@dataclass(frozen=True)
class Today:
    """The day timelines count from: a date, or only a month (whole months, as before dates)."""

    day: date | None
    month: int

    def until(self, year_offset: int, month: int, day: int | None) -> float:
        """Months from today to ``day`` of ``month`` (the 15th if None), ``year_offset`` years on."""
        if self.day is None:
            return float(max(0, year_offset * 12 + month - self.month))
        year = self.day.year + year_offset
        last = calendar.monthrange(year, month)[1]
        target = date(year, month, min(day or 15, last) if day != -1 else last)
        return max(0.0, round((target - self.day).days / DAYS_PER_MONTH, 2))

    def ahead(self, month: int) -> int:
        """Years until ``month`` next comes (0 while it is this month)."""
        return 0 if month >= self.month else 1


_MONTH_ALT = "|".join(MONTHS)
_SEASON_ALT = "spring|summer|fall|autumn|winter"
_QUALIFIER = (r"(?P<q>early|earlier|beginning of|the beginning of|start of|the start of|first of|the first of|"
              r"mid|middle of|the middle of|late|later|end of|the end of|by the end of|by|before|after|"
              r"sometime in|in|around|this|next|until|till)")
#: After a month or season: "the spring after next", "summer next year".
_LATER = r"(?: (?P<later>after next|next year|of next year))?"
_MONTH_ANCHOR = re.compile(
    rf"\b(?:{_QUALIFIER} )?(?:(?P<next>next|this|coming) )?(?P<month>{_MONTH_ALT})"
    rf"(?: (?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b)?{_LATER}"
    rf"|\bthe (?P<day2>\d{{1,2}})(?:st|nd|rd|th) of (?P<month2>{_MONTH_ALT})")
_SEASON_ANCHOR = re.compile(
    rf"\b(?:{_QUALIFIER} )?(?:(?P<the>the|this|next|coming|this coming|come) )?(?P<season>{_SEASON_ALT})"
    rf"(?: ?time)?\b{_LATER}")
_EARLY = {"early", "earlier", "beginning of", "start of", "first of"}
_LATE = {"late", "later", "end of", "by end of"}
#: Words before "may", "march" or "fall" that make it a month or a season, not a verb ("we may",
#: "prices fall"); and words after them that make it the verb ("may be", "march into").
_TIME_BEFORE = {"than", "of", "in", "by", "until", "till", "before", "after", "around", "since", "like", "say",
                "maybe", "probably", "or", "nope", "no", "sorry", "mean", "come", "then", "hopefully", "ideally",
                "about", "for", "through", "thru", "and", "um", "uh", "think", "guess", "hoping", "so", "be"}
_VERB_AFTER = {
    "may": {"be", "i", "we", "you", "he", "she", "they", "it", "have", "not", "need", "want", "go", "get", "take",
            "come", "ask", "consider", "move", "sell", "buy", "look", "still", "also", "just", "well", "as", "do",
            "never", "try", "depend", "change", "happen", "work", "only", "even", "actually", "already", "make",
            "find", "wait", "see", "start", "stay", "decide", "rent", "list", "end"},
    "march": {"in", "into", "on", "over", "down", "up", "through", "off", "out", "forward", "ahead", "along",
              "around", "to", "across", "back"},
    "fall": {"through", "apart", "behind", "off", "down", "into", "in", "for", "short", "back", "out", "asleep",
             "over", "flat", "on", "under", "a", "the", "and"},
}


def _said_as_time(word: str, text: str, start: int, end: int) -> bool:
    """Whether "may", "march" or "fall" at ``text[start:end]`` (said without a qualifier) names a time."""
    before = text[:start].split()
    after = text[end:].split()
    if after[:1] and after[0] in _VERB_AFTER.get(word, set()) or after[:2] == ["or", "may"]:
        return False  # "may be", "fall through", "we may or may not"
    return not before or before[-1] in _TIME_BEFORE


def _qualifier(m: re.Match[str]) -> str:
    """The qualifier said before a month or season, without its articles ("by the end of" → "by end of")."""
    return re.sub(r"\bthe ", "", m.group("q") or "")


def _month_anchor(m: re.Match[str], today: Today, text: str) -> float | None:
    name = m.group("month") or m.group("month2")
    month = MONTHS.index(name) + 1
    q = _qualifier(m)
    later = m.group("later") if m.group("month") else None
    bare = not q and not m.group("next") and not m.group("day") and not m.group("day2") and not later
    if name in {"may", "march"} and bare and not _said_as_time(name, text, m.start("month"), m.end("month")):
        return None  # "we may move", "march in": the verb
    raw_day = m.group("day") or m.group("day2")
    day: int | None = int(raw_day) if raw_day and 1 <= int(raw_day) <= 31 else None
    if day is None:
        # a bound ("by", "before", "until") counts as the month itself, its 15th
        if q in _EARLY:
            day = 1
        elif q in _LATE:
            day = -1
    offset = today.ahead(month)
    if q == "after":
        month, day = (1, 1) if month == 12 else (month + 1, 1)
        offset = today.ahead(month) if month != 1 else (1 if today.month != 1 else 0)
    if "next" in {m.group("next"), q} and month == today.month:
        offset = 1
    if later in {"next year", "of next year"}:
        offset = 1
    elif later == "after next":
        offset = (1 if month == today.month else offset) + 1  # the one after next
    return today.until(offset, month, day)


def _season_occurrence(season: str, index: int, today_month: int, *, next_one: bool = False) -> tuple[int, int]:
    """(years from this one, month) of the ``index``-th month (0–2) of ``season`` as said today.

    The season under way counts until that month is past ("this summer" in June is July); "next"
    said within a season is the one after it.
    """
    months = SEASON_MONTHS[season]
    first = months[0]
    within = today_month in months
    if within:
        start_year = 0 if today_month >= first else -1  # January's winter began last December
        if months.index(today_month) > index or next_one:
            start_year += 1
    else:
        start_year = 0 if first > today_month else 1
    month = months[index]
    return start_year + (1 if month < first else 0), month


def _season_anchor(m: re.Match[str], today: Today, text: str) -> float | None:
    season = m.group("season")
    q = _qualifier(m)
    det = m.group("the") or ""
    later = m.group("later")
    if season == "fall" and not q and not det and not later and not _said_as_time(
            "fall", text, m.start("season"), m.end("season")):
        return None  # "the deal might fall through": the verb
    index = 1  # a season said alone, or as a bound, is its middle month (the spring: about April)
    if q in _EARLY:
        index = 0
    elif q in _LATE:
        index = 2
    next_one = "next" in det or q == "next" or later == "after next"
    offset, month = _season_occurrence(season, index, today.month, next_one=next_one)
    if later == "after next":
        offset += 1
    elif later in {"next year", "of next year"}:
        offset = 1 + (1 if month < SEASON_MONTHS[season][0] else 0)
    day = None
    if q == "after":  # the first of the month after its last
        offset, month = _season_occurrence(season, 2, today.month, next_one=next_one)
        offset, month, day = offset + month // 12, month % 12 + 1, 1
    return today.until(offset, month, day)


#: Fixed phrases about the calendar: months from today (a float), the end of this or next month
#: (``_MONTH_END``, ``_NEXT_MONTH_END``), or (years on, month, day: the 15th if None, the last if -1).
_MONTH_END, _NEXT_MONTH_END = -2.0, -3.0
_FIXED: tuple[tuple[re.Pattern[str], tuple[int, int, int | None] | float], ...] = tuple(
    (re.compile(pattern), value) for pattern, value in (
        (r"\b(end of|late|later in) next month\b", _NEXT_MONTH_END),
        (r"\bthe month after next\b", 2.0),
        (r"\bnext month\b", 1.0),
        (r"\b(this month|end of (the|this) month|within the month|before the month is out)\b", _MONTH_END),
        (r"\bthe week after next\b", 2 * 12 / 52),
        (r"\bnext week\b", 12 / 52),
        (r"\b(early|first part of|first half of) next year\b", (1, 1, None)),
        # the turn of the year: its first day
        (r"\b(beginning of|start of) next year\b|\bfirst of (the|next) year\b|\bafter (the )?(holidays|"
         r"new year'?s?( day)?|first of the year|christmas|xmas)\b|\b(in )?the new year\b|\bnew year'?s( day)?\b|"
         r"\bonce the holidays are (over|done|past)\b", (1, 1, 1)),
        (r"\b(end of|late|later) next year\b", (1, 12, -1)),
        (r"\bthe year after next\b", (2, 6, None)),
        (r"\bnext year\b", (1, 6, None)),
        (r"\b(end of (the|this) year|year end|end of year|later this year|this year)\b", (0, 12, -1)),
        (r"\b(christmas|xmas|the holidays)\b", (0, 12, 25)),
    ))


def _fixed_months(value: tuple[int, int, int | None] | float, today: Today) -> float:
    """Months from today to a fixed phrase's date (see :data:`_FIXED`)."""
    if isinstance(value, tuple):
        offset, month, day = value
        if (month, day) == (12, 25) and today.day is not None and (today.day.month, today.day.day) > (12, 25):
            offset = 1
        return today.until(offset, month, day)
    if value == _MONTH_END:
        if today.day is None:
            return 0.0
        return round((calendar.monthrange(today.day.year, today.day.month)[1] - today.day.day) / DAYS_PER_MONTH, 2)
    if value == _NEXT_MONTH_END:
        month = today.month % 12 + 1
        return today.until(1 if month == 1 else 0, month, -1)
    return round(value, 2)


def _named_days(tokens: Sequence[str], today: Today) -> list[Found]:
    """Holidays and the school year (:mod:`.events`), counted from today."""
    if today.day is not None:
        return [Found(start, *(round((day - today.day).days / DAYS_PER_MONTH, 2),) * 2)
                for start, day in named_days(tokens, today.day)]
    nominal = date(date.today().year, today.month, 1)  # whole months, from the first of this month
    return [Found(start, *(float((day.year - nominal.year) * 12 + day.month - nominal.month),) * 2)
            for start, day in named_days(tokens, nominal)]


def calendar_anchors(tokens: Sequence[str], today: Today) -> list[Found]:
    """Dates a timeline is said against: "next spring", "by the end of the year", "in march",
    "around labor day"."""
    text = " ".join(tokens)
    out: list[Found] = []

    def add(pos: int, months: float | None) -> None:
        if months is not None:
            out.append(Found(text[:pos].count(" ") if pos else 0, months, months))

    claimed: list[tuple[int, int]] = []  # "next year" said after a month or season belongs to it
    for m in _MONTH_ANCHOR.finditer(text):
        add(m.start(), _month_anchor(m, today, text))
        if m.group("later"):
            claimed.append((m.start("later"), m.end("later")))
    for m in _SEASON_ANCHOR.finditer(text):
        add(m.start(), _season_anchor(m, today, text))
        if m.group("later"):
            claimed.append((m.start("later"), m.end("later")))
    for pattern, value in _FIXED:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in claimed):
                continue
            claimed.append((m.start(), m.end()))
            add(m.start(), _fixed_months(value, today))
    return out + _named_days(tokens, today)
