"""What the lead wants to do: buy, sell or rent, read from how people say it.

Rules first, for the wording most people use ("we want to buy", "we're sellers", "list our
house", "a place to rent"), then, for an answer to the intent question the rules cannot read,
the corpus-trained model of :mod:`reauto.agent.classifier` when it is clearly sure.

The rules a person follows, and this module too:

* a lead who will both sell and buy is a seller: the listing is the brokerage's first job and
  usually pays for the purchase ("upsizing so both", "we'd buy first then sell ours");
* a correction counts ("we were going to sell but now we want to buy" → buy; "buy, no sorry,
  sell" → sell), and a denied intent does not ("definitely buying not selling" → buy);
* renting is the lead's intent only as a plan ("looking to rent", "a rental", "a place to rent");
  renting now is where they live ("we've been renting forever so we want to buy" → buy);
* asked "buy or sell?", "the first" and "the second" are read against the question's order, and
  naming the home they want ("a condo", "a three bedroom with a yard") is buying.
"""

from __future__ import annotations

import re

from reauto.agent.classifier import lead_intent as learned_intent

BUY = (r"\b(buy|buying|buyer|buyers|purchase|purchasing|in the market for|looking for (a|an|our|my) (new |first |"
       r"bigger |smaller )?(home|house|place|condo|property|townhouse|townhome)|find (a|our|my|an) (new )?(home|house|"
       r"place|condo)|shopping for|house hunting|home hunting|get into (a|my|our) (first )?(home|house|place)|"
       r"(own|owning) (a|our|my) (own )?(home|house|place)|own instead of|stop renting|investment property|investor|"
       r"vacation home|second home|starter home|forever home|airbnb|upgrade to|move up to|first time)\b")
SELL = (r"\b(sell|selling|seller|sellers|sale|list (my|our|the|it|this)|listing (it|our|my|the)|put (it|my|our|the|this)"
        r"( \w+){0,2} (up )?(on the market|for sale)|market (our|my) (home|house)|get rid of (our|my|the|this)|unload|"
        r"offload|cash out|downsiz\w*|what (our|my) (house|home|place) is worth)\b")
RENT_PLAN = (r"\b(looking|want|wanting|need|needing|trying|planning|hoping|like|going|prefer) to (rent|lease)\b"
             r"|\b(rent|lease) (it |them |our place |my place )?out\b|\bfor (rent|lease)\b|\b(a|an) (rental|lease)\b"
             r"|\bplace to (rent|lease)\b|\b(probably|might just|rather|would just|will just) rent\b")
#: Renting as the lead's current home, not a plan.
RENT_NOW = (r"\b(we are|i am|been|we have been|i have been|currently|still|stop|instead of|than|tired of|done) "
            r"(renting|rent)\b|\b(our|my|the) (rent|lease|landlord)\b")
BOTH = r"\b(both|buy and sell|sell and buy|buying and selling|selling and buying|a bit of both|kind of both)\b"
#: Naming the home they want, when asked: buying.
HOME_WANTED = (r"\b(want|need|like|looking for|after|would love|hoping for|searching for)( \w+){0,2} (a|an|some) "
               r"(\w+ ){0,3}(condo|townhome|townhouse|house|home|duplex|single family|place|property|bungalow|ranch|"
               r"acres|land|lot)\b|^(a|an) (\w+ ){0,3}(condo|townhome|townhouse|house|home|duplex|single family|"
               r"property|bungalow|ranch)\b")
#: Words before an intent that deny it ("we are not selling").
NEGATED = re.compile(r"\b(not|never|no longer|do not want to|not planning to|not looking to|no plans to|nothing to|"
                     r"instead of|rather than|not going to|not gonna|nor)( \w+){0,2}$")
#: Words that replace what came before them.
CORRECTION = re.compile(r"\b(actually|i mean|i meant|no wait|wait no|correction|let me correct|scratch that|"
                        r"changed (our|my) minds?|on second thought|but now|now we|no sorry|sorry no|well no|"
                        r"or rather|but honestly|we might just|but we are)\b")
ORDINALS = {"first": 0, "former": 0, "the first one": 0, "second": 1, "latter": 1, "the second one": 1,
            "last": 1, "the last one": 1}


def _found(text: str, asked: bool) -> list[tuple[int, str]]:
    """Each intent stated in ``text`` (not denied), with where it is said."""
    patterns = {"buy": BUY, "sell": SELL, "rent": RENT_PLAN}
    out: list[tuple[int, str]] = []
    for value, pattern in patterns.items():
        for match in re.finditer(pattern, text):
            if value == "rent" and re.search(RENT_NOW, text[max(0, match.start() - 25):match.end() + 5]) \
                    and not re.search(r"\b(want|looking|need|plan|rather|prefer|just|might)\b",
                                      text[max(0, match.start() - 15):match.start()]):
                continue
            if not NEGATED.search(text[:match.start()]):
                out.append((match.start(), value))
    if asked and re.search(r"\b(rent|renting|rental|lease)\b", text) and not re.search(RENT_NOW, text) \
            and not any(v == "rent" for _, v in out) and not any(v != "rent" for _, v in out):
        out.append((text.find("rent") if "rent" in text else 0, "rent"))
    return sorted(out)


def _ordinal(text: str, question: str | None) -> str | None:
    """"The first" / "the second" against the options in the order the question gave them."""
    if not question or not re.fullmatch(r"((um|uh|the|oh|well|i guess) )*(the )?(first|former|second|latter|last)"
                                        r"( one| option)?( please)?", text):
        return None
    q = question.lower()
    options = sorted((q.find(w), v) for w, v in (("buy", "buy"), ("sell", "sell"), ("rent", "rent")) if w in q)
    if not options:
        return None
    word = next(w for w in ("first", "former", "second", "latter", "last") if w in text)
    index = 0 if word in ("first", "former") else len(options) - 1 if word == "last" else 1
    return options[index][1] if index < len(options) else None


def read_lead_intent(text: str, *, asked: bool = False, question: str | None = None) -> tuple[str | None, bool]:
    """The intent ``text`` states and whether it was a correction; never raises.

    Args:
        text: the lead's words, normalised (lower case, no punctuation).
        asked: whether the agent just asked the intent question (short answers count).
        question: the question asked, for "the first" / "the second".
    """
    if asked:
        by_order = _ordinal(text, question)
        if by_order is not None:
            return by_order, False
    corrections = list(CORRECTION.finditer(text))
    if corrections:
        tail = text[corrections[-1].end():]
        after = _found(tail, asked)
        if after:
            return after[0][1], True
    found = _found(text, asked)
    values = [v for _, v in found]
    if "buy" in values and "sell" in values or re.search(BOTH, text) and asked:
        return "sell", False
    if values:
        return values[0], False
    if asked and re.search(HOME_WANTED, text):
        return "buy", False
    if asked:
        return learned_intent(text), False
    return None, False
