"""Reuse of worded replies: the same context gets the same words without asking the LLM again.

Exact layer: the key hashes the model, the prompt template's digest (version and content, so
a new prompt version invalidates every entry) and the context window actually sent (system
prompt, history, the lead's turn), normalised for case, spacing and punctuation, which speech
recognition varies without changing what was said.

Semantic layer (``cache_semantic_threshold`` > 0): entries are also grouped by the context
*before* the lead's last turn (which includes the planned line, so only replies that say the
same thing are candidates); a miss then reuses the reply of the group's most similar lead turn
when the cosine similarity reaches the threshold. No embedding model is available offline, so
the vectors are cheap lexical ones, counts of words, word pairs and character trigrams: they
catch fillers, word order and small recognition slips, not paraphrases in other words.

The lead's first name is neutral in keys and stored replies ("Got it, {lead}."), so leads with
different names share entries; a reply in which the name could also be an ordinary word (it
starts a sentence, or appears in another case) is not stored.

Backends: Redis when ``[redis] url`` is set (shared by every worker, expiry by Redis), else an
in-process LRU. A cache failure never fails a turn: it is logged, the lookup counts as a miss,
and the cache is left alone for :attr:`ReplyCache.retry_after_s` before it is tried again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reauto.breaker import Breaker
from reauto.metrics import CACHE_REQUESTS

log = logging.getLogger(__name__)

#: Stands for the lead's first name in stored replies.
NAME_SLOT = "{lead}"
#: Stands for the lead's first name in keys (keys are lower case, so it cannot be a word).
_NAME_KEY = "LEADNAME"
#: Most lead turns kept per group for the semantic layer.
MAX_GROUP = 64
#: A lookup may take at most this long: on a call a slow cache is worse than none.
LOOKUP_TIMEOUT_S = 0.25

_PUNCTUATION = re.compile(r"[^\w\s']+")
_QUOTES = re.compile(r"(^|\s)'+|'+(\s|$)")


def normalise(text: str) -> str:
    """Lower case, punctuation dropped (apostrophes inside words kept), single spaces."""
    text = _PUNCTUATION.sub(" ", text.lower())
    return " ".join(_QUOTES.sub(" ", text).split())


@dataclass(frozen=True)
class CacheKeys:
    """Where a context's reply is stored.

    Attributes:
        exact: hash of model, prompt digest and the whole normalised context.
        group: hash of the same without the lead's last turn (the semantic layer's group).
        lead: the lead's last turn, normalised (what the semantic layer compares).
    """

    exact: str
    group: str
    lead: str


def cache_keys(model: str, prompt_digest: str, messages: Sequence[Mapping[str, str]],
               name: str | None = None) -> CacheKeys:
    """The keys of a chat request whose last message is the lead's turn."""
    lines = [f"{m.get('role', '')}: {_neutral(normalise(m.get('content', '')), name)}" for m in messages]
    head = "\n".join([model, prompt_digest, *lines[:-1]])
    group = hashlib.sha256(head.encode()).hexdigest()[:32]
    exact = hashlib.sha256(f"{head}\n{lines[-1] if lines else ''}".encode()).hexdigest()[:32]
    lead = _neutral(normalise(messages[-1].get("content", "")), name) if messages else ""
    return CacheKeys(exact, group, lead)


def _neutral(normalised: str, name: str | None) -> str:
    if not name or not normalise(name):
        return normalised
    return re.sub(rf"\b{re.escape(normalise(name))}\b", _NAME_KEY, normalised)


def name_free(reply: str, name: str | None) -> str | None:
    """``reply`` with the lead's name replaced by :data:`NAME_SLOT`; ``None`` when the name
    cannot be told apart from an ordinary word there (it would be replaced wrongly for others)."""
    if not name:
        return reply
    exact = re.compile(rf"\b{re.escape(name)}\b")
    if re.search(rf"(^|[.!?]\s+){re.escape(name)}\b", reply):
        return None  # "Will that work?" — a name or a word
    template = exact.sub(NAME_SLOT, reply)
    if re.search(rf"\b{re.escape(name)}\b", template, re.IGNORECASE):
        return None  # "will" beside "Will"
    return template


def features(text: str) -> Counter[str]:
    """The lexical vector of a normalised text: words, word pairs, character trigrams."""
    words = text.split()
    out: Counter[str] = Counter(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    padded = f" {text} "
    out.update(f"#{padded[i:i + 3]}" for i in range(len(padded) - 2))
    return out


def cosine(a: Counter[str], b: Counter[str]) -> float:
    """Cosine similarity of two count vectors (0 when either is empty)."""
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class CachedReply:
    """A reply served from the cache; ``result`` is ``hit`` or ``semantic_hit``."""

    text: str
    result: str
    similarity: float = 1.0


class ReplyCache(ABC):
    """Exact and semantic reply lookups over a storage backend (see the module doc).

    Args:
        ttl_s: how long an entry is served.
        semantic_threshold: cosine similarity a lead turn needs to reuse another's reply;
            0 turns the semantic layer off.
        retry_after_s: after a backend failure, lookups skip the cache this long.

    Attributes:
        hits, semantic_hits, misses: lookups by result (also in ``reauto_cache_requests``).
        errors: backend failures.
    """

    name = "memory"

    def __init__(self, ttl_s: float, semantic_threshold: float = 0.0, *, retry_after_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self.semantic_threshold = semantic_threshold
        self.retry_after_s = retry_after_s
        self._breaker = Breaker(threshold=1, reset_s=retry_after_s)
        self.hits = self.semantic_hits = self.misses = self.errors = 0

    async def get(self, keys: CacheKeys, *, agent: str, name: str | None = None,
                  semantic: bool = True) -> CachedReply | None:
        """The stored reply for ``keys`` (the lead's name filled in), or ``None``.

        Args:
            semantic: also look for a similar lead turn's reply (when the threshold is set);
                False for replies that must match the words exactly (slot extraction).
        """
        found: CachedReply | None = None
        if self._breaker.allow():
            try:
                found = await self._lookup(keys, semantic)
                self._breaker.success()
            except Exception as exc:  # Redis down or slow: the turn goes on uncached
                self._failed("lookup", exc)
        result = found.result if found is not None else "miss"
        if result == "hit":
            self.hits += 1
        elif result == "semantic_hit":
            self.semantic_hits += 1
        else:
            self.misses += 1
        CACHE_REQUESTS.labels(kind=f"llm_{agent or 'agent'}", result=result).inc()
        if found is None:
            return None
        return CachedReply(found.text.replace(NAME_SLOT, name or ""), found.result, found.similarity)

    async def put(self, keys: CacheKeys, reply: str, *, name: str | None = None, semantic: bool = True) -> bool:
        """Store ``reply`` (one that kept the plan); whether it was stored.

        Args:
            semantic: offer it to similar lead turns too; False keeps it out of the group.
        """
        template = name_free(reply, name)
        if template is None or not self._breaker.allow():
            return False
        try:
            await self._store(keys, template, time.time(), semantic)
        except Exception as exc:  # a reply not stored is only a later miss
            self._failed("store", exc)
            return False
        self._breaker.success()
        return True

    async def clear(self) -> None:
        """Drop every entry (a prompt version change makes this unnecessary: keys change)."""

    async def close(self) -> None:
        """Release connections."""

    async def _lookup(self, keys: CacheKeys, semantic: bool = True) -> CachedReply | None:
        reply = await self._exact(keys.exact)
        if reply is not None:
            return CachedReply(reply, "hit")
        if self.semantic_threshold <= 0 or not semantic:
            return None
        mine, best = features(keys.lead), None
        now = time.time()
        for lead, text, stored in await self._group(keys.group):
            if now - stored > self.ttl_s:
                continue
            similarity = cosine(mine, features(lead))
            if similarity >= self.semantic_threshold and (best is None or similarity > best.similarity):
                best = CachedReply(text, "semantic_hit", round(similarity, 4))
        return best

    def _failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        self._breaker.failure()
        log.warning("LLM reply cache (%s) %s failed, going on without it for %.0fs: %s: %s",
                    self.name, what, self.retry_after_s, type(exc).__name__, exc)

    # --- the backend -----------------------------------------------------------------------
    @abstractmethod
    async def _exact(self, key: str) -> str | None: ...

    @abstractmethod
    async def _group(self, group: str) -> list[tuple[str, str, float]]:
        """The group's entries: (normalised lead turn, reply, stored at, epoch seconds)."""

    @abstractmethod
    async def _store(self, keys: CacheKeys, reply: str, at: float, grouped: bool = True) -> None:
        """Store the exact entry, and in its group (for the semantic layer) when ``grouped``."""


@dataclass
class _Entry:
    until: float
    group: str
    lead: str
    reply: str
    at: float


class MemoryReplyCache(ReplyCache):
    """In this process (the embedded default): an LRU of at most ``max_entries`` replies."""

    def __init__(self, ttl_s: float, semantic_threshold: float = 0.0, *, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl_s, semantic_threshold)
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._groups: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def clear(self) -> None:
        self._entries.clear()
        self._groups.clear()

    async def _exact(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.until <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry.reply

    async def _group(self, group: str) -> list[tuple[str, str, float]]:
        now = self._clock()
        live = [self._entries[k] for k in self._groups.get(group, ()) if self._entries[k].until > now]
        return [(e.lead, e.reply, e.at) for e in live]

    async def _store(self, keys: CacheKeys, reply: str, at: float, grouped: bool = True) -> None:
        if keys.exact in self._entries:
            self._drop(keys.exact)
        group = keys.group if grouped else ""
        self._entries[keys.exact] = _Entry(self._clock() + self.ttl_s, group, keys.lead, reply, at)
        if grouped:
            members = self._groups.setdefault(group, [])
            members.append(keys.exact)
            if len(members) > MAX_GROUP:
                members.pop(0)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        members = self._groups.get(entry.group, [])
        if key in members:
            members.remove(key)
        if not members:
            self._groups.pop(entry.group, None)


class RedisReplyCache(ReplyCache):
    """``<key_prefix>llm:<exact>`` → reply with an expiry; ``<key_prefix>llm:g:<group>`` a hash of
    the group's lead turns (for the semantic layer), its expiry refreshed at every store."""

    name = "redis"

    def __init__(self, url: str, ttl_s: float, semantic_threshold: float = 0.0, *, key_prefix: str = "reauto:",
                 timeout_s: float = LOOKUP_TIMEOUT_S) -> None:
        super().__init__(ttl_s, semantic_threshold)
        import redis.asyncio as aioredis

        self.prefix = f"{key_prefix}llm:"
        self._client = aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)

    async def _exact(self, key: str) -> str | None:
        raw = await self._client.get(self.prefix + key)
        return raw.decode() if raw is not None else None

    async def _group(self, group: str) -> list[tuple[str, str, float]]:
        raw = await self._client.hgetall(f"{self.prefix}g:{group}")
        out = []
        for value in raw.values():
            lead, reply, at = json.loads(value)
            out.append((lead, reply, float(at)))
        return out

    async def _store(self, keys: CacheKeys, reply: str, at: float, grouped: bool = True) -> None:
        ttl_ms = int(self.ttl_s * 1000)
        group = f"{self.prefix}g:{keys.group}"
        grouped = grouped and self.semantic_threshold > 0
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self.prefix + keys.exact, reply, px=ttl_ms)
        if grouped:
            pipe.hlen(group)
        results: list[Any] = await pipe.execute()
        if grouped and results[-1] < MAX_GROUP:
            pipe = self._client.pipeline(transaction=False)
            pipe.hset(group, keys.exact, json.dumps([keys.lead, reply, at]))
            pipe.pexpire(group, ttl_ms)
            await pipe.execute()

    async def clear(self) -> None:
        keys = [key async for key in self._client.scan_iter(match=f"{self.prefix}*", count=1000)]
        if keys:
            await self._client.delete(*keys)

    async def close(self) -> None:
        await self._client.aclose()


def reply_cache_for(llm: Any, redis: Any) -> ReplyCache | None:
    """The reply cache ``[llm]`` asks for: in Redis when ``[redis] url`` is set, else in process;
    ``None`` when ``cache = false``."""
    if not llm.cache:
        return None
    if redis.url:
        return RedisReplyCache(redis.url, llm.cache_ttl_s, llm.cache_semantic_threshold,
                               key_prefix=redis.key_prefix, timeout_s=min(redis.socket_timeout_s, LOOKUP_TIMEOUT_S))
    return MemoryReplyCache(llm.cache_ttl_s, llm.cache_semantic_threshold)
