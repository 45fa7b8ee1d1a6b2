"""Simulated telephony: every call reaches a simulated lead over a :class:`PhoneLine`.

The far end is played by :class:`SimulatedLead` from the campaign's personas (matched by phone
number, or the default persona). The provider answers like Twilio with asynchronous
answering-machine detection would: ``human`` or ``machine``, and ``no-answer`` / ``busy`` for
personas that never pick up. A transfer reaches a simulated person (:class:`HumanAgent`) who
answers, declines or lets it ring; once bridged, they talk with the lead and then hang up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from reauto.audio.line import PhoneLine
from reauto.sim.lead import LeadReport, LeadScript, SimulatedLead
from reauto.telephony.base import Answerer, CallHandle, IncomingCall, Lines, Pickup, Telephony, TransferResult
from reauto.voice.transport_sim import SimTransport

if TYPE_CHECKING:
    from reauto.config import Settings


#: How fast a whisper is spoken to the person (words per second, as the agent voices).
WHISPER_WORDS_PER_S = 2.6


@dataclass(frozen=True)
class HumanAgent:
    """A simulated person who takes transfers.

    Attributes:
        answers: ``answers``, ``declines`` (after ringing), ``no_answer`` or ``busy``.
        ring_s: how long their phone rings before they pick up or decline (simulated clock).
        talk_s: how long they talk with the lead once bridged, then hang up.
    """

    answers: Literal["answers", "declines", "no_answer", "busy"] = "answers"
    ring_s: float = 1.0
    talk_s: float = 20.0


class SimTelephony(Telephony):
    """Places calls to simulated leads.

    Args:
        personas: lead scripts by E.164 number.
        default: the script for numbers without a persona.
        speed: clock speed of the simulated leads (1.0 = real time).
        max_call_s: the simulated lead hangs up after this long.
        ring_s: how long the phone rings before the lead picks up (simulated clock).
        human_agents: the people transfers reach, by number (others get ``default_human``).
    """

    name: ClassVar[str] = "sim"

    @classmethod
    def from_settings(cls, settings: Settings, lines: Lines) -> SimTelephony:
        """The simulated leads and people of the dial run, at its speed."""
        return cls(lines.personas, speed=lines.speed, human_agents=lines.human_agents)

    def __init__(
        self,
        personas: Mapping[str, LeadScript] | None = None,
        *,
        default: LeadScript | None = None,
        speed: float = 1.0,
        max_call_s: float = 240.0,
        ring_s: float = 3.0,
        human_agents: Mapping[str, HumanAgent] | None = None,
        default_human: HumanAgent | None = None,
    ) -> None:
        self.personas = dict(personas or {})
        self.default = default or LeadScript(name="Alex Lead")
        self.speed = speed
        self.max_call_s = max_call_s
        self.ring_s = ring_s
        self.texts: list[dict[str, str]] = []  # what the simulated leads' phones received
        self.human_agents = dict(human_agents or {})
        self.default_human = default_human or HumanAgent()
        self.whispers: list[dict[str, str]] = []  # what the people heard before a lead was put through
        self._bridges: dict[str, asyncio.Task[None]] = {}
        self._tasks: dict[str, asyncio.Task[LeadReport]] = {}
        self.answerer: Answerer | None = None  # the dialer serving the campaign takes calls leads place
        self._callers: dict[str, LeadScript] = {}  # incoming calls being picked up: who is calling

    def script_for(self, number: str) -> LeadScript:
        return self.personas.get(number, self.default)

    async def place_call(self, *, to: str, caller_id: str, call_ref: str, **options: Any) -> CallHandle:
        script = self.script_for(to)
        sid = f"SIM{uuid.uuid4().hex}"  # unique across runs, like Twilio's CA… call SIDs
        unanswered = script.answers.get("_unanswered")
        if unanswered in {"busy", "failed"}:  # a busy signal or a failure comes back at once
            return CallHandle(sid=sid, status=unanswered)
        await asyncio.sleep(self.ring_s / self.speed)  # ringing
        if unanswered == "no-answer":  # it rang out
            return CallHandle(sid=sid, status=unanswered)
        line = PhoneLine(speed=self.speed)
        lead = SimulatedLead(script, line, max_s=self.max_call_s)
        self._tasks[sid] = asyncio.create_task(lead.run(), name=f"sim-lead-{sid}")
        return CallHandle(
            sid=sid,
            answered_by="machine" if script.voicemail else "human",
            transport=SimTransport(line),
            far_end=line,
            on_agent_text=line.say_text,
            details={"persona": script.name},
        )

    async def call_in(self, caller: str, called: str, *, script: LeadScript | None = None) -> Pickup:
        """A simulated lead (``script``, else the persona of ``caller``) calls ``called``: the dialer
        serving the campaign decides how the call is taken; when it takes it, the lead talks to the
        agent (the call runs on the dialer). Without a dialer the call rings out (``Pickup()``)."""
        if self.answerer is None:
            return Pickup()
        call = IncomingCall(f"SIM{uuid.uuid4().hex}", caller, called)
        self._callers[call.sid] = script or self.script_for(caller)
        pickup = await self.answerer(call)
        if pickup.call_ref is None:
            self._callers.pop(call.sid, None)
        return pickup

    async def answer(self, call: IncomingCall, call_ref: str) -> CallHandle:
        script = self._callers.pop(call.sid, None) or self.script_for(call.caller)
        line = PhoneLine(speed=self.speed)
        lead = SimulatedLead(script, line, max_s=self.max_call_s, calling=True)
        self._tasks[call.sid] = asyncio.create_task(lead.run(), name=f"sim-caller-{call.sid}")
        return CallHandle(sid=call.sid, answered_by="human", transport=SimTransport(line), far_end=line,
                          on_agent_text=line.say_text, details={"persona": script.name})

    async def hang_up(self, handle: CallHandle) -> None:
        line: PhoneLine | None = handle.far_end
        if line is not None and not line.hung_up.is_set():
            line.hang_up()

    async def finished(self, handle: CallHandle) -> dict[str, Any]:
        task = self._tasks.pop(handle.sid, None)
        if task is None:
            return {}
        report = await task
        line: PhoneLine = handle.far_end
        return {
            "lead_said": report.said,
            "hello_to_first_audio_ms": report.hello_to_first_audio_ms,
            "interrupted_agent": report.interrupted_agent,
            "hung_up_by": report.hung_up_by,
            "underruns": line.stats.underruns,
            "clears": line.stats.clears,
            "duration_s": report.seconds,  # simulated time from answer to hang-up (billed time)
        }

    async def transfer(self, handle: CallHandle, *, to: str, caller_id: str, whisper: str, mode: str = "warm",
                       timeout_s: float = 20.0) -> TransferResult:
        person = self.human_agents.get(to, self.default_human)
        line: PhoneLine | None = handle.far_end
        loop = asyncio.get_running_loop()
        started = loop.time()
        sid = f"SIM{uuid.uuid4().hex}"

        def since() -> float:
            return round((loop.time() - started) * self.speed, 3)

        if person.answers == "busy":
            return TransferResult("busy", to, mode, sid=sid, reason="the person's line is busy")
        rings = timeout_s if person.answers == "no_answer" else min(person.ring_s, timeout_s)
        if not await self._wait(line, rings):
            return TransferResult("failed", to, mode, sid=sid, reason="the lead hung up while it rang")
        if person.answers == "no_answer" or person.ring_s > timeout_s:
            return TransferResult("no-answer", to, mode, sid=sid, reason=f"no answer in {timeout_s:g} s")
        if person.answers == "declines":
            return TransferResult("declined", to, mode, answered_s=None, sid=sid, reason="the person declined")
        answered = since()
        if mode == "warm":  # the whisper is played to the person only, then the legs are joined
            self.whispers.append({"to": to, "text": whisper, "call": handle.sid})
            if not await self._wait(line, len(whisper.split()) / WHISPER_WORDS_PER_S):
                return TransferResult("failed", to, mode, answered_s=answered, sid=sid,
                                      reason="the lead hung up during the whisper")
        handle.details["transfer_leg_s"] = since() + person.talk_s
        if line is not None:
            self._bridges[handle.sid] = asyncio.create_task(self._talk(line, person.talk_s),
                                                            name=f"sim-bridge-{handle.sid}")
        return TransferResult("bridged", to, mode, answered_s=answered, bridged_s=since(), sid=sid)

    async def _wait(self, line: PhoneLine | None, seconds: float) -> bool:
        """Wait ``seconds`` of simulated time; False if the lead hung up meanwhile."""
        if line is None:
            await asyncio.sleep(seconds / self.speed)
            return True
        try:
            await asyncio.wait_for(asyncio.shield(line.hung_up.wait()), seconds / self.speed)
        except TimeoutError:
            return True
        return False

    async def _talk(self, line: PhoneLine, seconds: float) -> None:
        """The person and the lead talk; then the person hangs up (the call ends)."""
        if await self._wait(line, seconds) and not line.hung_up.is_set():
            line.hang_up()

    async def send_sms(self, *, to: str, from_: str, body: str) -> str:
        sid = f"SMsim{len(self.texts) + 1:08d}"
        self.texts.append({"sid": sid, "to": to, "from": from_, "body": body})
        return sid

    async def close(self) -> None:
        for task in (*self._tasks.values(), *self._bridges.values()):
            task.cancel()
        self._tasks.clear()
        self._bridges.clear()
