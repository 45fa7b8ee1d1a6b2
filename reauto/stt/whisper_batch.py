"""Whisper on many calls' utterances at once: one model, one batched decode.

faster-whisper's ``WhisperModel.transcribe`` decodes one audio at a time, and its
``BatchedInferencePipeline`` batches the chunks of *one* long audio. A dialer has the opposite
shape: many calls, each with a short answer that just ended. :class:`WhisperBatchDecoder` takes
a list of such utterances (each ≤ 30 s), computes their log-Mel features, and runs CTranslate2's
encoder and greedy decoder on all of them in one call, which is where a GPU (and, less so, a CPU)
earns its throughput: the weights are read once per step for the whole batch.

It is built from faster-whisper's own parts (``FeatureExtractor``, ``Tokenizer``, the prompt of
``WhisperModel.get_prompt`` without timestamps, with the campaign's hotwords as it puts them) and CTranslate2's ``models.Whisper.generate``.
:class:`~reauto.stt.batcher.UtteranceBatcher` feeds it from the calls of a process.

Needs the ``whisper`` extra.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reauto.stt.vocabulary import normalise

SAMPLE_RATE = 16_000
FRAMES = 3000  # Whisper's input window: 30 s of 10 ms frames
MAX_CONTEXT = 448  # Whisper's text context in tokens; hotwords take at most half, as faster-whisper lets them


@dataclass(frozen=True)
class Heard:
    """One utterance's transcript, its confidence (0..1) and how many tokens were generated."""

    text: str
    confidence: float
    tokens: int


class WhisperBatchDecoder:
    """Decode many utterances with one CTranslate2 Whisper model.

    Args:
        model_dir: a CTranslate2 Whisper conversion (``model.bin``, ``tokenizer.json`` …).
        device: ``cpu``, ``cuda`` or ``auto``.
        device_index: which GPU.
        compute_type: ``int8`` on CPU, ``float16`` or ``int8_float16`` on a GPU.
        threads: CPU threads for one batch (CTranslate2's ``intra_threads``; 0: its default).
        max_new_tokens: the longest transcript, in tokens.
        fixed_tokens: generate exactly this many tokens (end-of-text suppressed): only for capacity
            measurements on a model with random weights, whose transcripts would otherwise end at
            random.
        hotwords: the campaign's words, put before the prompt as faster-whisper's ``hotwords`` puts
            them (after ``<|startofprev|>``), so that every utterance of the batch is decoded
            toward them.
        trim: run the encoder on the batch's longest utterance (whole seconds) instead of
            Whisper's 30 s window. The encoder's cost falls with the window (measured in
            BENCHMARKS.md), but Whisper was trained on 30 s windows: check the accuracy on your
            own recordings (``reauto eval``) before turning it on.
    """

    def __init__(self, model_dir: Path | str, *, device: str = "cpu", device_index: int = 0,
                 compute_type: str = "int8", threads: int = 0, max_new_tokens: int = 96,
                 fixed_tokens: int | None = None, trim: bool = False, hotwords: str | None = None) -> None:
        import ctranslate2
        import tokenizers
        from faster_whisper.feature_extractor import FeatureExtractor
        from faster_whisper.tokenizer import Tokenizer

        path = Path(model_dir)
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(str(path), device=device, device_index=device_index,
                                                compute_type=compute_type, intra_threads=threads)
        self.features = FeatureExtractor(feature_size=_mels(path, self.model.n_mels))
        multilingual = self.model.is_multilingual
        self.tokenizer = Tokenizer(tokenizers.Tokenizer.from_file(str(path / "tokenizer.json")), multilingual,
                                   task="transcribe" if multilingual else None,
                                   language="en" if multilingual else None)
        self.prompt = [*self._hotwords(hotwords), *self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        self.fixed_tokens = fixed_tokens
        self.trim = trim
        new = fixed_tokens if fixed_tokens is not None else max_new_tokens
        # CTranslate2 counts Whisper's max_length in decoding steps that each add one token to the
        # prompt; measured: it stops after max_length / 2 new tokens once the prompt is given
        self.max_length = 2 * new if fixed_tokens is not None else len(self.prompt) + new
        self.suppress = [-1, self.tokenizer.eot] if fixed_tokens is not None else [-1]
        self._lock = threading.Lock()

    def decode(self, utterances: Sequence[bytes]) -> list[Heard]:
        """Transcribe each utterance (16 kHz PCM16 mono, at most 30 s), in one batch."""
        if not utterances:
            return []
        features = [self._features(pcm) for pcm in utterances]
        frames = FRAMES
        if self.trim:  # the longest utterance, in whole seconds (100 frames each)
            frames = min(FRAMES, max(100, 100 * math.ceil(max(f.shape[-1] for f in features) / 100)))
        batch = np.stack([_fit(f, frames) for f in features])
        with self._lock:  # one batch at a time on this model: the batcher makes the batches
            features = self._ct2.StorageView.from_array(batch)
            results = self.model.generate(
                features, [list(self.prompt) for _ in utterances], beam_size=1, max_length=self.max_length,
                suppress_blank=self.fixed_tokens is None, suppress_tokens=self.suppress,
                return_scores=True, return_no_speech_prob=True)
        return [self._heard(result) for result in results]

    def _hotwords(self, hotwords: str | None) -> list[int]:
        """``<|startofprev|>`` and the hotwords' tokens (at most half of Whisper's context), or nothing."""
        if not hotwords or not hotwords.strip():
            return []
        tokens = self.tokenizer.encode(" " + hotwords.strip())
        return [self.tokenizer.sot_prev, *tokens[: MAX_CONTEXT // 2 - 1]]

    def _features(self, pcm: bytes) -> np.ndarray:
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16).astype(np.float32) / 32768.0
        return self.features(samples[: 30 * SAMPLE_RATE])[..., :-1]  # as faster-whisper's batched pipeline

    def _heard(self, result: Any) -> Heard:
        tokens = [t for t in result.sequences_ids[0] if t < self.tokenizer.eot]
        text = normalise(self.tokenizer.decode(tokens)) if tokens else ""
        generated = max(1, len(result.sequences_ids[0]))
        # scores[0] is the sum of the tokens' log-probabilities: its mean, as faster-whisper's avg_logprob
        logprob = min(0.0, result.scores[0] / generated) if result.scores else -math.inf
        confidence = math.exp(logprob) * (1.0 - float(result.no_speech_prob)) if text else 0.0
        return Heard(text, min(1.0, max(0.0, confidence)), len(result.sequences_ids[0]))


def _fit(features: np.ndarray, frames: int) -> np.ndarray:
    """Log-Mel features cut or zero-padded to ``frames`` (faster-whisper's ``pad_or_trim``)."""
    if features.shape[-1] < frames:
        features = np.pad(features, ((0, 0), (0, frames - features.shape[-1])))
    return np.ascontiguousarray(features[..., :frames], dtype=np.float32)


def _mels(path: Path, default: int) -> int:
    """The model's Mel bins (``preprocessor_config.json``; 128 for large-v3, else 80)."""
    config = path / "preprocessor_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("feature_size", default))
    return default
