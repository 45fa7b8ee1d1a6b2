"""Test doubles: loopback servers that speak vendors' real wire formats, and fake providers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from reauto.tts.base import TTSProvider


async def listen(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 (any free port); returns the runner (``cleanup()`` it) and the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class FakeTTS(TTSProvider):
    """A scripted TTS provider.

    Args:
        chunks: what every utterance yields, in order.
        sample_rate: the declared rate.
        fail_at: raise ``exception`` before yielding chunk number ``fail_at`` (0 = at once).
        exception: what to raise.
        delay_s: sleep before each chunk (a slow engine, or a stall).
        tier: the cost tier it claims.
        name: its provider name.
    """

    name = "fake"

    def __init__(
        self,
        chunks: Sequence[bytes] = (b"\x01\x00" * 160,),
        *,
        sample_rate: int = 16_000,
        fail_at: int | None = None,
        exception: Exception | None = None,
        delay_s: float = 0.0,
        tier: str = "local",
        name: str = "fake",
        start_error: Exception | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.sample_rate = sample_rate
        self.fail_at = fail_at
        self.exception = exception or RuntimeError("fake TTS failure")
        self.delay_s = delay_s
        self.tier = tier  # type: ignore[misc]
        self.name = name  # type: ignore[misc]
        self.start_error = start_error
        self.calls: list[str] = []
        self.started = self.closed = False
        self.last_character_cost: int | None = None

    async def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.calls.append(text)
        self.last_character_cost = len(text) if self.tier == "premium" else None
        for index, chunk in enumerate(self.chunks):
            if self.fail_at == index:
                raise self.exception
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            yield chunk
        if self.fail_at is not None and self.fail_at >= len(self.chunks):
            raise self.exception

    async def close(self) -> None:
        self.closed = True
