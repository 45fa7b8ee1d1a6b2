"""Budgets and monthly amounts from speech, in dollars.

:func:`parse_money_usd` reads a price or budget, :func:`parse_monthly_usd` a rent or payment; each as a
:class:`MoneyRange` (a point, a range or a bound). A price said without its size is read at the size
of a house (:func:`bare_price`); of several prices, one wanted counts over one paid, sold for or
approved for; a correction counts as said last.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reauto.agent.numbers.amounts import Amount, Reading, read_amounts
from reauto.agent.numbers.kinds import Chain, after_correction, chains_of, is_given, kind_of


def _scaled_like(bare: float, other: float, *, below: bool) -> float:
    """A bare end of a range in the size of its other end: 3 beside 400000 → 300000."""
    if bare <= 0 or other <= 0:
        return bare
    options = [bare * 10 ** k for k in range(10)]
    if below:
        fitting = [v for v in options if v <= other]
        return fitting[-1] if fitting else bare
    fitting = [v for v in options if v >= other]
    return fitting[0] if fitting else bare


def _nearest_size(bare: float, other: float) -> float:
    """A bare number in the size of another: "four" after "three hundred thousand" is 400000."""
    if bare <= 0 or other <= 0:
        return bare
    return min((bare * 10 ** k for k in range(10)), key=lambda v: abs(math.log10(v) - math.log10(other)))


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


#: What a house may cost: a single figure takes the size of a price beside it only where it lands here.
HOUSE_PRICES = (50_000.0, 20_000_000.0)


def bare_price(value: float, *, decimal: bool = False, size: float | None = None) -> float:
    """A house price said without its size, in dollars.

    Above ten it is in thousands ("four fifty" → 450,000, "eight hundred" → 800,000; see
    :func:`house_money`). A single figure is in hundreds of thousands ("around six" → 600,000,
    "four and a half" → 450,000), or millions when said with a decimal point ("one point two" →
    1.2 million). Beside a price said with its size (``size``) a single figure takes the size
    nearest to it ("approved for three sixty, want to stay near three" → 300,000).
    """
    if value >= 10 or decimal:
        return house_money(value)
    if size is not None and size > 0:
        near = _nearest_size(value, size)
        if HOUSE_PRICES[0] <= near <= HOUSE_PRICES[1]:
            return near
    return value * 100_000


_BUDGET_CUE = re.compile(r"\b(budget|price|priced|afford|spend|spending|approved|qualified|range|max|maximum)\b")
_HIGH_BEFORE = re.compile(r"\b(up to|under|below|less than|no more than|not more than|max|maximum|max of|"
                          r"maximum of|at most|at the most|not over|no higher than|not above|capped at|cap at|"
                          r"cap of|top out at|tops out at|no more then|within|not to exceed|nothing over)\s*$")
_HIGH_AFTER = re.compile(r"^(tops|top|max|maximum|at most|at the most|or less|or under|or below|or lower|"
                         r"and under|and below|at the max|(is )?(our|my|the) (ceiling|limit|max|maximum|cap))\b")
_LOW_BEFORE = re.compile(r"\b(at least|over|above|more than|minimum|minimum of|min|starting at|starting from|"
                         r"north of|no less than|not less than|upwards of|upward of|in excess of)\s*$")
_LOW_AFTER = re.compile(r"^(or more|plus|and up|or higher|or above|at least|minimum|or over|and above|"
                        r"and over|at minimum)\b")


def _bounded(tokens: Sequence[str], chain: Chain, low: float, high: float, start_floor: int) -> tuple[
        float | None, float | None]:
    if chain.first is not chain.last or chain.first.band is not None:
        return low, high
    before = " ".join(tokens[max(start_floor, chain.start - 4):chain.start])
    after = " ".join(tokens[chain.end:chain.end + 3])
    if _HIGH_BEFORE.search(before) or _HIGH_AFTER.search(after):
        return None, high
    if _LOW_BEFORE.search(before) or _LOW_AFTER.search(after):
        return low, None
    return low, high


def _money_chains(reading: Reading, kinds: set[str]) -> tuple[int, list[Chain], float | None]:
    """The chains of the wanted kinds after the last correction, and the size the corrected one had."""
    cut, head, tail = after_correction(reading)
    chains = [c for c in chains_of(reading.tokens, tail) if kind_of(reading.tokens, c) in kinds]
    hint = None
    if cut:
        said = [c for c in chains_of(reading.tokens, head) if kind_of(reading.tokens, c) in kinds]
        before = _price_range(said[-1], True, None) if said else None
        hint = before[1] if before else None
    return cut, chains, hint


def _price_of(amount: Amount, cue: bool, hint: float | None, size: float | None) -> float | None:
    if amount.value <= 0:
        return None
    if amount.literal:
        if amount.value < 10_000 and not amount.grouped:
            return None  # "four hundred dollars", "two thousand" are no house price
        return amount.value
    if hint is not None:
        return _nearest_size(amount.value, hint)
    return bare_price(amount.value, decimal=amount.decimal, size=size) if cue else None


def _price_range(chain: Chain, cue: bool, hint: float | None, size: float | None = None) -> tuple[
        float, float] | None:
    a, b = chain.first, chain.last
    if a.band is not None:
        return a.band
    if a is b:
        value = _price_of(a, cue, hint, size)
        return None if value is None else (value, value)
    x, y = a.value, b.value
    if x <= 0 or y <= 0:
        return None
    if a.literal and not b.literal:
        y = _scaled_like(y, x, below=False)
    elif b.literal and not a.literal:
        x = _scaled_like(x, y, below=True)
    elif not a.literal and not b.literal:
        if not cue and hint is None:
            return None
        if x <= y:
            x = _scaled_like(x, y, below=True)
        else:
            y = _scaled_like(y, x, below=False)
        decimal = a.decimal or b.decimal  # "one to one point five": both in millions
        x, y = bare_price(x, decimal=decimal), bare_price(y, decimal=decimal)
        if x > y:
            return None
    elif (a.dollars and x < 10_000) or (b.dollars and y < 10_000):
        return None
    return min(x, y), max(x, y)


def parse_money_usd(text: str, *, asked: bool = True) -> MoneyRange | None:
    """A budget or price from speech: a point, a range or a bound, in dollars.

    Args:
        text: the recognised words.
        asked: whether the lead was answering a question about money. A number said without its
            size ("four fifty", "one point two") is a price only then, or beside a word such as
            "budget" or "afford"; "four hundred thousand" or "$450k" is a price either way.

    Units decide: "four months" is a duration, "eighteen hundred a month" or "in rent" a monthly
    amount (:func:`parse_monthly_usd`), "three bedrooms" neither; none of them is a price.
    """
    reading = read_amounts(text)
    if not reading.amounts:
        return None
    cue = asked or bool(_BUDGET_CUE.search(" ".join(reading.tokens)))
    cut, chains, hint = _money_chains(reading, {"price"})
    sized = [c.first.value for c in chains if c.first is c.last and c.first.literal and c.first.value >= 10_000]
    size = sized[0] if sized else None
    read = [(chain, found) for chain in chains if (found := _price_range(chain, cue, hint, size)) is not None]
    # what they paid, sold for or were approved for gives way to what they want ("approved for three
    # sixty but we want to stay near three"); alone, it is the price they named
    wanted = [(chain, found) for chain, found in read if not is_given(reading.tokens, chain)]
    for chain, found in (wanted or read)[:1]:
        low, high = _bounded(reading.tokens, chain, found[0], found[1], cut)
        return MoneyRange(low, high)
    return None


def parse_monthly_usd(text: str, *, asked: bool = False) -> MoneyRange | None:
    """A monthly amount (rent, a payment) in dollars: "eighteen hundred a month", "two k in rent".

    Args:
        text: the recognised words.
        asked: whether the lead was answering a question about a monthly amount; then a bare
            number ("sixteen fifty") counts without "a month" after it.
    """
    reading = read_amounts(text)
    kinds = {"monthly", "price"} if asked else {"monthly"}
    cut, chains, _ = _money_chains(reading, kinds)
    for chain in chains:
        a, b = chain.first, chain.last
        if a.band is not None:
            continue
        x, y = (a.value, b.value)
        if x <= 0 or y <= 0:
            continue
        if x < y / 10 and not a.literal:
            x = _scaled_like(x, y, below=True)
        elif y < x and not b.literal:
            y = _scaled_like(y, x, below=False)
        # "two and a half a month": the thousands go unsaid below twenty
        x, y = (v * 1000 if v < 20 else v for v in (x, y))
        low, high = _bounded(reading.tokens, chain, min(x, y), max(x, y), cut)
        return MoneyRange(low, high)
    return None
