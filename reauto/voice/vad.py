"""Silero VAD for many concurrent calls: a level gate, one shared model, batched inference.

A phone call is silent on the lead's side for about half its length (the lead is listening).
Running Silero on those frames costs CPU on every call for a known answer; a window whose level
is below ``floor_dbfs`` is scored 0 without the model. Speech on a phone line sits around −30 to
−15 dBFS, line noise below −55 dBFS.

Pipecat's analyzer opens an ONNX session per call and runs each 32 ms window on a thread per call:
a round trip to a thread for every window of every call, and GIL hand-overs between a hundred
threads that stall the event loop. Here every call's analyzer uses the process's one Silero
session (:mod:`reauto.voice.models`), and the windows that need the model are scored by
:class:`SileroBatcher`: on one thread, off the event loop, the windows of all calls that arrive
while an inference runs going together into the next one (the model takes a batch; each row keeps
its call's recurrent state, and a row's result is bit-for-bit the result of running it alone).

The decisions are those of pipecat's analyzer: the same model, state resets, volume smoothing and
thresholds, with two known answers taken without computing them — a gated window scores 0, and a
400 ms loudness window of digital silence (no sample beyond ±1 LSB) has volume 0, being below the
BS.1770 absolute gate.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import warnings
import weakref
from typing import Any

import numpy as np
from pipecat.audio.utils import exp_smoothing
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.audio.volume import VOLUME_WINDOW_SECS

from reauto.voice.models import SILERO_MODEL, shared_session

with warnings.catch_warnings():  # deprecated in the stdlib, kept alive by audioop-lts
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

#: Largest sample magnitude of "digital silence": a resampler's dither, −90 dBFS. Through the
#: K-weighting filter of BS.1770 (whose impulse response sums to < 4.6 in absolute value at
#: 16 kHz) such a signal measures below −77 LUFS, under the −70 LUFS absolute gate, so pipecat's
#: loudness of it is −inf and its volume 0.
QUIET_PEAK = 1


class SharedSileroModel(SileroOnnxModel):
    """Pipecat's Silero wrapper (per-call recurrent state) over the process's shared session.

    :meth:`step_input` and :meth:`step_done` split pipecat's ``__call__`` around the inference,
    so that :class:`SileroBatcher` can run the inferences of many calls at once.
    """

    def __init__(self) -> None:  # pipecat's __init__ would open a session of its own
        self.session = shared_session(SILERO_MODEL)
        self.sample_rates = [8000, 16000]
        self.reset_states()

    def step_input(self, window: np.ndarray, sr: int) -> np.ndarray:
        """The model input for one window (float32 samples), as pipecat's ``__call__`` builds it.

        Returns:
            the window with the previous context prepended, shape (1, context + window).
        """
        x, sr = self._validate_input(window, sr)
        num_samples = 512 if sr == 16000 else 256
        if np.shape(x) != (1, num_samples):
            raise ValueError(f"Silero scores one window of {num_samples} samples at {sr} Hz")
        if not self._last_batch_size or (self._last_sr and self._last_sr != sr) or self._last_batch_size != 1:
            self.reset_states(1)
        if not np.shape(self._context)[1]:
            self._context = np.zeros((1, 64 if sr == 16000 else 32), dtype="float32")
        return np.concatenate((self._context, x), axis=1)

    def step_done(self, x: np.ndarray, sr: int, state: np.ndarray) -> None:
        """Keep the recurrent state and context after the model scored ``x`` (from :meth:`step_input`)."""
        self._state = state
        self._context = x[..., -(64 if sr == 16000 else 32) :]
        self._last_sr = sr
        self._last_batch_size = 1


class SileroBatcher:
    """Scores windows of many calls with the shared Silero session, batched, off the event loop.

    A request made while no inference runs starts one at once (a batch of one); requests made
    while one runs wait for it and then go together. So nothing waits for a batch to fill, and
    under load one inference serves many calls. Inferences run on one thread of the batcher's
    own, fed through a plain queue: a call's windows are scored in order (each request awaits
    its result before the call makes the next), and a batch costs the event loop one wake-up
    instead of an executor round trip per window.

    Args:
        loop: the event loop whose tasks make the requests.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._session = shared_session(SILERO_MODEL)
        self._waiting: list[tuple[SharedSileroModel, np.ndarray, int, asyncio.Future[np.ndarray]]] = []
        self._running = False
        self._jobs: queue.SimpleQueue[tuple[list[Any], dict[str, np.ndarray]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="vad-model", daemon=True)
        self._thread.start()
        self.inferences = 0
        self.windows = 0

    def close(self) -> None:
        """Stop the inference thread once the inference in progress, if any, is done."""
        self._jobs.put(None)

    async def score(self, model: SharedSileroModel, window: np.ndarray, sr: int) -> np.ndarray:
        """Silero's output for ``window`` with ``model``'s state (which it then advances)."""
        x = model.step_input(window, sr)
        future: asyncio.Future[np.ndarray] = self._loop.create_future()
        self._waiting.append((model, x, sr, future))
        if not self._running:
            self._start()
        return await future

    def _start(self) -> None:
        sr = self._waiting[0][2]
        batch = [r for r in self._waiting if r[2] == sr]
        self._waiting = [r for r in self._waiting if r[2] != sr]  # another rate: next inference
        feeds = {
            "input": np.concatenate([x for _, x, _, _ in batch], axis=0),
            "state": np.concatenate([m._state for m, _, _, _ in batch], axis=1),
            "sr": np.array(sr, dtype="int64"),
        }
        self._running = True
        self.inferences += 1
        self.windows += len(batch)
        self._jobs.put((batch, feeds))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            batch, feeds = job
            try:
                result, error = self._session.run(None, feeds), None
            except Exception as exc:  # the model failed: every call of the batch hears of it
                result, error = None, exc
            try:
                self._loop.call_soon_threadsafe(self._finish, batch, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                return

    def _finish(self, batch: list[Any], result: list[np.ndarray] | None, error: Exception | None) -> None:
        self._running = False
        for i, (model, x, sr, future) in enumerate(batch):
            if error is not None or result is None:
                if not future.done():  # a call that hung up meanwhile no longer waits
                    future.set_exception(error or RuntimeError("Silero returned nothing"))
                continue
            out, state = result
            model.step_done(x, sr, np.ascontiguousarray(state[:, i : i + 1]))
            if not future.done():
                future.set_result(out[i : i + 1])
        if self._waiting:
            self._start()


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SileroBatcher] = weakref.WeakKeyDictionary()


def silero_batcher() -> SileroBatcher:
    """The running event loop's batcher (its futures belong to one loop; its thread ends with it)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = SileroBatcher(loop)
        weakref.finalize(loop, batcher.close)
    return batcher


class GatedSileroVADAnalyzer(SileroVADAnalyzer):
    """:class:`SileroVADAnalyzer` that skips the model on quiet frames and batches the rest.

    Args:
        floor_dbfs: windows whose RMS level is below this are scored 0 without the model.
        sample_rate: audio sample rate (8 or 16 kHz); set later by the pipeline when None.
        params: VAD thresholds and timing.
        batched: score windows with the event loop's :class:`SileroBatcher` (off the loop);
            otherwise on the calling thread, one at a time.

    Attributes:
        skipped: windows scored 0 by the gate.
        scored: windows the model scored.
    """

    def __init__(self, *, floor_dbfs: float = -55.0, sample_rate: int | None = None,
                 params: VADParams | None = None, batched: bool = True) -> None:
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = SharedSileroModel()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self._floor_rms = 32768.0 * 10 ** (floor_dbfs / 20)
        self._batched = batched
        self._ahead: tuple[bytes, np.ndarray] | None = None  # a window scored before its turn
        self._quiet_samples = 0  # samples of digital silence at the end of the audio seen so far
        self.skipped = 0
        self.scored = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Advance the VAD by one frame: the model's part batched off the loop, the rest on it.

        The steps are those of pipecat's ``VADAnalyzer._run_analyzer`` (one state-machine step
        per window, the start/stop confirmations once per frame), with the model's score for each
        window awaited from the batcher before the window's step.
        """
        if not self._batched:
            return self._run_analyzer(buffer)
        self._vad_buffer += buffer
        size = self._vad_frames_num_bytes
        if len(self._vad_buffer) < size:
            return self._vad_state
        while len(self._vad_buffer) >= size:
            window = self._vad_buffer[:size]
            self._vad_buffer = self._vad_buffer[size:]
            if not self._below_floor(window):
                audio = np.frombuffer(window, np.int16).astype(np.float32) / 32768.0
                self._ahead = (window, await silero_batcher().score(self._model, audio, self.sample_rate))
            self._step(window)
        self._confirm()
        return self._vad_state

    def _step(self, window: bytes) -> None:
        """One window of pipecat's VAD state machine."""
        confidence = self.voice_confidence(window)
        volume = self._get_smoothed_volume(window)
        self._prev_volume = volume
        speaking = confidence >= self._params.confidence and volume >= self._params.min_volume
        state = self._vad_state
        if speaking:
            if state == VADState.QUIET:
                self._vad_state = VADState.STARTING
                self._vad_starting_count = 1
            elif state == VADState.STARTING:
                self._vad_starting_count += 1
            elif state == VADState.STOPPING:
                self._vad_state = VADState.SPEAKING
                self._vad_stopping_count = 0
        elif state == VADState.STARTING:
            self._vad_state = VADState.QUIET
            self._vad_starting_count = 0
        elif state == VADState.SPEAKING:
            self._vad_state = VADState.STOPPING
            self._vad_stopping_count = 1
        elif state == VADState.STOPPING:
            self._vad_stopping_count += 1

    def _confirm(self) -> None:
        """pipecat's end of a frame: a start or stop held long enough is confirmed."""
        if self._vad_state == VADState.STARTING and self._vad_starting_count >= self._vad_start_frames:
            self._vad_state = VADState.SPEAKING
            self._vad_starting_count = 0
        if self._vad_state == VADState.STOPPING and self._vad_stopping_count >= self._vad_stop_frames:
            self._vad_state = VADState.QUIET
            self._vad_stopping_count = 0

    def voice_confidence(self, buffer: bytes) -> float:
        if self._below_floor(buffer):
            self.skipped += 1
            return 0.0
        self.scored += 1
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == buffer:
            confidence = ahead[1][0]  # as SileroVADAnalyzer.voice_confidence, with the model run ahead
            self._maybe_reset_model(confidence.item())
            return confidence  # type: ignore[no-any-return]
        return super().voice_confidence(buffer)  # type: ignore[no-any-return]

    def _below_floor(self, buffer: bytes) -> bool:
        if len(buffer) < 2:
            return True
        # audioop's RMS is rounded down: only a value at the floor's integer part is ambiguous
        rms = audioop.rms(buffer, 2)
        if rms != int(self._floor_rms):
            return rms < self._floor_rms
        samples = np.frombuffer(buffer, dtype=np.int16).astype(np.float32)
        return float(np.sqrt(np.mean(samples * samples))) < self._floor_rms

    def _get_smoothed_volume(self, audio: bytes) -> float:
        self._volume_tracker.update(audio, self.sample_rate)
        self._quiet_samples = _quiet_run(audio, self._quiet_samples)
        if self._quiet_samples >= math.ceil(VOLUME_WINDOW_SECS * self.sample_rate):
            volume = 0.0  # the whole loudness window is within ±1 LSB: below the absolute gate
        else:
            volume = self._volume_tracker.volume
        return exp_smoothing(volume, self._prev_volume, self._smoothing_factor)


def _quiet_run(audio: bytes, run: int) -> int:
    """Samples within ±:data:`QUIET_PEAK` at the end of the stream, after ``audio`` (PCM16)."""
    if audioop.max(audio, 2) <= QUIET_PEAK:
        return run + len(audio) // 2
    loud = np.flatnonzero(np.abs(np.frombuffer(audio, dtype=np.int16).astype(np.int32)) > QUIET_PEAK)
    return len(audio) // 2 - 1 - int(loud[-1])
