"""Models on an Ollama server: which it holds, and pulling one through its API.

Ollama's HTTP API, as used here:

* ``GET /api/tags`` — the models the server holds (``models[].name``);
* ``POST /api/pull`` with ``{"model": name, "stream": true}`` — newline-delimited JSON progress:
  ``{"status": "pulling manifest"}``, then per layer ``{"status": "pulling <digest>", "digest":
  …, "total": n, "completed": m}``, ``{"status": "verifying sha256 digest"}``, ``{"status":
  "success"}``; a failure is ``{"error": "…"}``. The server checks each layer's SHA-256 itself
  and continues an interrupted pull.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from reauto import resilience
from reauto.modelfiles.hub import guarded
from reauto.resilience import AttemptFailed, classify_exception, classify_status

OLLAMA_REMEDY = "start Ollama there (`ollama serve`) or correct llm.hosts"
#: Told the bytes done and the bytes in all (both grow as the layers are announced).
PullProgress = Callable[[int, int], None]


def tagged(model: str) -> str:
    """The name Ollama lists a model under: ``llama3.2`` is ``llama3.2:latest``."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


class OllamaModels:
    """One Ollama server's models.

    Args:
        host: the server's base URL.
        timeout_s: longest wait to connect or for the next line of a pull.
        retries: attempts after the first (a pull continues where it stopped).
        transport: an httpx transport (tests).
    """

    def __init__(self, host: str, *, timeout_s: float = 30.0, retries: int = 3,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.host = host.rstrip("/")
        self.policy = resilience.policy(retries)
        self.breaker = resilience.breaker(f"ollama-models {self.host}")
        self._http = httpx.AsyncClient(base_url=self.host, timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def held(self) -> set[str]:
        """The names of the models the server holds.

        Raises:
            ModelSourceError: the server cannot be reached or answers with an error.
        """
        async def attempt() -> set[str]:
            try:
                response = await self._http.get("/api/tags")
            except httpx.HTTPError as exc:
                raise classify_exception(f"GET /api/tags: {type(exc).__name__}: {exc}", exc) from exc
            if response.status_code >= 300:
                raise classify_status(f"GET /api/tags: HTTP {response.status_code}", response.status_code,
                                      response.headers.get("retry-after"))
            return {str(m.get("name") or m.get("model")) for m in response.json().get("models", [])}

        return await self._call(attempt)

    async def pull(self, model: str, progress: PullProgress) -> None:
        """Pull ``model`` onto the server, telling ``progress`` as its layers arrive.

        Raises:
            ModelSourceError: the server refused (unknown model, no disk) or cannot be reached.
        """
        layers: dict[str, tuple[int, int]] = {}

        async def attempt() -> None:
            try:
                async with self._http.stream("POST", "/api/pull", json={"model": model, "stream": True}) as response:
                    if response.status_code >= 300:
                        await response.aread()
                        raise classify_status(f"POST /api/pull: HTTP {response.status_code} {response.text[:200]}",
                                              response.status_code, response.headers.get("retry-after"))
                    async for line in response.aiter_lines():
                        if line.strip() and _progress(json.loads(line), layers, progress):
                            return
            except httpx.HTTPError as exc:
                raise classify_exception(f"POST /api/pull: {type(exc).__name__}: {exc}", exc) from exc
            raise AttemptFailed("POST /api/pull: the stream ended before success", retryable=True)

        await self._call(attempt)

    async def _call(self, attempt: Callable[[], Any]) -> Any:
        return await guarded(attempt, self.policy, self.breaker, self.host, OLLAMA_REMEDY)

def _progress(event: dict[str, object], layers: dict[str, tuple[int, int]], progress: PullProgress) -> bool:
    """Take one line of a pull; true once it says success.

    Raises:
        AttemptFailed: the line is an error (permanent: Ollama has already retried what it can).
    """
    if "error" in event:
        raise AttemptFailed(f"pull refused: {event['error']}", retryable=False, count=False)
    digest = event.get("digest")
    if isinstance(digest, str) and isinstance(event.get("total"), int):
        layers[digest] = (int(event.get("completed") or 0), int(event["total"]))  # type: ignore[call-overload]
        progress(sum(done for done, _ in layers.values()), sum(total for _, total in layers.values()))
    return event.get("status") == "success"
