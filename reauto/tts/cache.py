"""An in-process LRU cache of spoken fixed phrases (greeting, disclosures, stock replies).

The same few sentences open every call; synthesising them once per process saves the first
chunk's latency (and, for the premium tier, its characters). Entries are keyed by
(provider name, voice, text) and hold the whole utterance's PCM16 and its rate; the cache is
bounded by total bytes and evicts the least recently used entry first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass

from reauto.metrics import CACHE_REQUESTS
from reauto.tts.base import TTSProvider

CacheKey = tuple[str, str, str]


@dataclass(frozen=True)
class CachedAudio:
    """One cached utterance: PCM16 mono and its sample rate."""

    pcm: bytes
    rate: int


class AudioCache:
    """LRU map of (provider, voice, text) → :class:`CachedAudio`, bounded in bytes.

    Args:
        max_bytes: total PCM the cache may hold (16 MiB ≈ 6 minutes at 22 kHz).

    Attributes:
        hits: lookups that found an entry.
        misses: lookups that did not.
    """

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, CachedAudio] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: CacheKey) -> CachedAudio | None:
        """The entry for ``key`` (now the most recently used), or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            CACHE_REQUESTS.labels(kind="tts", result="miss").inc()
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        CACHE_REQUESTS.labels(kind="tts", result="hit").inc()
        return entry

    def put(self, key: CacheKey, audio: CachedAudio) -> None:
        """Store ``audio``, evicting least recently used entries to stay within ``max_bytes``.

        An utterance larger than the whole cache is not stored.
        """
        if len(audio.pcm) > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.pcm)
        self._entries[key] = audio
        self._bytes += len(audio.pcm)
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.pcm)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._bytes = 0


class CachedTTS(TTSProvider):
    """A provider whose utterances are served from an :class:`AudioCache` when present.

    Args:
        inner: the provider that speaks on a miss.
        cache: shared cache (one per process serves every call).
        voice: the voice part of the key; defaults to ``inner.voice`` (or ``""``).
        phrases: only these texts are cached; ``None`` caches every complete utterance.

    A miss streams from ``inner`` as usual and stores the utterance once it finished with
    audio; an abandoned or failed utterance is not stored. A hit is yielded at once, as one
    chunk, without calling ``inner``.
    """

    name = "cached"

    def __init__(
        self,
        inner: TTSProvider,
        cache: AudioCache,
        *,
        voice: str | None = None,
        phrases: Collection[str] | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.voice = voice if voice is not None else str(getattr(inner, "voice", ""))
        self.phrases = frozenset(phrases) if phrases is not None else None
        self.name = inner.name  # type: ignore[misc]
        self.tier = inner.tier  # type: ignore[misc]
        self.sample_rate = inner.sample_rate
        self._inflight: dict[CacheKey, asyncio.Event] = {}

    def key(self, text: str) -> CacheKey:
        """The cache key of ``text`` spoken by this provider and voice."""
        return (self.inner.name, self.voice, text)

    async def start(self) -> None:
        """Start the inner provider."""
        await self.inner.start()
        self.sample_rate = self.inner.sample_rate

    async def warm(self, texts: Iterable[str]) -> None:
        """Synthesise ``texts`` now (while the phone rings) so the call serves them from cache."""
        for text in texts:
            async for _ in self.synthesize(text):
                pass

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text`` from the cache, or from the inner provider (and remember it).

        When the same text is already being synthesised (a :meth:`warm` still running as the
        lead answers), this waits for that synthesis instead of doing the work twice.
        """
        cacheable = self.phrases is None or text in self.phrases
        key = self.key(text)
        if cacheable and key in self._inflight:
            await self._inflight[key].wait()
        hit = self.cache.get(key) if cacheable else None
        if hit is not None and hit.rate == self.inner.sample_rate:
            yield hit.pcm
            return
        done = asyncio.Event()
        if cacheable:
            self._inflight.setdefault(key, done)
        pieces: list[bytes] = []
        try:
            async for chunk in self.inner.synthesize(text):
                if cacheable:
                    pieces.append(chunk)
                yield chunk
            pcm = b"".join(pieces)
            if cacheable and pcm:
                self.cache.put(key, CachedAudio(pcm, self.inner.sample_rate))
        finally:
            if self._inflight.get(key) is done:
                del self._inflight[key]
            done.set()

    async def close(self) -> None:
        """Close the inner provider (the cache outlives it)."""
        await self.inner.close()
