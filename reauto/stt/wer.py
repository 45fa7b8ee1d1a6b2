"""Word error rate: the word-level edit distance between a reference and a recogniser's output."""

from __future__ import annotations

from collections.abc import Sequence

import jiwer

from reauto.stt.vocabulary import normalise

_CONTRACTIONS = {
    "we're": "we are", "i'm": "i am", "you're": "you are", "they're": "they are",
    "it's": "it is", "that's": "that is", "don't": "do not", "can't": "can not",
    "won't": "will not", "i'd": "i would", "we'd": "we would", "i'll": "i will",
}


def scoring_words(text: str) -> list[str]:
    """Normalised words with common contractions expanded ("we're" → "we are"), so a recogniser
    is not charged for spelling a word the other way."""
    return " ".join(_CONTRACTIONS.get(w, w) for w in normalise(text).split()).split()


def word_errors(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Substitutions + deletions + insertions turning ``ref`` into ``hyp`` (jiwer's alignment, the one
    ``reauto eval`` scores with)."""
    if not ref or not hyp:
        return len(ref) + len(hyp)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return out.substitutions + out.deletions + out.insertions
