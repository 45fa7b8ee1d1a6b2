"""Scores of an evaluation: word error rate, slot accuracy and confusion, the outcome confusion
table and opt-out recall.

Normalisation before WER (the same on both sides, so a recogniser is charged for words, not
spelling): lower case; punctuation removed, hyphens split ("pre-approved" → "pre approved");
numbers and amounts spelled as spoken ("$400k" → "four hundred thousand", "3" → "three");
common contractions expanded ("we're" → "we are"). Errors are counted by jiwer's word
alignment: substitutions + deletions + insertions over the reference's words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jiwer

from reauto.stt.wer import scoring_words

#: Relative tolerance when a money slot is compared with its label.
MONEY_TOLERANCE = 0.05
#: Months a timeline may be off and still count as right.
MONTHS_TOLERANCE = 0.5
#: Slots whose values are numbers: judged right / wrong / missing / spurious, not by a matrix.
NUMERIC_SLOTS = frozenset({"budget_usd", "timeline_months"})
#: How an absent label or prediction is named in a confusion matrix.
NONE = "(none)"
#: The outcome of a lead who asked never to be called again.
OPT_OUT = "dnc"


@dataclass(frozen=True)
class WordErrors:
    """Word alignment of one hypothesis against its reference."""

    ref_words: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float | None:
        """Errors over reference words (None for an empty reference)."""
        return self.errors / self.ref_words if self.ref_words else None

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.ref_words + other.ref_words, self.substitutions + other.substitutions,
                          self.deletions + other.deletions, self.insertions + other.insertions)


NO_ERRORS = WordErrors(0, 0, 0, 0)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Align normalised ``hypothesis`` words with normalised ``reference`` words."""
    ref, hyp = scoring_words(reference), scoring_words(hypothesis)
    if not ref:
        return WordErrors(0, 0, 0, len(hyp))
    if not hyp:
        return WordErrors(len(ref), 0, len(ref), 0)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return WordErrors(len(ref), out.substitutions, out.deletions, out.insertions)


def total(errors: Iterable[WordErrors]) -> WordErrors:
    """Corpus-level sum (WER over all words, not a mean of per-turn rates)."""
    out = NO_ERRORS
    for e in errors:
        out = out + e
    return out


def slot_matches(slot: str, label: Any, predicted: Any) -> bool:
    """Whether the agent's value for ``slot`` agrees with the label.

    Money: the label lies in the predicted range, or within 5% of a single value. Months:
    within half a month. Everything else: equal (strings case-insensitively).
    """
    if predicted is None:
        return False
    if slot == "budget_usd":
        low, high = _money_range(predicted)
        if low is None and high is None:
            return False
        low = low if low is not None else 0.0
        high = high if high is not None else float("inf")
        return low * (1 - MONEY_TOLERANCE) <= float(label) <= high * (1 + MONEY_TOLERANCE)
    if slot == "timeline_months":
        try:
            return abs(float(predicted) - float(label)) <= MONTHS_TOLERANCE
        except (TypeError, ValueError):
            return False
    if isinstance(label, bool) or isinstance(predicted, bool):
        return label is predicted
    return str(predicted).strip().lower() == str(label).strip().lower()


def _money_range(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, Mapping):
        return value.get("low"), value.get("high")
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None, None
    return v, v


@dataclass
class SlotTally:
    """Right and wrong answers for one slot across calls."""

    right: int = 0
    wrong: int = 0

    @property
    def labelled(self) -> int:
        return self.right + self.wrong

    @property
    def accuracy(self) -> float | None:
        return self.right / self.labelled if self.labelled else None


def slot_accuracy(pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, SlotTally]:
    """Per-slot tallies over (labels, predicted slots) pairs; only labelled slots count."""
    tallies: dict[str, SlotTally] = {}
    for labels, predicted in pairs:
        for slot, label in labels.items():
            tally = tallies.setdefault(slot, SlotTally())
            if slot_matches(slot, label, predicted.get(slot)):
                tally.right += 1
            else:
                tally.wrong += 1
    return dict(sorted(tallies.items()))


def confusion(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Outcome confusion table: ``table[labelled][predicted] = calls``."""
    counts = Counter(pairs)
    table: dict[str, dict[str, int]] = {}
    for (labelled, predicted), n in sorted(counts.items()):
        table.setdefault(labelled, {})[predicted] = n
    return table


def confidence_bins(points: Iterable[tuple[float | None, WordErrors]],
                    edges: tuple[float, ...] = (0.5, 0.8)) -> list[dict[str, Any]]:
    """WER of the turns in each recogniser-confidence band (does low confidence mean errors?)."""
    names = [f"< {edges[0]}"] + [f"{a}–{b}" for a, b in zip(edges, edges[1:], strict=False)] + [f"≥ {edges[-1]}"]
    bins: list[list[WordErrors]] = [[] for _ in names]
    unknown: list[WordErrors] = []
    for conf, errors in points:
        if conf is None:
            unknown.append(errors)
            continue
        bins[sum(conf >= e for e in edges)].append(errors)
    rows = [{"confidence": n, "turns": len(b), "wer": total(b).wer} for n, b in zip(names, bins, strict=True)]
    if unknown:
        rows.append({"confidence": "none", "turns": len(unknown), "wer": total(unknown).wer})
    return rows


def slot_confusion(pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
                   slots: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What the agent concluded for each of ``slots`` against the labels, over (labels, predicted).

    A slot a call's labels leave out counts as "the lead never gave it" (calls exported from the
    store label every slot the agent filled). Numeric slots (:data:`NUMERIC_SLOTS`) count
    ``right`` / ``wrong`` (judged as :func:`slot_matches`) / ``missing`` (labelled, not
    predicted) / ``spurious`` (predicted, not labelled), with how many calls were ``labelled``
    and ``unlabelled``; the others give ``matrix[label][predicted] = calls``, :data:`NONE` for an
    absent side (calls with neither are left out).
    """
    numeric = {s: dict.fromkeys(("right", "wrong", "missing", "spurious", "labelled", "unlabelled"), 0)
               for s in slots if s in NUMERIC_SLOTS}
    matrices: dict[str, Counter[tuple[str, str]]] = {s: Counter() for s in slots if s not in NUMERIC_SLOTS}
    for labels, predicted in pairs:
        for slot, counts in numeric.items():
            label, value = labels.get(slot), predicted.get(slot)
            counts["labelled" if label is not None else "unlabelled"] += 1
            if label is None:
                counts["spurious"] += value is not None
            elif value is None:
                counts["missing"] += 1
            else:
                counts["right" if slot_matches(slot, label, value) else "wrong"] += 1
        for slot, cells in matrices.items():
            label, value = labels.get(slot), predicted.get(slot)
            if label is not None or value is not None:
                cells[(_category(label), _category(value))] += 1
    out: dict[str, dict[str, Any]] = {}
    for slot in sorted({*numeric, *matrices}):
        if slot in numeric:
            out[slot] = {"kind": "number", **numeric[slot]}
        else:
            matrix: dict[str, dict[str, int]] = {}
            for (label, value), n in sorted(matrices[slot].items(), key=lambda kv: _order(kv[0])):
                matrix.setdefault(label, {})[value] = n
            out[slot] = {"kind": "category", "matrix": matrix}
    return out


def _category(value: Any) -> str:
    """A label or prediction as a matrix row or column name."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def _order(cell: tuple[str, str]) -> tuple[bool, str, bool, str]:
    return (cell[0] == NONE, cell[0], cell[1] == NONE, cell[1])


def opt_outs(outcomes: Iterable[tuple[str, str | None, str]]) -> dict[str, Any]:
    """Opt-out recall over (call, labelled outcome, predicted outcome): of the calls labelled
    :data:`OPT_OUT`, how many the agent took as one; and the calls it took as one that were
    labelled otherwise (false opt-outs: a lead lost). Calls without an outcome label are left out."""
    labelled = caught = 0
    false: list[str] = []
    for name, label, predicted in outcomes:
        if label is None:
            continue
        if label == OPT_OUT:
            labelled += 1
            caught += predicted == OPT_OUT
        elif predicted == OPT_OUT:
            false.append(name)
    return {"labelled": labelled, "predicted": caught, "recall": caught / labelled if labelled else None,
            "false_opt_outs": len(false), "false_opt_out_calls": sorted(false)}
