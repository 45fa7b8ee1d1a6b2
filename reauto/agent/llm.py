"""The ``ollama`` brain: the scripted flow decides, the LLM words the reply; scripted on failure.

The scripted brain keeps the conversation's state (agent, slots, score, transitions), so the
call is always where the campaign's script says it is, whatever the LLM does. For each lead turn
it plans the next line; the LLM gets the prompt template (``prompts/agent.txt``), the recent
history and the plan, and words it more naturally. The planned line is spoken instead when
the LLM fails, is slow (its first token is late), its breaker is open, or its answer does not
keep the plan (a question must stay a question; length is bounded). Lines that end a call (do
not call, wrong number, voicemail) and the opening (disclosures) are never reworded.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reauto.agent.scripted import ScriptedBrain
from reauto.errors import ConfigError
from reauto.llm.ollama import LLMUnavailable, OllamaChat
from reauto.voice.conversation import Reply

_VERSION = re.compile(r"^#\s*version:\s*(\S+)\s*$")
_MARKUP = re.compile(r"[*_#`\[\]<>{}|]")


@dataclass(frozen=True)
class PromptTemplate:
    """A versioned prompt file: ``# version: N`` on the first line, ``$names`` to fill in."""

    path: Path
    version: str
    template: string.Template

    @classmethod
    def load(cls, path: Path) -> PromptTemplate:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read prompt template ({exc.strerror})") from None
        first, _, body = text.partition("\n")
        found = _VERSION.match(first)
        if found is None:
            raise ConfigError(f"{path}:1: a prompt template starts with '# version: N'")
        template = string.Template(body.strip())
        if not template.is_valid():
            raise ConfigError(f"{path}: invalid $placeholder in the template")
        return cls(path, found.group(1), template)

    @property
    def digest(self) -> str:
        """Version and content hash (what a response cache keys on)."""
        return f"{self.version}:{hashlib.sha256(self.template.template.encode()).hexdigest()[:12]}"

    def render(self, **values: str) -> str:
        try:
            return self.template.substitute(values)
        except KeyError as exc:
            raise ConfigError(f"{self.path}: unknown placeholder ${exc.args[0]}") from None


class LLMBrain:
    """A :class:`~reauto.voice.conversation.Brain`: the scripted flow, worded by an LLM."""

    HISTORY_TURNS = 8
    MAX_CHARS = 320

    def __init__(self, scripted: ScriptedBrain, chat: OllamaChat, prompt: PromptTemplate) -> None:
        self.scripted = scripted
        self.chat = chat
        self.prompt = prompt
        self.worded = 0
        self.fallbacks: list[str] = []

    # --- Brain protocol ---------------------------------------------------------------------
    def opening(self) -> Reply:
        return self.scripted.opening()  # disclosures are spoken word for word

    async def respond(self, text: str, confidence: float | None) -> Reply:
        plan = await self.scripted.respond(text, confidence)
        if plan.end_call or not plan.text:
            return plan
        try:
            worded = await self.chat.complete(self._messages(plan, text))
        except LLMUnavailable as exc:
            self.fallbacks.append(str(exc))
            return plan
        spoken = self._check(worded, plan)
        if spoken is None:
            self.fallbacks.append(f"reply did not keep the plan: {worded[:80]!r}")
            return plan
        self.worded += 1
        self.scripted.history[-1] = ("agent", spoken)
        return Reply(spoken, end_call=plan.end_call, outcome=plan.outcome, agent=plan.agent)

    def interrupted(self, spoken: str) -> None:
        self.scripted.interrupted(spoken)

    def opt_out(self) -> Reply:
        return self.scripted.opt_out()  # the opt-out confirmation is spoken word for word

    # --- results (the scripted brain's) -----------------------------------------------------
    @property
    def slots(self) -> dict[str, Any]:
        return self.scripted.slots

    @property
    def score(self) -> float:
        return self.scripted.score

    def snapshot(self) -> dict[str, Any]:
        return self.scripted.snapshot()  # the scripted flow is the conversation's state

    def restore(self, state: dict[str, Any]) -> None:
        self.scripted.restore(state)

    def resume(self) -> None:
        self.scripted.resume()

    # --- internals ----------------------------------------------------------------------------
    def _messages(self, plan: Reply, said: str) -> list[dict[str, str]]:
        c = self.scripted.config
        known = ", ".join(f"{k} = {v}" for k, v in self.scripted.slots.items()) or "nothing yet"
        system = self.prompt.render(
            agent_name=c.agent_name, business=c.business, lead_name=c.lead_first_name or "the lead",
            known=known, next_line=plan.text,
        )
        history: Sequence[tuple[str, str]] = self.scripted.history[:-2][-self.HISTORY_TURNS:]
        messages = [{"role": "system", "content": system}]
        messages += [{"role": "assistant" if who == "agent" else "user", "content": line} for who, line in history]
        messages.append({"role": "user", "content": said})
        return messages

    def _check(self, worded: str, plan: Reply) -> str | None:
        spoken = " ".join(_MARKUP.sub("", worded).split()).strip().strip('"')
        if not spoken or len(spoken) > self.MAX_CHARS:
            return None
        if plan.text.rstrip().endswith("?") and not spoken.endswith("?"):
            return None
        return spoken
