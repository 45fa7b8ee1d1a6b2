"""Speech recognition in worker processes, so decoding never stalls the calls' event loop.

pocketsphinx holds the GIL while it decodes: a one-second utterance decoded in a thread stops
the event loop for hundreds of milliseconds, and with it every other call's audio. The pool
runs the configured provider in ``workers`` processes (each with its own model and decoders)
and talks to each through a pair of queues; the event loop only puts messages and waits on
futures.

Two kinds of work:

* a whole segment (:meth:`ProcessPoolSTT.transcribe`) goes to the worker with the least in hand;
* an utterance decoded while it is spoken (:meth:`ProcessPoolSTT.open_stream`, where the
  provider can) stays with one worker from its first part to its transcript, so that when the
  lead stops only the last part is left to decode. Streams go to the worker with the fewest.

A worker gets ready for ``[stt] live_streams`` utterances at once while no utterance is
being spoken (pocketsphinx loads spare decoders: a third of a second each, three seconds with a
campaign's vocabulary); until then, and beyond that many, an utterance is decoded whole at its
end. A worker that dies fails what it had in hand and is started again for the next
request.

A worker serves the requests a lead is waiting on first (:func:`take_next`): the end of an
utterance decoded while spoken (a few ms left), then whole decodings, then the audio of
utterances still being spoken.

faster-whisper with ``[stt.faster_whisper] batch`` above 1 runs in this process instead, with no
workers: CTranslate2 decodes without holding the GIL, and one model shared by all the calls (a
batch of their utterances at a time, :mod:`reauto.stt.batcher`) is the point.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from reauto.config import SttSettings
from reauto.providers import ProviderUnavailable
from reauto.stt.base import SpeechStream, STTProvider, Transcript, Utterance

log = logging.getLogger(__name__)

#: Longest wait for a worker to load its models.
START_TIMEOUT_S = 120.0


def _serve(settings: SttSettings, vocabulary: Sequence[str], streams: int,
           inbox: Any, outbox: Any) -> None:  # pragma: no cover (runs in the worker process)
    """A worker process: build the provider, then answer requests until told to stop (or its
    dialer is gone)."""
    from reauto.runtime import exit_with_parent
    from reauto.stt.factory import create_stt

    exit_with_parent()

    loop = asyncio.new_event_loop()
    try:
        provider = create_stt(settings)
        if vocabulary:
            provider.set_vocabulary(vocabulary)
        loop.run_until_complete(provider.start())
    except Exception as exc:  # noqa: BLE001 (reported to the pool, which raises it)
        outbox.put((0, False, f"{type(exc).__name__}: {exc}"))
        return
    can_stream = streams > 0 and type(provider).begin is not STTProvider.begin
    outbox.put((0, True, (provider.name, can_stream)))
    utterances: dict[int, Utterance | None] = {}
    failed: dict[int, str] = {}
    preparing = can_stream
    backlog: collections.deque[Any] = collections.deque()
    while True:
        if not backlog:
            try:
                if not preparing:
                    backlog.append(inbox.get())
                elif utterances:  # a decoder loads for seconds: not while an utterance is being spoken
                    backlog.append(inbox.get(timeout=0.05))
                else:
                    backlog.append(inbox.get_nowait())
            except queue.Empty:
                if not utterances:
                    preparing = provider.prepare(streams)
                continue
        _drain(inbox, backlog)
        message = take_next(backlog, lambda sid: (u := utterances.get(sid)) is not None and not u.whole)
        if message is None:
            break
        op, key, data = message
        try:
            if op == "transcribe":
                pcm, context = data
                outbox.put((key, True, loop.run_until_complete(provider.transcribe(pcm, context=context))))
            elif op == "begin":
                line_state, context = data
                utterances[key] = provider.begin(line_state, context)
            elif op == "feed":
                if (utterance := utterances.get(key)) is not None and key not in failed:
                    utterance.feed(data)
            elif op == "cancel":
                failed.pop(key, None)
                if (utterance := utterances.pop(key, None)) is not None:
                    utterance.cancel()
            elif op == "end":
                rid, sid = data
                utterance = utterances.pop(sid, None)
                if sid in failed:
                    outbox.put((rid, False, failed.pop(sid)))
                elif utterance is None:
                    outbox.put((rid, False, f"{provider.name} cannot decode while the lead speaks"))
                else:
                    outbox.put((rid, True, (utterance.end(), utterance.line_state)))
        except Exception as exc:  # noqa: BLE001 (one request's failure, not the worker's)
            error = f"{type(exc).__name__}: {exc}"
            if op == "transcribe":
                outbox.put((key, False, error))
            elif op == "end":
                outbox.put((data[0], False, error))
            else:
                failed[key] = error
    for utterance in utterances.values():
        if utterance is not None:
            with contextlib.suppress(Exception):
                utterance.cancel()
    loop.run_until_complete(provider.close())
    outbox.put(None)


#: Requests someone is waiting on: served before the audio of utterances still being spoken.
URGENT = frozenset({"end", "transcribe"})


def _drain(inbox: Any, backlog: collections.deque[Any]) -> None:  # pragma: no cover (worker process)
    """Move every message already in ``inbox`` to ``backlog``."""
    while True:
        try:
            backlog.append(inbox.get_nowait())
        except queue.Empty:
            return


def take_next(backlog: collections.deque[Any], quick: Callable[[int], bool] = lambda _sid: False) -> Any:
    """The message a worker serves next, taken out of ``backlog`` (which must not be empty).

    First come, first served, except that a request someone waits on goes first: a whole segment
    to transcribe, or the end of an utterance (after the messages of that utterance before it, so
    its last audio is decoded, in order, before its transcript); and among those, first the end
    of an utterance decoded while spoken (``quick(sid)``: a few ms left), then the others (a
    whole decoding, hundreds of ms). The audio of utterances still being spoken waits meanwhile:
    it is decoded before each of them ends, and a lead who has stopped speaking is waiting for an
    answer now. With a first-come queue, at 12 calls on two workers the final decoding of one
    answer waited behind every other call's audio and whole decodings that had arrived before it.
    A stop message (``None``) is a barrier: nothing after it is served before it.
    """
    first = None
    for i, message in enumerate(backlog):
        if message is None:
            break
        op, key, _ = message
        if op in URGENT and first is None:
            first = i
        if op == "end" and quick(key):
            first = i
            break
    if first is None:
        return backlog.popleft()
    op, key, _ = backlog[first]
    if op == "end":  # its utterance's earlier messages first, in order
        for j in range(first):
            if backlog[j] is not None and backlog[j][1] == key:
                first = j
                break
    message = backlog[first]
    del backlog[first]
    return message


class _Worker:
    """One recogniser process, its queues, and the requests it has in hand (each awaited on the
    event loop that made it: a pool started on one loop serves calls on another)."""

    def __init__(self, index: int, pool: ProcessPoolSTT) -> None:
        ctx = multiprocessing.get_context("spawn")  # not fork: a child would inherit the loop and threads
        self.inbox = ctx.Queue()
        self.outbox = ctx.Queue()
        self.inbox.cancel_join_thread()  # a dead worker must not hold up the exit
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self._lock = threading.Lock()  # pending is shared with the receiving thread
        self.streams = 0
        self.dead: str | None = None
        self.ready = self._register(0)
        self.process = ctx.Process(target=_serve, name=f"reauto-stt-{index}", daemon=True,
                                   args=(pool.settings, pool.vocabulary, pool.settings.live_streams,
                                         self.inbox, self.outbox))
        self.process.start()
        self._receiver = threading.Thread(target=self._receive, name=f"reauto-stt-{index}-results", daemon=True)
        self._receiver.start()

    @property
    def load(self) -> int:
        return len(self.pending) + self.streams

    @property
    def waiting(self) -> int:
        """Transcripts asked of this worker and not yet answered (its start-up excluded)."""
        with self._lock:
            return sum(1 for rid in self.pending if rid != 0)

    def send(self, op: str, key: int, data: Any = None) -> None:
        if self.dead is None:
            self.inbox.put((op, key, data))

    def _register(self, rid: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self.dead is not None:
                future.set_exception(ProviderUnavailable(self.dead))
            else:
                self.pending[rid] = future
        return future

    def request(self, rid: int, op: str, key: int, data: Any) -> asyncio.Future[Any]:
        future = self._register(rid)
        self.send(op, key, data)
        return future

    def forget(self, rid: int) -> None:
        with self._lock:
            self.pending.pop(rid, None)

    def stop(self) -> None:
        if self.dead is None:
            self.inbox.put(None)
        self._fail("the recogniser pool was closed")

    def _receive(self) -> None:
        """Results from the process, handed to the event loop (a thread of its own)."""
        while True:
            try:
                message = self.outbox.get(timeout=0.5)
            except queue.Empty:
                if self.process.is_alive():
                    continue
                message = f"the recogniser process stopped (exit code {self.process.exitcode})"
            except (EOFError, OSError):
                message = "the recogniser process's queue broke"
            if message is None:
                return
            if isinstance(message, str):
                self._fail(message)
                return
            rid, ok, value = message
            with self._lock:
                future = self.pending.pop(rid, None)
            if future is not None:  # else: timed out meanwhile
                error = None if ok else ProviderUnavailable(str(value)) if rid == 0 else RuntimeError(str(value))
                _settle(future, value, error)

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self.dead is None:
                self.dead = reason
            futures = list(self.pending.values())
            self.pending.clear()
        for future in futures:
            _settle(future, None, ProviderUnavailable(reason))


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """Set ``future``'s outcome on its own event loop (from any thread)."""
    def done() -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
        future.get_loop().call_soon_threadsafe(done)


def in_process(settings: SttSettings) -> bool:
    """Whether the recogniser runs in the dialer's process: a batched faster-whisper."""
    return settings.provider == "faster-whisper" and settings.faster_whisper.batch > 1


class ProcessPoolSTT(STTProvider):
    """Runs the provider named in ``settings`` in a pool of worker processes.

    Args:
        settings: the STT settings each worker builds its provider from (``live_streams``: how
            many utterances each decodes while they are spoken).
        workers: number of processes (each loads its own model).
        vocabulary: campaign phrases to bias every worker toward.
    """

    name: ClassVar[str] = "pool"

    def __init__(self, settings: SttSettings, *, workers: int = 2, vocabulary: Sequence[str] = ()) -> None:
        self.settings = settings
        self.workers = max(1, workers)
        self.vocabulary = list(vocabulary)
        self.provider_name = settings.provider
        self.can_stream = False
        self.streamed = 0  # utterances transcribed while spoken
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self.local: STTProvider | None = None  # the in-process provider of a batched recogniser
        if in_process(settings):
            from reauto.stt.factory import create_stt

            self.local = create_stt(settings)
            self.local.set_vocabulary(self.vocabulary)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        if self._workers:
            raise RuntimeError("set the vocabulary before start(): workers load it once")
        self.vocabulary = list(phrases)
        if self.local is not None:
            self.local.set_vocabulary(self.vocabulary)

    async def start(self) -> None:
        """Start the workers and wait until each has loaded its models (while the phone rings)."""
        if self.local is not None:
            await self.local.start()
            self.provider_name = getattr(getattr(self.local, "active", self.local), "name", self.provider_name)
            return
        if self._workers:
            return
        self._workers = [_Worker(i, self) for i in range(self.workers)]
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                ready = await asyncio.gather(*(w.ready for w in self._workers))
        except BaseException:
            await self.close()
            raise
        self.provider_name, self.can_stream = ready[0]

    def _pick(self, key: Any) -> _Worker:
        """The live worker with the least in hand (by ``key``); a dead one is started again."""
        for i, worker in enumerate(self._workers):
            if worker.dead is not None:
                log.warning("STT worker %d: %s; starting it again", i, worker.dead)
                worker.stop()
                self._workers[i] = _Worker(i, self)
        return min(self._workers, key=key)

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        if self.local is not None:
            return await asyncio.wait_for(self.local.transcribe(pcm, context=context), timeout=self.settings.timeout_s)
        if not self._workers:
            await self.start()
        rid = next(self._ids)
        worker = self._pick(lambda w: w.load)
        try:
            return await asyncio.wait_for(  # type: ignore[no-any-return]
                worker.request(rid, "transcribe", rid, (pcm, context)), timeout=self.settings.timeout_s)
        finally:
            worker.forget(rid)

    def open_stream(self, line_state: str | None = None, context: str | None = None) -> SpeechStream | None:
        if not self._workers or not self.can_stream:
            return None
        worker = self._pick(lambda w: (w.streams, w.load))
        return _PoolStream(self, worker, next(self._ids), line_state, context)

    def backlog(self) -> float | None:
        """Requests waiting behind the one each worker decodes, per worker (the batched
        recogniser's own backlog when it runs in this process)."""
        if self.local is not None:
            return self.local.backlog()
        workers = [w for w in self._workers if w.dead is None]
        if not workers:
            return None
        return sum(max(0, w.waiting - 1) for w in workers) / len(workers)

    async def close(self) -> None:
        if self.local is not None:
            await self.local.close()
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

        def join() -> None:
            for worker in workers:
                worker.process.join(timeout=2.0)
                if worker.process.is_alive():
                    worker.process.terminate()

        await asyncio.to_thread(join)


class _PoolStream(SpeechStream):
    """An utterance decoded by one worker of a :class:`ProcessPoolSTT` while it is spoken."""

    def __init__(self, pool: ProcessPoolSTT, worker: _Worker, sid: int, line_state: str | None,
                 context: str | None = None) -> None:
        self._pool = pool
        self._worker = worker
        self._sid = sid
        self._open = True
        self.line_state = line_state
        worker.streams += 1
        worker.send("begin", sid, (line_state, context))

    def feed(self, pcm: bytes) -> None:
        if self._open and pcm:
            self._worker.send("feed", self._sid, pcm)

    async def finish(self) -> Transcript:
        if not self._open:
            raise RuntimeError("this utterance has ended")
        self._close()
        rid = next(self._pool._ids)
        try:
            transcript, state = await asyncio.wait_for(self._worker.request(rid, "end", self._sid, (rid, self._sid)),
                                                       timeout=self._pool.settings.timeout_s)
        finally:
            self._worker.forget(rid)
        self.line_state = state or self.line_state
        self._pool.streamed += 1
        return transcript  # type: ignore[no-any-return]

    def cancel(self) -> None:
        if self._open:
            self._close()
            self._worker.send("cancel", self._sid)

    def _close(self) -> None:
        self._open = False
        self._worker.streams -= 1
