"""The conversation of a connected call: its pipeline session, resumed, handed over, watched.

:class:`Conversing` is the part of :class:`~reauto.dialer.calling.CallRunner` that talks: while the
phone rings it prepares the opening (:meth:`Conversing._warm_opening`); once the call is connected
it runs the conversation on the call's pipeline (:class:`LiveSession`), continues one that was cut
off, hands the lead over to a person when the brain asks, switches to the voicemail when
answering-machine detection reports a machine, and ends the session when the far end hangs up or
the shutdown grace runs out.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reauto.agent.inbound import CallerFacts
from reauto.dialer.admission import Admission
from reauto.dialer.handover import hand_over
from reauto.dialer.journal import CallJournal
from reauto.dialer.records import CallRecorder
from reauto.dialer.recovery import interrupted_call
from reauto.dialer.results import LiveCall
from reauto.sessions import SessionStore
from reauto.store.models import Lead
from reauto.stt.base import STTProvider
from reauto.telephony.base import CallHandle, Telephony
from reauto.tts.base import TTSProvider
from reauto.usage import current_meter
from reauto.voice.conversation import Brain, TurnRecord
from reauto.voice.pipeline import CallOutcome, CallSession

if TYPE_CHECKING:
    from reauto.dialer.engine import BrainFactory, DialerConfig

log = logging.getLogger(__name__)


@dataclass
class LiveSession(CallSession):
    """A call session whose latency the call's journal reads while the call goes on."""

    journal: CallJournal | None = None

    def build(self) -> Any:
        worker, conversation, latency, recorder = super().build()
        if self.journal is not None:
            self.journal.latency = latency.latency
        return worker, conversation, latency, recorder


class Conversing(ABC):
    """Runs the conversations of a :class:`~reauto.dialer.engine.Dialer`'s calls (the attributes
    and the hook it reads, declared here)."""

    config: DialerConfig
    telephony: Telephony
    stt: STTProvider
    tts: TTSProvider
    brain_factory: BrainFactory
    recorder: CallRecorder
    admission: Admission | None
    warmers: list[Callable[[], Awaitable[None]]]
    session_store: SessionStore | None
    _cut_off: asyncio.Event

    @abstractmethod
    def _changed(self) -> None:
        """The live calls changed (the live view redraws)."""

    async def _warm_opening(self, lead: Lead) -> None:
        """While the phone rings: synthesise the opening (so "hello?" is answered from cache) and
        wake the other providers (the LLM loads its model if it was unloaded)."""
        async def opening() -> None:
            warm = getattr(self.tts, "warm", None)
            if warm is not None:
                brain = self.brain_factory(lead, "human")
                await self._resume(lead, brain, "human")  # a call cut off opens with "we got cut off …"
                await warm([brain.opening().text])

        for result in await asyncio.gather(opening(), *(w() for w in self.warmers), return_exceptions=True):
            if isinstance(result, Exception):  # the call itself does the work again
                log.warning("could not prepare lead %s's call while it rang: %s", lead.id, result)

    async def _resume(self, lead: Lead, brain: Brain, answered_by: str) -> None:
        """A lead whose last call was cut off: continue that conversation where it stood."""
        cut_off = interrupted_call(lead)
        restore = getattr(brain, "restore", None)
        if cut_off is None or self.session_store is None or restore is None or answered_by == "machine":
            return
        try:
            state = await self.session_store.load(cut_off)
        except Exception as exc:  # noqa: BLE001 - start the conversation afresh
            log.warning("lead %s: session of call %s unreadable (%s); starting afresh", lead.id, cut_off, exc)
            return
        if state and state.get("brain"):
            restore(state["brain"])
            brain.resume()  # type: ignore[attr-defined]
            log.info("lead %s: resuming the conversation of call %s", lead.id, cut_off)

    async def _converse(
        self, lead: Lead, handle: CallHandle, may_record: bool, live: LiveCall,
        models: asyncio.Future[Any] | None = None, *, journal: CallJournal | None = None, call_id: int = 0,
        caller: CallerFacts | None = None,
    ) -> tuple[CallOutcome, Brain]:
        brain = self.brain_factory(lead, handle.answered_by)
        handing_over: list[asyncio.Task[Any]] = []

        def on_transfer(since_request_s: float | None) -> None:  # the brain hands the lead over: dial now
            def stage(name: str) -> None:
                live.stage = name
                self._changed()

            if self.config.transfer is None:
                handing_over.append(asyncio.ensure_future(session.transfer_result(
                    bridged=False, reason="the campaign has no person to transfer to")))
                return
            handing_over.append(asyncio.create_task(hand_over(
                call_id=call_id, handle=handle, telephony=self.telephony, settings=self.config.transfer,
                caller_id=self.config.caller_id, brain=brain, session=session, recorder=self.recorder,
                campaign=self.config.campaign_name, on_stage=stage, since_request_s=since_request_s),
                name=f"transfer-{call_id}"))
        meter = current_meter.get()
        if meter is not None:  # the voice tier rule reads the lead's score as the call goes
            meter.lead_score = lambda: float(getattr(brain, "score", 0.0) or 0.0)
        on_turn, greeted = self._listeners(live, brain, journal)
        assert handle.transport is not None
        line_ends, line_watch = self._line_ends(getattr(handle.far_end, "hung_up", None))
        session = LiveSession(
            handle.transport, self.stt, self.tts, brain,
            turn_taking=self.config.turn_taking,
            record=may_record,
            keep_until_objection=self.config.keep_until_objection,
            on_agent_text=handle.on_agent_text,
            on_turn=on_turn,
            greet_on_first_words=handle.answered_by != "machine" and caller is None,
            speaks_first=caller is not None,  # the lead called: they wait for the agent's greeting
            timeout_s=self.config.call_timeout_s,
            hung_up=line_ends,
            journal=journal,
            on_stt_timing=(lambda t: self.admission.recognition(t.elapsed_ms / 1000)) if self.admission else None,
            on_greeting=greeted,
            on_transfer=on_transfer,
        )
        return await self._talk(session, lead, brain, handle, live, models, caller, handing_over, line_watch)

    def _listeners(self, live: LiveCall, brain: Brain, journal: CallJournal | None) -> tuple[
            Callable[[TurnRecord], None], Callable[[float | None], None]]:
        """What the call's session tells of each turn (the live row, the journal) and of the
        greeting's delay (admission control, the journal)."""
        def on_turn(turn: TurnRecord) -> None:
            live.turns += 1
            live.last_text = f"{turn.speaker}: {turn.text}"
            live.stage = "agent speaking" if turn.speaker == "agent" else "lead spoke"
            self._changed()
            if journal is not None:
                journal.record(turn, brain)

        def greeted(seconds: float | None) -> None:
            if self.admission is not None:
                self.admission.greeting(seconds)
            if journal is not None:
                journal.played()

        return on_turn, greeted

    async def _talk(self, session: LiveSession, lead: Lead, brain: Brain, handle: CallHandle, live: LiveCall,
                    models: asyncio.Future[Any] | None, caller: CallerFacts | None,
                    handing_over: list[asyncio.Task[Any]],
                    line_watch: asyncio.Future[None]) -> tuple[CallOutcome, Brain]:
        """Run the built session: with the call's models, greeted as a caller or resumed, while
        answering-machine detection is followed; what it started is cancelled when it ends."""
        if models is not None:
            session.use_models(await models)
        call_in = getattr(brain, "call_in", None)
        if caller is not None and call_in is not None:
            await call_in(caller)  # greeted as a caller; the call goes on from what the store knows
        else:
            await self._resume(lead, brain, handle.answered_by)
        if getattr(brain, "recording_declined", False):  # declined on the call this one continues
            session.record = False
        detected = getattr(self.telephony, "amd_result", None)
        amd = detected(handle) if detected is not None and caller is None else None
        watcher = (asyncio.create_task(self._follow_amd(amd, lead, handle, session, live), name="amd")
                   if amd is not None else None)
        try:
            return await session.run(), brain
        finally:
            for task in handing_over:  # the lead hung up, or the call ended, while it rang
                task.cancel()
            line_watch.cancel()
            if watcher is not None:
                watcher.cancel()

    def _line_ends(self, far_end: asyncio.Event | None) -> tuple[asyncio.Event, asyncio.Future[None]]:
        """An event set when the far end hangs up or the shutdown grace runs out (the call ends)."""
        ends = asyncio.Event()
        waits = [self._cut_off.wait(), *([far_end.wait()] if far_end is not None else [])]

        async def watch() -> None:
            pending = [asyncio.ensure_future(w) for w in waits]
            try:
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                ends.set()
            finally:
                for task in pending:
                    task.cancel()

        return ends, asyncio.ensure_future(watch())

    async def _follow_amd(self, amd: asyncio.Future[str], lead: Lead, handle: CallHandle, session: CallSession,
                          live: LiveCall) -> None:
        """Answering-machine detection reported during the call: a machine gets the voicemail."""
        handle.answered_by = await asyncio.shield(amd)
        if handle.answered_by != "machine":
            return
        live.stage = "voicemail"
        self._changed()
        await session.switch_brain(self.brain_factory(lead, "machine"), "answering machine detected")
