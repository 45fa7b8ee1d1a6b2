"""Number words written as digits: step 1 of reading a sentence (see :mod:`reauto.agent.numbers`).

text2num's ``alpha2digit`` reads the cardinals and ordinals; the rewrites around it keep what a person
meant ("a million two", "the mid fours", "the one on elm"), and the result is split into tokens.
"""

from __future__ import annotations

import re

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

_SMALL = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
          "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety")
_DIGIT_WORDS = {w: UNITS[w] for w in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")}
_PLURAL_DIGITS = {"twos": 2, "threes": 3, "fours": 4, "fives": 5, "sixes": 6, "sevens": 7, "eights": 8,
                  "nines": 9}
#: Things counted in a sentence about a home, which a number before them is a count of.
_COUNTED = ("bedrooms?|beds?|baths?|bathrooms?|rooms?|kids|children|people|dogs|cats|cars|acres?|stories|"
            "floors?|units|percent|minutes|hours|days|weeks|months|years")
_TOKEN = re.compile(r"\$?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)[a-z]*|[a-z]+(?:'[a-z]+)*|[$%]")


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


def _figures_band(match: re.Match[str]) -> tuple[float, float]:
    """ "seven figures" → 1,000,000 to 10,000,000; "low six figures" the first third of its band."""
    low = 10.0 ** (_FIGURE_DIGITS[match.group("n")] - 1)
    part = _BAND_PART[match.group("q1")]
    width = 9 * low
    return round(low + width * part[0], -3), round(low + width * part[1], -3)


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


#: "one" that names a thing, not a count: "the one on elm", "no one", "one of those"; not "the one point
#: five range" or "the one and a half million one", where it starts an amount.
_PRONOUN_ONE = re.compile(
    r"\b(?P<det>no|the|this|that|which|any|every|each|some|another|other|last|next|little|big|new|old|right|"
    r"good|only|first|second|either|neither|earlier|later|same|morning|afternoon|evening|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday) one\b"
    r"(?! (?:point|hundred|thousand|million|mil|grand|and a half|and a quarter|and three quarters)\b)|\bone (?=of\b)")
#: "a buck fifty": price slang for a hundred (thousand), said before the rest of the amount.
_BUCK = re.compile(rf"\b(?:a|one) buck (?=(?:{_SMALL})\b)")
#: "six figures", "low seven figures": a price band by its number of digits.
_FIGURES = re.compile(r"\b(?:(?P<q1>low|lower|mid|middle|high|upper) )?(?P<n>five|six|seven|eight) figures?\b")
_FIGURE_DIGITS = {"five": 5, "six": 6, "seven": 7, "eight": 8}


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


def digits_and_bands(text: str) -> tuple[str, list[tuple[float, float]]]:
    """Cleaned text with number words as digits, and the price bands it names (as ``zqband<letter>``)."""
    s = _clean(text)
    bands: list[tuple[float, float]] = []

    def band(match: re.Match[str]) -> str:
        found = _band(match)
        if found is None or len(bands) >= 26:
            return match.group(0)
        bands.append(found)
        return ("the " if match.group("the") else "") + f"zqband{chr(97 + len(bands) - 1)}"

    def figures(match: re.Match[str]) -> str:
        if len(bands) >= 26:
            return match.group(0)
        bands.append(_figures_band(match))
        return f"zqband{chr(97 + len(bands) - 1)}"

    s = _BAND.sub(band, s)
    s = _FIGURES.sub(figures, s)
    s = re.sub(r"\b(?:a|one) buck and a half\b", "one fifty", s)
    s = _BUCK.sub("one ", s)
    s = _MILLION_TAIL.sub(_million_tail, s)
    s = _PRONOUN_ONE.sub(lambda m: f"{m.group('det')} onex" if m.group("det") else "onex ", s)
    # "and" joins a number only after a scale word ("four hundred and fifty"); text2num also joins
    # "three fifty and four hundred" into 3 5400
    s = re.sub(r"(?<!hundred)(?<!thousand)(?<!million)(?<!billion) and\b", " andx", s)
    s = re.sub(r"\b((?:eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
               r"forty|fifty|sixty|seventy|eighty|ninety)(?: [a-z]+)? hundred) and (?=(?:[a-z]+ ){0,3}"
               r"(?:thousand|grand|k)\b)", r"\1 andx ", s)  # "fifteen hundred and two thousand": two amounts
    # "…thousand and three bedrooms": two things; "a hundred and twenty days" is one number
    s = re.sub(rf"\b(thousand|million|billion) and (?=(?:{_SMALL})(?: [a-z]+)? (?:{_COUNTED})\b)", r"\1 andx ", s)
    s = _raw_digits(s)
    return " ".join(s.replace("onex", "one").replace("andx", "and").split()), bands


def spoken_digits(text: str) -> str:
    """Text as lower-case tokens with its number words written in digits.

    "tomorrow at two thirty" → "tomorrow at 2 30"; "the first one" → "the 1st one". Never raises.
    """
    return digits_and_bands(text)[0]


def tokens_of(text: str) -> list[str]:
    """The tokens of converted text: numbers, words, "$" and "%"; "10am" is "10", "am"."""
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        number = re.match(r"^(\$?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+))([a-z]+)$", tok)
        if number and number.group(2) not in {"k", "m", "mil", "st", "nd", "rd", "th", "s"}:
            out.extend([number.group(1), number.group(2)])  # "10am" → "10", "am"
        else:
            out.append(tok)
    return out
