"""Spoken numbers, money and durations as a phone recogniser writes them.

Input is lower-case words without punctuation ("four hundred thousand", "about three months"),
sometimes digits ("400k", "$400,000"). Everything returns ``None`` when it finds nothing, never
raises on odd text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "oh": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "couple": 2, "few": 3, "several": 4,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1_000, "k": 1_000, "grand": 1_000, "million": 1_000_000,
          "mil": 1_000_000, "m": 1_000_000, "billion": 1_000_000_000}
NUMBER_WORDS = set(UNITS) | set(TENS) | set(SCALES) | {"and", "half", "point"}

_DIGITS = re.compile(r"\$?\s*(\d[\d,]*(?:\.\d+)?)\s*(k|m|mil|million|thousand|grand)?\b")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+|\d[\d,]*(?:\.\d+)?", text.lower().replace("-", " "))


def words_to_number(words: list[str]) -> float | None:
    """Value of a run of number words ("four hundred and fifty thousand" → 450000)."""
    total, current, seen, fraction = 0.0, 0.0, False, None
    i = 0
    while i < len(words):
        w = words[i]
        if w in {"a", "an"} and not (i + 1 < len(words) and words[i + 1] in SCALES and (i == 0 or words[i - 1] != "half")):
            i += 1  # "a" counts as one only before a scale ("a million"), never "half a"/"a half"
            continue
        if w == "and" or (w == "oh" and not seen):
            i += 1
            continue
        if w == "point" and i + 1 < len(words) and words[i + 1] in UNITS:
            fraction = UNITS[words[i + 1]] / 10
            current += fraction
            i += 2
            continue
        if w == "half":
            # "a million and a half" → +half of the last scale; "half a million" → 0.5 × next
            last = _last_scale(words[:i])
            if seen and last:
                total += last * 0.5
            else:
                current += 0.5
            seen = True
            i += 1
            continue
        if w in UNITS:
            current += UNITS[w]
            seen = True
        elif w in TENS:
            prev = words[i - 1] if i else ""
            if prev in UNITS and 1 <= current % 100 <= 9 and current < 10:
                current = current * 100 + TENS[w]  # "three fifty" → 350
            elif prev in TENS and current % 100 in TENS.values() and current < 100:
                current = current * 100 + TENS[w]  # "twenty twenty" → 2020
            else:
                current += TENS[w]
            seen = True
        elif w in SCALES:
            scale = SCALES[w]
            if scale == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * scale
                current = 0
            seen = True
        else:
            break
        i += 1
    return total + current if seen else None


def _last_scale(words: list[str]) -> int | None:
    for w in reversed(words):
        if w in SCALES and SCALES[w] > 100:
            return SCALES[w]
    return None


def parse_number(text: str) -> float | None:
    """The first number in ``text``, written in digits or words."""
    lowered = text.lower()
    digits = _DIGITS.search(lowered)
    tokens = _tokens(lowered)
    start = next((i for i, t in enumerate(tokens) if t in NUMBER_WORDS - {"and", "a", "an", "point", "k", "m"}), None)
    word_value = None
    if start is not None:
        if start > 0 and tokens[start - 1] in {"a", "an"}:
            start -= 1
        end = start
        while end < len(tokens) and tokens[end] in NUMBER_WORDS:
            end += 1
        word_value = words_to_number(tokens[start:end])
    if digits is not None:
        value = float(digits.group(1).replace(",", ""))
        suffix = digits.group(2)
        if suffix:
            value *= SCALES.get(suffix, 1)
        if word_value is None or lowered.find(digits.group(0).strip()) <= lowered.find(tokens[start]):
            return value
    return word_value


@dataclass(frozen=True)
class MoneyRange:
    """A budget: a point or a range, in dollars."""

    low: float | None
    high: float | None

    @property
    def point(self) -> float | None:
        if self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        return self.low if self.low is not None else self.high


def house_money(value: float) -> float:
    """Budgets are said without the thousands: "four hundred" means $400,000 for a house."""
    if value < 10:
        return value * 1_000_000  # "one point two" → 1.2 million
    if value < 5_000:
        return value * 1_000
    return value


def parse_money_usd(text: str) -> MoneyRange | None:
    """A budget or price from speech: point values and ranges, for house prices."""
    lowered = text.lower()
    if re.search(r"\b(no budget|not sure|don'?t know|no idea)\b", lowered):
        return None
    between = re.search(r"between (.+?) and (.+)", lowered)
    if between:
        lo, hi = parse_number(between.group(1)), parse_number(between.group(2))
        if lo and hi:
            high = house_money(hi)
            low = lo
            if low < high / 10:
                # "between three and four hundred thousand": the low end shares the high end's scale
                low = lo * 10 ** (int(math.log10(high)) - int(math.log10(lo)))
            return MoneyRange(min(low, high), max(low, high))
    value = parse_number(lowered)
    if value is None or value <= 0:
        return None
    value = house_money(value)
    if re.search(r"\b(up to|under|below|less than|no more than|max(imum)?|at most)\b", lowered):
        return MoneyRange(None, value)
    if re.search(r"\b(over|above|more than|at least|minimum)\b", lowered):
        return MoneyRange(value, None)
    return MoneyRange(value, value)


SEASON_MONTH = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]


def parse_duration_months(text: str, today_month: int) -> float | None:
    """How many months away a timeline answer is ("about three months", "next spring")."""
    lowered = text.lower()
    if re.search(r"\b(asap|right away|right now|immediately|as soon as possible|this week|already)\b", lowered):
        return 0.0
    if re.search(r"\b(not sure|no idea|just looking|don'?t know|no rush|someday)\b", lowered):
        return None
    if re.search(r"\bnext month\b", lowered):
        return 1.0
    if re.search(r"\bnext year\b", lowered):
        return float(12 - today_month + 6)
    if re.search(r"\b(end of (the|this) year|by december)\b", lowered):
        return float(max(0, 12 - today_month))
    for season, month in SEASON_MONTH.items():
        if re.search(rf"\b{season}\b", lowered):
            ahead = (month - today_month) % 12
            return float(ahead or 12)
    for index, name in enumerate(MONTHS, start=1):
        if re.search(rf"\b(in|by|around|this|next) {name}\b", lowered):
            return float((index - today_month) % 12 or 12)
    unit = re.search(r"\b(day|week|month|year)s?\b", lowered)
    if unit is None:
        return None
    value = parse_number(lowered[: unit.end()])
    if value is None:
        value = 1.0 if re.search(r"\b(a|an)\s+(couple|few)?\s*" + unit.group(1), lowered) else None
    if value is None:
        return None
    if re.search(r"\b(and a half|half)\b", lowered) and value == int(value):
        value += 0.5
    factor = {"day": 1 / 30, "week": 0.25, "month": 1.0, "year": 12.0}[unit.group(1)]
    return round(value * factor, 2)
