"""Campaign vocabulary → the text that biases a recogniser toward a campaign's words.

A campaign names the words its leads are likely to say (cities, "pre-approved", budgets…).
:class:`Vocabulary` normalises them the way a recogniser spells words (lower case, digits
spelled out, hyphens split) and expands them, with a built-in set of real-estate qualification
answers (timelines, budgets, financing, intent, replies), into a small domain corpus. The
pocketsphinx provider trains a trigram language model on that corpus
(:func:`domain_arpa`) and mixes it with its general model; see
:mod:`reauto.stt.pocketsphinx` for how, and for the measured effect.

What leads say is in reauto's corpus of lead answers (:mod:`reauto.corpus`, train split): with
it, :meth:`Vocabulary.domain` gives one corpus per question the agent asks (:data:`CONTEXTS`:
the answers to that question, plus what a lead may say at any point, such as an opt-out), so
that the recogniser listening for an answer about the budget expects amounts, and one for every
other moment (all of the corpus).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pocketsphinx.lm import ArpaBoLM

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))

MONTHS = (
    "january february march april may june july august september october november december"
).split()
SEASONS = ("spring", "summer", "fall", "autumn", "winter")
COUNTS = _ONES[1:13]

# Typical lead answers in a qualification call, without campaign-specific words. Slots:
# {n} a small count, {unit} months/weeks/years, {money} an amount, {month}, {season}, {place}.
_TEMPLATES = (
    "we are looking to buy in {n} {unit}",
    "we want to buy in about {n} {unit}",
    "maybe in {n} {unit}",
    "probably in {n} {unit} or so",
    "in the next {n} {unit}",
    "within {n} {unit}",
    "not for another {n} {unit}",
    "we would like to move by {month}",
    "sometime in {month}",
    "probably next {season}",
    "maybe this {season}",
    "our budget is around {money}",
    "my budget is about {money}",
    "we can spend up to {money}",
    "somewhere around {money}",
    "about {money} dollars",
    "we are pre approved for {money}",
    "we have a mortgage pre approval for {money}",
    "we want to sell our house in {place}",
    "we are looking in {place}",
    "somewhere in {place}",
    "we live in {place}",
)
_REPLIES = (
    "yes", "no", "yeah", "yes please", "no thanks", "maybe", "i don't know", "not sure",
    "that's right", "sure", "okay", "yes that works for me", "no that doesn't work",
    "we are pre approved", "yes we are pre approved", "we are not pre approved yet",
    "we are paying cash", "we need a mortgage", "we are talking to a lender",
    "we are waiting on the bank", "we are first time buyers", "we are just renting right now",
    "we want to buy a house", "we want to sell our house", "we want to sell our home",
    "we already sold our home", "we already bought a house", "we are just looking",
    "i am not interested", "not interested right now", "do not call me again",
    "please take me off your list", "stop calling me", "how did you get my number",
    "are you a robot", "is this a real person", "who is this", "can you call me back later",
    "call me back tomorrow", "i would like to talk to an agent", "can i speak to a person",
    "a three bedroom house", "a condo downtown", "a townhouse", "a single family home",
    "three bedrooms and two baths", "we need more space", "we are relocating for work",
    "the house is too small", "we are downsizing", "as soon as possible", "right away",
    "next year", "this year", "in a few months", "not sure yet",
)
_UNITS = ("months", "weeks", "years")
_AMOUNTS = tuple(range(100_000, 1_000_001, 50_000)) + (150_000, 250_000, 350_000, 1_500_000)
_DEFAULT_PLACES = ("the city", "town", "the suburbs", "this area")


def number_words(n: int) -> str:
    """Spell a non-negative integer the way speakers say it ("four hundred fifty thousand").

    Args:
        n: 0 ≤ n < 10**12.

    Raises:
        ValueError: n is negative or too large.
    """
    if n < 0 or n >= 10**12:
        raise ValueError(f"cannot spell {n}: only 0 to 999,999,999,999")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{number_words(head)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)  # unreachable: every n ≥ 1000 matches a scale


def _expand_number(match: re.Match[str]) -> str:
    digits, suffix = match.group(1).replace(",", ""), (match.group(2) or "").lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(suffix, 1)
    if "." in digits:
        value = round(float(digits) * scale)
    else:
        value = int(digits) * scale
    return f" {number_words(value)} "


def normalise(text: str) -> str:
    """Spell ``text`` as a recogniser writes it: lower case, numbers as words, no punctuation.

    "$400k" → "four hundred thousand", "pre-approved" → "pre approved"; apostrophes inside
    words stay ("don't").
    """
    text = text.lower().replace("$", " ").replace("-", " ")
    text = re.sub(r"(\d[\d,]*(?:\.\d+)?)\s*([km])?\b", _expand_number, text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


#: The question being answered → the corpus context of its answers (slots not here: all of it).
CONTEXTS = {"identity": "identity", "intent": "intent", "timeline_months": "timeline_months",
            "budget_usd": "budget_usd", "preapproved": "preapproved", "financing": "preapproved",
            "booking": "booking"}


def corpus_sentences(context: str | None = None) -> list[str]:
    """Lead answers from reauto's corpus (train split), spelled as a recogniser writes them: those
    of ``context`` (a slot or :data:`CONTEXTS` key) and those a lead may say at any point, or all."""
    from reauto.corpus import texts

    wanted = CONTEXTS.get(context or "")
    found = texts(split="train") if wanted is None else [*texts(wanted, "train"), *texts("any", "train")]
    return [spelled for spelled in (normalise(t) for t in found) if spelled]


@dataclass(frozen=True)
class Vocabulary:
    """A campaign's phrases, normalised, and the domain corpus built from them.

    Attributes:
        phrases: the campaign phrases as a recogniser spells them, unique, in order.
        places: phrases that look like place names (fill the "in {place}" templates); by
            default every multi-letter phrase that is not a number or a built-in word.
    """

    phrases: tuple[str, ...]
    places: tuple[str, ...] = field(default=())

    @classmethod
    def from_phrases(cls, phrases: Iterable[str]) -> Vocabulary:
        """Normalise campaign phrases (duplicates and empty ones dropped)."""
        seen: dict[str, None] = {}
        for phrase in phrases:
            spelled = normalise(phrase)
            if spelled:
                seen.setdefault(spelled)
        unique = tuple(seen)
        builtin = set(" ".join((*_TEMPLATES, *_REPLIES, *MONTHS, *SEASONS, *COUNTS)).split())
        builtin |= set(_ONES + _TENS + [s for _, s in _SCALES] + ["hundred"])
        places = tuple(p for p in unique if not set(p.split()) <= builtin)
        return cls(unique, places)

    @property
    def words(self) -> list[str]:
        """Every distinct word of the campaign phrases, in order of first use."""
        return list(dict.fromkeys(w for p in self.phrases for w in p.split()))

    def domain(self, context: str | None = None) -> list[str]:
        """The corpus a recogniser expects an answer from: :meth:`sentences` and the corpus's lead
        answers for ``context`` (:func:`corpus_sentences`)."""
        corpus = corpus_sentences(context)
        own = self.sentences()
        # the campaign's sentences weigh about as much as the corpus's answers together
        repeat = max(1, round(len(corpus) / max(1, len(own))))
        return [*own * repeat, *corpus]

    def sentences(self) -> list[str]:
        """The built-in domain corpus: built-in answers, template expansions and the campaign phrases."""
        out: list[str] = list(_REPLIES)
        places = self.places or _DEFAULT_PLACES
        money = [number_words(a) for a in _AMOUNTS]
        for template in _TEMPLATES:
            for fill in _fills(template, money, places):
                out.append(template.format(**fill))
        out.extend(self.phrases)
        return out


def _fills(template: str, money: Sequence[str], places: Sequence[str]) -> list[dict[str, str]]:
    if "{n}" in template:
        return [{"n": n, "unit": u} for n in COUNTS for u in _UNITS]
    if "{month}" in template:
        return [{"month": m} for m in MONTHS]
    if "{season}" in template:
        return [{"season": s} for s in SEASONS]
    if "{money}" in template:
        return [{"money": m} for m in money]
    return [{"place": p} for p in places]


def domain_arpa(sentences: Sequence[str], discount_mass: float = 0.5) -> str:
    """A trigram language model (ARPA text) trained on ``sentences``.

    Args:
        sentences: one utterance per item, already normalised.
        discount_mass: probability mass held back for unseen n-grams (0..1, exclusive).

    Raises:
        ValueError: no sentence has a word.
    """
    text = "\n".join(s for s in sentences if s.strip())
    if not text:
        raise ValueError("cannot train a language model on an empty corpus")
    model = ArpaBoLM(text=text, add_start=True, discount_mass=discount_mass)
    model.compute()
    buffer = io.StringIO()
    model.write(buffer)
    return buffer.getvalue()
