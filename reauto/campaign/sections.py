"""A campaign file's sections about the call itself: persona, questions, slots, booking, calling
window, retries and the simulated personas."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


#: Scoring inputs that are protected classes or their proxies (fair housing): never allowed.
PROTECTED = frozenset({
    "zip", "zip_code", "postal_code", "name", "first_name", "last_name", "language", "age", "race",
    "ethnicity", "religion", "sex", "gender", "familial_status", "children", "national_origin",
    "disability", "marital_status", "neighborhood_demographics",
})
SLOT_TYPES = Literal["enum", "int", "money", "months", "bool", "text"]


class Section(BaseModel):
    """Base of every campaign section: an unknown key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class CallingWindow(Section):
    """Campaign's own calling hours in the lead's local time (the law's window still applies)."""

    start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field("20:00", pattern=r"^\d{2}:\d{2}$")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    holidays: Literal["us_federal", "none"] = "us_federal"


class Retry(Section):
    """Attempt cap and when to try again after each unanswered result (minutes)."""

    max_attempts: int = Field(3, ge=1, le=20)
    no_answer_min: int = Field(240, ge=1)
    busy_min: int = Field(30, ge=1)
    voicemail_min: int = Field(1440, ge=1)
    dropped_min: int = Field(
        2, ge=0, description="Minutes before calling back a lead whose call the network cut off mid-conversation "
                             "(the call-back resumes it).")


class Persona(Section):
    """The agent's persona and the business it speaks for."""

    agent_name: str = "Ava"
    business: str
    callback_number: str = ""


class Question(Section):
    slot: str
    text: str


class Slot(Section):
    name: str
    type: SLOT_TYPES
    values: list[str] = Field(default_factory=list)


class Booking(Section):
    """Appointments with the human agent: fixed offers, or real free slots of the agent's calendar."""

    calendar: str = Field("default", description="The human agent's calendar (no double booking within it).")
    slot_minutes: int = Field(30, ge=5, le=240, description="Length of an appointment.")
    timezone: str = Field("America/Chicago", description="The calendar's time zone (hours below are in it).")
    offers: list[str] = Field(
        default_factory=list, description="Fixed slots offered as spoken (\"Tuesday at 10 AM\"); empty with hours set: "
                                          "two real free slots are offered and booked.")
    book_threshold: float = Field(0.5, ge=0, le=1, description="Lowest score offered an appointment.")
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] = Field(
        default_factory=dict, description="Weekly availability, e.g. {mon: [\"09:00-12:00\", \"13:00-17:00\"]}.")
    blackout_dates: list[date] = Field(default_factory=list, description="Days with no appointments.")
    buffer_minutes: int = Field(15, ge=0, le=240, description="Free time kept around every busy period.")
    min_notice_minutes: int = Field(120, ge=0, description="Earliest appointment after now.")
    horizon_days: int = Field(14, ge=1, le=90, description="Latest appointment, days ahead.")
    busy_calendar: str = Field(
        "", description="The agent's own calendar as an iCalendar feed (file path or http(s) URL): its events "
                        "are busy time, recurring ones included.")
    meeting_link: str = Field(
        "", description="Link template for the meeting, e.g. https://meet.example.com/{calendar}/{appointment_id}.")
    confirm: Literal["sms", "email", "none"] = Field(
        "sms", description="Confirmation of a booking: a text (when consent covers texts, else an email "
                           "with the invite), an email with the invite, or none.")

    @field_validator("hours")
    @classmethod
    def _spans(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        import re

        for day, spans in hours.items():
            for span in spans:
                found = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", span)
                if found is None or not (int(found[1]) < 24 and int(found[2]) < 60 and int(found[4]) < 60
                                         and (int(found[3]) < 24 or span[6:] == "24:00")) \
                        or span[:5] >= span[6:]:
                    raise ValueError(f"{day}: {span!r} is not a span like 09:00-17:00")
        return hours

    @field_validator("timezone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (e.g. America/Chicago)") from None
        return zone


class LlmOptions(Section):
    """How this campaign's replies run on Ollama (``llm.brain = ollama``); unset keys keep ``[llm]``'s."""

    model: str | None = Field(None, min_length=1, description="Ollama model for this campaign's replies.")
    num_ctx: int | None = Field(None, ge=256, description="Context window in tokens.")
    num_gpu: int | None = Field(
        None, ge=0, description="Model layers Ollama puts on the GPU (0: the CPU only; unset: as many as fit).")
    main_gpu: int | None = Field(None, ge=0, description="The GPU that holds the model when it fits on one.")
    keep_alive: str | None = Field(
        None, pattern=r"^(-1|0|\d+(\.\d+)?(ms|s|m|h))$",
        description="How long Ollama keeps the model loaded after a reply (e.g. 10m, 1h; -1: always).")

    def options(self) -> dict[str, int]:
        """The Ollama ``options`` this campaign sets (those left unset are not sent)."""
        return {k: v for k, v in {"num_ctx": self.num_ctx, "num_gpu": self.num_gpu,
                                   "main_gpu": self.main_gpu}.items() if v is not None}


class SimPersona(Section):
    """A simulated lead for offline runs."""

    name: str
    phone: str
    state: str | None = None
    answers: dict[str, str] = Field(default_factory=dict)
    temperament: Literal["cooperative", "busy", "skeptical", "hostile"] = "cooperative"
    interrupts: bool = False
    says_dnc: bool = False
    asks_robot: bool = False
    asks_human: bool = False
    voicemail: bool = False
    voice: Literal["kal", "kal16", "awb", "rms", "slt"] = "rms"

