"""The LLM brain's client, prompts and reply cache, connected once per command (``reauto dial``, ``reauto eval``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from reauto.cli.output import err_console
from reauto.config import Settings

if TYPE_CHECKING:
    from reauto.agent.llm import LLMParts


async def connect_llm(cfg: Settings) -> LLMParts:
    """The Ollama client, prompts (``agent.txt``, the agents' own in ``agents/``, ``extract.txt``)
    and reply cache for ``llm.brain = ollama``, with the models loaded (the main one, every
    per-agent one and the extraction one)."""
    from reauto.agent.llm import LLMParts as Parts
    from reauto.agent.prompts import PromptTemplate, load_agent_prompts
    from reauto.llm.cache import reply_cache_for
    from reauto.llm.ollama import OllamaChat

    prompt = PromptTemplate.load(cfg.prompts_dir / "agent.txt")
    extract_prompt = PromptTemplate.load(cfg.prompts_dir / "extract.txt") if cfg.llm.extract != "off" else None
    chat = OllamaChat(cfg.llm)
    try:
        models = sorted(set(cfg.llm.models.values()) - {cfg.llm.model})
        await asyncio.wait_for(asyncio.gather(chat.warm(), *(chat.warm(m) for m in models)), timeout=cfg.llm.timeout_s)
    except Exception as exc:  # the calls still run: every line falls back to the script
        err_console.print(f"[yellow]warning:[/] Ollama at {', '.join(cfg.llm.hosts)} is not ready "
                          f"({type(exc).__name__}: {exc}); calls use the scripted lines until it answers",
                          highlight=False)
    return Parts(chat, prompt, reply_cache_for(cfg.llm, cfg.redis), extract_prompt, load_agent_prompts(cfg.prompts_dir))


async def close_llm(llm: LLMParts | None) -> None:
    """Close the client and the reply cache."""
    if llm is None:
        return
    await llm.chat.close()
    if llm.cache is not None:
        await llm.cache.close()
