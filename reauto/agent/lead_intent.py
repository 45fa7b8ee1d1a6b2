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
  naming the home they want ("a condo", "a three bedroom with a yard") is buying;
* a plan given up is replaced by what follows its "but" ("we were going to rent but we qualified
  so we're buying" → buy), and a denial reaches a few words on through "or" ("not looking to buy
  or sell" → none) until a new clause ("not sure yet, maybe buy" → buy);
* trading up from a home they own is selling ("swapping our starter home for something bigger");
  a rental that is an asset (owned, or bought for income) is no plan to rent ("adding to my
  rental portfolio", "a short term rental" → buy), and renting out is an owner's plan;
* what only a situation says (touring open houses, "an apartment for now") is read only as the
  answer to the intent question; an undecided or private answer ("torn between buying and
  selling", "that's personal"), or a refusal, gets no intent and the model is not asked.
"""

from __future__ import annotations

import re

from reauto.agent.classifier import lead_intent as learned_intent
from reauto.agent.intents import clean, intents_of

#: Intents that answer the question with something else than an intent (the model is not asked).
NO_INTENT = frozenset({"not_interested", "dnc", "wrong_number", "robot_question", "human_request", "repeat_request",
                       "callback_request", "recording_objection"})

#: Words for a home one can own (for "trading up from our townhouse", "our place has to go").
_OWNED = (r"(house|home|place|condo|townhouse|townhome|property|duplex|triplex|fourplex|building|land|lot|acreage|"
          r"cabin|farm|ranch|starter home|starter|rental|rentals|unit|units)")
BUY = (r"\b(buy|buying|buyer|buyers|purchase|purchasing|in the market for|looking for (a|an|our|my) (new |first |"
       r"bigger |smaller )?(home|house|place|condo|property|townhouse|townhome)(?! (to|for) (rent|lease))|find (a|our|"
       r"my|an) (new )?(home|house|place|condo)(?! (to|for) (rent|lease))|shopping for|house hunting|home hunting|"
       r"get into (a|my|our) (first )?(home|house|place)|(own|owning) (a|our|my) (own )?(home|house|place)|"
       r"own instead of|stop renting|investment property|investor|vacation home|second home|starter home|forever home|"
       r"airbnb|upgrade to|move up to|first time|acquir\w*|acquisition|(get|getting|break|breaking|jump|"
       r"jumping) into the (\w+ )?market|enter(ing)? the (\w+ )?market|(a|our|my) (own )?(place|home|house) of (our|"
       r"my) own|(want|like|need|ready|hoping|time) to own\b|become (home ?owners|owners)|home ?ownership|(short term|"
       r"vacation|income|investment|airbnb|vrbo|holiday) (rentals?|propert(y|ies))|pick(ing)? up (a|an|some|another|"
       r"a few) (\w+ )?(rentals?|propert(y|ies)|house|home|condo|place|investment|duplex|lot|land))\b")
#: Buying told by the situation, read only as the answer to the intent question ("touring open houses").
BUY_ASKED = (r"\b((our|my) own (place|home|house)|(add|adding|grow|growing|expand|expanding|build|building|start|"
             r"starting) (to )?(my|our|a) (\w+ )?portfolio|(eye on|eyeing|touring|viewing|checking out|looking at|"
             r"scouting|visiting|going to see) (a few |some |several |a couple of |the |different |open |"
             r"a bunch of )*(neighborhoods|houses|homes|listings|properties|open houses|condos|places|communities|"
             r"subdivisions))\b")
SELL = (r"\b(sell|selling|seller|sellers|sale|list (my|our|the|it|this)|listing (it|our|my|the)|put (it|my|our|the|"
        r"this)( \w+){0,2} (up )?(on the market|for sale)|market (our|my) (home|house)|get rid of (our|my|the|"
        r"this) (\w+ )?"
        rf"{_OWNED}|unload\w*|offload\w*|cash(ing|ed)? out|downsiz\w*|what (our|my) (house|home|place) is worth|"
        r"part(ing)? with (our|my|the|this)|let(ting)? go of (our|my|the|this|it)|let (it|them) go|(ready|want|need|"
        r"have|time|going) to let go( of)?$|(get|getting|want|looking for|hoping for|hope to get|entertain\w*|take|"
        r"taking|receive|receiving) (an |some |a |the best |good |multiple |cash |any )?(offers?|bids?) (on|for) (our|"
        r"my|the|this)|(can not|could not|can no longer) (afford to )?keep (the|our|my|this)|(trad|swap|"
        r"exchang)\w* (up |in |out )?(from )?(our|my|the|this) |(upgrad|mov|trad|step|graduat)\w* (up )?from (our|my|"
        r"the|this) (\w+ ){0,2}"
        rf"{_OWNED}|^((um|uh|oh|well) )?(list|listing)( it| ours| mine)?$)\b")
_PLACE_OWNED_GOES = re.compile(rf"\b(our|my|the|this) (\w+ ){{0,2}}{_OWNED} (needs|has|have|got) to go\b")
RENT_PLAN = (r"\b(looking|want|wanting|need|needing|trying|planning|hoping|like|going|prefer) to (rent|lease)\b|"
             r"\bfor (rent|lease)\b|\b(a|an) (rental|lease)\b|\bplace to (rent|lease)\b|\b(probably|might just|rather|"
             r"would just|will just) rent\b|\b(need|want|looking for|find|get|after) (a|an|new|"
             r"another) (\w+ )?(landlord|apartment|lease|flat|studio)\b|^((um|uh|oh|well) )?(leasing|to lease)$")
#: Renting told by the situation, read only as the answer to the intent question ("an apartment for now").
RENT_ASKED = (r"\b(apartment|place|unit|something|somewhere|flat|studio) (\w+ )?(for the time being|for now|"
              r"temporarily|short term|month to month|for a (year|while|few months|couple of years))\b")
#: Renting as the lead's current home, not a plan.
RENT_NOW = (r"\b(we are|i am|been|we have been|i have been|currently|still|stop|instead of|than|tired of|"
            r"done) (renting|rent)\b|\b(our|my|the) (rent|lease|landlord)\b|\b(paying|pay|pays) (\w+ )?(rent|"
            r"landlord)\b|\b(tired|sick|done) (of|with) (paying )?(rent|renting|landlords?)\b|\b(signed|locked into|"
            r"locked in|stuck in|tied into|under|on|in|have|got|renewed) (a|our|my|the|another) (new )?(lease|"
            r"rental agreement)\b")
#: A rental that is an asset (owned, or an investment), not a home to rent.
RENT_ASSET = re.compile(r"\b(have|own|owns|got|inherited|bought|our|my|short term|vacation|income|investment|airbnb|"
                        r"vrbo|holiday|unloading|unload|sell|selling)( \w+)?$")
BOTH = r"\b(both|buy and sell|sell and buy|buying and selling|selling and buying|a bit of both|kind of both)\b"
#: Naming the home they want, when asked: buying.
HOME_WANTED = (r"\b(want|need|like|looking for|after|would love|hoping for|searching for)( \w+){0,2} (a|an|some) "
               r"(\w+ ){0,3}(condo|townhome|townhouse|house|home|duplex|single family|place|property|bungalow|ranch|"
               r"acres|land|lot)\b|^(a|an) (\w+ ){0,3}(condo|townhome|townhouse|house|home|duplex|single family|"
               r"property|bungalow|ranch)\b")
#: Homes only bought (nobody answers "a cabin" or "raw land" meaning to sell or to rent one).
BUY_ONLY_HOMES = (r"\b(cabin|cottage|chalet|farm|farmhouse|acreage|acres|land|lot|parcel|fixer upper|fixer|foreclosure|"
                  r"short sale|new build|new construction|lake house|beach house|mountain home|manufactured home|"
                  r"mobile home|tiny home|tiny house)\b")
#: No intent to give: undecided, private, or a question back.
UNDECIDED = re.compile(r"\b(undecided|not sure|unsure|have not decided|not decided|do not know|dont know|no idea|"
                       r"on the fence|torn|up in the air|still deciding|still figuring|figuring (it|that) out|weighing|"
                       r"depends|depending|exploring|keeping (our|my) options open|private|personal|rather not (say|"
                       r"share|get into)|prefer not to (say|share)|none of your business|why do you (need|"
                       r"want) to know|(do not|dont) want to (get into|say|share)|good question|whether|why (do|does|"
                       r"would|should) (you|that|it)|what (does it|difference does it) matter|what for|how is (that|"
                       r"it) (relevant|your business))\b")
#: Both intents named as the open alternatives ("whether to buy or sell", "between buying and selling").
ALTERNATIVES = re.compile(r"\b(buy|buying|sell|selling|rent|renting) (or|and|versus|vs) (to )?(buy|buying|sell|selling|"
                          r"rent|renting)\b")
#: Words before an intent that deny it ("we are not selling", "not looking to buy or sell").
NEGATED = re.compile(r"\b(not(?! (sure|certain|positive|only|just|exactly)\b)|never|no longer|nor|instead of|"
                     r"rather than|no plans to|nothing to|without)\b(?!.*\b(but|so|because|though|although|actually|"
                     r"now|then|instead|yet|maybe|probably|perhaps|likely|leaning|think|guess)\b)")
#: How many words before an intent a denial still reaches.
NEGATION_REACH = 5
#: Words that replace what came before them.
CORRECTION = re.compile(r"\b(actually|i mean|i meant|no wait|wait no|correction|let me correct|scratch that|"
                        r"changed (our|my) minds?|on second thought|but now|now we|no sorry|sorry no|well no|"
                        r"or rather|but honestly|we might just|but we are)\b")
#: A plan given up: what follows its "but" replaces it ("we were going to rent but we qualified so we're buying").
PAST_PLAN = re.compile(r"\b((we|i) (were|was|had been|had)|originally|at first|(we|i)) (\w+ )?(going to|planning|"
                       r"thinking|hoping|looking|about to|considering|wanted|meaning|thought about|considered|"
                       r"toyed with)\b.*\bbut\b")
ORDINALS = {"first": 0, "former": 0, "the first one": 0, "second": 1, "latter": 1, "the second one": 1,
            "last": 1, "the last one": 1}


def _denied(before: str) -> bool:
    """Whether a denial in the few words before an intent reaches it ("not looking to buy or sell")."""
    window = " ".join(before.split()[-NEGATION_REACH:])
    return NEGATED.search(window) is not None


def _found(text: str, asked: bool) -> list[tuple[int, str]]:
    """Each intent stated in ``text`` (not denied), with where it is said."""
    patterns = {"buy": (BUY, BUY_ASKED) if asked else (BUY,), "sell": (SELL, _PLACE_OWNED_GOES),
                "rent": (RENT_PLAN, RENT_ASKED) if asked else (RENT_PLAN,)}
    out: list[tuple[int, str]] = []
    for value, alternatives in patterns.items():
        for match in (m for pattern in alternatives for m in re.finditer(pattern, text)):
            if value == "rent" and re.search(RENT_NOW, text[max(0, match.start() - 25):match.end() + 5]) \
                    and not re.search(r"\b(want|looking|need|plan|rather|prefer|just|might)\b",
                                      text[max(0, match.start() - 15):match.start()]):
                continue
            if value == "rent" and RENT_ASSET.search(text[:match.start()].rstrip()):
                continue  # "i have a rental", "unloading a rental": a property, not a plan to rent
            if not _denied(text[:match.start()]):
                out.append((match.start(), value))
    if asked and not out and _renting_named(text):
        out.append((text.find("rent") if "rent" in text else 0, "rent"))
    return sorted(out)


def _renting_named(text: str) -> bool:
    """Whether an answer to the intent question names renting as the plan (not as where the lead
    lives now, a rental they own, or renting a place out)."""
    if not re.search(r"\b(rent|renting|rental|lease|leasing)\b", text) or re.search(RENT_NOW, text) \
            or re.search(r"\b(rent|lease) (\w+ ){0,3}out\b", text):
        return False
    return not ("rent" in text and RENT_ASSET.search(text[:text.find("rent")].rstrip()))


def _no_answer(text: str) -> bool:
    """Whether ``text`` declines to give an intent: undecided, private, a refusal or another request."""
    return UNDECIDED.search(text) is not None or bool(intents_of(text) & NO_INTENT)


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
    text = clean(text)  # "cant buy" reads as "can not buy"
    if asked:
        by_order = _ordinal(text, question)
        if by_order is not None:
            return by_order, False
    corrections = list(CORRECTION.finditer(text))
    given_up = PAST_PLAN.search(text)
    if corrections or given_up:
        tail = text[max([c.end() for c in corrections] + [given_up.end() if given_up else 0]):]
        after = _found(tail, asked)
        if after:
            return after[0][1], True
        if intents_of(tail) & {"not_interested"}:
            return None, False  # "we were going to list it but we're keeping it"
    if UNDECIDED.search(text) and ALTERNATIVES.search(text):
        return None, False  # "we haven't decided whether to buy or sell"
    found = _found(text, asked)
    values = [v for _, v in found]
    if "buy" in values and "sell" in values or re.search(BOTH, text) and asked:
        return "sell", False
    if values:
        return values[0], False
    if asked and (re.search(HOME_WANTED, text) or re.search(BUY_ONLY_HOMES, text)):
        return "buy", False
    if asked and not _no_answer(text):
        return learned_intent(text), False
    return None, False
