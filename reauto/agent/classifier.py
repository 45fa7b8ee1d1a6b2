"""The lead's intent (buy, sell, rent) learned from the domain corpus, for wording the rules miss.

The rules of :mod:`reauto.agent.lead_intent` read the structures people use most ("we want to
buy", "we're selling our house", "trading up from our townhouse"); leads also answer in words no
rule names. This model learns such answers from the corpus (:mod:`reauto.corpus`, train split
only, so that the dev split and the evaluation sets generated from it stay unseen) with
multinomial naive Bayes over words and word pairs. It is asked only when the rules find no intent
in an answer to the intent question that is neither undecided, private nor a refusal, and it
answers only when one intent is clearly ahead (:data:`MARGIN`): on the dev split the rules find
none in 10 answers, and the model reads 5 of them, all 5 right (2026-12-08; it was 13 of 18 taken
of 39 when the rules read less), and leaves the rest to be asked again.

Naive Bayes is written here rather than taken from scikit-learn: the model is a few dozen lines,
trains on the corpus in milliseconds and answers in microseconds, where scikit-learn and SciPy add
160 MB to the embedded install and 1.2 s to the import (measured on the 2-core machine). Character
n-grams and per-intent yes/no models for opt-outs and refusals were measured too and left out:
on the dev split they gave 15–37 false opt-outs for 1–7 more found, where the rules give none.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reauto.agent.intents import clean

LEAD_INTENTS = ("buy", "sell", "rent")
SMOOTHING = 0.5
#: How far (in log-likelihood) the best intent must be ahead of the next for an answer.
MARGIN = 2.0


def features(text: str) -> set[str]:
    """The words and word pairs of ``text`` (cleaned as the intent rules clean it)."""
    words = clean(text).split()
    return {f"w:{w}" for w in words} | {f"b:{a}_{b}" for a, b in zip(words, words[1:], strict=False)}


@dataclass
class _Class:
    counts: Counter[str]
    total: int
    docs: int


class NaiveBayes:
    """Multinomial naive Bayes over :func:`features`, for any number of classes."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        self.classes: dict[str, _Class] = {}
        vocabulary: set[str] = set()
        for text, label in zip(texts, labels, strict=True):
            feats = features(text)
            cls = self.classes.setdefault(label, _Class(Counter(), 0, 0))
            cls.counts.update(feats)
            cls.total += len(feats)
            cls.docs += 1
            vocabulary |= feats
        self.size = len(vocabulary) or 1
        self.docs = sum(c.docs for c in self.classes.values()) or 1

    def scores(self, text: str) -> dict[str, float]:
        """Each class's log prior plus the log-likelihood of the known features of ``text``."""
        feats = [f for f in features(text) if any(f in c.counts for c in self.classes.values())]
        return {name: math.log(cls.docs / self.docs)
                + sum(math.log((cls.counts.get(f, 0) + SMOOTHING) / (cls.total + SMOOTHING * self.size))
                      for f in feats)
                for name, cls in self.classes.items()}

    def best(self, text: str, margin: float) -> str | None:
        """The class that fits ``text`` best, when it is ``margin`` ahead of the next."""
        if not features(text):
            return None
        ranked = sorted(self.scores(text).items(), key=lambda kv: kv[1], reverse=True)
        if len(ranked) < 2 or ranked[0][1] - ranked[1][1] < margin:
            return None
        return ranked[0][0]


@lru_cache(maxsize=1)
def trained() -> NaiveBayes | None:
    """The lead-intent model, trained on the corpus's train split (once per process)."""
    from reauto.corpus import entries

    stated = [(e.text, e.expect["intent"]) for e in entries(split="train")
              if e.expect.get("intent") in LEAD_INTENTS]
    if not stated:
        return None
    return NaiveBayes([t for t, _ in stated], [str(i) for _, i in stated])


def lead_intent(text: str, *, margin: float = MARGIN) -> str | None:
    """buy, sell or rent when the trained model is clearly sure of one; never raises."""
    model = trained()
    return model.best(text, margin) if model is not None else None
