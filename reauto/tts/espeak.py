"""espeak-ng (Debian package ``espeak-ng``): formant speech, streamed from a subprocess.

``espeak-ng -v VOICE --stdout --stdin`` reads the text from stdin (so text that starts with
``-`` is never read as an option) and writes a WAV to stdout clause by clause; the PCM after
the header is yielded as it arrives. espeak-ng's own voices speak at 22050 Hz; a voice with
another rate (an mbrola voice) is resampled to the declared rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import soxr

from reauto.config import TtsSettings
from reauto.tts.base import TTSProvider
from reauto.tts.flite import SynthesisError, require_binary

_READ_BYTES = 8_192
_MAX_HEADER = 1_024


def parse_wav_stream_header(head: bytes) -> tuple[int, int] | None:
    """Rate and PCM offset of a streamed WAV header, or ``None`` when more bytes are needed.

    Streamed WAVs carry placeholder sizes (0x7fffffff), so only the ``fmt `` fields and the
    position of the ``data`` chunk are read.

    Raises:
        SynthesisError: the bytes are not a mono 16-bit PCM WAV.
    """
    if len(head) < 12:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng wrote no WAV header")
    pos, rate = 12, 0
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            if not rate:
                raise SynthesisError("espeak-ng WAV has no fmt chunk before its data")
            return rate, pos + 8
        if chunk == b"fmt ":
            if pos + 24 > len(head):
                return None
            channels = int.from_bytes(head[pos + 10 : pos + 12], "little")
            bits = int.from_bytes(head[pos + 22 : pos + 24], "little")
            if channels != 1 or bits != 16:
                raise SynthesisError(f"espeak-ng wrote {channels} channel(s) of {bits}-bit audio")
            rate = int.from_bytes(head[pos + 12 : pos + 16], "little")
        pos += 8 + size + (size & 1)
    return None


class EspeakTTS(TTSProvider):
    """espeak-ng voice (``en-us``, ``en-gb``, ``en-us+f3`` …).

    Args:
        voice: an espeak-ng voice name.
        timeout_s: longest wait for the next piece of audio.
        rate_wpm: speaking rate in words per minute (espeak-ng ``-s``).

    Raises:
        ProviderUnavailable: espeak-ng is not installed.
    """

    name = "espeak-ng"

    def __init__(
        self, voice: str = "en-us", *, timeout_s: float = 10.0, rate_wpm: int = 165
    ) -> None:
        self.binary = require_binary("espeak-ng", "espeak-ng")
        self.voice = voice
        self.timeout_s = timeout_s
        self.rate_wpm = rate_wpm
        self.sample_rate = 22_050

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> EspeakTTS:
        """Build from ``[tts.espeak_ng] voice``."""
        return cls(settings.espeak_ng.voice)

    async def start(self) -> None:
        """Learn the voice's rate from a short probe (and fail early on an unknown voice).

        Raises:
            SynthesisError: espeak-ng cannot speak with this voice.
        """
        rate = None
        async for _chunk, rate in self._stream("Hello."):
            pass
        if rate is not None:
            self.sample_rate = rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: PCM16 chunks at ``sample_rate`` as espeak-ng writes them.

        Raises:
            SynthesisError: espeak-ng failed, stalled past ``timeout_s`` or wrote no WAV.
        """
        if not text.strip():
            return
        resampler: soxr.ResampleStream | None = None
        async for chunk, rate in self._stream(text):
            if rate != self.sample_rate:
                resampler = resampler or soxr.ResampleStream(rate, self.sample_rate, 1, "int16")
                out = resampler.resample_chunk(np.frombuffer(chunk, dtype=np.int16)).tobytes()
            else:
                out = chunk
            if out:
                yield out
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.int16), last=True).tobytes()
            if tail:
                yield tail

    async def _stream(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        argv = [self.binary, "-v", self.voice, "-s", str(self.rate_wpm), "--stdout", "--stdin"]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(text.encode("utf-8") + b"\n")
        proc.stdin.close()
        buffer, header = b"", None
        try:
            while True:
                try:
                    data = await asyncio.wait_for(proc.stdout.read(_READ_BYTES), self.timeout_s)
                except TimeoutError:
                    raise SynthesisError(f"espeak-ng stalled for {self.timeout_s:g} s") from None
                if not data:
                    break
                buffer += data
                if header is None:
                    header = parse_wav_stream_header(buffer[:_MAX_HEADER])
                    if header is None:
                        if len(buffer) >= _MAX_HEADER:
                            raise SynthesisError("espeak-ng wrote no WAV data chunk")
                        continue
                    buffer = buffer[header[1] :]
                usable = len(buffer) - len(buffer) % 2
                if usable:
                    yield buffer[:usable], header[0]
                    buffer = buffer[usable:]
            err = await proc.stderr.read()
            if await proc.wait() != 0 or header is None:
                message = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
                raise SynthesisError(f"espeak-ng failed for voice {self.voice!r}: {message}")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
