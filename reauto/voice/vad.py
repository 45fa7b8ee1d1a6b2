"""Silero VAD with a level gate: frames below the line's noise floor skip the model.

A phone call is silent on the lead's side for about half its length (the lead is listening).
Running Silero on those frames costs CPU on every call for a known answer; a frame whose level is
below ``floor_dbfs`` is scored 0 without the model. Speech on a phone line sits around −30 to
−15 dBFS, line noise below −55 dBFS.
"""

from __future__ import annotations

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer


class GatedSileroVADAnalyzer(SileroVADAnalyzer):
    """:class:`SileroVADAnalyzer` that does not run the model on frames quieter than the floor."""

    def __init__(self, *, floor_dbfs: float = -55.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._floor_rms = 32768.0 * 10 ** (floor_dbfs / 20)
        self.skipped = 0
        self.scored = 0

    def voice_confidence(self, buffer: bytes) -> float:
        samples = np.frombuffer(buffer, dtype=np.int16).astype(np.float32)
        if samples.size == 0 or float(np.sqrt(np.mean(samples * samples))) < self._floor_rms:
            self.skipped += 1
            return 0.0
        self.scored += 1
        return super().voice_confidence(buffer)  # type: ignore[no-any-return]
