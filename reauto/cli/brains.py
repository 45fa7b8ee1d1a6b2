"""The LLM brain's client and prompt, connected once per command (``reauto dial``, ``reauto eval``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from reauto.cli.output import err_console
from reauto.config import Settings

if TYPE_CHECKING:
    from reauto.agent.llm import PromptTemplate
    from reauto.llm.ollama import OllamaChat


async def connect_llm(cfg: Settings) -> tuple[OllamaChat, PromptTemplate]:
    """The Ollama client and prompt for ``llm.brain = ollama``, with the model loaded."""
    from reauto.agent.llm import PromptTemplate
    from reauto.llm.ollama import OllamaChat

    prompt = PromptTemplate.load(cfg.prompts_dir / "agent.txt")
    chat = OllamaChat(cfg.llm)
    try:
        await asyncio.wait_for(chat.warm(), timeout=cfg.llm.timeout_s)
    except Exception as exc:  # the calls still run: every line falls back to the script
        err_console.print(f"[yellow]warning:[/] Ollama at {', '.join(cfg.llm.hosts)} is not ready "
                          f"({type(exc).__name__}: {exc}); calls use the scripted lines until it answers",
                          highlight=False)
    return chat, prompt
