"""A loopback ElevenLabs: ``POST /v1/text-to-speech/{voice_id}/stream`` with the real wire format.

It answers like the real API: a chunked body of raw audio in the requested ``output_format``
(``pcm_*`` little-endian PCM16, ``ulaw_8000`` μ-law), the ``character-cost`` and ``request-id``
headers, 401 ``invalid_api_key`` for a wrong ``xi-api-key``, 422 with pydantic-style validation
errors for a body without ``text``, 404 ``voice_not_found``. On demand it returns quota errors
(429, or 401 as the real API often does), stalls before the first byte, or sends empty audio.
The speech itself comes from flite (voice ``kal16``, 16 kHz), resampled to the asked rate.

Usage::

    async with FakeElevenLabs() as fake:
        tts = ElevenLabsTTS(fake.api_key, fake.voice_id, base_url=fake.url)
        fake.stall_s = 5.0   # the next requests stall before their first byte
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from reauto.audio.codec import read_wav, resample, ulaw_encode

RATES = {"pcm_8000": 8_000, "pcm_16000": 16_000, "pcm_22050": 22_050, "pcm_24000": 24_000,
         "pcm_44100": 44_100, "ulaw_8000": 8_000}


def flite_pcm16k(text: str) -> np.ndarray:
    """``text`` spoken by flite kal16 as 16 kHz int16 samples."""
    if shutil.which("flite") is None:
        raise RuntimeError("the ElevenLabs double needs flite: apt-get install flite")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        subprocess.run(["flite", "-voice", "kal16", "-t", text, "-o", str(wav)], check=True)
        return np.frombuffer(read_wav(wav).pcm, dtype=np.int16)


@dataclass
class SeenRequest:
    """One request the double answered (the key is only recorded as valid or not)."""

    voice_id: str
    output_format: str
    body: Any
    key_valid: bool
    status: int


class FakeElevenLabs:
    """The double's server and its switches.

    Attributes:
        api_key: the one key it accepts.
        voice_id: the one voice it knows.
        quota_status: when set (429 or 401), answer ``quota_exceeded`` with that status.
        stall_s: sleep this long before answering (no byte is sent meanwhile).
        empty: answer 200 with the headers and no audio.
        chunk_bytes: size of the body chunks.
        chunk_delay_s: pause between chunks (real streaming pace).
        requests: every request seen, in order.
    """

    def __init__(self, api_key: str = "sk_test_0123456789", voice_id: str = "JBFqnCBsd6RMkjVDRZzb") -> None:
        self.api_key = api_key
        self.voice_id = voice_id
        self.quota_status: int | None = None
        self.stall_s = 0.0
        self.empty = False
        self.chunk_bytes = 4_096
        self.chunk_delay_s = 0.0
        self.requests: list[SeenRequest] = []
        self._audio: dict[str, np.ndarray] = {}
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.url = ""

    async def __aenter__(self) -> FakeElevenLabs:
        app = web.Application()
        app.router.add_post("/v1/text-to-speech/{voice_id}/stream", self._stream)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        self._closing.set()  # end any stall now, so shutdown does not wait for it
        await self._runner.cleanup()

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"detail": {"status": code, "message": message}}, status=status)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        voice_id = request.match_info["voice_id"]
        output_format = request.query.get("output_format", "mp3_44100_128")
        key_valid = request.headers.get("xi-api-key") == self.api_key
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        response = await self._answer(voice_id, output_format, body, key_valid, request)
        self.requests.append(SeenRequest(voice_id, output_format, body, key_valid, response.status))
        return response

    async def _answer(
        self, voice_id: str, output_format: str, body: Any, key_valid: bool, request: web.Request
    ) -> web.StreamResponse:
        if not key_valid:
            return self._error(401, "invalid_api_key", "Invalid API key")
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            loc = ["body"] if not isinstance(body, dict) else ["body", "text"]
            detail = [{"type": "missing", "loc": loc, "msg": "Field required", "input": body}]
            return web.json_response({"detail": detail}, status=422)
        if voice_id != self.voice_id:
            return self._error(404, "voice_not_found",
                               f"A voice with voice_id {voice_id} was not found.")
        if output_format not in RATES:
            return self._error(400, "invalid_output_format",
                               f"This double speaks {', '.join(RATES)}, not {output_format}.")
        text = body["text"]
        if self.quota_status is not None:
            return self._error(
                self.quota_status, "quota_exceeded",
                f"This request exceeds your quota of 10000. You have 0 credits remaining, "
                f"while {len(text)} credits are required for this request.",
            )
        if self.stall_s:
            try:
                await asyncio.wait_for(self._closing.wait(), self.stall_s)
            except TimeoutError:
                pass
        audio = b"" if self.empty else await self._render(text, output_format)
        response = web.StreamResponse(headers={
            "Content-Type": "audio/mpeg" if output_format.startswith("mp3") else "application/octet-stream",
            "character-cost": str(len(text)),
            "request-id": uuid.uuid4().hex,
            "history-item-id": uuid.uuid4().hex[:20],
        })
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(audio), self.chunk_bytes):
            await response.write(audio[start : start + self.chunk_bytes])
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
        await response.write_eof()
        return response

    async def _render(self, text: str, output_format: str) -> bytes:
        if text not in self._audio:
            self._audio[text] = await asyncio.to_thread(flite_pcm16k, text)
        samples = resample(self._audio[text], 16_000, RATES[output_format])
        return ulaw_encode(samples) if output_format.startswith("ulaw") else samples.tobytes()

