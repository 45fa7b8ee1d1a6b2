"""The whole settings tree: one field per section, and the few top-level keys."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from reauto.config.base import Section
from reauto.config.infra import DatabaseSettings, RecordingSettings, RedisSettings, ResilienceSettings
from reauto.config.money import BudgetSettings, PricingSettings
from reauto.config.services import (
    ExportSettings,
    FollowUpBossSettings,
    IntakeSettings,
    SchedulingSettings,
    TwilioSettings,
)
from reauto.config.speech import LlmSettings, ModelsSettings, SttSettings, TtsSettings


class Settings(Section):
    """Every setting of reauto. Build it with :func:`load_settings`."""

    default_region: str = Field(
        "US", min_length=2, max_length=2, description="Region for numbers written without +."
    )
    campaigns_dir: Path = Field(Path("campaigns"), description="Where campaign YAML files live.")
    prompts_dir: Path = Field(Path("prompts"), description="Where prompt templates live.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level for reauto's own loggers."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)  # type: ignore[arg-type]
    redis: RedisSettings = Field(default_factory=RedisSettings)  # type: ignore[arg-type]
    stt: SttSettings = Field(default_factory=SttSettings)  # type: ignore[arg-type]
    tts: TtsSettings = Field(default_factory=TtsSettings)  # type: ignore[arg-type]
    llm: LlmSettings = Field(default_factory=LlmSettings)  # type: ignore[arg-type]
    pricing: PricingSettings = Field(default_factory=PricingSettings)  # type: ignore[arg-type]
    budget: BudgetSettings = Field(default_factory=BudgetSettings)  # type: ignore[arg-type]
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)  # type: ignore[arg-type]
    intake: IntakeSettings = Field(default_factory=IntakeSettings)  # type: ignore[arg-type]
    followupboss: FollowUpBossSettings = Field(default_factory=FollowUpBossSettings)  # type: ignore[arg-type]
    export: ExportSettings = Field(default_factory=ExportSettings)  # type: ignore[arg-type]
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)  # type: ignore[arg-type]
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)  # type: ignore[arg-type]
    recording: RecordingSettings = Field(default_factory=RecordingSettings)  # type: ignore[arg-type]
    models: ModelsSettings = Field(default_factory=ModelsSettings)  # type: ignore[arg-type]

    #: Where the values came from, for error messages and ``reauto config`` output.
    source_file: Path | None = Field(None, exclude=True, description="(set by the loader)")
