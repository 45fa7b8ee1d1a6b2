"""Audio below the voice pipeline and the speech providers: codecs, the phone line, pacing.

* :mod:`~reauto.audio.codec` — PCM16 at 16 kHz inside reauto, 8 kHz μ-law on the phone,
  resampling, WAV files, 20 ms frames;
* :mod:`~reauto.audio.line` — a simulated phone line and its real-time clock;
* :mod:`~reauto.audio.pacing` — how agent audio is paced to a phone's far end.

Nothing here imports another reauto package but :mod:`reauto.errors`: :mod:`reauto.stt`,
:mod:`reauto.tts` and :mod:`reauto.voice` all build on it.
"""
