"""flite (Debian package ``flite``): a light CMU voice, run as a subprocess.

flite cannot write WAV to stdout, so each utterance goes through a temporary directory: the
text is written to a file (``-f``, so text that starts with ``-`` is never read as an option)
and the WAV comes back in another. The rate comes from the WAV header: 8 kHz for ``kal``,
16 kHz for the other built-in voices. flite synthesises a sentence in a few milliseconds, so
the utterance is yielded as one chunk.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from reauto.audio.codec import Audio, read_wav, resample
from reauto.config import TtsSettings
from reauto.errors import ProviderError, UsageError
from reauto.providers import ProviderUnavailable
from reauto.tts.base import TTSProvider

#: flite's built-in voices and their native rates.
VOICE_RATES = {"kal": 8_000, "kal16": 16_000, "awb": 16_000, "rms": 16_000, "slt": 16_000}


class SynthesisError(ProviderError):
    """A speech engine subprocess failed, timed out or wrote unusable audio."""


def require_binary(binary: str, package: str) -> str:
    """Full path of ``binary``.

    Raises:
        ProviderUnavailable: it is not on PATH (the message says which Debian package).
    """
    path = shutil.which(binary)
    if path is None:
        raise ProviderUnavailable(f"TTS needs {binary}: apt-get install {package}")
    return path


async def run_engine(
    argv: list[str], timeout_s: float, stdin: bytes | None = None
) -> tuple[bytes, str]:
    """Run a speech engine to completion and return its stdout and stderr.

    Raises:
        SynthesisError: non-zero exit, or it ran past ``timeout_s`` (it is killed).
    """
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise SynthesisError(f"{Path(argv[0]).name} took longer than {timeout_s:g} s") from None
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise SynthesisError(f"{Path(argv[0]).name} failed: {message}")
    return out, err.decode(errors="replace")


class FliteTTS(TTSProvider):
    """flite voice: ``kal``, ``kal16``, ``awb``, ``rms``, ``slt`` or a ``.flitevox`` file.

    Args:
        voice: a built-in voice name or a path to a ``.flitevox``.
        timeout_s: longest one utterance may take.

    Raises:
        ProviderUnavailable: flite is not installed, or the ``.flitevox`` file is missing.
    """

    name = "flite"

    def __init__(self, voice: str = "slt", *, timeout_s: float = 10.0) -> None:
        self.binary = require_binary("flite", "flite")
        if voice not in VOICE_RATES and not Path(voice).is_file():
            raise ProviderUnavailable(
                f"flite voice {voice!r} is neither built in ({', '.join(VOICE_RATES)}) nor a "
                "file: check tts.flite.voice"
            )
        self.voice = voice
        self.timeout_s = timeout_s
        # .flitevox voices declare their rate in the WAV they write; 16 kHz is the usual one.
        self.sample_rate = VOICE_RATES.get(voice, 16_000)

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> FliteTTS:
        """Build from ``[tts.flite] voice``."""
        return cls(settings.flite.voice)

    async def start(self) -> None:
        """Learn a ``.flitevox`` voice's rate from a short probe (built-in rates are known).

        Raises:
            SynthesisError: the voice file cannot be spoken.
        """
        if self.voice not in VOICE_RATES:
            self.sample_rate = (await self._speak("Hello.")).rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: one PCM16 chunk at the voice's rate.

        Raises:
            SynthesisError: flite failed, timed out or wrote no usable WAV.
        """
        if not text.strip():
            return
        audio = await self._speak(text)
        pcm = np.frombuffer(audio.pcm, dtype=np.int16)
        yield resample(pcm, audio.rate, self.sample_rate).tobytes()

    async def _speak(self, text: str) -> Audio:
        with tempfile.TemporaryDirectory(prefix="reauto-flite-") as tmp:
            text_file, wav_file = Path(tmp) / "text.txt", Path(tmp) / "out.wav"
            text_file.write_text(text, encoding="utf-8")
            argv = [self.binary, "-voice", self.voice, "-f", str(text_file), "-o", str(wav_file)]
            _, err = await run_engine(argv, self.timeout_s)
            if "Error load voice" in err:  # flite then speaks with its default voice, exit 0
                raise SynthesisError(f"flite cannot load voice {self.voice}: {err.strip()}")
            try:
                audio = read_wav(wav_file)
            except UsageError as exc:
                raise SynthesisError(f"flite wrote no usable audio: {exc}") from None
        return audio
