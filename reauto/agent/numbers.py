"""Spoken numbers, money and durations as a phone recogniser writes them.

Input is lower-case words without punctuation ("four hundred thousand", "about three months"),
sometimes digits ("400k", "$400,000"). Every parser returns ``None`` when it finds nothing and
never raises on any string.

A sentence is read in three steps:

1. :func:`spoken_digits` turns number words into digits. text2num's ``alpha2digit`` does the
   cardinal arithmetic ("six hundred and twenty five thousand" → 625000) and the ordinals that
   dates need ("the twenty seventh" → 27th), which the word grammar this module had before did
   not read. Measured on the 40 budget amounts of tests/test_numbers.py (``CARDINALS``):
   ``alpha2digit`` alone reads 26, that grammar 36, ``alpha2digit`` with the code here 40. All 14
   it misses alone are the ways people shorten amounts, which the code here reads: rewrites before
   it runs where it would lose what was said ("a million two" → it says 1000002, a person means
   1.2 million; "the mid fours" → it drops the plural that makes the words a price band; "three
   fifty and four hundred" → it says 3 5400; "the one on elm" is a pronoun), and step 2 after.
2. The digit tokens are grouped into amounts (:class:`Amount`) the way people say them and
   text2num does not: "4 50" ("four fifty" → 450), "1.2 1000000", "half a 1000000", "a 1000000 and a half",
   "400 k", "$450k".
3. Amounts are classed by the words beside them. A unit of time makes a duration ("four months"),
   "a month" / "per month" / "in rent" a monthly amount, bedrooms, percent, minutes or a credit
   score something else; only what is left can be a price, and a price said without its size
   ("four fifty") only where a budget was asked.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from text_to_num import alpha2digit

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

#: Average month length in days, for timelines counted to a calendar date.
DAYS_PER_MONTH = 365.25 / 12
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
SEASON_MONTHS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "fall": (9, 10, 11), "autumn": (9, 10, 11),
                 "winter": (12, 1, 2)}
#: First month of each season, as the timeline rules count it.
SEASON_MONTH = {season: months[0] for season, months in SEASON_MONTHS.items()}

_SMALL = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
          "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety")
_DIGIT_WORDS = {w: UNITS[w] for w in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")}
_PLURAL_DIGITS = {"twos": 2, "threes": 3, "fours": 4, "fives": 5, "sixes": 6, "sevens": 7, "eights": 8,
                  "nines": 9}
_SCALE_WORDS = {"k": 1_000, "grand": 1_000, "thousand": 1_000, "thousands": 1_000, "m": 1_000_000,
                "mil": 1_000_000, "million": 1_000_000, "millions": 1_000_000, "billion": 1_000_000_000}
#: Things counted in a sentence about a home, which a number before them is a count of.
_COUNTED = ("bedrooms?|beds?|baths?|bathrooms?|rooms?|kids|children|people|dogs|cats|cars|acres?|stories|"
            "floors?|units|percent|minutes|hours|days|weeks|months|years")
_NUMBER = re.compile(r"^(\$?)(\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(k|m|mil)?$")
_TOKEN = re.compile(r"\$?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)[a-z]*|[a-z]+(?:'[a-z]+)*|[$%]")


# --- from words to digits --------------------------------------------------------------------------
def _clean(text: str) -> str:
    """Lower case; punctuation to spaces except inside numbers ("1,200", "1.5") and words ("don't")."""
    s = str(text).lower()
    s = re.sub(r"(?<=\d)'s\b", "s", s)  # "400's" → "400s"
    s = re.sub(r"[^a-z0-9$%.,' ]", " ", s)
    s = re.sub(r"(?<!\d)[.,]|[.,](?!\d)", " ", s)
    s = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", s)
    return " ".join(s.split())


_BAND = re.compile(
    r"\b(?:(?P<q1>low|lower|mid|middle|high|upper)(?: to (?:the )?(?P<q2>low|lower|mid|middle|high|upper))? "
    r"|(?P<the>the ))(?:(?P<plural>twos|threes|fours|fives|sixes|sevens|eights|nines)"
    r"|(?P<word>two|three|four|five|six|seven|eight|nine) hundreds|(?P<digit>[2-9])00s"
    r"|(?P<hth>two|three|four|five|six|seven|eight|nine) hundred thousands|(?P<mil>millions))\b")
#: Where in its hundred thousand a band puts a price: "the low fours" is 400–433k.
_BAND_PART = {"low": (0.0, 1 / 3), "lower": (0.0, 1 / 3), "mid": (0.25, 0.75), "middle": (0.25, 0.75),
              "high": (2 / 3, 1.0), "upper": (2 / 3, 1.0), None: (0.0, 1.0)}


def _band(match: re.Match[str]) -> tuple[float, float] | None:
    if match.group("mil"):
        if match.group("q1") is None:
            return None  # "the millions" is not a price band
        base, width = 1_000_000.0, 1_000_000.0
    else:
        word = match.group("plural") or match.group("word") or match.group("hth")
        digit = _PLURAL_DIGITS.get(word or "") or _DIGIT_WORDS.get(word or "") or int(match.group("digit") or 0)
        base, width = digit * 100_000.0, 100_000.0
    first = _BAND_PART[match.group("q1")]
    last = _BAND_PART[match.group("q2") or match.group("q1")]
    return round(base + width * first[0], -3), round(base + width * last[1], -3)


_MILLION_TAIL = re.compile(
    rf"\b(?P<head>a|one|two|three|four|five|six|seven|eight|nine) (?:million|mil) "
    rf"(?P<tail>(?:(?:{_SMALL}|hundred) ?){{1,4}})(?!\w)(?! ?(?:thousand|hundred|million|k\b|grand))")


def _million_tail(match: re.Match[str]) -> str:
    """ "a million two" → 1200000; "one million two fifty" → 1250000 (text2num reads 1000002)."""
    head = 1 if match.group("head") == "a" else _DIGIT_WORDS[match.group("head")]
    parts = [float(t) for t in _raw_digits(match.group("tail")).split() if t.replace(".", "").isdigit()]
    if not parts:
        return match.group(0)
    tail = parts[0] * 100 + parts[1] if len(parts) == 2 and parts[0] < 10 <= parts[1] < 100 else parts[0]
    if len(parts) > 2 or tail >= 1000:
        return match.group(0)
    extra = tail * 100_000 if tail < 10 else tail * 1_000
    return f"{int(head * 1_000_000 + extra)} "


#: "one" that names a thing, not a count: "the one on elm", "no one", "one of those".
_PRONOUN_ONE = re.compile(
    r"\b(?P<det>no|the|this|that|which|any|every|each|some|another|other|last|next|little|big|new|old|right|"
    r"good|only|first|second|either|neither|earlier|later|same|morning|afternoon|evening|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday) one\b|\bone (?=of\b)")


def _raw_digits(text: str) -> str:
    """``alpha2digit`` over text already cleaned; the text unchanged if it fails."""
    try:
        return alpha2digit(text, "en", threshold=0)
    except Exception:  # text2num reports unreadable input by raising; the words stay as they are
        return text
    except BaseException as exc:  # a panic in its Rust core arrives as a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        return text


def _convert(text: str) -> tuple[str, list[tuple[float, float]]]:
    """Cleaned text with number words as digits, and the price bands it names (as ``zqband<letter>``)."""
    s = _clean(text)
    bands: list[tuple[float, float]] = []

    def band(match: re.Match[str]) -> str:
        found = _band(match)
        if found is None or len(bands) >= 26:
            return match.group(0)
        bands.append(found)
        return ("the " if match.group("the") else "") + f"zqband{chr(97 + len(bands) - 1)}"

    s = _BAND.sub(band, s)
    s = _MILLION_TAIL.sub(_million_tail, s)
    s = _PRONOUN_ONE.sub(lambda m: f"{m.group('det')} onex" if m.group("det") else "onex ", s)
    # "and" joins a number only after a scale word ("four hundred and fifty"); text2num also joins
    # "three fifty and four hundred" into 3 5400
    s = re.sub(r"(?<!hundred)(?<!thousand)(?<!million)(?<!billion) and\b", " andx", s)
    s = re.sub(r"\b((?:eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
               r"forty|fifty|sixty|seventy|eighty|ninety)(?: [a-z]+)? hundred) and (?=(?:[a-z]+ ){0,3}"
               r"(?:thousand|grand|k)\b)", r"\1 andx ", s)  # "fifteen hundred and two thousand": two amounts
    s = re.sub(rf"\band (?=(?:{_SMALL})(?: [a-z]+)? (?:{_COUNTED})\b)", "andx ", s)  # "…thousand and three bedrooms"
    s = _raw_digits(s)
    return " ".join(s.replace("onex", "one").replace("andx", "and").split()), bands


def spoken_digits(text: str) -> str:
    """Text as lower-case tokens with its number words written in digits.

    "tomorrow at two thirty" → "tomorrow at 2 30"; "the first one" → "the 1st one". Never raises.
    """
    return _convert(text)[0]


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        number = re.match(r"^(\$?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+))([a-z]+)$", tok)
        if number and number.group(2) not in {"k", "m", "mil", "st", "nd", "rd", "th", "s"}:
            out.extend([number.group(1), number.group(2)])  # "10am" → "10", "am"
        else:
            out.append(tok)
    return out


# --- amounts ---------------------------------------------------------------------------------------
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
    """

    value: float
    start: int
    end: int
    literal: bool = False
    dollars: bool = False
    grouped: bool = False
    band: tuple[float, float] | None = None


def _plain_number(tok: str) -> tuple[float, bool, float] | None:
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
    elif tok in {"a", "an"} and i + 1 < n and _plain_number(tokens[i + 1]):
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
    if tokens[j] == "point" and j + 1 < n and re.fullmatch(r"\d+", tokens[j + 1]):
        parsed: tuple[float, bool, float] | None = (float("0." + tokens[j + 1]), False, 1.0)
        j += 1
    else:
        parsed = _plain_number(tokens[j])
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
    if tokens[end:end + 3] == ["and", "a", "half"] and value < 1000:
        value, end = value + 0.5, end + 3
    scale = _is_scale_token(tokens[end]) if end < n else None
    if scale is not None and not literal and value < 1000:
        value, end, literal = value * scale, end + 1, True
        if tokens[end:end + 3] == ["and", "a", "half"]:
            value, end = value + scale / 2, end + 3  # "a million and a half"
    elif value >= 1000 and value == 10 ** int(math.log10(value)) and tokens[end:end + 3] == ["and", "a", "half"]:
        value, end = value * 1.5, end + 3  # "a 1000000 and a half"
    if end < n and tokens[end] in {"dollars", "dollar", "bucks"}:
        dollars, end = True, end + 1
    literal = literal or dollars or (value >= 10_000 and not grouped)
    return Amount(value, start, end, literal=literal, dollars=dollars, grouped=grouped)


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
class _Reading:
    tokens: list[str]
    amounts: list[Amount]


def _read(text: str) -> _Reading:
    converted, bands = _convert(text)
    tokens = _tokens(converted)
    return _Reading(tokens, _amounts(tokens, bands))


def words_to_number(words: list[str]) -> float | None:
    """Value of a run of number words ("four hundred and fifty thousand" → 450000)."""
    found = _read(" ".join(str(w) for w in words)).amounts
    return found[0].value if found else None


def parse_number(text: str) -> float | None:
    """The first number in ``text``, written in digits or words."""
    found = _read(text).amounts
    return found[0].value if found else None


# --- what an amount is ----------------------------------------------------------------------------
TIME_UNITS = {"day": 1 / 30, "days": 1 / 30, "week": 0.25, "weeks": 0.25, "wk": 0.25, "wks": 0.25,
              "month": 1.0, "months": 1.0, "mo": 1.0, "mos": 1.0, "year": 12.0, "years": 12.0,
              "yr": 12.0, "yrs": 12.0}
#: Words after a number that make it a count of something other than money or time.
_OTHER_AFTER = {
    "bedroom", "bedrooms", "bed", "beds", "br", "bath", "baths", "bathroom", "bathrooms", "room", "rooms",
    "kid", "kids", "children", "child", "people", "person", "dogs", "dog", "cats", "cat", "percent", "%",
    "acre", "acres", "square", "sq", "sqft", "feet", "foot", "ft", "miles", "mile", "minutes", "minute",
    "min", "mins", "hours", "hour", "hrs", "o'clock", "oclock", "am", "pm", "times", "story", "stories",
    "floor", "floors", "car", "cars", "garage", "unit", "units", "plex", "credit", "score", "st", "street",
    "ave", "avenue", "road", "lane", "drive", "dr", "way", "blvd", "court", "ct", "down", "of", "th", "nd",
    "zip", "something", "saved", "savings", "deposit", "set", "put",
}
#: Words just before a number that make it something other than a budget.
_OTHER_BEFORE = {"score", "zip", "number", "route", "highway", "interstate", "suite", "apartment", "apt",
                 "unit", "address", "age", "aged", "ages", "percent", "saved", "savings", "save", "deposit",
                 "income", "salary", "make", "makes", "earn", "earns", "owe", "owes", "debt", "credit"}
_MONTHLY_AFTER = re.compile(r"^(a|per|each|every|/) ?(month|mo)\b|^monthly\b|^(in|for|on) rent\b|^rent\b|"
                            r"^(a|per) (month|mo) (in|for) rent\b")
_PERIODIC_AFTER = re.compile(r"^(a|per|each|every|an) (year|yr|week|wk|day|hour|hr)\b|^(annually|yearly|weekly|"
                             r"hourly|daily|a night|per night)\b")
_MONTHLY_BEFORE = re.compile(r"\b(rent|rent's|rents|payment|payments|lease)\b")
#: "we pay eighteen hundred": paid now, in the hundreds to thousands, is a monthly amount
_PAY_BEFORE = re.compile(r"\b(pay|paying|pays)\b")
_DOWN_BEFORE = re.compile(r"\b(down payment( of| is| was)?|put down|putting down|down)$")
_YEAR_BEFORE = {"in", "by", "since", "until", "till", "before", "after", "of", "early", "late", "mid", "spring",
                "summer", "fall", "autumn", "winter", "year", "end", *MONTHS}
_RANGE_WORDS = {"to", "or", "through", "thru", "till", "until", "and", "maybe", "possibly", "perhaps", "dash"}
_RANGE_GLUE = _RANGE_WORDS | {"probably", "even", "like", "a", "somewhere", "up", "say", "anywhere"}
_CORRECTION = re.compile(r"\b(no wait|wait|actually|i mean|i meant|sorry|scratch that|make that|or rather|rather|"
                         r"correction|no no|let me rephrase|let me correct that)\b")


@dataclass(frozen=True)
class _Chain:
    """One amount or a range of two ("three to four hundred thousand")."""

    first: Amount
    last: Amount

    @property
    def start(self) -> int:
        return self.first.start

    @property
    def end(self) -> int:
        return self.last.end


def _chains(tokens: Sequence[str], found: Sequence[Amount]) -> list[_Chain]:
    out: list[_Chain] = []
    i = 0
    while i < len(found):
        a = found[i]
        if i + 1 < len(found):
            b = found[i + 1]
            gap = list(tokens[a.end:b.start])
            joined = set(gap) & _RANGE_WORDS - ({"and"} if not {"between", "from"} & set(
                tokens[max(0, a.start - 3):a.start]) else set())
            if len(gap) <= 3 and set(gap) <= _RANGE_GLUE and (joined or (not gap and a.literal and b.literal)):
                if a.band is None and b.band is None:
                    out.append(_Chain(a, b))
                    i += 2
                    continue
        out.append(_Chain(a, a))
        i += 1
    return out


def _kind(tokens: Sequence[str], chain: _Chain) -> str:
    """duration, monthly, periodic, year, other or price: what the words around an amount make it."""
    first, last = chain.first, chain.last
    after = " ".join(tokens[last.end:last.end + 4])
    nxt = tokens[last.end] if last.end < len(tokens) else ""
    prev = tokens[first.start - 1] if first.start > 0 else ""
    before = " ".join(tokens[max(0, first.start - 5):first.start])
    if last.band is not None or first.band is not None:
        return "price"
    if nxt in TIME_UNITS:
        return "duration"
    if _MONTHLY_AFTER.search(after):
        return "monthly"
    if _PERIODIC_AFTER.search(after):
        return "periodic"
    if nxt in _OTHER_AFTER or set(tokens[max(0, first.start - 3):first.start]) & _OTHER_BEFORE:
        return "other"
    value = first.value
    if first.grouped and 1900 <= value <= 2099 and (int(value) // 100 in {19, 20}) and \
            (prev in _YEAR_BEFORE or not before):
        return "year"
    if not first.grouped and 1900 <= value <= 2100 and value == int(value) and prev in _YEAR_BEFORE \
            and not first.literal:
        return "year"
    if prev in {"at"} and value <= 12 and not first.literal:
        return "other"  # "at two": a time of day
    if _DOWN_BEFORE.search(before):
        return "other"
    if _MONTHLY_BEFORE.search(before) and (not first.literal or not re.search(
            r"\b(house|home|place|price|budget|afford|approved|qualified)\b", before)):
        return "monthly"
    if _PAY_BEFORE.search(before) and not first.literal and 1000 <= value < 10_000:
        return "monthly"
    return "price"


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


# --- money -----------------------------------------------------------------------------------------
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


_NO_AMOUNT = re.compile(r"\b(no budget|not sure|don'?t know|dont know|no idea|haven'?t (decided|thought)|"
                        r"depends)\b")
_BUDGET_CUE = re.compile(r"\b(budget|price|priced|afford|spend|spending|approved|qualified|range|max|maximum)\b")
_HIGH_BEFORE = re.compile(r"\b(up to|under|below|less than|no more than|not more than|max|maximum|max of|"
                          r"maximum of|at most|at the most|not over|no higher than|not above|capped at|cap at|"
                          r"cap of|top out at|tops out at|no more then|within|not to exceed|nothing over)\s*$")
_HIGH_AFTER = re.compile(r"^(tops|top|max|maximum|at most|at the most|or less|or under|or below|or lower|"
                         r"and under|and below|at the max)\b")
_LOW_BEFORE = re.compile(r"\b(at least|over|above|more than|minimum|minimum of|min|starting at|starting from|"
                         r"north of|no less than|not less than|upwards of|upward of|in excess of)\s*$")
_LOW_AFTER = re.compile(r"^(or more|plus|and up|or higher|or above|at least|minimum|or over|and above|"
                        r"and over|at minimum)\b")


def _bounded(tokens: Sequence[str], chain: _Chain, low: float, high: float, start_floor: int) -> tuple[
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


def _after_correction(reading: _Reading) -> tuple[int, list[Amount], list[Amount]]:
    """Where the last correction that is followed by an amount ends, the amounts before and after it.

    "three hundred no wait four hundred" is four hundred; a correction with nothing after it
    changes nothing.
    """
    joined = " ".join(reading.tokens)
    cut = 0
    for m in _CORRECTION.finditer(joined):
        index = joined[:m.end()].count(" ") + 1
        if any(a.start >= index for a in reading.amounts):
            cut = index
    return cut, [a for a in reading.amounts if a.start < cut], [a for a in reading.amounts if a.start >= cut]


def _money_chains(reading: _Reading, kinds: set[str]) -> tuple[int, list[_Chain], float | None]:
    """The chains of the wanted kinds after the last correction, and the size the corrected one had."""
    cut, head, tail = _after_correction(reading)
    chains = [c for c in _chains(reading.tokens, tail) if _kind(reading.tokens, c) in kinds]
    hint = None
    if cut:
        said = [c for c in _chains(reading.tokens, head) if _kind(reading.tokens, c) in kinds]
        before = _price_range(said[-1], True, None) if said else None
        hint = before[1] if before else None
    return cut, chains, hint


def _price_of(amount: Amount, cue: bool, hint: float | None) -> float | None:
    if amount.value <= 0:
        return None
    if amount.literal:
        if amount.dollars and amount.value < 10_000 and not amount.grouped:
            return None  # "four hundred dollars" is no house price
        return amount.value
    if hint is not None:
        return _nearest_size(amount.value, hint)
    return house_money(amount.value) if cue else None


def _price_range(chain: _Chain, cue: bool, hint: float | None) -> tuple[float, float] | None:
    a, b = chain.first, chain.last
    if a.band is not None:
        return a.band
    if a is b:
        value = _price_of(a, cue, hint)
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
        x, y = house_money(x), house_money(y)
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
    reading = _read(text)
    if not reading.amounts:
        return None
    cue = asked or bool(_BUDGET_CUE.search(" ".join(reading.tokens)))
    cut, chains, hint = _money_chains(reading, {"price"})
    for chain in chains:
        found = _price_range(chain, cue, hint)
        if found is None:
            continue
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
    reading = _read(text)
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


# --- durations -------------------------------------------------------------------------------------
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
_ALREADY = re.compile(r"\b(this week|already|this weekend|any day now|right now)\b")
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


@dataclass(frozen=True)
class _Found:
    start: int
    low: float
    high: float
    bound: str | None = None  # "high", "low" or None


def _unit_durations(tokens: Sequence[str], found: Sequence[Amount]) -> list[_Found]:
    """Counts of days, weeks, months and years: "six or seven weeks", "a year and a half"."""
    out: list[_Found] = []
    chains = _chains(tokens, found)
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
        if end + 1 < len(tokens) and tokens[end] in {"or", "to"}:
            nxt = tokens[end + 1]
            other = _plain_number(nxt)
            if other is not None and (end + 2 >= len(tokens) or tokens[end + 2] not in TIME_UNITS):
                high = max(high, other[0])
        before = list(tokens[max(0, start - 3):start])
        after = tokens[end:end + 2]
        if after[:1] in (["ago"], ["old"], ["back"]) or before[-1:] in (["every"], ["each"], ["per"]):
            continue
        if set(before) & _PAST_BEFORE and not (before[-1:] and before[-1] in _FUTURE_BEFORE) and \
                not set(after) & {"more", "left", "from", "away"}:
            continue
        if low > high:
            low, high = high, low
        bound = None
        text_before = " ".join(tokens[max(0, start - 4):start])
        if _DURATION_HIGH.search(text_before):
            bound = "high"
        elif _DURATION_LOW.search(text_before) or tokens[end:end + 2] in (["or", "more"], ["or", "longer"]):
            bound = "low"
        out.append(_Found(start, round(low * factor, 2), round(high * factor, 2), bound))
    return _merged(tokens, out)


def _merged(tokens: Sequence[str], found: list[_Found]) -> list[_Found]:
    """ "six months to a year": two durations joined by "to"/"or" are one range."""
    out: list[_Found] = []
    for item in found:
        if out:
            prev = out[-1]
            gap = tokens[prev.start:item.start]
            if 2 <= len(gap) <= 6 and ("to" in gap or "or" in gap) and gap[-1] in {"to", "or", "a", "an"} | \
                    set(_QUANTITY_WORDS) or (gap[-2:-1] in (["to"], ["or"]) and len(gap) <= 4):
                out[-1] = _Found(prev.start, min(prev.low, item.low), max(prev.high, item.high))
                continue
        out.append(item)
    return out


@dataclass(frozen=True)
class _Today:
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


def _month_anchor(m: re.Match[str], today: _Today, text: str) -> float | None:
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


def _season_anchor(m: re.Match[str], today: _Today) -> float | None:
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


def _calendar_anchors(tokens: Sequence[str], today: _Today) -> list[_Found]:
    """Dates a timeline is said against: "next spring", "by the end of the year", "in march"."""
    text = " ".join(tokens)
    out: list[_Found] = []

    def add(pos: int, months: float | None) -> None:
        if months is not None:
            out.append(_Found(text[:pos].count(" ") if pos else 0, months, months))

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


def _year_anchors(tokens: Sequence[str], found: Sequence[Amount], today: _Today) -> list[_Found]:
    """ "in twenty twenty seven", "by 2028": a year said as a year."""
    out: list[_Found] = []
    this_year = today.day.year if today.day else None
    for chain in _chains(tokens, found):
        if chain.first is not chain.last or _kind(tokens, chain) != "year" or this_year is None:
            continue
        year = int(chain.first.value)
        if not this_year <= year <= this_year + 10:
            continue
        prev = tokens[chain.start - 1] if chain.start else ""
        month, day = (1, 1) if prev in {"by", "before", "until", "till", "early"} else (
            (12, -1) if prev in {"late", "end"} else (6, None))
        out.append(_Found(chain.start, *(today.until(year - this_year, month, day),) * 2))
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
    reading = _read(text)
    joined = " ".join(reading.tokens)
    if _ASAP.search(joined):
        return DurationRange(0.0, 0.0)
    when = _Today(today, today.month) if today is not None else _Today(
        None, today_month) if today_month is not None else _Today(date.today(), date.today().month)
    cut, head, tail = _after_correction(reading)
    tokens = reading.tokens
    found = _unit_durations(tokens, tail)
    try:
        found += _calendar_anchors(tokens, when) + _year_anchors(tokens, tail, when)
    except (ValueError, OverflowError):  # a date past the calendar's last year: no calendar answer
        pass
    found = [f for f in found if f.start >= cut]
    if cut and not found:
        # "four months no actually six": the corrected number keeps the unit said before it
        units = [t for t in tokens[:cut] if t in TIME_UNITS]
        if units and tail:
            value = tail[0].value * TIME_UNITS[units[-1]]
            found = [_Found(tail[0].start, round(value, 2), round(value, 2))]
    if not found:
        if _ALREADY.search(joined) and not _VAGUE.search(joined):
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
