"""Ollama's native chat API (``/api/chat``, streaming NDJSON) over several hosts.

Each request goes to the host with the fewest requests in flight whose breaker is closed, waits
for a free slot there (``max_concurrency_per_host``; at most ``queue_limit`` requests wait in
all), and must produce its first token within ``first_token_timeout_s`` and finish within
``timeout_s`` (a caller may also bound the gap between two pieces: ``stall_s``). A failure
before the first token is retried on another host (``retries``); a failure after it is raised,
since half a sentence may already be on its way to the caller. Every failure counts against the
host's breaker. The official ``ollama`` client does the HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field, fields
from typing import Any

from reauto.metrics import LLM_TOKENS
from reauto.breaker import Breaker
from reauto.config import LlmSettings
from reauto.errors import ProviderError
from reauto.providers import ProviderUnavailable
from reauto.usage import usage


class LLMUnavailable(ProviderError):
    """No reply from the LLM in time (every host failed, breakers open, or the queue is full)."""

    exit_code = 4
    retryable = True  # the next turn may find a host


@dataclass
class ChatStats:
    """What Ollama's final stream line reports (durations in nanoseconds, as Ollama sends them)."""

    model: str = ""
    host: str = ""
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    first_token_ms: float | None = None
    queued_ms: float = 0.0  # waiting for a free slot on the host
    total_ms: float | None = None  # from the request's start (queue included) to the final line


@dataclass(frozen=True)
class _Request:
    """One chat request, as sent to whichever host takes it."""

    messages: Sequence[Mapping[str, str]]
    model: str
    stall_s: float | None
    format: Mapping[str, Any] | str | None
    options: Mapping[str, Any]
    keep_alive: str


@dataclass
class _Host:
    url: str
    client: Any
    slots: asyncio.Semaphore
    breaker: Breaker
    in_flight: int = 0
    served: int = 0
    failures: int = 0


@dataclass
class OllamaChat:
    """Streams chat replies from a pool of Ollama hosts (see the module doc)."""

    settings: LlmSettings
    hosts: list[_Host] = field(default_factory=list, init=False)
    waiting: int = field(default=0, init=False)
    last: ChatStats = field(default_factory=ChatStats, init=False)

    def __post_init__(self) -> None:
        try:
            import httpx
            from ollama import AsyncClient
        except ImportError as exc:  # pragma: no cover - the extra is part of dev
            raise ProviderUnavailable(
                "llm.brain = ollama needs the ollama client: pip install 'reauto[ollama]'"
            ) from exc
        s = self.settings
        timeout = httpx.Timeout(s.timeout_s, connect=min(2.0, s.timeout_s))
        for url in s.hosts:
            self.hosts.append(_Host(
                url=url.rstrip("/"), client=AsyncClient(host=url, timeout=timeout),
                slots=asyncio.Semaphore(s.max_concurrency_per_host),
                breaker=Breaker(threshold=s.breaker_threshold, reset_s=s.breaker_reset_s,
                                name=f"ollama {url.rstrip('/')}"),
            ))

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> OllamaChat:
        """The client ``[llm]`` configures (how :data:`reauto.llm.REGISTRY` builds it)."""
        return cls(settings)

    def options(self) -> dict[str, Any]:
        """Ollama ``options`` from the settings."""
        s = self.settings
        out: dict[str, Any] = {"temperature": s.temperature, "num_ctx": s.num_ctx, "num_predict": s.num_predict}
        if s.seed is not None:
            out["seed"] = s.seed
        return out

    async def stream(self, messages: Sequence[Mapping[str, str]], *, model: str | None = None,
                     stats: ChatStats | None = None, stall_s: float | None = None,
                     format: Mapping[str, Any] | str | None = None,  # noqa: A002 (Ollama's name)
                     options: Mapping[str, Any] | None = None,
                     keep_alive: str | None = None) -> AsyncIterator[str]:
        """The reply's text pieces as they are generated.

        Args:
            messages: the chat so far (system, user and assistant messages).
            model: the model to use instead of ``settings.model``.
            stats: filled with this request's :class:`ChatStats` once the reply is complete
                (:attr:`last` is shared by every request in flight).
            stall_s: after the first piece, the longest wait for the next one (a stalled
                generation); ``None``: only the whole reply's ``timeout_s`` applies.
            format: a JSON schema the reply must follow (Ollama's structured outputs), or ``"json"``.
            options: Ollama ``options`` that replace the settings' ones for this request.
            keep_alive: how long Ollama keeps the model loaded after it (else the settings').

        Raises:
            LLMUnavailable: no host gave a first token in time, or one failed mid-reply.
        """
        tried: set[str] = set()
        errors: list[str] = []
        for _attempt in range(self.settings.retries + 1):
            host = self._pick(tried)
            if host is None:
                break
            tried.add(host.url)
            request = _Request(messages, model or self.settings.model, stall_s, format,
                               {**self.options(), **(options or {})}, keep_alive or self.settings.keep_alive)
            async with aclosing(self._stream_from(host, request, stats)) as pieces:
                try:
                    first = await pieces.__anext__()
                except StopAsyncIteration:
                    host.breaker.success()
                    return
                except LLMUnavailable as exc:
                    errors.append(str(exc))
                    continue
                yield first
                async for piece in pieces:  # a caller that stops early closes the request
                    yield piece
                return
        if not errors:
            errors.append("every host's breaker is open" if self.hosts else "no hosts configured")
        raise LLMUnavailable("Ollama: " + "; ".join(errors))

    async def complete(self, messages: Sequence[Mapping[str, str]], *, model: str | None = None,
                       stats: ChatStats | None = None,
                       format: Mapping[str, Any] | str | None = None,  # noqa: A002 (Ollama's name)
                       options: Mapping[str, Any] | None = None, keep_alive: str | None = None) -> str:
        """The whole reply (the arguments as for :meth:`stream`)."""
        pieces = self.stream(messages, model=model, stats=stats, format=format, options=options,
                             keep_alive=keep_alive)
        return "".join([piece async for piece in pieces])

    async def warm(self, model: str | None = None) -> None:
        """Load the model on every host now (an empty chat loads it and keeps it ``keep_alive``)."""
        name = model or self.settings.model
        await asyncio.gather(*(h.client.chat(model=name, messages=[], keep_alive=self.settings.keep_alive)
                               for h in self.hosts))

    async def close(self) -> None:
        for host in self.hosts:
            inner = getattr(host.client, "_client", None)
            if inner is not None:
                await inner.aclose()

    # --- internals -------------------------------------------------------------------------
    def _pick(self, tried: set[str]) -> _Host | None:
        usable = [h for h in self.hosts if h.url not in tried and h.breaker.state != "open"]
        usable.sort(key=lambda h: h.in_flight)
        for host in usable:
            if host.breaker.allow():
                return host
        return None

    async def _stream_from(self, host: _Host, request: _Request, out: ChatStats | None) -> AsyncIterator[str]:
        s = self.settings
        if host.slots.locked() and self.waiting >= s.queue_limit:
            raise LLMUnavailable(f"{host.url}: busy and {self.waiting} requests already waiting")
        started = time.perf_counter()
        deadline = started + s.timeout_s
        host.in_flight += 1
        try:
            if host.slots.locked():
                self.waiting += 1
                try:
                    await asyncio.wait_for(host.slots.acquire(), timeout=s.first_token_timeout_s)
                except TimeoutError:
                    raise LLMUnavailable(f"{host.url}: no free slot within {s.first_token_timeout_s}s") from None
                finally:
                    self.waiting -= 1
            else:
                await host.slots.acquire()  # free: returns at once
            queued_ms = (time.perf_counter() - started) * 1000
            try:
                stats = ChatStats(model=request.model, host=host.url, queued_ms=queued_ms)
                async with aclosing(self._chat(host, request, stats, started, deadline)) as pieces:
                    async for piece in pieces:
                        yield piece
            finally:
                host.slots.release()
        finally:
            host.in_flight -= 1
        if out is not None:
            for f in fields(ChatStats):
                setattr(out, f.name, getattr(stats, f.name))

    async def _chat(self, host: _Host, request: _Request, stats: ChatStats,
                    started: float, deadline: float) -> AsyncIterator[str]:
        s = self.settings
        model, stall_s = stats.model, request.stall_s
        stack = AsyncExitStack()
        try:
            async with asyncio.timeout(s.first_token_timeout_s):
                parts = await host.client.chat(model=model, messages=list(request.messages), stream=True,
                                               format=dict(request.format) if isinstance(request.format, Mapping) else request.format,
                                               options=dict(request.options), keep_alive=request.keep_alive)
            iterator = parts.__aiter__()
            stack.push_async_callback(_close, iterator)
            first_deadline = started + s.first_token_timeout_s
            while True:
                now = time.perf_counter()
                if stats.first_token_ms is None:
                    limit = first_deadline - now
                else:
                    limit = deadline - now if stall_s is None else min(deadline - now, stall_s)
                async with asyncio.timeout(max(0.001, limit)):  # no task per piece, unlike wait_for
                    part = await iterator.__anext__()
                content = part.message.content if part.message is not None else ""
                if content:
                    if stats.first_token_ms is None:
                        stats.first_token_ms = (time.perf_counter() - started) * 1000
                    yield content
                if part.done:
                    stats.done_reason = part.done_reason
                    stats.prompt_eval_count, stats.eval_count = part.prompt_eval_count, part.eval_count
                    stats.total_duration, stats.load_duration = part.total_duration, part.load_duration
                    # read on to the end of the response, so its connection goes back to the pool
        except StopAsyncIteration:
            pass
        except (TimeoutError, asyncio.TimeoutError):
            self._failed(host)
            if stats.first_token_ms is None:
                raise LLMUnavailable(f"{host.url}: no first token within {s.first_token_timeout_s}s") from None
            if stall_s is not None and time.perf_counter() < deadline:
                raise LLMUnavailable(f"{host.url}: the reply stalled for {stall_s}s") from None
            raise LLMUnavailable(f"{host.url}: no reply within {s.timeout_s}s") from None
        except LLMUnavailable:
            raise
        except Exception as exc:  # HTTP errors, refused connections, an error line mid-stream
            self._failed(host)
            raise LLMUnavailable(f"{host.url}: {type(exc).__name__}: {exc}") from None
        finally:
            await stack.aclose()  # the HTTP response, also when the caller stops early
        host.breaker.success()
        host.served += 1
        stats.total_ms = (time.perf_counter() - started) * 1000
        self.last = stats
        tokens = (stats.prompt_eval_count or 0) + (stats.eval_count or 0)
        usage("llm", f"ollama:{model}", tokens, "token")
        LLM_TOKENS.labels(model=model).inc(tokens)

    @staticmethod
    def _failed(host: _Host) -> None:
        host.failures += 1
        host.breaker.failure()


async def _close(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
