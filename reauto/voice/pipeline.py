"""One call = one Pipecat pipeline.

    transport.input → Silero VAD → segmented STT → user-turn (Smart-Turn v3) → conversation
      → TTS → transport.output → recorder (dual channel, only when allowed)

The same assembly serves the simulated line and Twilio's media stream: only the transport
differs. Running it returns a :class:`CallOutcome` with the transcript, per-turn latency and the
recording.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy, TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_processor import UserTurnProcessor
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from reauto.audio.codec import SAMPLE_RATE
from reauto.stt.base import STTProvider
from reauto.tts.base import TTSProvider
from reauto.voice.conversation import Brain, ConversationProcessor, SwitchBrainFrame, TransferResultFrame, TurnRecord
from reauto.voice.endpoint import AnswerAwareStopStrategy
from reauto.voice.latency import CallLatency, LatencyObserver
from reauto.voice.services import ProviderSTTService, ProviderTTSService, SttTiming
from reauto.voice.smart_turn import SharedSmartTurnAnalyzer
from reauto.voice.vad import GatedSileroVADAnalyzer


def quiet_pipecat(level: str = "WARNING") -> None:
    """Keep Pipecat's per-frame debug logging out of reauto's output."""
    logger.remove()
    logger.add(sys.stderr, level=level)


@dataclass(frozen=True)
class TurnTaking:
    """End-of-turn settings.

    Attributes:
        vad_confidence: Silero speech probability threshold.
        vad_stop_s: silence before the VAD says the lead stopped.
        vad_floor_dbfs: frames quieter than this skip the VAD model (scored as silence).
        stt_wait_s: how long end of turn waits for the transcript before deciding without it.
        turn_stop_s: longest silence Smart-Turn waits when it thinks the lead is not done.
        smart_turn: use Smart-Turn v3; without it a turn ends ``turn_stop_s`` after the VAD stop.
        answer_ends_turn: a transcript that answers the agent's question ends the turn at once,
            even when Smart-Turn judged the lead unfinished (:mod:`reauto.voice.endpoint`).
    """

    vad_confidence: float = 0.7
    vad_stop_s: float = 0.2
    vad_floor_dbfs: float = -55.0
    stt_wait_s: float = 2.5
    turn_stop_s: float = 1.0
    smart_turn: bool = True
    answer_ends_turn: bool = True

    def vad(self) -> SileroVADAnalyzer:
        """A Silero VAD analyzer for one call (the first one opens the shared ONNX session)."""
        return GatedSileroVADAnalyzer(
            floor_dbfs=self.vad_floor_dbfs,
            sample_rate=SAMPLE_RATE,
            params=VADParams(confidence=self.vad_confidence, stop_secs=self.vad_stop_s),
        )

    def strategies(self, vad: SileroVADAnalyzer | None = None) -> UserTurnStrategies:
        """End-of-turn strategies for one call (the first Smart-Turn opens the shared ONNX session);
        ``vad``: the call's VAD, which tells an answer that the lead goes on."""
        if self.smart_turn:
            analyzer = SharedSmartTurnAnalyzer(params=SmartTurnParams(stop_secs=self.turn_stop_s))
            if self.answer_ends_turn:
                return UserTurnStrategies(stop=[AnswerAwareStopStrategy(turn_analyzer=analyzer, vad=vad)])
            return UserTurnStrategies(stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer)])
        return UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=self.turn_stop_s)])

    def models(self) -> tuple[SileroVADAnalyzer, UserTurnStrategies]:
        """The per-call VAD and end-of-turn analyzers (call it off the event loop: the process's
        first call opens the shared ONNX sessions)."""
        vad = self.vad()
        return vad, self.strategies(vad)


class LeadTurnProcessor(UserTurnProcessor):
    """:class:`UserTurnProcessor` that keeps the lead's audio from processors that do not read it.

    Past the end-of-turn decision only a recorder reads the lead's audio. Without one, each audio
    frame would still pass through the conversation, TTS and output processors and the pipeline's
    sink (a queue, a task switch and an observer event each) to be ignored by all of them.

    Args:
        forward_audio: pass the lead's audio on downstream (a recorder follows).
    """

    def __init__(self, *, forward_audio: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._forward_audio = forward_audio

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM) -> None:
        if (not self._forward_audio and direction is FrameDirection.DOWNSTREAM
                and isinstance(frame, InputAudioRawFrame)):
            return
        await super().push_frame(frame, direction)


@dataclass
class CallOutcome:
    """What one call produced."""

    turns: list[TurnRecord]
    latency: CallLatency
    outcome: str | None
    recording: bytes | None = None  # interleaved stereo PCM16: left = lead, right = agent
    recording_rate: int = SAMPLE_RATE
    recording_declined_s: float | None = None  # the lead objected this far into the recording (it stopped then)


@dataclass
class CallSession:
    """Assembles and runs the pipeline of one call.

    Args:
        transport: the call's transport (simulated line or Twilio media stream).
        stt: speech-to-text provider (already started).
        tts: text-to-speech provider (already started).
        brain: the conversation agent.
        turn_taking: end-of-turn settings.
        record: keep a dual-channel recording (the compliance gate decides).
        on_agent_text: hook for each reply text (the simulated lead listens to it).
        on_turn: hook for each turn as it happens (store, live view).
        greet_on_first_words: speak the opening at the end of the lead's first words; off for
            answering machines, where the opening waits for the end of the greeting.
        timeout_s: hard limit on the call's length.
        observers: extra pipeline observers (evaluation, monitoring).
        hung_up: set when the far end hangs up; the pipeline is cancelled if it has not ended
            ``hangup_grace_s`` later.
    """

    transport: BaseTransport
    stt: STTProvider
    tts: TTSProvider
    brain: Brain
    turn_taking: TurnTaking = field(default_factory=TurnTaking)
    record: bool = False
    on_agent_text: Callable[[str], None] | None = None
    on_turn: Callable[[TurnRecord], None] | None = None
    greet_on_first_words: bool = True
    speaks_first: bool = False  # the lead called: the opening is spoken as soon as the media starts
    timeout_s: float = 600.0
    observers: Sequence[BaseObserver] = ()
    hung_up: asyncio.Event | None = None
    hangup_grace_s: float = 3.0
    on_stt_timing: Callable[[SttTiming], None] | None = None  # each answer's recognition time
    on_greeting: Callable[[float | None], None] | None = None  # the lead's hello → first audio (s), once known
    keep_until_objection: bool = False  # an objection keeps the audio before it (else the whole recording goes)
    on_transfer: Callable[[float | None], None] | None = None  # a reply hands the lead to a person: dial them
    _models: tuple[SileroVADAnalyzer, UserTurnStrategies] | None = field(default=None, init=False, repr=False)
    _worker: PipelineWorker | None = field(default=None, init=False, repr=False)
    _recorder: AudioBufferProcessor | None = field(default=None, init=False, repr=False)
    _conversation: ConversationProcessor | None = field(default=None, init=False, repr=False)
    _recording: bytearray = field(default_factory=bytearray, init=False, repr=False)  # what the recorder gave
    _declined_s: float | None = field(default=None, init=False, repr=False)
    _started: float | None = field(default=None, init=False, repr=False)  # the recording's start (loop time)
    _stopping: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def prepare(self) -> None:
        """Create the per-call turn-taking analyzers in a thread (while the phone rings).

        Each call has its own Silero and Smart-Turn state over the process's shared sessions;
        the first call of a process opens those sessions, which takes a hundred milliseconds that
        would otherwise stall every other call's audio.
        """
        if self._models is None:
            self._models = await asyncio.to_thread(self.turn_taking.models)

    def use_models(self, models: tuple[SileroVADAnalyzer, UserTurnStrategies]) -> None:
        """Models loaded ahead (:meth:`TurnTaking.models`, e.g. while the phone rang)."""
        self._models = models

    def build(self) -> tuple[PipelineWorker, ConversationProcessor, LatencyObserver, AudioBufferProcessor | None]:
        """The worker and the processors whose results :meth:`run` reads."""
        latency = LatencyObserver(CallLatency(), on_greeting=self.on_greeting)
        vad, strategies = self._models or self.turn_taking.models()
        conversation = ConversationProcessor(
            self.brain,
            on_turn=self._turned,
            on_agent_text=self.on_agent_text,
            greet_on_first_words=self.greet_on_first_words,
            on_transfer=self.on_transfer,
            speaks_first=self.speaks_first,
        )
        for strategy in strategies.stop or ():
            if isinstance(strategy, AnswerAwareStopStrategy):
                strategy.judge = conversation.answers
                strategy.settled = conversation.answering_first_words
        processors: list[Any] = [
            self.transport.input(),
            # in direct mode (no queue, no task of its own): the VAD runs in the input's task
            VADProcessor(vad_analyzer=vad, enable_direct_mode=True),
            ProviderSTTService(self.stt, p99_latency_s=self.turn_taking.stt_wait_s,
                               context=conversation.listening_for, on_timing=self.on_stt_timing),
            LeadTurnProcessor(user_turn_strategies=strategies, forward_audio=self.record),
            conversation,
            ProviderTTSService(self.tts),
            self.transport.output(),
        ]
        recorder = None
        if self.record:
            recorder = AudioBufferProcessor(sample_rate=SAMPLE_RATE, num_channels=2)
            processors.append(recorder)
        self._recorder, self._conversation = recorder, conversation
        worker = PipelineWorker(
            Pipeline(processors),
            params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE),
            observers=[latency, *self.observers],
            enable_rtvi=False,
            enable_turn_tracking=False,  # reauto's LatencyObserver does this job, once
            idle_timeout_secs=None,
        )
        return worker, conversation, latency, recorder

    def _turned(self, turn: TurnRecord) -> None:
        """Each turn as it is said: the caller's hook, and the lead's consent to the recording."""
        if self.on_turn is not None:
            self.on_turn(turn)
        declined = self._conversation is not None and self._conversation.recording_declined
        if declined and self._recorder is not None and self._stopping is None and self._started is not None:
            # the agent's acknowledgement is being said: the recording stops now, on both channels
            self._declined_s = asyncio.get_running_loop().time() - self._started
            self._stopping = asyncio.ensure_future(self._recorder.stop_recording())
            logger.info("the lead objected to the recording: stopped"
                        + ("" if self.keep_until_objection else "; what was recorded is discarded"))

    async def transfer_result(self, *, bridged: bool, reason: str = "") -> bool:
        """How the hand-over to a person ended (see :class:`TransferResultFrame`)."""
        if self._worker is None:
            return False
        await self._worker.queue_frame(TransferResultFrame(bridged=bridged, reason=reason))
        return True

    async def switch_brain(self, brain: Brain, reason: str) -> bool:
        """Hand the running call to ``brain`` (e.g. voicemail once a machine is detected)."""
        if self._worker is None:
            return False
        await self._worker.queue_frame(SwitchBrainFrame(brain=brain, reason=reason))
        return True

    async def _until_done(self, run: asyncio.Future[Any], worker: PipelineWorker) -> None:
        """Wait for the pipeline to end; when the far end hangs up (or the time limit passes) and it
        does not end by itself within :attr:`hangup_grace_s`, cancel it: a call never outlives its line."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        gone = asyncio.ensure_future(self.hung_up.wait()) if self.hung_up is not None else None
        try:
            done, _ = await asyncio.wait([run, *([gone] if gone else [])], timeout=self.timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
            if run in done:
                return run.result()
            reason = "the far end hung up" if gone is not None and gone in done else "call time limit"
            if reason == "the far end hung up":
                done, _ = await asyncio.wait([run], timeout=max(0.0, min(self.hangup_grace_s, deadline - loop.time())))
                if run in done:
                    return run.result()
            logger.warning(f"cancelling the call pipeline: {reason}")
            await worker.cancel(reason=reason)
            try:
                await asyncio.wait_for(run, timeout=5.0)
            except TimeoutError:
                run.cancel()
        finally:
            if gone is not None:
                gone.cancel()

    async def run(self) -> CallOutcome:
        """Run the call until it ends (either side hangs up, or the time limit)."""
        await self.prepare()
        worker, conversation, latency, recorder = self.build()
        self._worker = worker
        recording = self._recording
        if recorder is not None:

            @recorder.event_handler("on_audio_data")
            async def _on_audio(_proc: Any, audio: bytes, sample_rate: int, num_channels: int) -> None:
                recording.extend(audio)  # at the end, or at an objection (nothing is recorded after it)

            @worker.event_handler("on_pipeline_started")
            async def _start_recording(_worker: Any, _frame: Any) -> None:
                self._started = asyncio.get_running_loop().time()
                await recorder.start_recording()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await self._until_done(asyncio.ensure_future(runner.run()), worker)
        if self._stopping is not None:
            await self._stopping
        declined = self._declined_s is not None
        kept = recorder is not None and not (declined and not self.keep_until_objection)
        return CallOutcome(
            turns=conversation.turns,
            latency=latency.latency,
            outcome=conversation.outcome,
            recording=bytes(recording) if kept else None,
            recording_declined_s=self._declined_s,
        )
