"""A campaign file's sections about reaching the lead beyond one call: texts and their cadence,
recording, caller IDs, inbound calls, transfer shifts and variants."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import phonenumbers
from pydantic import Field, field_validator

from reauto.campaign.sections import Section

#: What an SMS template may name (``{first_name}`` …); ``call_time`` only in the after-hours notice.
SMS_FIELDS = frozenset({"first_name", "agent_name", "business", "callback_number", "call_time"})
#: What an answer to an inbound text may name (it is sent before the lead is known).
ANSWER_FIELDS = frozenset({"agent_name", "business", "callback_number"})
#: What the inbound lines may use.
INBOUND_FIELDS = frozenset({"agent_name", "business", "callback_number", "first_name"})


class CadenceStep(Section):
    """One touch of the cadence: a call or a text, some minutes after the previous step ended
    unanswered (no answer, busy or voicemail). A lead who answers leaves the cadence."""

    action: Literal["call", "sms"]
    after_min: int = Field(0, ge=0, le=60 * 24 * 60, description="Minutes after the previous step (first: 0).")
    voicemail: Literal["message", "hang_up"] | None = Field(
        None, description="Call steps: at an answering machine, leave the message (a voicemail drop) or hang "
                          "up; default: the campaign's voicemail.")
    template: str = Field("", description="Sms steps: the name of the text in sms.templates.")


class Sms(Section):
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


class Recording(Section):
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


class Shift(Section):
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


class Transfer(Section):
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


class CallerIds(Section):
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


class Inbound(Section):
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


class Variant(Section):
    """An A/B prompt variant: leads are split by weight, each keeping its variant on every call."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    weight: float = Field(1.0, gt=0)
    prompt: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.txt$",
        description="Prompt template in the prompts directory for this variant (default agent.txt; the ollama brain).")
