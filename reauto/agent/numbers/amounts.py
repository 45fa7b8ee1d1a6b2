"""Digit tokens grouped into amounts: step 2 of reading a sentence (see :mod:`reauto.agent.numbers`).

People say amounts in ways text2num does not group: "4 50" ("four fifty" → 450), "1.2 1000000",
"half a 1000000", "a 1000000 and a half", "400 k", "$450k". :func:`read_amounts` reads a sentence's
tokens and amounts; :func:`parse_number` and :func:`words_to_number` its first number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reauto.agent.numbers.words import digits_and_bands, tokens_of

_SCALE_WORDS = {"k": 1_000, "grand": 1_000, "thousand": 1_000, "thousands": 1_000, "m": 1_000_000,
                "mil": 1_000_000, "million": 1_000_000, "millions": 1_000_000, "billion": 1_000_000_000}
_NUMBER = re.compile(r"^(\$?)(\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(k|m|mil)?$")


@dataclass(frozen=True)
class Amount:
    """One number said in a sentence, after its words are grouped.

    Attributes:
        value: the number (the middle of a band).
        start: index of its first token; end: index after its last.
        literal: said with its size (thousand, million, k, grand, dollars, $) or 10,000 and more;
            a bare "four fifty" is not.
        dollars: said with "$", "dollars" or "bucks".
        grouped: said as pairs of numbers: "four fifty" (450), "twenty twenty seven" (2027).
        band: a price band ("the mid fours" → (425000, 475000)).
        decimal: said with a decimal point ("one point two", "1.5"), which people use for millions.
    """

    value: float
    start: int
    end: int
    literal: bool = False
    dollars: bool = False
    grouped: bool = False
    band: tuple[float, float] | None = None
    decimal: bool = False


def plain_number(tok: str) -> tuple[float, bool, float] | None:
    """(value, dollar sign, suffix scale) of a digit token, or None."""
    m = _NUMBER.match(tok)
    if not m:
        return None
    try:
        value = float(m.group(2).replace(",", ""))
    except ValueError:
        return None
    return value, bool(m.group(1)), float(_SCALE_WORDS.get(m.group(3) or "", 1))


def _is_scale_token(tok: str) -> float | None:
    if tok in _SCALE_WORDS:
        return float(_SCALE_WORDS[tok])
    if tok in {"1000", "1000000", "1000000000"}:  # what alpha2digit writes for a lone scale word
        return float(tok)
    return None


#: "and a half", "and a quarter", "and three quarters" after a number: the part of one it adds.
_FRACTIONS = {("and", "a", "half"): 0.5, ("and", "a", "quarter"): 0.25, ("and", "three", "quarters"): 0.75,
              ("and", "3", "quarters"): 0.75}


def _fraction_at(tokens: Sequence[str], i: int) -> float:
    """The fraction said at ``tokens[i:]`` ("and a quarter" → 0.25), or 0."""
    return _FRACTIONS.get(tuple(tokens[i:i + 3]), 0.0)


def _two_digits(tok: str) -> int | None:
    return int(tok) if re.fullmatch(r"\d{2}", tok) else None


def _amount_at(tokens: Sequence[str], i: int, bands: Sequence[tuple[float, float]]) -> Amount | None:
    n, tok = len(tokens), tokens[i]
    if tok.startswith("zqband") and len(tok) == 7 and 0 <= ord(tok[6]) - 97 < len(bands):
        low, high = bands[ord(tok[6]) - 97]
        return Amount((low + high) / 2, i, i + 1, literal=True, band=(low, high))
    start, j, dollars = i, i, False
    if tok == "$" and i + 1 < n:
        dollars, j = True, i + 1
    elif tok in {"a", "an"} and i + 1 < n and tokens[i + 1] in {"half", "quarter"}:
        j = i + 1  # "a half million"
    elif tok in {"a", "an"} and i + 1 < n and tokens[i + 1] in {"mil", "grand"}:
        scale = float(_SCALE_WORDS[tokens[i + 1]])
        return Amount(scale, i, i + 2, literal=True)  # "under a mil"
    elif tok in {"a", "an"} and i + 1 < n and plain_number(tokens[i + 1]):
        j = i + 1  # alpha2digit keeps the "a" of "a hundred and fifty thousand"
    if tokens[j] in {"half", "quarter"}:
        # "half a million", "a quarter of a million", "a half million"
        k = j + 1
        if tokens[k:k + 2] in (["of", "a"], ["of", "an"]):
            k += 2
        elif tokens[k:k + 1] in (["a"], ["an"]):
            k += 1
        scale = _is_scale_token(tokens[k]) if k < n else None
        if scale is None or scale < 1000:
            return None
        part = 0.5 if tokens[j] == "half" else 0.25
        return Amount(part * scale, start, k + 1, literal=True)
    decimal = "." in tokens[j]
    if tokens[j] == "point" and j + 1 < n and re.fullmatch(r"\d+", tokens[j + 1]):
        parsed: tuple[float, bool, float] | None = (float("0." + tokens[j + 1]), False, 1.0)
        j, decimal = j + 1, True
    else:
        parsed = plain_number(tokens[j])
    if parsed is None:
        return None
    value, sign, suffix = parsed
    dollars = dollars or sign
    end, grouped, literal = j + 1, False, suffix > 1
    value *= suffix
    # "four fifty" → 450, "nineteen ninety" → 1990, "four oh five" → 405: said in pairs
    if suffix == 1 and value == int(value) and 1 <= value <= 99 and re.fullmatch(r"\d{1,2}", tokens[j]):
        nxt = _two_digits(tokens[end]) if end < n else None
        if nxt is not None and nxt >= 10:
            value, end, grouped = value * 100 + nxt, end + 1, True
        elif end + 1 < n and tokens[end] == "oh" and re.fullmatch(r"\d", tokens[end + 1]):
            value, end, grouped = value * 100 + int(tokens[end + 1]), end + 2, True
    if suffix == 1 and value in (1, 2, 3) and end < n and tokens[end] in {"quarter", "quarters"}:
        k = end + 1  # "three quarters of a million"
        k += 2 if tokens[k:k + 2] in (["of", "a"], ["of", "an"]) else 1 if tokens[k:k + 1] in (["a"], ["of"]) else 0
        scale = _is_scale_token(tokens[k]) if k < n else None
        if scale is not None and scale >= 1000:
            return Amount(value / 4 * scale, start, k + 1, literal=True)
    part = _fraction_at(tokens, end)
    if part and value < 1000:
        value, end = value + part, end + 3  # "four and a quarter", "one and a half million"
    scale = _is_scale_token(tokens[end]) if end < n else None
    if scale is not None and not literal and value < 1000:
        value, end, literal = value * scale, end + 1, True
        part = _fraction_at(tokens, end)
        if part:
            value, end = value + scale * part, end + 3  # "a million and a half"
    elif value >= 1000 and value == 10 ** int(math.log10(value)) and _fraction_at(tokens, end):
        value, end = value * (1 + _fraction_at(tokens, end)), end + 3  # "a 1000000 and a half"
    if end < n and tokens[end] in {"dollars", "dollar", "bucks"}:
        dollars, end = True, end + 1
    literal = literal or dollars or (value >= 10_000 and not grouped)
    return Amount(value, start, end, literal=literal, dollars=dollars, grouped=grouped, decimal=decimal)


def _amounts(tokens: Sequence[str], bands: Sequence[tuple[float, float]]) -> list[Amount]:
    out, i = [], 0
    while i < len(tokens):
        found = _amount_at(tokens, i, bands)
        if found is None:
            i += 1
            continue
        out.append(found)
        i = max(found.end, i + 1)
    return out


@dataclass(frozen=True)
class Reading:
    """A sentence as tokens (number words in digits) and the amounts said in it, in order."""

    tokens: list[str]
    amounts: list[Amount]


def read_amounts(text: str) -> Reading:
    """The tokens of ``text`` and the amounts read from them."""
    converted, bands = digits_and_bands(text)
    tokens = tokens_of(converted)
    return Reading(tokens, _amounts(tokens, bands))


def words_to_number(words: list[str]) -> float | None:
    """Value of a run of number words ("four hundred and fifty thousand" → 450000)."""
    found = read_amounts(" ".join(str(w) for w in words)).amounts
    return found[0].value if found else None


def parse_number(text: str) -> float | None:
    """The first number in ``text``, written in digits or words."""
    found = read_amounts(text).amounts
    return found[0].value if found else None
