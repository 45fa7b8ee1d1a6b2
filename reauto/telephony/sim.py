"""Simulated telephony: every call reaches a simulated lead over a :class:`PhoneLine`.

The far end is played by :class:`SimulatedLead` from the campaign's personas (matched by phone
number, or the default persona). The provider answers like Twilio with asynchronous
answering-machine detection would: ``human`` or ``machine``, and ``no-answer`` / ``busy`` for
personas that never pick up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from reauto.sim.lead import LeadReport, LeadScript, SimulatedLead
from reauto.telephony.base import CallHandle, Telephony
from reauto.voice.line import PhoneLine
from reauto.voice.transport_sim import SimTransport


class SimTelephony(Telephony):
    """Places calls to simulated leads.

    Args:
        personas: lead scripts by E.164 number.
        default: the script for numbers without a persona.
        speed: clock speed of the simulated leads (1.0 = real time).
        max_call_s: the simulated lead hangs up after this long.
        ring_s: how long the phone rings before the lead picks up (simulated clock).
    """

    name: ClassVar[str] = "sim"

    def __init__(
        self,
        personas: Mapping[str, LeadScript] | None = None,
        *,
        default: LeadScript | None = None,
        speed: float = 1.0,
        max_call_s: float = 240.0,
        ring_s: float = 3.0,
    ) -> None:
        self.personas = dict(personas or {})
        self.default = default or LeadScript(name="Alex Lead")
        self.speed = speed
        self.max_call_s = max_call_s
        self.ring_s = ring_s
        self.texts: list[dict[str, str]] = []  # what the simulated leads' phones received
        self._tasks: dict[str, asyncio.Task[LeadReport]] = {}

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

    async def send_sms(self, *, to: str, from_: str, body: str) -> str:
        sid = f"SMsim{len(self.texts) + 1:08d}"
        self.texts.append({"sid": sid, "to": to, "from": from_, "body": body})
        return sid

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
