"""A simulated lead on the far end of a :class:`PhoneLine`.

The lead speaks with a flite voice through the same 8 kHz μ-law path a phone call takes, paced
by a 20 ms clock. It decides what to say from the agent's words (the system under test only
ever hears the lead's audio): it answers the slot the agent asked about from its persona, can
interrupt, say "do not call", ask whether it is talking to a robot, or be a voicemail box.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reauto.audio.codec import PHONE_FRAME_BYTES, PHONE_RATE, pcm_to_phone, read_wav
from reauto.audio.line import ULAW_SILENCE, LineClock, PhoneLine
from reauto.errors import UsageError

#: Words in the agent's question → the slot it asks about (first match wins).
SLOT_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("booking", ("does", "work for you", "would you prefer", "which time", "or would")),
    ("preapproved", ("pre-approved", "pre approved", "preapproved", "mortgage", "financing", "lender")),
    ("budget_usd", ("budget", "price range", "afford", "spend")),
    ("timeline_months", ("when", "how soon", "timeline", "timeframe", "time frame")),
    ("intent", ("buy", "sell", "rent", "looking to")),
    ("location", ("where", "area", "neighborhood", "city")),
    ("property_type", ("type of", "kind of", "house or", "condo")),
    ("motivation", ("why", "what's prompting", "reason", "motivat")),
    ("callback_time", ("better time", "call you back", "good time")),
)
GOODBYE = ("goodbye", "good bye", "have a great day", "have a wonderful day", "take care")


@dataclass(frozen=True)
class LeadScript:
    """How a simulated lead behaves (built from a campaign's sim persona)."""

    name: str
    answers: Mapping[str, str] = field(default_factory=dict)
    voice: str = "rms"
    interrupts: bool = False
    says_dnc: bool = False
    asks_robot: bool = False
    asks_human: bool = False  # asks for a person at the first question after the greeting
    voicemail: bool = False
    answer_delay_s: float = 0.4
    reaction_s: float = 0.35


@dataclass
class LeadReport:
    """What the simulated lead experienced."""

    said: list[str] = field(default_factory=list)
    heard_texts: list[str] = field(default_factory=list)
    hello_to_first_audio_ms: float | None = None
    interrupted_agent: bool = False
    hung_up_by: str = ""
    seconds: float = 0.0  # from picking up to hanging up, on the simulated clock


def asked_slot(text: str) -> str | None:
    """Which slot an agent utterance asks about, by its words."""
    lowered = text.lower()
    question = lowered.split("?")[0] if "?" in lowered else lowered
    for slot, cues in SLOT_CUES:
        if any(cue in question for cue in cues):
            return slot
    return None


_SPOKEN: dict[tuple[str, str], list[bytes]] = {}
_SPOKEN_MAX = 512
_SPEAKING: dict[tuple[str, str], asyncio.Task[list[bytes]]] = {}  # syntheses under way


async def flite_packets(text: str, voice: str) -> list[bytes]:
    """Speak ``text`` with flite and return 20 ms μ-law packets at 8 kHz (cached per voice).

    Leads that say the same words at the same time (every call's "Hello?") share one flite run:
    the same audio, one process instead of one per call.
    """
    key = (voice, text)
    if key in _SPOKEN:
        return _SPOKEN[key]
    loop = asyncio.get_running_loop()
    task = _SPEAKING.get(key)
    if task is None or task.get_loop() is not loop:
        task = _SPEAKING[key] = loop.create_task(_flite_packets(text, voice))
        task.add_done_callback(lambda done: _SPEAKING.pop(key, None) if _SPEAKING.get(key) is done else None)
    packets = await asyncio.shield(task)
    if len(_SPOKEN) >= _SPOKEN_MAX:
        _SPOKEN.pop(next(iter(_SPOKEN)))
    _SPOKEN[key] = packets
    return packets


async def _flite_packets(text: str, voice: str) -> list[bytes]:
    if shutil.which("flite") is None:
        raise UsageError("the simulated lead needs flite: apt-get install flite")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        proc = await asyncio.create_subprocess_exec(
            "flite", "-voice", voice, "-t", text, "-o", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise UsageError(f"flite failed for voice {voice!r}: {err.decode(errors='replace').strip()}")
        audio = read_wav(out)
    ulaw = pcm_to_phone(audio.pcm, audio.rate)
    return [ulaw[i : i + PHONE_FRAME_BYTES].ljust(PHONE_FRAME_BYTES, b"\xff") for i in range(0, len(ulaw), PHONE_FRAME_BYTES)]


def beep_packets(seconds: float = 0.5, hz: float = 1000.0) -> list[bytes]:
    """A voicemail beep, as μ-law packets."""
    t = np.arange(int(PHONE_RATE * seconds)) / PHONE_RATE
    pcm = (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16).tobytes()
    ulaw = pcm_to_phone(pcm, PHONE_RATE)
    return [ulaw[i : i + PHONE_FRAME_BYTES].ljust(PHONE_FRAME_BYTES, b"\xff") for i in range(0, len(ulaw), PHONE_FRAME_BYTES)]


class SimulatedLead:
    """Plays one lead's side of a call on a :class:`PhoneLine`."""

    #: Silence after which the lead speaks even though the agent's reply seems unfinished.
    GIVE_UP_QUIET_S = 3.0

    def __init__(self, script: LeadScript, line: PhoneLine, *, clock: LineClock | None = None, max_s: float = 240.0,
                 calling: bool = False) -> None:
        self.script = script
        self.calling = calling  # the lead placed the call: they wait for the agent to speak first
        self.line = line
        self.clock = clock or LineClock(line.speed)
        self.max_ticks = int(max_s / 0.02)
        self.report = LeadReport()
        self._ticks = 0
        self._read = 0  # agent texts already reacted to
        self._robot_asked = False
        self._dnc_said = False
        self._human_asked = False

    async def run(self) -> LeadReport:
        """Answer, talk until either side hangs up, then return what happened."""
        try:
            if not self.calling:
                await self._silence(self.script.answer_delay_s)
            if self.script.voicemail and not self.calling:
                await self._voicemail()
            else:
                await self._converse()
        finally:
            if not self.line.hung_up.is_set():
                self.report.hung_up_by = self.report.hung_up_by or "lead"
                self.line.hang_up()
            elif not self.report.hung_up_by:
                self.report.hung_up_by = "agent"
        return self.report

    # --- behaviours ---------------------------------------------------------
    async def _converse(self) -> None:
        if not self.calling:  # a caller hears the agent's greeting first
            await self._say("Hello?")
        hello_end = self._ticks
        if not await self._wait_for_agent_audio():
            return
        self.report.hello_to_first_audio_ms = (self._ticks - hello_end) * 20.0
        while not self._over():
            finished = await self._listen_until_agent_done()
            if not finished:
                return
            text = " ".join(self.line.agent_texts[self._read :])
            self._read = len(self.line.agent_texts)
            self.report.heard_texts.append(text)
            if any(g in text.lower() for g in GOODBYE):
                await self._silence(0.3)
                await self._say("Okay, bye.")
                await self._silence(3.0)  # the agent hangs up
                return
            await self._silence(self.script.reaction_s)
            await self._say(self._answer(text))

    async def _voicemail(self) -> None:
        await self._say(f"Hi, you've reached {self.script.name}. I can't take your call right now. "
                        "Please leave a message after the tone.")
        for packet in beep_packets():
            await self._tick(packet)
        await self._silence(45.0)  # the message is recorded until the agent hangs up

    def _answer(self, agent_text: str) -> str:
        script = self.script
        if script.says_dnc and not self._dnc_said:
            self._dnc_said = True
            return "Please do not call me again. Take me off your list."
        if script.asks_robot and not self._robot_asked:
            self._robot_asked = True
            return "Wait, are you a robot?"
        slot = asked_slot(agent_text)
        if script.asks_human and not self._human_asked and slot is not None:
            self._human_asked = True
            return "Can I talk to a real person please?"
        if slot == "booking":
            return script.answers.get("booking", "The first one works for me.")
        if slot is not None and slot in script.answers:
            return script.answers[slot]
        if re.search(r"\b(is this|am i speaking|are you)\b.*\?", agent_text.lower()):
            return "Yes, this is " + script.name.split()[0] + "."
        return script.answers.get("default", "Okay.")

    # --- line mechanics -----------------------------------------------------
    async def _say(self, text: str) -> None:
        packets = await flite_packets(text, self.script.voice)
        self.report.said.append(text)
        for packet in packets:
            if self.line.hung_up.is_set():
                return
            await self._tick(packet)

    async def _tick(self, mic: bytes = ULAW_SILENCE) -> None:
        await self.clock.wait_tick()
        self.line.tick(mic)
        self._ticks += 1
        self.report.seconds = round(self._ticks * 0.02, 2)

    async def _silence(self, seconds: float) -> None:
        for _ in range(int(seconds / 0.02)):
            if self.line.hung_up.is_set():
                return
            await self._tick()

    def _over(self) -> bool:
        return self.line.hung_up.is_set() or self._ticks >= self.max_ticks

    async def _wait_for_agent_audio(self, limit_s: float = 15.0) -> bool:
        for _ in range(int(limit_s / 0.02)):
            if self._over():
                return False
            await self._tick()
            if self.line.agent_speaking:
                return True
        return False

    def _replies_played(self) -> bool:
        """Whether every reply with words has played to its end (its mark came back)."""
        return len(self.line.marks_played) >= sum(1 for t in self.line.agent_texts if t)

    async def _listen_until_agent_done(self, quiet_s: float = 0.5, limit_s: float = 30.0) -> bool:
        """Tick until the agent has finished its reply and then been quiet for ``quiet_s``.

        A person hears when a sentence is over; the simulated lead knows it from the reply's
        mark (so a pause between two sentences is not taken for the end). Without a mark it
        answers after :attr:`GIVE_UP_QUIET_S` of silence.
        """
        quiet, spoke, interrupted = 0, False, False
        for _ in range(int(limit_s / 0.02)):
            if self._over():
                return False
            if (self.script.interrupts and not self.report.interrupted_agent and spoke
                    and self.line.queued_ms > 1500 and len(self.line.agent_texts) > 1):
                # talk over a long agent utterance (not the opening), once
                self.report.interrupted_agent = interrupted = True
                await self._say(self.script.answers.get("interruption", "Sorry, sorry, can I ask something?"))
            await self._tick()
            if self.line.agent_speaking:
                spoke, quiet = True, 0
            else:
                quiet += 1
            if (spoke or interrupted) and len(self.line.agent_texts) > self._read and (
                    quiet * 0.02 >= self.GIVE_UP_QUIET_S or (quiet * 0.02 >= quiet_s and self._replies_played())):
                return True
        return not self._over()
