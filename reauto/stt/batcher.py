"""One recogniser shared by the calls of a process: a queue that decodes utterances in batches.

Each call hands in an utterance when its lead stops speaking; the batcher decodes whatever is
waiting in one batch (up to ``max_batch``), so one model serves every call and, on a GPU, the
weights are read once per decoding step for all of them. Dynamic batching: when the decoder is
idle, the first utterance waits at most ``max_wait_s`` for company; while a batch is decoding, new
utterances queue and make up the next batch at once. Utterances of a lead who is waiting for the
agent go before background work (a second listen of a finished call).

``depth()`` is the back-pressure a dialer's admission control can read: utterances waiting, not
yet being decoded. Measured in ``scripts/bench/whisper_capacity.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

R = TypeVar("R")


@dataclass(order=True)
class _Job(Generic[R]):
    rank: tuple[int, int]
    pcm: bytes = field(compare=False)
    future: asyncio.Future[R] = field(compare=False)
    queued: float = field(compare=False, default_factory=time.monotonic)


class UtteranceBatcher(Generic[R]):
    """Batch utterances from many calls onto one ``decode`` (run in a worker thread).

    Args:
        decode: transcribes a batch; one result per utterance, in order.
        max_batch: the most utterances in one batch.
        max_wait_s: how long an utterance that finds the decoder idle waits for others.
    """

    def __init__(self, decode: Callable[[Sequence[bytes]], Sequence[R]], *, max_batch: int = 16,
                 max_wait_s: float = 0.01) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._decode = decode
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._jobs: asyncio.PriorityQueue[_Job[R]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self.batches: list[int] = []  # the size of each batch decoded (the benchmark reads it)

    def depth(self) -> int:
        """Utterances waiting for a batch (back-pressure)."""
        return self._jobs.qsize()

    async def transcribe(self, pcm: bytes, *, waiting: bool = True) -> R:
        """The result for one utterance; ``waiting``: a lead is waiting for it (it goes first)."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="utterance-batcher")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait(_Job((0 if waiting else 1, next(self._order)), pcm, future))
        return await future

    async def close(self) -> None:
        """Stop the worker; utterances still queued fail with ``CancelledError``."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        while not self._jobs.empty():
            self._jobs.get_nowait().future.cancel()

    async def _run(self) -> None:
        while True:
            batch = [await self._jobs.get()]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch:
                if self._jobs.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        batch.append(await asyncio.wait_for(self._jobs.get(), left))
                    except TimeoutError:
                        break
                else:
                    batch.append(self._jobs.get_nowait())
            await self._serve(batch)

    async def _serve(self, batch: list[_Job[R]]) -> None:
        live = [job for job in batch if not job.future.done()]  # a caller that gave up is not decoded
        if not live:
            return
        self.batches.append(len(live))
        try:
            results = await asyncio.to_thread(self._decode, [job.pcm for job in live])
        except Exception as exc:  # noqa: BLE001 (each caller gets the failure; the worker goes on)
            for job in live:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, result in zip(live, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)
