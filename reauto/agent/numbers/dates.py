"""Calendar dates a timeline is said against, counted in months from today.

"next spring", "by the end of the year", "in march", "christmas": each is found where it is said and
counted from :class:`Today` (a date, or only a month).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

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
_MONTH_ANCHOR = re.compile(
    rf"\b(?:{_QUALIFIER} )?(?:(?P<next>next|this|coming) )?(?P<month>{_MONTH_ALT})"
    rf"(?: (?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b)?|\bthe (?P<day2>\d{{1,2}})(?:st|nd|rd|th) of (?P<month2>{_MONTH_ALT})")
_SEASON_ANCHOR = re.compile(
    rf"\b(?:{_QUALIFIER} )?(?:(?P<the>the|this|next|coming|this coming) )?(?P<season>{_SEASON_ALT})\b")
_LEASE = re.compile(r"\blease (is up|ends|runs out|expires|is over|is done|ends up|finishes|will be up|'s up)\b|"
                    r"\blease up\b")


def _month_anchor(m: re.Match[str], today: Today, text: str) -> float | None:
    name = m.group("month") or m.group("month2")
    month = MONTHS.index(name) + 1
    q = (m.group("q") or "").replace("the ", "")
    if name == "may" and not q and not m.group("next") and not m.group("day"):
        return None  # "we may move": the verb
    if name == "march" and not q and not m.group("next") and not m.group("day") and not m.group("day2"):
        return None  # "march" alone is as often a verb as a month
    raw_day = m.group("day") or m.group("day2")
    day: int | None = int(raw_day) if raw_day and 1 <= int(raw_day) <= 31 else None
    if day is None:
        if q in {"early", "earlier", "beginning of", "start of", "first of", "by", "before", "until", "till"}:
            day = 1
        elif q in {"late", "later", "end of", "by the end of"} or _LEASE.search(text):
            day = -1  # the month's last day: a lease is up at the end of its month
    offset = today.ahead(month)
    if q == "after":
        month, day = (1, 1) if month == 12 else (month + 1, 1)
        offset = today.ahead(month) if month != 1 else (1 if today.month != 1 else 0)
    if "next" in {m.group("next"), q} and month == today.month:
        offset = 1
    return today.until(offset, month, day)


def _season_anchor(m: re.Match[str], today: Today) -> float | None:
    season = m.group("season")
    q = (m.group("q") or "").replace("the ", "")
    det = m.group("the") or ""
    if season == "fall" and not q and not det:
        return None  # "fall" alone is a verb as often as a season
    months = SEASON_MONTHS[season]
    index, day = 1, None  # a season said alone is its middle month (the spring: about April)
    if q in {"early"}:
        index = 0
    elif q in {"late", "later", "end of", "by the end of"}:
        index, day = 2, -1
    elif q in {"by", "before", "until", "till", "beginning of", "start of"}:
        index, day = 0, 1
    month = months[index]
    within = today.month in months
    offset = today.ahead(month)
    if within and months.index(today.month) <= index:
        offset = 0
        if "next" in det or q == "next":
            offset = 1
    elif within:
        offset = 1
    if q == "after":
        month, day = months[-1] % 12 + 1, 1
        offset = today.ahead(month) if not within else (0 if month > today.month else 1)
    return today.until(offset, month, day)


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def calendar_anchors(tokens: Sequence[str], today: Today) -> list[Found]:
    """Dates a timeline is said against: "next spring", "by the end of the year", "in march"."""
    text = " ".join(tokens)
    out: list[Found] = []

    def add(pos: int, months: float | None) -> None:
        if months is not None:
            out.append(Found(text[:pos].count(" ") if pos else 0, months, months))

    for m in _MONTH_ANCHOR.finditer(text):
        add(m.start(), _month_anchor(m, today, text))
    for m in _SEASON_ANCHOR.finditer(text):
        add(m.start(), _season_anchor(m, today))
    fixed: list[tuple[str, tuple[int, int, int | None] | float]] = [
        (r"\bnext month\b", 1.0),
        (r"\b(this month|end of (the|this) month)\b", -2.0),
        (r"\bnext week\b", 0.25),
        (r"\b(early|beginning of|start of|first part of|first half of) next year\b|\bfirst of (the|next) year\b|"
         r"\bafter (the )?(holidays|new year'?s?|first of the year)\b|\bin the new year\b", (1, 1, None)),
        (r"\b(end of|late|later) next year\b", (1, 12, -1)),
        (r"\bnext year\b", (1, 6, None)),
        (r"\b(end of (the|this) year|year end|end of year|later this year|this year)\b", (0, 12, -1)),
        (r"\b(christmas|the holidays)\b", (0, 12, 25)),
    ]
    claimed: list[tuple[int, int]] = []
    for pattern, value in fixed:
        for m in re.finditer(pattern, text):
            if any(s <= m.start() < e for s, e in claimed):
                continue
            claimed.append((m.start(), m.end()))
            if isinstance(value, float):
                if value == -2.0:
                    months = 0.0 if today.day is None else round(
                        (calendar.monthrange(today.day.year, today.day.month)[1] - today.day.day) / DAYS_PER_MONTH, 2)
                    add(m.start(), months)
                else:
                    add(m.start(), value)
                continue
            offset, month, day = value
            if month == 12 and day == 25 and today.day is not None and (today.day.month, today.day.day) > (12, 25):
                offset = 1
            add(m.start(), today.until(offset, month, day))
    for m in re.finditer(r"\bthanksgiving\b", text):
        if today.day is None:
            add(m.start(), float(max(0, 11 - today.month) if today.month <= 11 else 11))
        else:
            day = _thanksgiving(today.day.year)
            day = day if day >= today.day else _thanksgiving(today.day.year + 1)
            add(m.start(), round((day - today.day).days / DAYS_PER_MONTH, 2))
    return out
