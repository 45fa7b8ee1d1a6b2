"""ElevenLabs: the premium tier, streamed over HTTP.

Wire format (ElevenLabs "Stream speech"): ``POST {base}/v1/text-to-speech/{voice_id}/stream
?output_format=pcm_16000`` with the header ``xi-api-key`` and a JSON body ``{"text", "model_id",
"voice_settings"}``; the answer is a chunked body of raw audio (little-endian PCM16 for
``pcm_*``, G.711 μ-law for ``ulaw_8000``) with the headers ``character-cost`` (characters
billed) and ``request-id``. Errors are JSON: ``{"detail": {"status": "...", "message": "..."}}``
(``invalid_api_key``, ``quota_exceeded`` — sent as 401 or 429 —, ``voice_not_found`` …) or,
for a malformed body, 422 with a list of validation errors.

The client is httpx, reauto's one HTTP client stack (the CRM targets, the intake, the model
downloads and Ollama use it too), rather than the official ``elevenlabs`` SDK: the SDK accepts a
``base_url`` but hides the response headers that carry the character cost behind its
raw-response wrappers, and only has whole-request timeouts, while a phone turn needs a connect
timeout and a first-byte timeout. Here httpx's timeouts bound the connection (``connect``) and
each read (``read``, the longest silence between two chunks), an ``asyncio.timeout`` bounds the
wait from sending the request to the first audio byte, and the body is read as it arrives
(``send(..., stream=True)`` and ``aiter_bytes``) so the first audio plays while the rest comes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from reauto.audio.codec import ulaw_decode
from reauto.config import TtsSettings
from reauto.errors import ProviderError
from reauto.metrics import TTS_CHARACTERS
from reauto.providers import ProviderUnavailable
from reauto.tts.base import TTSProvider
from reauto.usage import current_meter

#: Output formats this provider can turn into PCM16, and their rates.
OUTPUT_FORMATS = {
    "pcm_8000": 8_000,
    "pcm_16000": 16_000,
    "pcm_22050": 22_050,
    "pcm_24000": 24_000,
    "pcm_44100": 44_100,
    "ulaw_8000": 8_000,
}


class ElevenLabsError(ProviderError):
    """An ElevenLabs request failed.

    Attributes:
        status: HTTP status, or ``None`` when no answer came (timeout, connection).
        code: ElevenLabs' ``detail.status`` (``quota_exceeded`` …) or a local one
            (``timeout``, ``connection``).
        category: authentication | quota | rate_limit | request | server | timeout | connection.
        retryable: whether the same request may succeed later in this call.
    """

    def __init__(
        self, message: str, *, status: int | None, code: str, category: str, retryable: bool
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code
        self.category = category


def error_from_response(status: int, body: bytes) -> ElevenLabsError:
    """Classify an error answer: 4xx are permanent except 408 and rate limits."""
    code, message = f"http_{status}", body.decode(errors="replace").strip()[:300]
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict):
        code = str(detail.get("status") or code)
        message = str(detail.get("message") or message)
    elif isinstance(detail, list) and detail:  # 422: pydantic-style validation errors
        code = "validation_error"
        message = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        )
    if code == "quota_exceeded":
        category, retryable = "quota", False
    elif status == 429:
        category, retryable = "rate_limit", True
    elif status in (401, 403):
        category, retryable = "authentication", False
    elif status >= 500:
        category, retryable = "server", True
    else:
        category, retryable = "request", status == 408
    return ElevenLabsError(
        f"ElevenLabs {status} {code}: {message}",
        status=status,
        code=code,
        category=category,
        retryable=retryable,
    )


def elevenlabs_usage(model: str, characters: int, billed: int | None) -> None:
    """ElevenLabs credits for one request: its ``character-cost`` header, else the model's rate."""
    TTS_CHARACTERS.labels(tier="premium", provider="elevenlabs").inc(characters)
    meter = current_meter.get()
    if meter is None:
        return
    credits = billed if billed is not None else meter.elevenlabs_credits(model, characters)
    meter.record("tts", f"elevenlabs:{model}", credits, "credit")


class ElevenLabsTTS(TTSProvider):
    """ElevenLabs streaming voice (premium tier).

    Args:
        api_key: the ``xi-api-key`` (never logged, never in messages or ``repr``).
        voice_id: ElevenLabs voice id.
        model_id: ElevenLabs model (``eleven_flash_v2_5`` is the low-latency one).
        base_url: API root (a test double on loopback in tests).
        output_format: one of :data:`OUTPUT_FORMATS`; ``ulaw_8000`` suits a phone leg.
        connect_timeout_s: longest wait for the TCP/TLS connection.
        first_byte_timeout_s: longest wait from sending the request to the first audio byte.
        read_timeout_s: longest silence between two chunks once audio flows.
        voice_settings: ElevenLabs ``voice_settings`` (stability, similarity_boost …).

    Raises:
        ProviderUnavailable: no key or voice id, or an unsupported output format.
    """

    #: Bills itself from the ``character-cost`` header (the cost meter does not count characters).
    reports_usage = True

    name = "elevenlabs"
    tier = "premium"

    def __init__(
        self,
        api_key: str,
        voice_id: str,
        *,
        model_id: str = "eleven_flash_v2_5",
        base_url: str = "https://api.elevenlabs.io",
        output_format: str = "pcm_16000",
        connect_timeout_s: float = 2.0,
        first_byte_timeout_s: float = 1.5,
        read_timeout_s: float = 5.0,
        voice_settings: dict[str, Any] | None = None,
    ) -> None:
        if not api_key:
            raise ProviderUnavailable(
                "ElevenLabs needs an API key: set tts.elevenlabs.api_key "
                "(REAUTO_TTS__ELEVENLABS__API_KEY)"
            )
        if not voice_id:
            raise ProviderUnavailable("ElevenLabs needs a voice: set tts.elevenlabs.voice_id")
        if output_format not in OUTPUT_FORMATS:
            raise ProviderUnavailable(
                f"ElevenLabs output format {output_format!r} is not one of "
                f"{', '.join(OUTPUT_FORMATS)}"
            )
        self._api_key = api_key
        self.voice_id = voice_id
        self.voice = f"{voice_id}/{model_id}"
        self.model_id = model_id
        self.base_url = base_url.rstrip("/")
        self.output_format = output_format
        self.sample_rate = OUTPUT_FORMATS[output_format]
        self.connect_timeout_s = connect_timeout_s
        self.first_byte_timeout_s = first_byte_timeout_s
        self.read_timeout_s = read_timeout_s
        self.voice_settings = voice_settings
        #: Characters billed for the last request (``character-cost``, else the text length).
        self.last_character_cost: int | None = None
        #: ElevenLabs' ``request-id`` of the last request, for support tickets.
        self.last_request_id: str | None = None
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return (
            f"ElevenLabsTTS(voice_id={self.voice_id!r}, model_id={self.model_id!r}, "
            f"base_url={self.base_url!r})"
        )

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> ElevenLabsTTS:
        """Build from its own section, ``[tts.elevenlabs]``, and ``[tts] first_byte_timeout_s``."""
        own = settings.elevenlabs
        return cls(
            own.api_key,
            own.voice_id,
            model_id=own.model,
            base_url=own.base_url,
            first_byte_timeout_s=settings.first_byte_timeout_s,
        )

    async def start(self) -> None:
        """Open the HTTP connection pool."""
        self._ensure_client()

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)
            )
        return self._client

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream ``text`` as PCM16 at ``sample_rate`` (nothing when ElevenLabs sends no audio).

        Raises:
            ElevenLabsError: an error answer, no first byte within ``first_byte_timeout_s``,
                a stall past ``read_timeout_s``, or a connection failure.
        """
        self.last_character_cost = None
        self.last_request_id = None
        if not text.strip():
            return
        client = self._ensure_client()
        body: dict[str, Any] = {"text": text, "model_id": self.model_id}
        if self.voice_settings:
            body["voice_settings"] = self.voice_settings
        request = client.build_request(
            "POST",
            f"{self.base_url}/v1/text-to-speech/{self.voice_id}/stream",
            params={"output_format": self.output_format},
            json=body,
            headers={"xi-api-key": self._api_key, "Accept": "*/*"},
        )
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.first_byte_timeout_s):
                response = await client.send(request, stream=True)
                if response.status_code != 200:
                    raise error_from_response(response.status_code, await response.aread())
                self.last_request_id = response.headers.get("request-id")
                cost = response.headers.get("character-cost", "")
                self.last_character_cost = int(cost) if cost.isdigit() else len(text)
                elevenlabs_usage(self.model_id, len(text), int(cost) if cost.isdigit() else None)
                content = response.aiter_bytes()
                first = await anext(content, b"")
        except BaseException as exc:
            if response is not None:
                await response.aclose()
            error = self._before_audio_error(exc)
            if error is None:
                raise
            raise error from None
        try:
            async for chunk in self._decode(first, content):
                yield chunk
        finally:
            await response.aclose()

    def _before_audio_error(self, exc: BaseException) -> ElevenLabsError | None:
        """What a failure before the first audio byte means (``None``: not an HTTP failure)."""
        if isinstance(exc, TimeoutError):  # the first-byte deadline
            message = f"ElevenLabs sent no audio within {self.first_byte_timeout_s:g} s"
        elif isinstance(exc, httpx.ConnectTimeout):
            message = f"ElevenLabs did not accept a connection within {self.connect_timeout_s:g} s"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"ElevenLabs sent no audio within {self.read_timeout_s:g} s (read timeout)"
        elif isinstance(exc, httpx.HTTPError):
            return ElevenLabsError(
                f"ElevenLabs unreachable at {self.base_url}: {type(exc).__name__}: {exc}",
                status=None, code="connection", category="connection", retryable=True,
            )
        else:
            return None
        return ElevenLabsError(message, status=None, code="timeout", category="timeout", retryable=True)

    async def _decode(self, first: bytes, content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        carry, data = b"", first
        try:
            while data:
                if self.output_format == "ulaw_8000":
                    yield ulaw_decode(data).tobytes()
                else:
                    data = carry + data  # PCM16 chunks may split a sample
                    cut = len(data) - len(data) % 2
                    carry = data[cut:]
                    if cut:
                        yield data[:cut]
                data = await anext(content, b"")
        except (TimeoutError, httpx.HTTPError) as exc:
            raise ElevenLabsError(
                f"ElevenLabs stream broke after the first audio: {exc or 'read timeout'}",
                status=None, code="stream_broken", category="connection", retryable=True,
            ) from None

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
