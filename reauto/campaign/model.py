"""The campaign file as a whole (:class:`Campaign`), and loading one with every problem at
file:line:column."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import phonenumbers
from pydantic import Field, field_validator, model_validator

from reauto.campaign.outreach import (
    ANSWER_FIELDS, INBOUND_FIELDS, SMS_FIELDS, CadenceStep, CallerIds, Inbound, Recording, Sms, Transfer, Variant, e164,
)
from reauto.campaign.sections import (
    PROTECTED, Booking, CallingWindow, LlmOptions, Persona, Question, Retry, Section, SimPersona, Slot,
)
from reauto.config.base import TelephonyName
from reauto.errors import ConfigError
from reauto.yamlcheck import Problem, validate_yaml


class Campaign(Section):
    """A campaign file, validated."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    caller_id: str
    telephony: TelephonyName = "sim"
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
    llm: LlmOptions = Field(default_factory=LlmOptions)  # type: ignore[arg-type]
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
