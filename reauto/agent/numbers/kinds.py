"""What an amount is: step 3 of reading a sentence (see :mod:`reauto.agent.numbers`).

Amounts are joined into ranges ("three to four hundred thousand") and classed by the words beside
them: a duration, a monthly or other periodic amount, a year, a count of something else, or a price,
and a price as one already set (paid, approved for) or wanted. A correction ("no wait", "actually",
"nope", "four no five hundred") says which amounts and dates still count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reauto.agent.numbers.amounts import Amount, Reading
from reauto.agent.numbers.dates import MONTHS

#: Months in each unit of time: a year is 12, a week 12/52, a day 12/365.
TIME_UNITS = {"day": 12 / 365, "days": 12 / 365, "week": 12 / 52, "weeks": 12 / 52, "wk": 12 / 52, "wks": 12 / 52,
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
#: Words that make an amount in their clause a monthly one: "the rent on our place is", "our monthly".
_MONTHLY_WORDS = re.compile(r"\b(rent|rent's|rents|(?<!down )payments?|lease|landlord|monthly|mortgage note)\b")
#: "we pay eighteen hundred", "is what we pay": paid now, in the hundreds to thousands, is a monthly amount
_PAY_BEFORE = re.compile(r"\b(pay|paying|pays)\b")
_PAY_AFTER = re.compile(r"^(is )?(what|all|how much) (we|i|we're|i'm|we are|i am) (pay|paying|spend|spending)\b")
#: Words that end a clause: a monthly word or a verb beyond them speaks of another amount.
_CLAUSE_END = {"but", "so", "and", "because", "cause", "though", "although", "while", "whereas", "if", "then"}
#: "starting at seven", "list it at four fifty": "at" before a price, not a time of day.
_PRICE_AT = {"starting", "start", "starts", "priced", "price", "list", "listed", "listing", "it", "looking", "look",
             "aiming", "aim", "stay", "top", "tops", "max", "cap", "capped", "offers", "sell", "valued", "set"}
#: A price already set rather than wanted: what was paid, sold for, approved for or quoted by a lender.
_GIVEN_BEFORE = re.compile(r"\b(paid|bought|purchased|sold|approved|qualified|prequalified|preapproved|"
                           r"(lender|bank|broker|loan officer|credit union|mortgage guy|mortgage lady) "
                           r"(said|says|told us|told me|gave us|quoted))\b")
_DOWN_BEFORE = re.compile(r"\b(down payment( of| is| was)?|put down|putting down|down)$")
_YEAR_BEFORE = {"in", "by", "since", "until", "till", "before", "after", "of", "early", "late", "mid", "spring",
                "summer", "fall", "autumn", "winter", "year", "end", *MONTHS}
_RANGE_WORDS = {"to", "or", "through", "thru", "till", "until", "and", "maybe", "possibly", "perhaps", "dash"}
_RANGE_GLUE = _RANGE_WORDS | {"probably", "even", "like", "a", "somewhere", "up", "say", "anywhere"}
_MONTH_ALT = "|".join(MONTHS)
#: What may follow a corrective "no" before the value it puts right: "four no five hundred", "by august
#: um no september", "under four hundred no under four fifty"; not "no more than", "no later than".
_AFTER_NO = (rf"(?:(?:um|uh|er|wait|sorry|like|more like|make it|make that|maybe|probably|about|around|under|"
             rf"over|up to|by|in|until|till|before|the|this|next|early|late|mid|end of) )*"
             rf"(?:\d|zqband|{_MONTH_ALT}|spring|summer|fall|autumn|winter)")
_CORRECTION = re.compile(rf"\b(no wait|wait|actually|i mean|i meant|sorry|scratch that|make that|make it|or rather|"
                         rf"rather|correction|no no|let me rephrase|let me correct that|nope|no(?= {_AFTER_NO})|"
                         rf"well(?= (?:maybe|probably|more like|actually|really))|more like|"
                         rf"(?:my|our) (?:husband|wife|partner|spouse|fiance|fiancee|boyfriend|girlfriend) "
                         rf"(?:says|said|thinks))\b")


@dataclass(frozen=True)
class Chain:
    """One amount or a range of two ("three to four hundred thousand")."""

    first: Amount
    last: Amount

    @property
    def start(self) -> int:
        return self.first.start

    @property
    def end(self) -> int:
        return self.last.end


def chains_of(tokens: Sequence[str], found: Sequence[Amount]) -> list[Chain]:
    """The amounts in order, each alone or joined to the next one as a range."""
    out: list[Chain] = []
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
                    out.append(Chain(a, b))
                    i += 2
                    continue
        out.append(Chain(a, a))
        i += 1
    return out


def kind_of(tokens: Sequence[str], chain: Chain) -> str:
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
    near = " ".join(tokens[max(0, first.start - 3):first.start])
    near = re.sub(r"\bmake (it|that)\b", "", near)  # "make it six" corrects, "i make ninety" earns
    if nxt in _OTHER_AFTER or set(near.split()) & _OTHER_BEFORE:
        return "other"
    value = first.value
    if first.grouped and 1900 <= value <= 2099 and (int(value) // 100 in {19, 20}) and \
            (prev in _YEAR_BEFORE or not before):
        return "year"
    if not first.grouped and 1900 <= value <= 2100 and value == int(value) and prev in _YEAR_BEFORE \
            and not first.literal:
        return "year"
    if prev in {"at"} and value <= 12 and not first.literal and (first.start < 2 or tokens[first.start - 2]
                                                                 not in _PRICE_AT):
        return "other"  # "at two": a time of day; "starting at seven" is a price
    if _DOWN_BEFORE.search(before):
        return "other"
    if _MONTHLY_WORDS.search(before) and (not first.literal or not re.search(
            r"\b(house|home|place|price|budget|afford|approved|qualified)\b", before)):
        return "monthly"
    said_before, said_after = _clause(tokens, first.start, last.end)
    small = not first.literal or value < 10_000
    if small and (_MONTHLY_WORDS.search(said_before) or _MONTHLY_WORDS.search(" ".join(said_after.split()[:3]))):
        return "monthly"  # "our monthly on the current house is thirteen fifty"
    if (_PAY_BEFORE.search(before) or _PAY_AFTER.search(said_after)) and not first.literal and 1000 <= value < 10_000:
        return "monthly"
    return "price"


def _clause(tokens: Sequence[str], start: int, end: int) -> tuple[str, str]:
    """The words of an amount's clause: up to 8 before ``start`` and 6 after ``end``, each side
    stopping at a word that starts another clause ("but", "so", "and")."""
    before: list[str] = []
    for tok in reversed(tokens[max(0, start - 8):start]):
        if tok in _CLAUSE_END:
            break
        before.append(tok)
    after: list[str] = []
    for tok in tokens[end:end + 6]:
        if tok in _CLAUSE_END:
            break
        after.append(tok)
    return " ".join(reversed(before)), " ".join(after)


def is_given(tokens: Sequence[str], chain: Chain) -> bool:
    """Whether a price is one already set rather than wanted: what was paid or sold for, what a
    lender approved or quoted ("approved for three sixty but we want to stay near three")."""
    before, _ = _clause(tokens, chain.start, chain.end)
    return bool(_GIVEN_BEFORE.search(" ".join(before.split()[-5:])))


def correction_cut(tokens: Sequence[str], starts: Iterable[int]) -> int:
    """The token after the last correction that something said (an amount, a date: their first
    tokens in ``starts``) follows; 0 without one. A correction with nothing after it changes nothing."""
    joined = " ".join(tokens)
    said = sorted(set(starts))
    cut = 0
    for m in _CORRECTION.finditer(joined):
        index = joined[:m.end()].count(" ") + 1
        if said and said[-1] >= index:
            cut = index
    return cut


def after_correction(reading: Reading) -> tuple[int, list[Amount], list[Amount]]:
    """Where the last correction that is followed by an amount ends, the amounts before and after it.

    "three hundred no wait four hundred" is four hundred, "four no five hundred" five hundred.
    """
    cut = correction_cut(reading.tokens, (a.start for a in reading.amounts))
    return cut, [a for a in reading.amounts if a.start < cut], [a for a in reading.amounts if a.start >= cut]
