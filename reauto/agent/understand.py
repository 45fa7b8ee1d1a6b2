"""Slot extraction by the LLM: a JSON-schema ``format`` request per lead turn, checked, then merged.

The rules of :mod:`reauto.agent.extract` read what they know how to read (numbers, months,
"pre-approved", yes/no in context) at no cost. An answer they cannot read ("we'd like to be in
before the baby arrives", "about what the neighbours got for theirs") would be asked again; the
LLM reads it instead. One request per lead turn asks the extraction model (``[llm] models.extraction``,
else ``[llm] model``) for the facts the lead stated, with Ollama's ``format`` set to a JSON
schema built from the campaign's slots: an object whose properties are the slots, each
``{"value": …, "quote": "…"}`` and left out when not stated. Temperature 0.

Nothing the model writes is trusted as it is. The reply must parse and match the schema; each
value must fit its slot's type (an enum value, a budget within house prices, a timeline within
ten years) and its ``quote`` must be words the lead said, so that a fact the model guessed from
the question, or made up, is refused. Accepted values carry :data:`CONFIDENCE`, below the rules'
own for a stated value, and only fill slots the rules left empty; they never replace what the
rules read. No protected-class fact can come back: the schema has no place for one.

With the reply cache on (``[llm] cache``), a reply the checks accepted is stored under the exact
request (model, prompt version, the filled-in prompt with the question and today's date, the
lead's words normalised) and read again from there for the same answer to the same question,
checked again like a fresh one; never for a merely similar answer, whose facts may differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from reauto.agent.extract import SlotValue, normalise
from reauto.agent.numbers.money import MoneyRange, house_money
from reauto.llm.cache import cache_keys
from reauto.llm.ollama import LLMUnavailable
from reauto.metrics import LLM_EXTRACTIONS
from reauto.providers import ProviderUnavailable

if TYPE_CHECKING:
    from reauto.agent.prompts import PromptTemplate
    from reauto.campaign import Campaign
    from reauto.llm.cache import ReplyCache
    from reauto.llm.ollama import OllamaChat

#: Confidence of a value the LLM read (the rules give a stated value 0.7–0.9).
CONFIDENCE = 0.6
#: Share of a quote's words the lead must have said.
GROUNDING = 0.75
MONEY_RANGE = (1_000.0, 1_000_000_000.0)
MAX_MONTHS = 120
MAX_TEXT = 120

#: Types of the slots the agent knows, for question slots a campaign does not declare.
KNOWN_SLOTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "intent": ("enum", ("buy", "sell", "rent")),
    "timeline_months": ("months", ()),
    "budget_usd": ("money", ()),
    "preapproved": ("bool", ()),
    "financing": ("enum", ("cash", "mortgage")),
    "property_type": ("enum", ("house", "condo", "townhouse", "multi_family", "land")),
    "location": ("text", ()),
    "motivation": ("text", ()),
    "callback_time": ("text", ()),
}
_DESCRIBE = {
    "money": 'an amount in US dollars as {"low": number, "high": number} (null for an open end)',
    "months": "months from now until it happens, a number",
    "bool": "true or false",
    "int": "a whole number",
    "text": "a few of the caller's words",
}


@dataclass(frozen=True)
class SlotSpec:
    """One slot the extraction may fill: its name, type (as in a campaign) and enum values."""

    name: str
    type: str
    values: tuple[str, ...] = ()
    asked: str = ""  # the campaign's question for it, if any

    @property
    def value_schema(self) -> dict[str, Any]:
        if self.type == "enum" and self.values:
            return {"type": "string", "enum": list(self.values)}
        if self.type == "money":
            end = {"type": ["number", "null"], "minimum": 0}
            return {"type": "object", "properties": {"low": end, "high": end}, "required": ["low", "high"],
                    "additionalProperties": False}
        if self.type == "months":
            return {"type": "number", "minimum": 0, "maximum": MAX_MONTHS}
        if self.type == "bool":
            return {"type": "boolean"}
        if self.type == "int":
            return {"type": "integer", "minimum": 0}
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}

    def describe(self) -> str:
        what = f"one of {', '.join(self.values)}" if self.type == "enum" and self.values else \
            _DESCRIBE.get(self.type, _DESCRIBE["text"])
        asked = f' (asked as "{self.asked}")' if self.asked else ""
        return f"- {self.name}{asked}: {what}"


def slot_specs(campaign: Campaign) -> list[SlotSpec]:
    """The slots of ``campaign`` the extraction looks for: declared ones, then asked ones."""
    asked = {q.slot: q.text for q in campaign.questions}
    out = [SlotSpec(s.name, s.type, tuple(s.values), asked.get(s.name, "")) for s in campaign.slots]
    declared = {s.name for s in campaign.slots}
    for slot, text in asked.items():
        if slot not in declared:
            kind, values = KNOWN_SLOTS.get(slot, ("text", ()))
            out.append(SlotSpec(slot, kind, values, text))
    return out


def extraction_schema(specs: Sequence[SlotSpec]) -> dict[str, Any]:
    """The JSON schema sent as ``format``: every slot optional, each a value and its quote."""
    properties = {
        spec.name: {"type": "object", "properties": {"value": spec.value_schema, "quote": {"type": "string"}},
                    "required": ["value", "quote"], "additionalProperties": False}
        for spec in specs
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


@dataclass
class Facts:
    """What one extraction request gave: accepted values, and why the others were refused."""

    slots: dict[str, SlotValue] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    result: str = "empty"  # filled, empty, refused, failed
    cached: bool = False  # read from the reply cache, not asked


class SlotExtractor:
    """Asks the LLM for the facts in one lead turn (see the module doc).

    Args:
        chat: the Ollama client.
        prompt: the extraction prompt template (``prompts/extract.txt``).
        specs: the campaign's slots (:func:`slot_specs`).
        cache: the reply cache (exact lookups only); ``None``: every turn is asked.
    """

    def __init__(self, chat: OllamaChat, prompt: PromptTemplate, specs: Sequence[SlotSpec],
                 cache: ReplyCache | None = None) -> None:
        self.chat = chat
        self.cache = cache
        self.prompt = prompt
        self.specs = {spec.name: spec for spec in specs}
        self.schema = extraction_schema(specs)
        try:
            import jsonschema
        except ImportError as exc:  # pragma: no cover - part of the ollama extra
            raise ProviderUnavailable(
                "llm.extract needs jsonschema: pip install 'reauto[ollama]' (or set [llm] extract = off)") from exc
        self._validator = jsonschema.Draft202012Validator(self.schema)

    @property
    def model(self) -> str:
        s = self.chat.settings
        return s.models.get("extraction", s.model)

    def messages(self, said: str, *, question: str, agent_name: str, business: str,
                 today: date) -> list[dict[str, str]]:
        """The request's chat: the filled-in prompt, then the lead's words."""
        system = self.prompt.render(
            agent_name=agent_name, business=business, question=question or "(nothing yet)",
            fields="\n".join(spec.describe() for spec in self.specs.values()), today=today.isoformat(),
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": said}]

    async def extract(self, said: str, *, question: str, agent_name: str, business: str,
                      today: date) -> Facts:
        """The facts in ``said``, the lead's answer to ``question``; never raises for the LLM's sake."""
        facts = Facts()
        if not normalise(said):
            return facts
        messages = self.messages(said, question=question, agent_name=agent_name, business=business, today=today)
        keys = cache_keys(self.model, self.prompt.digest, messages) if self.cache is not None else None
        if self.cache is not None and keys is not None:
            hit = await self.cache.get(keys, agent="extraction", semantic=False)
            if hit is not None:
                self.read(hit.text, said, facts)
                facts.cached = True
                LLM_EXTRACTIONS.labels(result=facts.result).inc()
                return facts
        try:
            raw = await self.chat.complete(messages, model=self.model, format=self.schema,
                                           options={"temperature": 0.0, "num_predict": 256})
        except LLMUnavailable as exc:
            facts.result, facts.refused = "failed", [str(exc)]
            LLM_EXTRACTIONS.labels(result="failed").inc()
            return facts
        self.read(raw, said, facts)
        LLM_EXTRACTIONS.labels(result=facts.result).inc()
        if self.cache is not None and keys is not None and facts.result in ("filled", "empty"):
            await self.cache.put(keys, raw, semantic=False)
        return facts

    def read(self, raw: str, said: str, facts: Facts) -> None:
        """Fill ``facts`` from the model's reply ``raw`` to the lead's words ``said``."""
        try:
            found = json.loads(raw)
        except ValueError:
            facts.result, facts.refused = "refused", [f"not JSON: {raw[:80]!r}"]
            return
        errors = sorted(self._validator.iter_errors(found), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "reply"
            facts.result, facts.refused = "refused", [f"{where}: {errors[0].message}"]
            return
        for slot, entry in found.items():
            value, why = self._value(self.specs[slot], entry["value"])
            if why is None and not grounded(entry["quote"], said):
                why = f"quote {entry['quote'][:60]!r} is not what the lead said"
            if why is None:
                facts.slots[slot] = SlotValue(value, CONFIDENCE)
            else:
                facts.refused.append(f"{slot}: {why}")
        facts.result = "filled" if facts.slots else ("refused" if facts.refused else "empty")

    @staticmethod
    def _value(spec: SlotSpec, value: Any) -> tuple[Any, str | None]:
        """The slot's value as the rules store it, or why it is refused."""
        if spec.type == "money":
            low, high = (None if v is None else house_money(float(v)) for v in (value["low"], value["high"]))
            ends = [v for v in (low, high) if v is not None]
            if not ends:
                return None, "no amount"
            if any(not MONEY_RANGE[0] <= v <= MONEY_RANGE[1] for v in ends):
                return None, f"{ends} is not a house price"
            if low is not None and high is not None and low > high:
                low, high = high, low
            return MoneyRange(low, high), None
        if spec.type == "text":
            value = " ".join(str(value).split())
            return (value, None) if value else (None, "empty")
        if spec.type == "months":
            return round(float(value), 1), None
        return value, None


def grounded(quote: str, said: str) -> bool:
    """Whether ``quote`` is (nearly all) words of ``said``."""
    words = normalise(quote).split()
    if not words:
        return False
    heard = set(normalise(said).split())
    return sum(w in heard for w in words) / len(words) >= GROUNDING

