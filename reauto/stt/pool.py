"""Speech recognition in worker processes, so decoding never stalls the calls' event loop.

pocketsphinx holds the GIL while it decodes: a one-second utterance decoded in a thread stops
the event loop for hundreds of milliseconds, and with it every other call's audio. The pool
runs the configured provider in ``workers`` processes (each with its own model and decoder) and
hands segments over as bytes; the event loop only waits on a future.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import ClassVar

from reauto.config import SttSettings
from reauto.stt.base import STTProvider, Transcript

_worker_provider: STTProvider | None = None
_worker_loop: asyncio.AbstractEventLoop | None = None


def _init_worker(settings: SttSettings, vocabulary: Sequence[str]) -> None:
    global _worker_provider, _worker_loop
    from reauto.stt.factory import create_stt

    _worker_loop = asyncio.new_event_loop()
    _worker_provider = create_stt(settings)
    if vocabulary:
        _worker_provider.set_vocabulary(vocabulary)
    _worker_loop.run_until_complete(_worker_provider.start())


def _transcribe_in_worker(pcm: bytes) -> Transcript:
    assert _worker_provider is not None and _worker_loop is not None
    return _worker_loop.run_until_complete(_worker_provider.transcribe(pcm))


def _ping() -> str:
    return _worker_provider.name if _worker_provider is not None else ""


class ProcessPoolSTT(STTProvider):
    """Runs the provider named in ``settings`` in a pool of worker processes.

    Args:
        settings: the STT settings each worker builds its provider from.
        workers: number of processes (each loads its own model).
        vocabulary: campaign phrases to bias every worker toward.
    """

    name: ClassVar[str] = "pool"

    def __init__(self, settings: SttSettings, *, workers: int = 2, vocabulary: Sequence[str] = ()) -> None:
        self.settings = settings
        self.workers = max(1, workers)
        self.vocabulary = list(vocabulary)
        self._pool: ProcessPoolExecutor | None = None
        self.provider_name = settings.provider

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        if self._pool is not None:
            raise RuntimeError("set the vocabulary before start(): workers load it once")
        self.vocabulary = list(phrases)

    async def start(self) -> None:
        if self._pool is not None:
            return
        # spawn, not fork: a forked child would inherit the parent's event loop and threads
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.settings, self.vocabulary),
        )
        loop = asyncio.get_running_loop()
        # load the model in every worker now, while the phone rings, not on the first turn
        names = await asyncio.gather(*(loop.run_in_executor(self._pool, _ping) for _ in range(self.workers * 2)))
        self.provider_name = names[0] or self.settings.provider

    async def transcribe(self, pcm: bytes) -> Transcript:
        if self._pool is None:
            await self.start()
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._pool, _transcribe_in_worker, pcm), timeout=self.settings.timeout_s
        )

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
