"""Cutting agent text into sentences, as it streams in (each sentence is synthesised as soon as
it is complete)."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?]\s+")
#: Words whose final period does not end a sentence.
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.",
                            "a.m.", "p.m."})


class SentenceSplitter:
    """Cuts streamed text into sentences as soon as each one is complete.

    A sentence ends at ``.``, ``!`` or ``?``: at once when the piece ends there, unless the
    period may belong to a number ("3.5") or an abbreviation ("Dr."), in which case the next
    piece decides (a space after it ends the sentence).
    """

    def __init__(self) -> None:
        self._buffer = ""

    @property
    def pending(self) -> str:
        """Text received that does not yet end a sentence."""
        return self._buffer

    def feed(self, piece: str) -> list[str]:
        """The sentences that ``piece`` completes."""
        self._buffer += piece
        out, start = [], 0
        for found in _BOUNDARY.finditer(self._buffer):
            candidate = self._buffer[start:found.start() + 1]
            if _abbreviation(candidate):
                continue  # "Dr. Smith": the sentence goes on
            out.append(candidate.strip())
            start = found.end()
        rest = self._buffer[start:]
        if rest and not rest[-1].isspace() and _ends_here(rest):
            out.append(rest.strip())
            rest = ""
        self._buffer = rest
        return [sentence for sentence in out if sentence]

    def flush(self) -> str:
        """What is left at the end of the reply."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest


def _abbreviation(text: str) -> bool:
    words = text.split()
    return bool(words) and words[-1].lower() in _ABBREVIATIONS


def _ends_here(text: str) -> bool:
    """Whether text that stops here (no next piece yet) ends a sentence for sure."""
    if text[-1] in "!?":
        return True
    return text[-1] == "." and not text[-2:-1].isdigit() and not _abbreviation(text)


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences."""
    splitter = SentenceSplitter()
    out = splitter.feed(text)
    rest = splitter.flush()
    return out + ([rest] if rest else [])
