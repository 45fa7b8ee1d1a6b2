"""Smart-Turn v3 for many concurrent calls: one shared session, one small pool, lean features.

Pipecat's :class:`LocalSmartTurnAnalyzerV3` opens an ONNX session per analyzer (per call) and
runs it on a thread per analyzer. :class:`SharedSmartTurnAnalyzer` makes the same prediction with
the process's session on the process's inference pool (:mod:`reauto.voice.models`), and computes
the model's Whisper log-mel features without the work whose result is known:

* the model always sees 8 s of audio, the speech left-padded with zeros; after normalisation
  that lead-in is one constant, so every analysis frame wholly inside it has the same spectrum,
  computed once instead of once per frame (most of the 800 frames for a short answer);
* reflect padding is built only for the frames that are computed.

The result is bit-for-bit pipecat's :func:`compute_whisper_log_mel_features` (a test checks it).
An analysis of an empty buffer (the silence limit already ended the turn) answers at once instead
of queueing behind other calls' inferences.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn import _whisper_features as whisper
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.metrics.metrics import MetricsData

from reauto.voice.models import SMART_TURN_MODEL, inference_pool, shared_session

MODEL_SECONDS = 8
_RATE = 16_000
_SAMPLES = MODEL_SECONDS * _RATE
_N_FFT, _HOP = 400, 160
_EDGE = _N_FFT // 2  # reflect padding on each side (centred frames)
_FRAMES = 1 + _SAMPLES // _HOP


def whisper_features(audio: np.ndarray) -> np.ndarray:
    """Smart-Turn's log-mel features of the last 8 s of ``audio`` (16 kHz), left-padded with zeros.

    Equal to ``compute_whisper_log_mel_features`` of the padded 8 s, with the spectrum of the
    constant lead-in computed once.

    Returns:
        float32 array of shape (80, 800).
    """
    speech = np.asarray(audio, dtype=np.float32)[-_SAMPLES:]
    lead = _SAMPLES - speech.size
    x = np.zeros(_SAMPLES, dtype=np.float32)
    x[lead:] = speech
    x = (x - x.mean()) / np.sqrt(x.var() + whisper._NORM_VARIANCE_EPS)

    power = np.empty((_FRAMES, _N_FFT // 2 + 1))
    # frames whose window (in the reflect-padded signal) lies wholly in the constant lead-in
    constant = 0 if lead <= _EDGE else (lead - _EDGE) // _HOP + 1  # at most 800 of the 801
    if constant:
        frame = np.full(_N_FFT, x[0], dtype=np.float64) * whisper._HANN_WINDOW
        power[:constant] = np.abs(np.fft.rfft(frame)) ** 2
    # the other frames (the last one always reaches into the reflect padding at the end)
    first = constant * _HOP - _EDGE  # index in x of the first sample they need
    body = x[max(first, 0) :].astype(np.float64)
    if first < 0:  # reflect padding at the start
        body = np.concatenate([x[1 : 1 - first][::-1].astype(np.float64), body])
    padded = np.concatenate([body, x[-_EDGE - 1 : -1][::-1].astype(np.float64)])
    windows = sliding_window_view(padded, _N_FFT)[::_HOP]
    power[constant:] = np.abs(np.fft.rfft(windows * whisper._HANN_WINDOW, axis=-1)) ** 2

    mel = np.maximum(whisper._MEL_FLOOR, whisper._MEL_FILTERS.T @ power.T)
    log_spec = np.log10(mel)[:, :-1]  # drop the trailing frame, as the reference does
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return cast(np.ndarray, ((log_spec + 4.0) / 4.0).astype(np.float32))


class SharedSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """Smart-Turn v3 end-of-turn analyzer of one call, on the process's shared model and pool.

    Args:
        params: Smart-Turn settings (``stop_secs``: the longest silence it waits when it judges
            the lead unfinished).
        sample_rate: the pipeline's input rate; set by the pipeline when None.
    """

    def __init__(self, *, params: SmartTurnParams | None = None, sample_rate: int | None = None) -> None:
        BaseSmartTurn.__init__(self, sample_rate=sample_rate, params=params)  # no session of its own
        self._log_data = False
        self._session = shared_session(SMART_TURN_MODEL)

    @property
    def _model_executor(self) -> Any:
        return inference_pool()

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        if not self._audio_buffer:
            # nothing to analyse (the silence limit cleared it): pipecat's answer, without the pool
            return EndOfTurnState.INCOMPLETE, None
        return await super().analyze_end_of_turn()  # type: ignore[no-any-return]

    def _predict_endpoint(self, audio_array: np.ndarray) -> dict[str, Any]:
        audio = self._resample_to_model_rate(audio_array)
        features = whisper_features(audio)[np.newaxis]
        outputs = self._session.run(None, {"input_features": features})
        probability = cast(np.ndarray, outputs[0])[0].item()
        return {"prediction": 1 if probability > 0.5 else 0, "probability": probability}
