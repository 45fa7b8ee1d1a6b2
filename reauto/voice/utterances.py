"""Finding the utterances in recorded speech with Silero VAD.

Speech windows (32 ms, Silero probability ≥ ``threshold``) are joined across pauses shorter
than ``min_gap_s`` into utterances, each padded by ``pad_s``; a run shorter than
``min_speech_s`` is dropped. The evaluation cuts a recording's lead side into turns with it
(:mod:`reauto.eval.segment`), the second listen a call's lead side into what it decodes again
(:mod:`reauto.dialer.second_listen`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reauto.audio.codec import SAMPLE_RATE, SAMPLE_WIDTH
from reauto.voice.vad import GatedSileroVADAnalyzer

WINDOW = 512  # samples Silero scores at 16 kHz
WINDOW_S = WINDOW / SAMPLE_RATE


@dataclass(frozen=True)
class SegmentParams:
    """How speech is cut into utterances."""

    threshold: float = 0.5
    min_gap_s: float = 0.3
    min_speech_s: float = 0.12
    pad_s: float = 0.15


def speech_spans(pcm: bytes, params: SegmentParams = SegmentParams()) -> list[tuple[float, float]]:
    """Utterances in 16 kHz PCM16 as (start, end) seconds, padded, in order."""
    vad = GatedSileroVADAnalyzer(sample_rate=SAMPLE_RATE)
    vad.set_sample_rate(SAMPLE_RATE)
    step = WINDOW * SAMPLE_WIDTH
    spans: list[list[float]] = []
    for i in range(0, len(pcm) - step + 1, step):
        if float(np.asarray(vad.voice_confidence(pcm[i : i + step])).ravel()[0]) < params.threshold:
            continue
        t = i / SAMPLE_WIDTH / SAMPLE_RATE
        if spans and t - spans[-1][1] < params.min_gap_s:
            spans[-1][1] = t + WINDOW_S
        else:
            spans.append([t, t + WINDOW_S])
    duration = len(pcm) / SAMPLE_WIDTH / SAMPLE_RATE
    return [(max(0.0, a - params.pad_s), min(duration, b + params.pad_s))
            for a, b in spans if b - a >= params.min_speech_s]
