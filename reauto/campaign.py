"""Campaign files: ``campaigns/*.yaml`` validated into typed models, errors with file:line:column.

Every problem in a file is reported at once, each as ``file:line:column: field: expected …``,
by mapping pydantic's error locations back to the YAML nodes they came from.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reauto.errors import ConfigError
from reauto.yamlcheck import Problem, validate_yaml

__all__ = ["Campaign", "Problem", "load_campaign", "validate_campaign"]

#: Scoring inputs that are protected classes or their proxies (fair housing): never allowed.
PROTECTED = frozenset({
    "zip", "zip_code", "postal_code", "name", "first_name", "last_name", "language", "age", "race",
    "ethnicity", "religion", "sex", "gender", "familial_status", "children", "national_origin",
    "disability", "marital_status", "neighborhood_demographics",
})
SLOT_TYPES = Literal["enum", "int", "money", "months", "bool", "text"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallingWindow(_Model):
    """Campaign's own calling hours in the lead's local time (the law's window still applies)."""

    start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field("20:00", pattern=r"^\d{2}:\d{2}$")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    holidays: Literal["us_federal", "none"] = "us_federal"


class Retry(_Model):
    """Attempt cap and when to try again after each unanswered result (minutes)."""

    max_attempts: int = Field(3, ge=1, le=20)
    no_answer_min: int = Field(240, ge=1)
    busy_min: int = Field(30, ge=1)
    voicemail_min: int = Field(1440, ge=1)
    dropped_min: int = Field(
        2, ge=0, description="Minutes before calling back a lead whose call the network cut off mid-conversation "
                             "(the call-back resumes it).")


class Persona(_Model):
    """The agent's persona and the business it speaks for."""

    agent_name: str = "Ava"
    business: str
    callback_number: str = ""


class Question(_Model):
    slot: str
    text: str


class Slot(_Model):
    name: str
    type: SLOT_TYPES
    values: list[str] = Field(default_factory=list)


class Booking(_Model):
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


class SimPersona(_Model):
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


#: What an SMS template may name (``{first_name}`` …); ``call_time`` only in the after-hours notice.
SMS_FIELDS = frozenset({"first_name", "agent_name", "business", "callback_number", "call_time"})
#: What an answer to an inbound text may name (it is sent before the lead is known).
ANSWER_FIELDS = frozenset({"agent_name", "business", "callback_number"})
#: What the inbound lines may use.
INBOUND_FIELDS = frozenset({"agent_name", "business", "callback_number", "first_name"})


class CadenceStep(_Model):
    """One touch of the cadence: a call or a text, some minutes after the previous step ended
    unanswered (no answer, busy or voicemail). A lead who answers leaves the cadence."""

    action: Literal["call", "sms"]
    after_min: int = Field(0, ge=0, le=60 * 24 * 60, description="Minutes after the previous step (first: 0).")
    voicemail: Literal["message", "hang_up"] | None = Field(
        None, description="Call steps: at an answering machine, leave the message (a voicemail drop) or hang "
                          "up; default: the campaign's voicemail.")
    template: str = Field("", description="Sms steps: the name of the text in sms.templates.")


class Sms(_Model):
    """Texts: each sent only when the lead's consent covers texts and the lead is not on a DNC list."""

    templates: dict[str, str] = Field(
        default_factory=dict, description="Texts by name; may use {first_name}, {agent_name}, {business}, "
                                          "{callback_number} and {call_time}; each must offer STOP to opt out.")
    after_hours_intake: str = Field(
        "", description="Template texted once to a posted lead that cannot be called yet (its {call_time}: the "
                        "first legal minute, in the lead's time); empty: no text.")
    quiet_hours: bool = Field(
        True, description="Text only inside the legal calling hours of the lead's state (federal 8:00–21:00 and "
                          "stricter states); counsel may decide an immediate reply to the lead's own request "
                          "is not a solicitation and set false.")
    opt_out_answer: str = Field(
        "", description="The one confirmation texted back to an opt-out (STOP, \"don't text me\" …); may use "
                        "{business}, {agent_name} and {callback_number}; empty: a plain confirmation that offers "
                        "START.")
    help_answer: str = Field(
        "", description="The answer to HELP or INFO; must offer STOP; empty: who is texting, the callback number "
                        "and STOP.")
    opt_in_answer: str = Field(
        "", description="The answer to START (a number that opted out by text, texts only); empty: a plain "
                        "confirmation that offers STOP and HELP.")


class Recording(_Model):
    """Which calls are recorded, what happens on the lead's objection, and how long audio is kept."""

    policy: Literal["announce", "one_party_only", "never"] = Field(
        "announce", description="announce: record every call the gate allows, announcing it; one_party_only: "
                                "record only leads in one-party-consent states (never an all-party state such as "
                                "CA, FL or PA, nor a lead whose state is unknown); never: record no call.")

    on_objection: Literal["discard", "keep_until_objection"] = Field(
        "discard", description="When the lead objects to being recorded the recording stops at once; discard: "
                               "its audio is deleted too (the transcript is kept); keep_until_objection: the audio "
                               "up to the objection is kept.")
    keep_days: int | None = Field(
        None, ge=1, le=3650, description="Days a recording's audio is kept before `reauto calls purge-recordings` "
                                         "deletes it; empty: [recording] keep_days.")


def e164(value: str) -> str:
    """A valid phone number, in E.164 (ValueError otherwise)."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"expected an E.164 number like +15125550100 ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("expected a valid E.164 number like +15125550100")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Shift(_Model):
    """When the person who takes transfers is on shift, in their own time zone."""

    timezone: str = Field("America/Chicago", description="IANA zone of the hours below.")
    start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field("18:00", pattern=r"^\d{2}:\d{2}$")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as America/Chicago)") from None
        return value

    def on(self, now: datetime) -> bool:
        """Whether ``now`` (aware) is inside the shift."""
        from zoneinfo import ZoneInfo

        local = now.astimezone(ZoneInfo(self.timezone))
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
        return day in self.days and self.start <= local.strftime("%H:%M") < self.end


class Transfer(_Model):
    """Handing the lead to a person while the call is live (warm: they hear a one-sentence summary first)."""

    to: str = Field("", description="The person's number (E.164); empty: no transfers.")
    agent_name: str = Field("one of our agents", description="How the agent names them to the lead.")
    mode: Literal["warm", "cold"] = Field(
        "warm", description="warm: the person hears a one-sentence summary (name, intent, timeline, budget, "
                            "financing) before the lead is put through; cold: a plain bridge.")
    when: list[Literal["asked", "hot"]] = Field(
        default_factory=lambda: ["asked"],
        description="asked: the lead asks for a person; hot: the lead qualifies at or above hot_score and says yes "
                    "to being connected. Only while the person is on shift.")
    hot_score: float = Field(0.8, ge=0, le=1)
    ring_timeout_s: int = Field(20, ge=5, le=60, description="Seconds the person's phone rings before the lead is "
                                                              "offered a time to meet instead.")
    shift: Shift = Field(default_factory=Shift)  # type: ignore[arg-type]
    sim_answers: Literal["answers", "declines", "no_answer", "busy"] = Field(
        "answers", description="telephony sim: what the simulated person does with a transfer.")
    sim_ring_s: float = Field(1.0, ge=0, le=60, description="telephony sim: seconds the person's phone rings.")
    sim_talk_s: float = Field(20.0, ge=0, le=3600, description="telephony sim: seconds they talk with the lead.")

    @field_validator("to")
    @classmethod
    def _number(cls, value: str) -> str:
        return e164(value) if value.strip() else ""


class CallerIds(_Model):
    """Numbers to call from: each call uses the pool's number local to the lead, within caps."""

    pool: list[str] = Field(
        default_factory=list, max_length=500,
        description="More numbers to call from besides caller_id (E.164); a call uses the one with the lead's area "
                    "code, else one in the lead's state, else the least used. Answer calls and texts to all of them.")
    per_hour: int | None = Field(None, ge=1, description="Calls a number may place per hour; empty: no cap.")
    per_day: int | None = Field(None, ge=1, description="Calls a number may place per day; empty: no cap.")
    min_spacing_s: float = Field(0.0, ge=0, le=3600, description="Seconds between two calls from one number.")
    rest_below: float = Field(
        0.5, ge=0, le=1, description="A number whose answer rate falls under this share of its pool's is rested "
                                    "(0: never).")
    rest_after_calls: int = Field(30, ge=5, le=10_000, description="Calls a number's answer rate is judged on.")
    rest_hours: float = Field(24.0, gt=0, le=24 * 30, description="How long a rested number stays unused.")

    @field_validator("pool")
    @classmethod
    def _numbers(cls, numbers: list[str]) -> list[str]:
        return [e164(n) for n in numbers]

    def active(self) -> bool:
        """Whether the pool logic applies (more than one number, or a cap)."""
        return bool(self.pool) or self.per_hour is not None or self.per_day is not None or self.min_spacing_s > 0


class Inbound(_Model):
    """Calls a lead places to the campaign's number (its caller_id): the agent answers them."""

    answer: bool = Field(True, description="Answer calls to caller_id with the agent; false: such calls hear "
                                           "`unavailable` and are called back.")
    greeting: str = Field(
        "Thanks for calling {business}. This is {agent_name}, an AI assistant.",
        description="The first words to a caller (a known lead is then greeted by name and the call goes on from "
                    "what they said last time); may use {business}, {agent_name} and {first_name}.")
    opted_out: str = Field(
        "Thanks for calling {business}. This number is on our do-not-call list, so we won't call or text you. "
        "If you'd like to hear from us again, reply START to one of our texts, or ask one of our agents to add "
        "you back with your written consent. Goodbye.",
        description="What a caller whose number opted out hears (then the call ends): that they are opted out "
                    "and how to opt back in.")
    unavailable: str = Field(
        "Thanks for calling {business}. We can't take your call right now, so one of our team will call you "
        "back shortly. Goodbye.",
        description="What a caller hears when no agent can take the call (no dialer serving the campaign, every "
                    "slot busy, the budget spent); a known lead is then due for a call back.")


class Variant(_Model):
    """An A/B prompt variant: leads are split by weight, each keeping its variant on every call."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    weight: float = Field(1.0, gt=0)
    prompt: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.txt$",
        description="Prompt template in the prompts directory for this variant (default agent.txt; the ollama brain).")


class Campaign(_Model):
    """A campaign file, validated."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    caller_id: str
    telephony: Literal["sim", "twilio"] = "sim"
    calling_window: CallingWindow = Field(default_factory=CallingWindow)  # type: ignore[arg-type]
    retry: Retry = Field(default_factory=Retry)  # type: ignore[arg-type]
    concurrency: int = Field(4, ge=1, le=500)
    hot_lane: int = Field(
        0, ge=0, le=499,
        description="Call slots kept free for leads that just arrived (posted to /v1/leads, a form, a CRM webhook) "
                    "and were never called: the backlog never takes them, so a fresh lead is dialed the moment "
                    "it arrives. Taken from --concurrency and from what admission control allows; the backlog "
                    "keeps at least one slot. When the lane is full, fresh leads take the next free slot ahead "
                    "of the backlog.")
    persona: Persona
    disclosure: str = ""
    questions: list[Question] = Field(min_length=1)
    slots: list[Slot] = Field(default_factory=list)
    scoring: dict[str, float] = Field(default_factory=dict)
    booking: Booking = Field(default_factory=Booking)  # type: ignore[arg-type]
    tts_tier: Literal["local", "premium", "auto"] = "local"
    premium_share_cap: float = Field(0.3, ge=0, le=1)
    budget: str | None = None
    amd: bool = True  # answering-machine detection on every call (voicemail path; billed per call)
    voicemail: Literal["message", "hang_up"] = "message"  # at a machine: leave the message, or hang up
    pricing: dict[str, Any] = Field(default_factory=dict)  # overrides of [pricing] keys for this campaign
    prompt_variants: list[Variant] = Field(default_factory=list)
    sim_personas: list[SimPersona] = Field(default_factory=list)
    lead_countries: list[str] = Field(
        default_factory=list, max_length=50,
        description="Countries (ISO 3166 two-letter codes, e.g. [US, CA]) whose numbers the campaign's lead files "
                    "and intake may hold; empty: the [leads] default_region's country (and, for the US, its "
                    "territories). A number from elsewhere is rejected with the reason.")
    vocabulary: list[str] = Field(
        default_factory=list, max_length=2000,
        description="Words and phrases the campaign's leads are likely to say that general English lacks (towns, "
                    "neighbourhoods, builders, street names): the recogniser expects them beside reauto's corpus "
                    "of lead answers.")
    export_targets: list[str] = Field(
        default_factory=list, description="Targets each call is pushed to when it ends (followupboss, hubspot, "
                                          "salesforce, webhook; csv and jsonl go through `reauto export`).")
    cadence: list[CadenceStep] = Field(
        default_factory=list, description="Multi-touch cadence (calls and texts); empty: call, then retry.")
    sms: Sms = Field(default_factory=Sms)  # type: ignore[arg-type]
    recording: Recording = Field(default_factory=Recording)  # type: ignore[arg-type]
    transfer: Transfer = Field(default_factory=Transfer)  # type: ignore[arg-type]
    inbound: Inbound = Field(default_factory=Inbound)  # type: ignore[arg-type]
    caller_ids: CallerIds = Field(default_factory=CallerIds)  # type: ignore[arg-type]
    source: Path | None = Field(None, exclude=True)

    @field_validator("lead_countries")
    @classmethod
    def _countries(cls, countries: list[str]) -> list[str]:
        known = phonenumbers.SUPPORTED_REGIONS
        codes = [c.strip().upper() for c in countries]
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(f"not ISO 3166 country codes phonenumbers knows: {', '.join(unknown)}")
        return codes

    @field_validator("pricing")
    @classmethod
    def _pricing_keys(cls, pricing: dict[str, Any]) -> dict[str, Any]:
        from reauto.config import PricingSettings

        unknown = sorted(set(pricing) - set(PricingSettings.model_fields))
        if unknown:
            raise ValueError(f"unknown pricing keys: {', '.join(unknown)} (see [pricing] in reauto.toml)")
        PricingSettings.model_validate({**PricingSettings().model_dump(), **pricing})
        return pricing

    @field_validator("export_targets")
    @classmethod
    def _known_targets(cls, targets: list[str]) -> list[str]:
        from reauto.export.targets import TARGETS

        unknown = [t for t in targets if t not in TARGETS]
        if unknown:
            raise ValueError(f"unknown export targets {', '.join(unknown)} (known: {', '.join(TARGETS)})")
        return targets

    @field_validator("caller_id")
    @classmethod
    def _e164(cls, value: str) -> str:
        return e164(value)

    @field_validator("scoring")
    @classmethod
    def _fair_housing(cls, weights: dict[str, float]) -> dict[str, float]:
        banned = sorted(k for k in weights if k.lower() in PROTECTED)
        if banned:
            raise ValueError(f"{', '.join(banned)}: protected-class inputs or proxies cannot be scored "
                             "(fair housing); score only what the lead said")
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights must be ≥ 0")
        return weights

    @model_validator(mode="after")
    def _texts_known(self) -> Campaign:
        import string

        for name, text in self.sms.templates.items():
            if "STOP" not in text:
                raise ValueError(f"sms.templates.{name}: a text must tell the lead how to opt out (\"Reply STOP …\")")
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            unknown = sorted(names - SMS_FIELDS)
            if unknown:
                raise ValueError(f"sms.templates.{name}: unknown {{{', '.join(unknown)}}} "
                                 f"(known: {', '.join(sorted(SMS_FIELDS))})")
        for name in ("opt_out_answer", "help_answer", "opt_in_answer"):
            text = getattr(self.sms, name)
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            unknown = sorted(names - ANSWER_FIELDS)
            if unknown:
                raise ValueError(f"sms.{name}: unknown {{{', '.join(unknown)}}} "
                                 f"(known: {', '.join(sorted(ANSWER_FIELDS))})")
        for name in ("greeting", "opted_out", "unavailable"):
            names = {f for _, f, _, _ in string.Formatter().parse(getattr(self.inbound, name)) if f}
            unknown = sorted(names - INBOUND_FIELDS)
            if unknown:
                raise ValueError(f"inbound.{name}: unknown {{{', '.join(unknown)}}} "
                                 f"(known: {', '.join(sorted(INBOUND_FIELDS))})")
        if self.sms.help_answer and "STOP" not in self.sms.help_answer:
            raise ValueError("sms.help_answer: the answer to HELP must tell the lead how to opt out (\"Reply STOP …\")")
        wanted = [(f"cadence[{i}].template", s.template) for i, s in enumerate(self.cadence) if s.action == "sms"]
        if self.sms.after_hours_intake:
            wanted.append(("sms.after_hours_intake", self.sms.after_hours_intake))
        for where, name in wanted:
            if name not in self.sms.templates:
                raise ValueError(f"{where}: no text named {name!r} in sms.templates")
        for i, step in enumerate(self.cadence):
            if step.action == "sms" and step.voicemail is not None:
                raise ValueError(f"cadence[{i}]: voicemail applies to call steps only")
            if step.action == "call" and step.template:
                raise ValueError(f"cadence[{i}]: template applies to sms steps only")
        if self.cadence and self.cadence[0].action != "call":
            raise ValueError("cadence[0]: the first touch is a call (speed to lead)")
        return self

    @model_validator(mode="after")
    def _lane_fits(self) -> Campaign:
        if self.hot_lane >= self.concurrency:
            raise ValueError(f"hot_lane: {self.hot_lane} of {self.concurrency} call slots would leave the backlog "
                             "none; keep it below concurrency")
        return self

    @model_validator(mode="after")
    def _slots_known(self) -> Campaign:
        known = {s.name for s in self.slots} | {q.slot for q in self.questions}
        unknown = sorted(set(self.scoring) - known)
        if unknown:
            raise ValueError(f"scoring names slots not asked for: {', '.join(unknown)}")
        return self


def validate_campaign(path: Path | str) -> tuple[Campaign | None, list[Problem]]:
    """Parse and validate a campaign file; returns the campaign or every problem found."""
    campaign, problems = validate_yaml(path, Campaign, "campaign settings")
    if campaign is not None:
        campaign.source = Path(path)
    return campaign, problems


def load_campaign(path: Path | str) -> Campaign:
    """The validated campaign, or :class:`ConfigError` listing every problem with file:line:col."""
    campaign, problems = validate_campaign(path)
    if campaign is None:
        raise ConfigError("\n".join(str(p) for p in problems))
    return campaign


def numbers_of(config: dict[str, Any] | None) -> set[str]:
    """The numbers a stored campaign (its ``config``) calls from: its caller ID and its pool."""
    config = config or {}
    return {config.get("caller_id") or "", *((config.get("caller_ids") or {}).get("pool") or [])} - {""}
