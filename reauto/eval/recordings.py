"""The recordings directory that ``reauto eval`` reads and ``reauto calls export-recordings`` writes.

::

    recordings/
      <call name>/
        call.yaml   # reference transcript and labels
        lead.wav    # the lead's side, mono: 8 kHz μ-law, or 16-bit PCM at 8 or 16 kHz
        agent.wav   # optional: the agent's side

A broken call (unreadable YAML, a wrong label type, a missing or stereo WAV, a turn past the
end of the audio) is reported with its name and reason; the other calls are still evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from reauto.audio.codec import SAMPLE_RATE, SAMPLE_WIDTH, read_wav, to_internal
from reauto.errors import UsageError
from reauto.yamlcheck import validate_yaml

CALL_FILE = "call.yaml"
LEAD_WAV = "lead.wav"
AGENT_WAV = "agent.wav"
#: Sample rates a recording's lead side may have (telephony 8 kHz, or reauto's internal 16 kHz).
RATES = (8_000, 16_000)
OUTCOMES = ("booked", "callback", "not_interested", "dnc", "voicemail", "no_answer", "bad_number", "transferred")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadInfo(_Model):
    """Who was called (used for the agent's greeting)."""

    name: str | None = None
    phone: str | None = None
    state: str | None = None


class TurnSpec(_Model):
    """One turn of the reference transcript; lead turns may carry their times in lead.wav."""

    speaker: Literal["lead", "agent"]
    text: str
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _times(self) -> TurnSpec:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither (the VAD finds the turn)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must come after start ({self.start})")
        return self


class Labels(_Model):
    """What the call should have concluded (any subset)."""

    intent: Literal["buy", "sell", "rent", "unknown"] | None = None
    timeline_months: float | None = Field(None, ge=0)
    budget_usd: float | None = Field(None, gt=0)
    preapproved: StrictBool | None = None
    outcome: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    #: the post-call analysis (reauto.dialer.postcall): the lead's sentiment, what they objected to
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    objections: list[str] | None = None

    def slots(self) -> dict[str, object]:
        """The labelled slots (outcome and analysis excluded), only those given."""
        return {k: v for k, v in self.model_dump(exclude=NOT_SLOTS).items() if v is not None}


#: Labels that are not slots.
NOT_SLOTS = frozenset({"outcome", "sentiment", "objections"})
#: The slots a call may be labelled with.
LABELLED_SLOTS = tuple(name for name in Labels.model_fields if name not in NOT_SLOTS)


class CallSpec(_Model):
    """A ``call.yaml``, validated."""

    campaign: str | None = None
    #: the day of the call: the agent judges relative answers ("next spring", "in march") from it
    date: dt.date | None = None
    lead: LeadInfo = Field(default_factory=LeadInfo)  # type: ignore[arg-type]
    answered_by: Literal["human", "machine"] = "human"
    turns: list[TurnSpec] = Field(min_length=1)
    labels: Labels = Field(default_factory=Labels)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _lead_turns(self) -> CallSpec:
        lead = [t for t in self.turns if t.speaker == "lead"]
        if not lead:
            raise ValueError("turns: at least one lead turn is needed")
        timed = [t.start is not None for t in lead]
        if any(timed) and not all(timed):
            raise ValueError("turns: give start and end for every lead turn, or for none (the VAD finds them)")
        starts = [t.start for t in lead if t.start is not None]
        if starts != sorted(starts):
            raise ValueError("turns: lead turns must be in time order")
        return self


@dataclass(frozen=True)
class LeadTurn:
    """One lead turn: its reference text and where it is in the lead's audio (seconds)."""

    text: str
    start: float | None
    end: float | None


@dataclass
class RecordedCall:
    """One call of an evaluation set, loaded."""

    name: str
    path: Path
    spec: CallSpec
    pcm: bytes  # the lead's side, 16 kHz PCM16 mono
    lead_turns: list[LeadTurn] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / SAMPLE_RATE

    @property
    def timed(self) -> bool:
        return all(t.start is not None for t in self.lead_turns)

    def segment(self, start: float, end: float) -> bytes:
        """The lead's audio between two instants (16 kHz PCM16)."""
        a = int(start * SAMPLE_RATE) * SAMPLE_WIDTH
        b = int(end * SAMPLE_RATE) * SAMPLE_WIDTH
        return self.pcm[a:b]


@dataclass(frozen=True)
class CallProblem:
    """A call that cannot be evaluated, and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def load_call(directory: Path) -> RecordedCall:
    """One call directory, checked.

    Raises:
        UsageError: naming the file and the reason (several YAML problems on separate lines).
    """
    try:
        spec, problems = validate_yaml(directory / CALL_FILE, CallSpec, "call settings")
    except ValueError as exc:  # the YAML loader builds dates itself, and a 13th month raises
        raise UsageError(f"{directory / CALL_FILE}: {exc} (dates are YYYY-MM-DD)") from None
    if spec is None:
        raise UsageError("; ".join(str(p) for p in problems))
    wav = directory / LEAD_WAV
    if not wav.exists():
        raise UsageError(f"{wav}: missing (the lead's side of the call is needed)")
    audio = read_wav(wav)
    if audio.rate not in RATES:
        raise UsageError(f"{wav}: sample rate {audio.rate} Hz; lead.wav must be 8 kHz μ-law or 16-bit PCM "
                         "at 8 or 16 kHz")
    call = RecordedCall(directory.name, directory, spec, to_internal(audio.pcm, audio.rate))
    call.lead_turns = [LeadTurn(t.text, t.start, t.end) for t in spec.turns if t.speaker == "lead"]
    for i, turn in enumerate(call.lead_turns, 1):
        if turn.end is not None and turn.end > call.seconds + 0.05:
            raise UsageError(f"{directory / CALL_FILE}: lead turn {i} ends at {turn.end:.2f} s but {LEAD_WAV} "
                             f"is {call.seconds:.2f} s long")
    return call


def call_dirs(root: Path) -> list[Path]:
    """The call directories under ``root`` (any subdirectory with a call.yaml or a lead.wav)."""
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory of recorded calls")
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and ((d / CALL_FILE).exists() or (d / LEAD_WAV).exists()))
    if not dirs:
        raise UsageError(f"{root}: no recorded calls (each call is a directory with {CALL_FILE} and {LEAD_WAV})")
    return dirs


def load_set(root: Path, only: Sequence[str] = ()) -> tuple[list[RecordedCall], list[CallProblem]]:
    """Every call under ``root`` that loads, and the problems of those that do not."""
    calls: list[RecordedCall] = []
    problems: list[CallProblem] = []
    for directory in call_dirs(root):
        if only and directory.name not in only:
            continue
        try:
            calls.append(load_call(directory))
        except UsageError as exc:
            problems.append(CallProblem(directory.name, exc.message))
    return calls, problems
