"""Coqui TTS (extra ``coqui``): a local neural voice loaded from a model directory.

Coqui's package imports torch and torchaudio at import time; a torchaudio built for another
CUDA/CPU variant than the installed torch fails there with an ImportError or an OSError (a
missing ``.so``). The import therefore happens in :meth:`CoquiTTS.start`, and any such failure
becomes a :class:`ProviderUnavailable` that says what to fix. The model directory holds the
checkpoint (``model.pth`` or ``model_file.pth``) and its ``config.json``; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from reauto.config import TtsSettings
from reauto.providers import ProviderUnavailable
from reauto.tts.base import TTSProvider

_CHECKPOINTS = ("model.pth", "model_file.pth", "best_model.pth", "checkpoint.pth")


def import_coqui() -> Any:
    """Coqui's ``TTS`` class (``TTS.api.TTS``).

    Raises:
        ProviderUnavailable: the extra is missing, or torch/torchaudio do not load.
    """
    try:
        return importlib.import_module("TTS.api").TTS
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "TTS":
            raise ProviderUnavailable(
                "Coqui TTS is not installed: pip install 'reauto[coqui]'"
            ) from exc
        raise ProviderUnavailable(
            f"Coqui TTS cannot import {exc.name!r} ({exc}): reinstall 'reauto[coqui]', with torch "
            "and torchaudio built for the same CPU/CUDA variant"
        ) from exc
    except (ImportError, OSError) as exc:
        raise ProviderUnavailable(
            f"Coqui TTS does not load here ({exc}): torch and torchaudio must be built for the "
            "same CPU/CUDA variant (e.g. both from https://download.pytorch.org/whl/cpu); "
            "or choose another tts.local"
        ) from exc


class CoquiTTS(TTSProvider):
    """A Coqui TTS model from a local directory (one chunk per utterance).

    Args:
        model_dir: directory with the checkpoint and ``config.json``.
        device: where the model runs: ``cpu``, ``cuda`` or ``cuda:N`` (torch's device names).

    Raises:
        ProviderUnavailable: no model directory, or it lacks a checkpoint or ``config.json``.
    """

    name = "coqui"

    def __init__(self, model_dir: Path | str, *, device: str = "cpu") -> None:
        if not str(model_dir):
            raise ProviderUnavailable(
                "Coqui TTS needs a model: set tts.coqui.model ([tts.coqui] model) to its directory"
            )
        self.model_dir = Path(model_dir)
        self.config_path = self.model_dir / "config.json"
        checkpoints = [self.model_dir / n for n in _CHECKPOINTS if (self.model_dir / n).is_file()]
        if not self.config_path.is_file() or not checkpoints:
            raise ProviderUnavailable(
                f"Coqui model directory {self.model_dir} needs config.json and one of "
                f"{', '.join(_CHECKPOINTS)}: check tts.coqui.model"
            )
        self.model_path = checkpoints[0]
        self.voice = self.model_dir.name
        self.device = device
        self._tts: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> CoquiTTS:
        """Build from its own section, ``[tts.coqui]``."""
        own = settings.coqui
        return cls(own.model, device=own.device)

    async def start(self) -> None:
        """Import Coqui and load the model off the event loop.

        Raises:
            ProviderUnavailable: Coqui or torch does not import, or the model does not load.
        """
        await asyncio.to_thread(self._load)

    def _load(self) -> Any:
        with self._lock:
            if self._tts is None:
                tts_class = import_coqui()
                try:
                    tts = tts_class(
                        model_path=str(self.model_path),
                        config_path=str(self.config_path),
                        progress_bar=False,
                    )
                    if self.device != "cpu":
                        tts = tts.to(self.device)  # Coqui's TTS is a torch module: moved whole
                except Exception as exc:  # Coqui raises bare exceptions for bad checkpoints
                    raise ProviderUnavailable(
                        f"Coqui cannot load {self.model_dir} ({exc}): check tts.coqui.model"
                    ) from exc
                self.sample_rate = int(tts.synthesizer.output_sample_rate)
                self._tts = tts
            return self._tts

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: one PCM16 chunk at the model's rate."""
        if not text.strip():
            return
        tts = self._tts or await asyncio.to_thread(self._load)
        pcm = await asyncio.to_thread(self._speak, tts, text)
        if pcm:
            yield pcm

    def _speak(self, tts: Any, text: str) -> bytes:
        with self._lock:
            wav = np.asarray(tts.tts(text=text), dtype=np.float32)
        return (np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16).tobytes()

    async def close(self) -> None:
        """Drop the model."""
        self._tts = None
