"""The one settings object: ``reauto.toml`` first, then ``REAUTO_*`` environment variables.

Nothing else in reauto reads the environment (but for prometheus-client's own
``PROMETHEUS_MULTIPROC_DIR``, which :mod:`reauto.metrics` reads as the library does). Settings are
resolved once by :func:`load_settings` and passed down explicitly.

Environment variables map onto the settings tree by name: ``REAUTO_DEFAULT_REGION`` sets
``default_region`` and ``REAUTO_DATABASE_URL`` (or ``REAUTO_DATABASE__URL``) sets
``[database] url``. A key of a provider's own section is ``REAUTO_<SECTION>__<PROVIDER>__<KEY>``:
``REAUTO_TTS__ELEVENLABS__API_KEY`` sets ``[tts.elevenlabs] api_key``. The flat names these sections
replaced (``[tts] elevenlabs_api_key``, ``REAUTO_TTS_ELEVENLABS_API_KEY``) still work and warn with
:class:`SettingsDeprecationWarning`, naming the new key. An unknown ``REAUTO_*`` variable or an
unknown key in the file is an error that names the variable, or the file, line and key.
"""

from __future__ import annotations

from reauto.config.infra import DatabaseSettings, RecordingSettings, RedisSettings, ResilienceSettings
from reauto.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    SettingsDeprecationWarning,
    env_name,
    load_settings,
    locate_key,
)
from reauto.config.money import BudgetSettings, PricingSettings
from reauto.config.services import (
    EventsSettings,
    ExportSettings,
    HubSpotSettings,
    SalesforceSettings,
    FollowUpBossSettings,
    FormSettings,
    IntakeSettings,
    SchedulingSettings,
    TwilioSettings,
    WebhookSettings,
)
from reauto.config.settings import Settings
from reauto.config.speech import (
    CoquiSettings,
    ElevenLabsSettings,
    LlmSettings,
    ModelsSettings,
    SttSettings,
    TtsSettings,
)

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG_FILE", "ENV_PREFIX", "BudgetSettings", "CoquiSettings", "DatabaseSettings",
    "ElevenLabsSettings", "EventsSettings", "ExportSettings", "FollowUpBossSettings", "FormSettings", "HubSpotSettings",
    "IntakeSettings", "LlmSettings", "ModelsSettings", "PricingSettings", "RecordingSettings", "RedisSettings",
    "ResilienceSettings", "SalesforceSettings", "SchedulingSettings", "SettingsDeprecationWarning", "Settings",
    "SttSettings", "TtsSettings", "TwilioSettings", "WebhookSettings", "env_name", "load_settings", "locate_key",
]
