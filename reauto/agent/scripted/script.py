"""What the scripted brain is given and says at set points: the campaign's questions and settings
(:class:`ScriptConfig`), the lines that end a call (:data:`ENDINGS`), and the acknowledgements of an
objection to recording."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reauto.agent.handover import TransferPlan
from reauto.agent.inbound import InboundLines
from reauto.agent.scoring import DEFAULT_WEIGHTS

#: Intents that end the call: what the agent says and the call's outcome (checked in this order).
ENDINGS: Mapping[str, tuple[str, str]] = {
    "dnc": ("Understood. I've taken your number off our list and you won't hear from us again. "
            "Sorry to bother you. Goodbye.", "dnc"),
    "wrong_number": ("I'm sorry for the mix-up. I'll remove this number. Goodbye.", "bad_number"),
    "not_interested": ("No problem at all, thanks for your time. Goodbye.", "not_interested"),
    "human_request": ("Of course. I'll have one of our licensed agents call you back shortly. Goodbye.",
                      "callback"),
    "callback_request": ("Of course. Someone will call you back at a better time. Goodbye.", "callback"),
}


@dataclass(frozen=True)
class Question:
    """One qualification question and the slot it fills."""

    slot: str
    text: str


@dataclass(frozen=True)
class ScriptConfig:
    """What the scripted brain says (built from a campaign)."""

    agent_name: str
    business: str
    questions: Sequence[Question]
    disclosures: Sequence[str] = ()
    lead_first_name: str | None = None
    booking_slots: Sequence[str] = ()
    book_threshold: float = 0.5
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    callback_number: str = ""
    leave_voicemail: bool = True  # an answering machine gets the message; False: hang up
    today: date = field(default_factory=date.today)
    # real calendar slots instead of booking_slots: ``await offers() -> [spoken slot, …]`` and
    # ``await book(spoken slot) -> bool`` (False: someone took it meanwhile)
    scheduler: Any = None
    # an answer heard with less recogniser confidence than this, in which the expected slot is
    # not found, is asked again once as a bad line ([stt] min_confidence; 0: never)
    min_confidence: float = 0.0
    recorded: bool = True  # the call may be recorded (the gate's decision): what an objection is told
    transfer: TransferPlan | None = None  # a person may take the call now (on shift): when and who
    inbound: InboundLines = field(default_factory=InboundLines)  # the words to a lead who called us


#: The acknowledgement of an objection to recording (the recording has stopped when it is heard).
RECORDING_STOPPED = "Understood, I've stopped the recording. "
RECORDING_OFF = "The recording is off. "
NOT_RECORDED = "Understood, this call isn't being recorded. "
