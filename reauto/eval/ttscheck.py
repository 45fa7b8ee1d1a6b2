"""Round-trip intelligibility and level of the agent's voice.

Each reply is synthesised with the configured TTS, sent through an 8 kHz μ-law phone leg, and
transcribed back with the configured STT: the WER against the reply's text says whether a lead
would understand it. Clipping (samples at full scale) and loudness are measured on the
synthesised audio before the phone leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reauto.audio.codec import phone_round_trip, rms_dbfs, to_internal
from reauto.eval.scoring import WordErrors, word_errors
from reauto.stt.base import STTProvider
from reauto.tts.base import TTSProvider

#: A sample this close to full scale counts as clipped.
CLIP_LEVEL = 32_700


@dataclass(frozen=True)
class VoiceCheck:
    """One synthesised reply, heard back."""

    text: str
    heard: str
    errors: WordErrors
    seconds: float
    level_dbfs: float
    peak_dbfs: float
    clipped_share: float  # share of samples at full scale

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "heard": self.heard, "wer": self.errors.wer, "seconds": round(self.seconds, 2),
                "level_dbfs": round(self.level_dbfs, 1), "peak_dbfs": round(self.peak_dbfs, 1),
                "clipped_share": self.clipped_share}


def levels(pcm: bytes) -> tuple[float, float, float]:
    """(RMS dBFS, peak dBFS, share of clipped samples) of PCM16 audio."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.int32)
    if x.size == 0:
        return float("-inf"), float("-inf"), 0.0
    peak = int(np.max(np.abs(x)))
    peak_db = 20 * np.log10(peak / 32768) if peak else float("-inf")
    return rms_dbfs(pcm), float(peak_db), float(np.mean(np.abs(x) >= CLIP_LEVEL))


async def check_voice(text: str, tts: TTSProvider, stt: STTProvider) -> VoiceCheck:
    """Synthesise ``text``, pass it through a phone leg and transcribe it back."""
    chunks = [chunk async for chunk in tts.synthesize(text)]
    pcm = to_internal(b"".join(chunks), tts.sample_rate)
    level, peak, clipped = levels(pcm)
    heard = await stt.transcribe(phone_round_trip(pcm))
    return VoiceCheck(text, heard.text, word_errors(text, heard.text), len(pcm) / 2 / 16_000, level, peak, clipped)
