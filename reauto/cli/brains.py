"""The LLM brain's client, prompt and reply cache, connected once per command (``reauto dial``, ``reauto eval``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from reauto.cli.output import err_console
from reauto.config import Settings

if TYPE_CHECKING:
    from reauto.agent.llm import PromptTemplate
    from reauto.llm.cache import ReplyCache
    from reauto.llm.ollama import OllamaChat

    #: What ``llm.brain = ollama`` needs: the client, the prompt and the reply cache (None when off).
    LLM = tuple[OllamaChat, PromptTemplate, ReplyCache | None]


async def connect_llm(cfg: Settings) -> LLM:
    """The Ollama client, prompt and reply cache for ``llm.brain = ollama``, with the models loaded
    (the main one and every per-agent one)."""
    from reauto.agent.llm import PromptTemplate as Template
    from reauto.llm.cache import reply_cache_for
    from reauto.llm.ollama import OllamaChat as Chat

    prompt = Template.load(cfg.prompts_dir / "agent.txt")
    chat = Chat(cfg.llm)
    try:
        models = sorted(set(cfg.llm.models.values()) - {cfg.llm.model})
        await asyncio.wait_for(asyncio.gather(chat.warm(), *(chat.warm(m) for m in models)), timeout=cfg.llm.timeout_s)
    except Exception as exc:  # the calls still run: every line falls back to the script
        err_console.print(f"[yellow]warning:[/] Ollama at {', '.join(cfg.llm.hosts)} is not ready "
                          f"({type(exc).__name__}: {exc}); calls use the scripted lines until it answers",
                          highlight=False)
    return chat, prompt, reply_cache_for(cfg.llm, cfg.redis)


async def close_llm(llm: LLM | None) -> None:
    """Close the client and the reply cache."""
    if llm is None:
        return
    await llm[0].close()
    if llm[2] is not None:
        await llm[2].close()
