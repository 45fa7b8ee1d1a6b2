"""Prompt files: versioned templates (``prompts/agent.txt``, ``prompts/extract.txt``) and the
agents' own wording prompts (``prompts/agents/<agent>.txt``)."""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from reauto.errors import ConfigError

_VERSION = re.compile(r"^#\s*version:\s*(\S+)\s*$")


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


#: The agents of a call (:mod:`reauto.agent.scripted`); each may have a prompt of its own.
AGENTS = ("greeter", "qualifier", "objection", "scheduler", "closer")
#: Where the agents' own prompts are, in the prompts directory: ``agents/<agent>.txt``.
AGENT_PROMPTS = "agents"


def load_agent_prompts(prompts_dir: Path) -> dict[str, PromptTemplate]:
    """The prompt of each agent that has one (``<prompts_dir>/agents/<agent>.txt``); the others
    use ``agent.txt``.

    Raises:
        ConfigError: a file there names no agent.
    """
    out: dict[str, PromptTemplate] = {}
    for path in sorted((prompts_dir / AGENT_PROMPTS).glob("*.txt")):
        if path.stem not in AGENTS:
            raise ConfigError(f"{path}: no agent is called {path.stem!r} (agents: {', '.join(AGENTS)})")
        out[path.stem] = PromptTemplate.load(path)
    return out
