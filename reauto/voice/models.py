"""The turn-taking models, loaded once per process and shared by every call.

Silero VAD and Smart-Turn v3 ship inside pipecat as ONNX files. Pipecat opens one
``InferenceSession`` per analyzer, that is two per call, and runs each analyzer on a thread of its
own; at a hundred calls that is two hundred sessions (≈ 100 ms of CPU to open per call) and two
hundred threads fighting over the GIL and two cores. Here:

* one session per model serves all calls. A session holds only the weights: onnxruntime's
  ``InferenceSession.run`` is thread-safe, and the per-call state (Silero's recurrent state,
  Smart-Turn's audio buffer) stays in each call's analyzer;
* sessions run single-threaded (one intra-op thread, no spinning): many calls make many small
  inferences at once, so parallelism comes from running them side by side, not from splitting one;
* inferences run off the event loop: Smart-Turn's (tens of milliseconds each) on a small
  process-wide pool, Silero's (batched across calls, :mod:`reauto.voice.vad`) on a thread of
  their own so that a VAD window never waits behind an end-of-turn inference. onnxruntime releases
  the GIL while it computes, so these threads use the second core while the loop moves audio on
  the first.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import onnxruntime as ort

SILERO_MODEL = ("pipecat.audio.vad.data", "silero_vad.onnx")
SMART_TURN_MODEL = ("pipecat.audio.turn.smart_turn.data", "smart-turn-v3.2-cpu.onnx")

_lock = threading.Lock()
_sessions: dict[tuple[str, str], ort.InferenceSession] = {}
_pool: ThreadPoolExecutor | None = None


def session_options() -> ort.SessionOptions:
    """Options for a session that serves many concurrent small inferences.

    One intra-op thread and no spin-waiting: a spinning worker would burn a core between the
    inferences of a phone call, which come tens of milliseconds apart.
    """
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def shared_session(model: tuple[str, str]) -> ort.InferenceSession:
    """The process's session for ``model`` (package, file name), opened on first use."""
    with _lock:
        session = _sessions.get(model)
        if session is None:
            path = resources.files(model[0]).joinpath(model[1])
            with resources.as_file(path) as file:
                session = ort.InferenceSession(str(file), sess_options=session_options(),
                                               providers=["CPUExecutionProvider"])
            _sessions[model] = session
        return session


def inference_workers() -> int:
    """Threads for Smart-Turn: one less than the cores (the event loop keeps one), at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


#: How much lower than the event loop the Smart-Turn threads run (Unix ``nice`` steps).
TURN_MODEL_NICE = 10


def _lower_priority() -> None:
    """Let the event loop's thread win the CPU over this one (moving audio cannot wait; an
    end-of-turn inference can take a few milliseconds more)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TURN_MODEL_NICE)
    except (AttributeError, OSError):  # not Linux/Unix: the threads keep the process's priority
        pass


def inference_pool() -> ThreadPoolExecutor:
    """The process-wide pool that runs Smart-Turn inferences off the event loop, at low priority."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=inference_workers(), thread_name_prefix="turn-model",
                                       initializer=_lower_priority)
        return _pool

