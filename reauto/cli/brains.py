"""The LLM brain's client, prompts and reply cache, connected once per command (``reauto eval``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reauto.cli.output import err_console
from reauto.config import Settings

if TYPE_CHECKING:
    from reauto.agent.llm import LLMParts


async def connect_llm(cfg: Settings) -> LLMParts:
    """:meth:`LLMParts.connect <reauto.agent.llm.LLMParts.connect>`, with a warning on stderr when
    Ollama is not ready."""
    from reauto.agent.llm import LLMParts as Parts

    return await Parts.connect(cfg, on_unready=lambda why: err_console.print(f"[yellow]warning:[/] {why}",
                                                                             highlight=False))


async def close_llm(llm: LLMParts | None) -> None:
    """Close the client and the reply cache."""
    if llm is not None:
        await llm.close()
