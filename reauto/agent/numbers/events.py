"""Named days a timeline is said against: holidays, tax day and the school year.

"around labor day", "by thanksgiving", "before school starts", "after tax season": each is the
next such day on or after today. Holidays come from the ``holidays`` package's US calendar (its
public and unofficial days: Labor Day is the first Monday of September, Easter moves); the school
year starts in mid August and lets out in mid June, as the timeline rules count it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import date

#: Spoken names of holidays and how their names in the US calendar of ``holidays`` begin.
_HOLIDAYS: tuple[tuple[str, str], ...] = (
    (r"labou?r day", "labor day"),
    (r"memorial day", "memorial day"),
    (r"thanksgiving", "thanksgiving"),
    (r"independence day", "independence day"),
    (r"hall?owe'?en", "halloween"),
    (r"valentine'?s?(?: day)?", "valentine"),
    (r"(?:saint|st) patrick'?s?(?: day)?|st paddy'?s(?: day)?", "saint patrick"),
    (r"easter", "easter sunday"),
    (r"mother'?s day", "mother"),
    (r"father'?s day", "father"),
    (r"christmas eve", "christmas eve"),
    (r"new year'?s eve", "new year's eve"),
    (r"veteran'?s day", "veterans"),
    (r"columbus day", "columbus"),
    (r"president'?s'? day", "washington"),
    (r"(?:mlk|martin luther king(?: jr)?) day", "martin luther king"),
    (r"juneteenth", "juneteenth"),
)
_HOLIDAY = re.compile(r"\b(?:" + "|".join(f"(?P<h{i}>{p})" for i, (p, _) in enumerate(_HOLIDAYS)) + r")\b")
#: Days fixed by the month: tax day, the school year's start and end.
_FIXED: tuple[tuple[re.Pattern[str], tuple[int, int], bool], ...] = (
    # (said, (month, day), counted only after today: the school year that just ended is not meant)
    (re.compile(r"\b(?:tax (?:day|season|time)|after (?:the )?taxes|taxes are (?:done|filed|in))\b"), (4, 15), False),
    (re.compile(r"\b(?:(?:the )?school (?:year )?(?:starts|begins|start|begin|opens|is back|goes back|gets going)|"
                r"back to school|(?:start|beginning|first day) of (?:the )?(?:school|school year)|"
                r"(?:the )?(?:new|next) school year|before school|"
                r"(?:kids|son|daughter|children) (?:start|starts|go back to|goes back to) (?:at )?(?:\w+ ){0,2}"
                r"school)\b"),
     (8, 15), False),
    (re.compile(r"\b(?:school (?:year )?(?:lets out|let's out|ends|is out|gets out|is over|is done|finishes)|"
                r"school's out|(?:finish|finishes|finished|done with|out of|get out of|gets out of) school|"
                r"end of (?:the )?school(?: year)?|summer break|summer vacation)\b"),
     (6, 15), True),
)


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> tuple[tuple[date, str], ...]:
    """The US calendar's named days of ``year``: public holidays and unofficial ones (Halloween)."""
    import holidays  # imported on first use: the calendar is needed only for a named holiday

    try:
        days = holidays.country_holidays("US", years=year, categories=("public", "unofficial"))
    except (NotImplementedError, ValueError, TypeError):  # a release without the unofficial days
        days = holidays.country_holidays("US", years=year)
    return tuple(sorted((day, name.lower()) for day, name in days.items() if "observed" not in name.lower()))


def _holiday_on_or_after(key: str, today: date) -> date | None:
    for year in (today.year, today.year + 1):
        if not 1 <= year <= 9998:
            return None
        for day, name in _holidays_of(year):
            if name.startswith(key) and day >= today:
                return day
    return None


def named_days(tokens: Sequence[str], today: date) -> list[tuple[int, date]]:
    """The named days said in ``tokens`` (lower-case words), each as (first token, its next date)."""
    text = " ".join(tokens)
    out: list[tuple[int, date]] = []
    for m in _HOLIDAY.finditer(text):
        index = next(i for i, group in enumerate(m.groups()) if group is not None)
        found = _holiday_on_or_after(_HOLIDAYS[index][1], today)
        if found is not None:
            out.append((text[:m.start()].count(" "), found))
    for pattern, (month, day), strictly in _FIXED:
        for m in pattern.finditer(text):
            when = date(today.year, month, day)
            if when < today or (strictly and when == today):
                if today.year >= 9999:
                    continue
                when = date(today.year + 1, month, day)
            out.append((text[:m.start()].count(" "), when))
    return out
