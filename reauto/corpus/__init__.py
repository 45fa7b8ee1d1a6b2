"""What real-estate leads say on a qualification call, as data: one YAML file per question.

The corpus feeds the recogniser's per-question language models, the understanding tests and
the generated evaluation sets. Each entry is one thing a lead says, written as a
phone recogniser spells it (lower case, no punctuation except apostrophes inside words,
numbers as spoken words), with what a correct listener understands from it.

Contexts (one file each, in this order):

- ``identity``: answers to "Hi Jane, this is Ava ... Is this Jane?" and "Do you have a quick minute?"
- ``intent``: "Are you looking to buy a home, or to sell one?"
- ``timeline_months``: "When are you hoping to make your move?"
- ``budget_usd``: "What budget do you have in mind?"
- ``preapproved``: "Are you already pre-approved for a mortgage?"
- ``booking``: "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?"
- ``any``: what a lead may say at any point (opt-outs, objections, questions, call-backs).

File format::

    families:
      - family: opt-out, stop calling      # a paraphrase family: its entries share one split
        split: train                       # train | dev | test
        expect: {intents: [dnc]}           # optional, applies to every text of the family
        texts:
          - stop calling this number
          - {text: stop calling i already sold, expect: {intents: [dnc, not_interested]}}

A text's own ``expect`` is laid over its family's (its keys replace the family's keys). Splits
(:data:`SPLITS`) are decided per family so that no sentence of one split is a near copy of
another's:

- ``train``: what the recogniser's language models and the intent classifier are built from,
  and what the rules are written from.
- ``dev``: worded as other people would say the same things; the rules are checked, and tuned,
  on it.
- ``test``: worded fresh by people who read neither the rules nor the other splits' families.
  Nothing that builds a model or tunes a rule reads it: it says how well leads are understood on
  wording nobody tuned on (``scripts/bench/understanding.py --split test``). Its misses are
  reported, never fixed sentence by sentence.

The ``expect`` schema (every key optional; a slot that is absent means a correct listener
finds no value for it in the text; ``null`` where allowed means the same, said explicitly, and
the ``timeline_months`` and ``budget_usd`` files give their own slot on every entry):

- ``intents``: list of zero or more of :data:`INTENTS`. ``affirm``/``deny`` mark a yes or no
  to a yes/no question whose answer no slot carries (identity, "a quick minute?"); where a
  slot answers the question (``preapproved``), the slot carries it instead.
- ``intent``: buy | sell | rent. A lead who will both sell and buy is ``sell``, whichever
  they name first: the listing is the brokerage's first job and usually funds the purchase.
  A correction counts as said last ("we were going to sell but now we want to buy" → buy).
  An investment purchase is ``buy``.
- ``timeline_months``: months from :data:`TODAY` to the move, a number, or null when no
  timeline is stated (the timeline file header gives the rules for weeks, seasons, months).
- ``budget_usd``: dollars, a number, or ``{low: number|null, high: number|null}`` for a range
  or a bound ("under six hundred k" → ``{low: null, high: 600000}``), or null. For a seller
  it is the price they hope to get. Monthly amounts are never a budget.
- ``preapproved``: bool. ``financing``: cash | mortgage.
- ``property_type``: house | condo | townhouse | multi_family | land.
- ``rent_monthly``: a monthly amount the lead pays or wants to pay (rent or a mortgage payment).
- ``booking``: ``{accept: first|second|either|none, propose: {...}}`` after two offered times.
  ``propose`` is present only when the lead names their own time; its keys (each optional,
  at least one set): ``day`` (monday..sunday, today, tomorrow), ``part`` (morning, afternoon,
  evening), ``after``/``before``/``at`` ("HH:MM", 24-hour), ``week`` (this, next),
  ``not_days`` (list of weekdays). A refusal or a conditional answer is ``accept: none``.
- ``vague``: true where the lead answered but gave no usable value ("not sure", "depends").

The loaded ``expect`` is read-only: mappings are :class:`types.MappingProxyType` and lists are
tuples, so one cached corpus is shared by every caller.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from reauto.errors import ReautoError

CONTEXTS: tuple[str, ...] = ("identity", "intent", "timeline_months", "budget_usd", "preapproved",
                             "booking", "any")
#: ``train`` and ``dev`` build and tune the models and rules; ``test`` is held out from both.
SPLITS: tuple[str, ...] = ("train", "dev", "test")
INTENTS: tuple[str, ...] = ("affirm", "deny", "dnc", "recording_objection", "not_interested",
                            "callback_request", "human_request", "robot_question", "wrong_number",
                            "repeat_request")
#: The fixed "today" that timelines in months are counted from.
TODAY = date(2026, 6, 15)

DAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ACCEPTS: tuple[str, ...] = ("first", "second", "either", "none")
PARTS: tuple[str, ...] = ("morning", "afternoon", "evening")
WEEKS: tuple[str, ...] = ("this", "next")
_ENUMS: Mapping[str, tuple[str, ...]] = {
    "intent": ("buy", "sell", "rent"),
    "financing": ("cash", "mortgage"),
    "property_type": ("house", "condo", "townhouse", "multi_family", "land"),
}
_EXPECT_KEYS = ("intents", "intent", "timeline_months", "budget_usd", "preapproved", "financing",
                "property_type", "rent_monthly", "booking", "vague")
_PROPOSE_KEYS = ("day", "part", "after", "before", "at", "week", "not_days")
_WORD = r"[a-z]+(?:'[a-z]+)*"
_TEXT = re.compile(rf"{_WORD}(?: {_WORD})*")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_MAX_MONTHS = 240


class CorpusError(ReautoError, ValueError):
    """A corpus file is unreadable or an entry breaks the schema (names file, entry and field)."""


@dataclass(frozen=True)
class Entry:
    """One thing a lead says, and what a correct listener understands from it.

    Attributes:
        text: as the lead says it: lower case, no punctuation, numbers as spoken words.
        context: the question it answers (the file's name, one of :data:`CONTEXTS`).
        split: ``train``, ``dev`` or ``test`` (:data:`SPLITS`).
        expect: what a correct listener understands (the schema in this module's docstring).
        family: the paraphrase family it belongs to (its split is the family's).
    """

    text: str
    context: str
    split: str
    expect: Mapping[str, Any]
    family: str = ""


def entries(context: str | None = None, split: str | None = None) -> list[Entry]:
    """The corpus entries, in file order, optionally of one context and one split.

    Args:
        context: one of :data:`CONTEXTS`; None for every context.
        split: one of :data:`SPLITS`; None for all three.

    Raises:
        CorpusError: an unknown context or split, or a corpus file that breaks the schema.
    """
    if context is not None and context not in CONTEXTS:
        raise CorpusError(f"unknown corpus context {context!r}: expected one of {', '.join(CONTEXTS)}")
    if split is not None and split not in SPLITS:
        raise CorpusError(f"unknown corpus split {split!r}: expected one of {', '.join(SPLITS)}")
    chosen = CONTEXTS if context is None else (context,)
    return [e for c in chosen for e in _packaged(c) if split is None or e.split == split]


def texts(context: str | None = None, split: str | None = None) -> list[str]:
    """The texts of :func:`entries` with the same filters."""
    return [e.text for e in entries(context, split)]


@functools.cache
def _packaged(context: str) -> tuple[Entry, ...]:
    return load_file(resources.files(__name__) / f"{context}.yaml", context)


def load_file(path: Path | Traversable, context: str) -> tuple[Entry, ...]:
    """Read and validate one corpus file.

    Args:
        path: the YAML file.
        context: the context its entries answer.

    Raises:
        CorpusError: the file cannot be read or parsed, or an entry breaks the schema; the
            message names the file, the line, the entry's index in the file and the field.
    """
    name = str(path)
    # libyaml where PyYAML was built with it: the seven files load in 0.05 s instead of 0.46 s
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        source = path.read_text(encoding="utf-8")
        data = yaml.load(source, Loader=loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{name}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CorpusError(f"{name}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"families"} or not isinstance(data["families"], list):
        raise CorpusError(f"{name}: expected a mapping with one key, 'families', holding a list")

    def fail(problem: str, family: int, item: int | None = None) -> CorpusError:
        line = _line(yaml.compose(source, Loader=yaml.SafeLoader), family, item)  # only on error
        return CorpusError(f"{name}:{line}: {problem}")

    out: list[Entry] = []
    for f, family in enumerate(data["families"]):
        problem = _family_problem(family)
        if problem is not None:
            raise fail(f"family {f}{problem}", f)
        label, shared = family["family"], family.get("expect", {})
        for i, item in enumerate(family["texts"]):
            text, own, problem = _item(item)
            expect = {**shared, **own}
            problem = problem or next(_problems(text, expect), None)
            if problem is not None:
                raise fail(f"entry {len(out)} (family {label!r}, text {i}): {problem}", f, i)
            out.append(Entry(text, context, family["split"], _frozen(expect), label))
    return tuple(out)


def _family_problem(family: Any) -> str | None:
    """What is wrong with a family's own keys, as ": field: what", or None."""
    if not isinstance(family, dict):
        return ": expected a mapping with family, split, texts"
    unknown = set(family) - {"family", "split", "expect", "texts"}
    if unknown:
        return f": unknown key {sorted(unknown)[0]!r}"
    label = family.get("family")
    if not isinstance(label, str) or not label.strip():
        return ": family: a non-empty name is required"
    if family.get("split") not in SPLITS:
        return f" ({label!r}): split: {family.get('split')!r} is not one of {', '.join(SPLITS)}"
    if not isinstance(family.get("expect", {}), dict):
        return f" ({label!r}): expect: expected a mapping, got {family['expect']!r}"
    if not isinstance(family.get("texts"), list) or not family["texts"]:
        return f" ({label!r}): texts: a non-empty list is required"
    return None


def _item(item: Any) -> tuple[Any, dict[str, Any], str | None]:
    """The text, its own expect, and what is wrong with the item's keys (or None)."""
    if not isinstance(item, dict):
        return item, {}, None  # a bad text is reported by _problems
    unknown = set(item) - {"text", "expect"}
    if unknown:
        return None, {}, f"unknown key {sorted(unknown)[0]!r}"
    own = item.get("expect", {})
    if not isinstance(own, dict):
        return None, {}, f"expect: expected a mapping, got {own!r}"
    return item.get("text"), own, None


def _problems(text: Any, expect: dict[str, Any]) -> Iterator[str]:
    """Every way ``text`` and ``expect`` break the schema, as "field: what is wrong"."""
    if not isinstance(text, str) or not _TEXT.fullmatch(text):
        yield (f"text: {text!r} must be lower-case words separated by single spaces, "
               "no digits or punctuation (apostrophes inside words allowed)")
    for key in expect:
        if key not in _EXPECT_KEYS:
            yield f"expect.{key}: unknown field (known: {', '.join(_EXPECT_KEYS)})"
    intents = expect.get("intents", [])
    if not isinstance(intents, list):
        yield f"expect.intents: expected a list, got {intents!r}"
    else:
        for intent in intents:
            if intent not in INTENTS:
                yield f"expect.intents: {intent!r} is not one of {', '.join(INTENTS)}"
        if len(set(map(str, intents))) != len(intents):
            yield f"expect.intents: {intents!r} names an intent twice"
    for key, allowed in _ENUMS.items():
        if key in expect and expect[key] not in allowed:
            yield f"expect.{key}: {expect[key]!r} is not one of {', '.join(allowed)}"
    if "timeline_months" in expect and expect["timeline_months"] is not None:
        months = expect["timeline_months"]
        if not _number(months) or not 0 <= months <= _MAX_MONTHS:
            yield f"expect.timeline_months: {months!r} is not a number of months from 0 to {_MAX_MONTHS}, or null"
    if "budget_usd" in expect:
        yield from _budget_problems(expect["budget_usd"])
    if "preapproved" in expect and not isinstance(expect["preapproved"], bool):
        yield f"expect.preapproved: {expect['preapproved']!r} is not true or false"
    if "rent_monthly" in expect and not (_number(expect["rent_monthly"]) and expect["rent_monthly"] > 0):
        yield f"expect.rent_monthly: {expect['rent_monthly']!r} is not a positive number"
    if "vague" in expect and expect["vague"] is not True:
        yield f"expect.vague: {expect['vague']!r} must be true (leave it out otherwise)"
    if "booking" in expect:
        yield from _booking_problems(expect["booking"])


def _budget_problems(budget: Any) -> Iterator[str]:
    if budget is None or (_number(budget) and budget > 0):
        return
    if not isinstance(budget, dict):
        yield f"expect.budget_usd: {budget!r} is not a positive number, a {{low, high}} range, or null"
        return
    if set(budget) - {"low", "high"}:
        yield f"expect.budget_usd: unknown key {sorted(set(budget) - {'low', 'high'})[0]!r} (a range has low, high)"
        return
    low, high = budget.get("low"), budget.get("high")
    for key, value in (("low", low), ("high", high)):
        if value is not None and not (_number(value) and value > 0):
            yield f"expect.budget_usd.{key}: {value!r} is not a positive number or null"
            return
    if low is None and high is None:
        yield "expect.budget_usd: a range needs low or high"
    elif low is not None and high is not None and low > high:
        yield f"expect.budget_usd: low {low} is above high {high}"


def _booking_problems(booking: Any) -> Iterator[str]:
    if not isinstance(booking, dict):
        yield f"expect.booking: expected a mapping with accept (and propose), got {booking!r}"
        return
    for key in booking:
        if key not in ("accept", "propose"):
            yield f"expect.booking.{key}: unknown field (known: accept, propose)"
    if booking.get("accept") not in ACCEPTS:
        yield f"expect.booking.accept: {booking.get('accept')!r} is not one of {', '.join(ACCEPTS)}"
    if "propose" not in booking:
        return
    propose = booking["propose"]
    if not isinstance(propose, dict):
        yield f"expect.booking.propose: expected a mapping, got {propose!r}"
        return
    for key in propose:
        if key not in _PROPOSE_KEYS:
            yield f"expect.booking.propose.{key}: unknown field (known: {', '.join(_PROPOSE_KEYS)})"
    if not any(propose.get(k) for k in _PROPOSE_KEYS):
        yield "expect.booking.propose: names no day, part, time, week or excluded day (leave it out)"
    choices = {"day": (*DAYS, "today", "tomorrow"), "part": PARTS, "week": WEEKS}
    for key, allowed in choices.items():
        if propose.get(key) is not None and propose[key] not in allowed:
            yield f"expect.booking.propose.{key}: {propose[key]!r} is not one of {', '.join(allowed)}"
    for key in ("after", "before", "at"):
        value = propose.get(key)
        if value is not None and not (isinstance(value, str) and _CLOCK.fullmatch(value)):
            yield f"expect.booking.propose.{key}: {value!r} is not a 24-hour \"HH:MM\" time (quote it in YAML)"
    not_days = propose.get("not_days", [])
    if not isinstance(not_days, list) or any(d not in DAYS for d in not_days):
        yield f"expect.booking.propose.not_days: {not_days!r} is not a list of weekdays"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _line(root: yaml.Node | None, family: int, item: int | None = None) -> int:
    """1-based line of ``families[family]`` (or of its ``texts[item]``), 1 when not found."""
    node: yaml.Node | None = root
    path: list[str | int] = ["families", family] + (["texts", item] if item is not None else [])
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return 1
    return node.start_mark.line + 1 if node is not None else 1


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value
