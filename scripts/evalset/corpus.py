"""The lead's wording: entries of ``reauto.corpus`` (or of a YAML file), sorted by what they do.

An entry is a sentence a lead says in one context (``identity``, a campaign question's slot,
``booking``, or ``any``) with what a correct listener understands from it (``expect``). A call
takes its answers from one split only, and never a sentence of the demo personas or of the
committed evaluation set (``tests/data/eval``), so the set measures the agent on wording it was
not written for.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reauto.agent.scripted.script import ENDINGS

#: Intents that end the call, in the order the scripted agent checks them, then the side
#: questions it answers before asking again.
ENDING_INTENTS: tuple[str, ...] = tuple(ENDINGS)
SIDE_INTENTS: tuple[str, ...] = ("robot_question", "repeat_request")
#: Intents whose right handling the agent does not define yet; entries with them are not used.
UNUSED_INTENTS: frozenset[str] = frozenset({"recording_objection"})
BOOKING_ACCEPTS = ("first", "second", "either")


@dataclass(frozen=True)
class Line:
    """One thing a lead may say, and what it means."""

    text: str
    context: str
    expect: Mapping[str, Any]

    @property
    def intents(self) -> frozenset[str]:
        return frozenset(self.expect.get("intents") or ())

    @property
    def leading_intent(self) -> str | None:
        """The intent the agent acts on: the first ending, else the first side question."""
        return next((i for i in (*ENDING_INTENTS, *SIDE_INTENTS) if i in self.intents), None)

    def slots(self, names: Iterable[str]) -> dict[str, Any]:
        """The values this sentence gives for ``names`` (a null or negative timeline, a range
        without bounds, is none)."""
        out = {}
        for name in names:
            value = self.expect.get(name)
            if value is None or (name == "timeline_months" and float(value) < 0):
                continue
            if isinstance(value, Mapping) and value.get("low") is None and value.get("high") is None:
                continue
            out[name] = value
        return out

    @property
    def accept(self) -> str | None:
        booking = self.expect.get("booking")
        return booking.get("accept") if isinstance(booking, Mapping) else None


def normalise(text: str) -> str:
    """Lower case, letters, digits and apostrophes only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def persona_sentences(root: Path) -> set[str]:
    """Every sentence the demo personas (``campaigns/*.yaml``) and the committed set say."""
    said: set[str] = set()
    for path in sorted((root / "campaigns").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for persona in doc.get("sim_personas") or []:
            said.update(str(v) for v in (persona.get("answers") or {}).values())
    for path in sorted((root / "tests" / "data" / "eval").glob("*/call.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        said.update(str(t.get("text", "")) for t in doc.get("turns") or [] if t.get("speaker") == "lead")
    return {normalise(s) for s in said if s.strip()}


def thaw(value: Any) -> Any:
    """Plain dicts and lists for the corpus's read-only mappings and tuples (a planned call is
    sent to a worker process, and a mapping proxy cannot be pickled)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def read_entries(split: str, path: Path | None = None) -> list[Line]:
    """The entries of ``split``: from ``reauto.corpus``, or from ``path`` (a YAML list of
    ``{text, context, split, expect}``, the same fields)."""
    if path is None:
        from reauto.corpus import entries  # the package's corpus (its own checks ran on load)

        found: Iterable[Any] = entries(split=split)
        return [Line(e.text, e.context, thaw(e.expect)) for e in found]
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [Line(str(d["text"]), str(d["context"]), dict(d.get("expect") or {}))
            for d in doc if d.get("split") == split]


class Pools:
    """Entries sorted into what a lead can say at each step of a call.

    Args:
        lines: the entries of one split.
        slots: the campaign's slot names (the values an answer may carry).
        exclude: normalised sentences never to use.
    """

    def __init__(self, lines: Sequence[Line], slots: Sequence[str], exclude: Collection[str] = ()) -> None:
        self.slots = tuple(slots)
        self.lines = [ln for ln in lines if normalise(ln.text) not in exclude and not ln.intents & UNUSED_INTENTS]
        self.excluded = len(lines) - len(self.lines)
        self._by_context: dict[str, list[Line]] = {}
        for line in self.lines:
            self._by_context.setdefault(line.context, []).append(line)

    def context(self, name: str) -> list[Line]:
        return self._by_context.get(name, [])

    def answers(self, context: str, known: Mapping[str, Any]) -> list[Line]:
        """Plain answers in ``context`` (no ending or side intent, no plain "no" to who they are)
        that agree with the slot values ``known`` so far."""
        out = []
        for line in self.context(context):
            if line.leading_intent is not None:
                continue
            if context == "identity" and "deny" in line.intents and "affirm" not in line.intents:
                continue  # "she's not here", "not really": the call ends (see unavailable)
            if context == "booking" and line.accept not in (*BOOKING_ACCEPTS, "none"):
                continue
            if any(known.get(k, v) != v for k, v in line.slots(self.slots).items()):
                continue  # contradicts what the lead said before
            out.append(line)
        return out

    def saying(self, intent: str, context: str) -> list[Line]:
        """Sentences whose leading intent is ``intent``, said in ``context`` or at any point."""
        return [ln for ctx in dict.fromkeys((context, "any")) for ln in self.context(ctx)
                if ln.leading_intent == intent and not ln.slots(self.slots)]

    def unavailable(self) -> list[Line]:
        """Plain noes to who they are: the lead is not there, or has no time."""
        return [ln for ln in self.context("identity") if ln.leading_intent is None and "deny" in ln.intents
                and "affirm" not in ln.intents and not ln.slots(self.slots)]

    def missing(self, contexts: Sequence[str]) -> list[str]:
        """What a call cannot be built without: contexts with no plain answers."""
        return [c for c in contexts if not self.answers(c, {})]
