"""The one settings object: ``reauto.toml`` first, then ``REAUTO_*`` environment variables.

Nothing else in reauto reads the environment (but for prometheus-client's own
``PROMETHEUS_MULTIPROC_DIR``, which :mod:`reauto.metrics` reads as the library does). Settings are
resolved once by :func:`load_settings` and passed down explicitly.

Environment variables map onto the settings tree by name: ``REAUTO_DEFAULT_REGION`` sets
``default_region`` and ``REAUTO_DATABASE_URL`` (or ``REAUTO_DATABASE__URL``) sets
``[database] url``. An unknown ``REAUTO_*`` variable or an unknown key in the file is an
error that names the variable, or the file, line and key.
"""

from __future__ import annotations

from reauto.config.infra import DatabaseSettings, RecordingSettings, RedisSettings, ResilienceSettings
from reauto.config.loader import CONFIG_ENV, DEFAULT_CONFIG_FILE, ENV_PREFIX, load_settings, locate_key
from reauto.config.money import BudgetSettings, PricingSettings
from reauto.config.services import (
    ExportSettings,
    FollowUpBossSettings,
    FormSettings,
    IntakeSettings,
    SchedulingSettings,
    TwilioSettings,
)
from reauto.config.settings import Settings
from reauto.config.speech import LlmSettings, ModelsSettings, SttSettings, TtsSettings

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG_FILE", "ENV_PREFIX", "BudgetSettings", "DatabaseSettings", "ExportSettings",
    "FollowUpBossSettings", "FormSettings", "IntakeSettings", "LlmSettings", "ModelsSettings", "PricingSettings",
    "RecordingSettings", "RedisSettings", "ResilienceSettings", "SchedulingSettings", "Settings", "SttSettings",
    "TtsSettings", "TwilioSettings", "load_settings", "locate_key",
]
