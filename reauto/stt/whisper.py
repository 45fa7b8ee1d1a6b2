"""faster-whisper (CTranslate2 Whisper) for production: a local model, never a download.

The model comes from ``[stt.faster_whisper] model``: a CTranslate2 model directory, or a size name
("small.en") or Hub repository of a model that ``reauto models pull`` put in ``[models] dir`` or
that is already in the local Hugging Face cache (loaded with ``local_files_only=True``).
Whisper's own VAD is off: reauto's turn detection already cut the utterance.

The model object is used through the part of faster-whisper's interface reauto needs, so a
test (or another backend) can stand in for it:

* ``WhisperModel(model_size_or_path, device=..., compute_type=..., device_index=..., local_files_only=...)``;
* ``model.transcribe(audio, language=, beam_size=, vad_filter=, hotwords=,
  condition_on_previous_text=)`` → ``(segments, info)``, where ``audio`` is float32 16 kHz
  mono in −1..1 and each segment has ``text``, ``avg_logprob`` and ``no_speech_prob``.

Confidence (0..1) is word-weighted over the segments:
``Σ nᵢ · exp(avg_logprobᵢ) · (1 − no_speech_probᵢ) / Σ nᵢ``, with nᵢ the number of words in
segment i (at least 1). A transcript below ``min_confidence`` is still returned: the agent
decides whether to ask the lead to repeat.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from reauto import modelstore
from reauto.modelstore import WHISPER_REPOS, hf_cached
from reauto.providers import ProviderUnavailable
from reauto.stt.base import STTProvider, Transcript
from reauto.stt.vocabulary import normalise

if TYPE_CHECKING:
    from reauto.config import SttSettings

SETTING = "stt.faster_whisper.model (REAUTO_STT__FASTER_WHISPER__MODEL)"
INSTALL_HINT = "pip install 'reauto[whisper]'"


class WhisperSegment(Protocol):
    """The fields of a faster-whisper ``Segment`` that reauto reads."""

    text: str
    avg_logprob: float
    no_speech_prob: float


ModelFactory = Callable[..., Any]


def segment_confidence(segment: WhisperSegment) -> float:
    """exp(avg_logprob) × (1 − no_speech_prob), clipped to 0..1."""
    value = math.exp(min(0.0, segment.avg_logprob)) * (1.0 - segment.no_speech_prob)
    return min(1.0, max(0.0, value))


def combine(segments: Iterable[WhisperSegment]) -> tuple[str, float]:
    """The transcript text and its word-weighted confidence (0 when nothing was said)."""
    texts: list[str] = []
    weighted = total = 0.0
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        n = max(1, len(text.split()))
        texts.append(text)
        weighted += n * segment_confidence(segment)
        total += n
    if not texts:
        return "", 0.0
    return normalise(" ".join(texts)), weighted / total


def _faster_whisper_factory() -> ModelFactory:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise ProviderUnavailable(
            f"STT provider 'faster-whisper' needs the faster-whisper package ({exc}): "
            f"{INSTALL_HINT}"
        ) from exc
    return WhisperModel  # type: ignore[no-any-return]


class FasterWhisperSTT(STTProvider):
    """Speech to text with a local faster-whisper model.

    Args:
        model: CTranslate2 model directory, or a size name ("small.en") already cached.
        device: "cpu", "cuda" or "auto".
        device_index: on "cuda", which GPU.
        compute_type: CTranslate2 compute type ("int8", "float16" …).
        beam_size: 1 is greedy decoding (fastest).
        language: spoken language code; fixed so Whisper never guesses.
        model_factory: builds the model; default ``faster_whisper.WhisperModel`` (see the
            module doc for the interface it must offer).
        batch: above 1, utterances go through one shared batch
            (:class:`~reauto.stt.whisper_batch.WhisperBatchDecoder` behind an
            :class:`~reauto.stt.batcher.UtteranceBatcher`, greedy, with the hotwords) of at most this
            many: every call of the process that holds this provider shares the model.
        trim: with ``batch``, encode the utterances' own length (see the decoder).
    """

    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        device_index: int = 0,
        compute_type: str = "int8",
        beam_size: int = 1,
        language: str = "en",
        model_factory: ModelFactory | None = None,
        batch: int = 1,
        trim: bool = False,
    ) -> None:
        self._model_name = model.strip()
        self._device = device
        self._device_index = device_index
        self._compute_type = compute_type
        self._beam_size = beam_size
        self._language = language
        self._factory = model_factory
        self._model: Any = None
        self._hotwords: str | None = None
        self._lock = threading.Lock()
        self.batch = batch
        self._trim = trim
        self._batcher: Any = None

    @classmethod
    def from_settings(cls, settings: SttSettings) -> FasterWhisperSTT:
        """The provider as ``[stt.faster_whisper]`` configures it."""
        own = settings.faster_whisper
        return cls(
            own.model,
            device=own.device,
            device_index=own.device_index,
            compute_type=own.compute_type,
            beam_size=own.beam_size,
            batch=own.batch,
            trim=own.trim,
        )

    async def start(self) -> None:
        """Load the model (seconds for a small model on CPU).

        Raises:
            ProviderUnavailable: faster-whisper is not installed, or the model is not set,
                not found or not loadable; the message names the setting.
        """
        if self.batch > 1:
            await self._start_batched()
            return
        await asyncio.to_thread(self._ensure_loaded)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        """Pass the campaign's phrases to Whisper as hotwords (a decoding prompt)."""
        joined = ", ".join(p.strip() for p in phrases if p.strip())
        self._hotwords = joined or None

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio (in a worker thread); Whisper's
        decoding prompt is the campaign's hotwords whatever the ``context``."""
        if self.batch > 1:
            if self._batcher is None:
                await self._start_batched()
            heard = await self._batcher.transcribe(pcm)
            return Transcript(heard.text, heard.confidence, len(pcm) / 2 / self.sample_rate)
        return await asyncio.to_thread(self._transcribe, pcm)

    def backlog(self) -> float | None:
        """Batched: utterances waiting for the next batch, per batch (see :meth:`UtteranceBatcher.depth`)."""
        if self._batcher is None:
            return None
        return self._batcher.depth() / self._batcher.max_batch

    async def close(self) -> None:
        """Drop the model (and the shared batch's)."""
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None
        with self._lock:
            self._model = None

    async def _start_batched(self) -> None:
        """Load the model for batched decoding and start its batcher.

        Raises:
            ProviderUnavailable: the package or the model directory is missing, or it cannot load.
        """
        from reauto.stt.batcher import UtteranceBatcher

        directory = self._directory()
        try:
            from reauto.stt.whisper_batch import WhisperBatchDecoder

            decoder = await asyncio.to_thread(WhisperBatchDecoder, directory, device=self._device,
                                              device_index=self._device_index,
                                              compute_type=self._compute_type, trim=self._trim,
                                              hotwords=self._hotwords)
        except ImportError as exc:
            raise ProviderUnavailable(f"batched faster-whisper needs the faster-whisper package ({exc}): "
                                      f"{INSTALL_HINT}") from exc
        except (OSError, RuntimeError, ValueError) as exc:
            raise ProviderUnavailable(f"faster-whisper cannot load {directory} from {SETTING}: {exc}") from exc
        self._batcher = UtteranceBatcher(decoder.decode, max_batch=self.batch)

    def _directory(self) -> Path:
        """The model's directory: pulled, given as a path, or in the Hugging Face cache."""
        if not self._model_name:
            raise ProviderUnavailable(f"faster-whisper has no model: set {SETTING} to a CTranslate2 model directory")
        pulled = modelstore.whisper_dir(self._model_name)
        path = pulled or Path(self._model_name).expanduser()
        if not path.is_dir():
            cached = hf_cached(WHISPER_REPOS.get(self._model_name, self._model_name))
            if cached is None:
                raise ProviderUnavailable(f"faster-whisper model {self._model_name!r} ({SETTING}) is neither a "
                                          "directory, nor pulled (`reauto models pull`), nor in the Hugging Face cache")
            path = cached
        return path

    def _ensure_loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        if not self._model_name:
            raise ProviderUnavailable(
                f"faster-whisper has no model: set {SETTING} to a CTranslate2 model directory"
            )
        pulled = modelstore.whisper_dir(self._model_name)  # `reauto models pull` put it in [models] dir
        path = pulled or Path(self._model_name).expanduser()
        looks_like_path = path.is_absolute() or "/" in self._model_name or path.exists()
        if looks_like_path and not path.is_dir():
            raise ProviderUnavailable(
                f"faster-whisper model directory {path} not found (from {SETTING})"
            )
        factory = self._factory or _faster_whisper_factory()
        try:
            return factory(
                str(path) if looks_like_path else self._model_name,
                device=self._device,
                compute_type=self._compute_type,
                device_index=self._device_index,
                local_files_only=True,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            where = "directory" if looks_like_path else "name (not in the local cache)"
            raise ProviderUnavailable(
                f"faster-whisper cannot load model {where} {self._model_name!r} from {SETTING}: "
                f"{exc}; reauto never downloads models while it runs: `reauto models pull` fetches it"
            ) from exc

    def _transcribe(self, pcm: bytes) -> Transcript:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16)
        audio_s = samples.size / self.sample_rate
        if samples.size == 0:
            return Transcript("", 0.0, 0.0)
        model = self._ensure_loaded()
        segments, _info = model.transcribe(
            samples.astype(np.float32) / 32768.0,
            language=self._language,
            beam_size=self._beam_size,
            vad_filter=False,
            hotwords=self._hotwords,
            condition_on_previous_text=False,
        )
        text, confidence = combine(segments)
        return Transcript(text, confidence, audio_s)
