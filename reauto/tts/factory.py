"""Build the configured TTS: the local tier, and the premium tier backed by it.

``create_tts`` returns the local provider when ``[tts] premium = "none"``; otherwise a
:class:`FallbackTTS` in which the premium provider speaks and the local one takes any turn the
premium cannot start within ``first_byte_timeout_s``. A premium provider that cannot be built
(extra missing, no key) is logged and left out: calls go on with the local voice only. Which
utterances go premium at all is the :class:`~reauto.tts.tier.TierPolicy`'s call, applied by a
:class:`~reauto.tts.tier.TieredTTS` around the pair :func:`create_tiers` returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from reauto.config import TtsSettings
from reauto.providers import ProviderUnavailable
from reauto.tts import REGISTRY
from reauto.tts.base import TTSProvider
from reauto.tts.cache import AudioCache, CachedTTS
from reauto.tts.fallback import FallbackTTS, TtsOutcome
from reauto.tts.metered import metered

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TtsTiers:
    """The local provider, and the premium-with-fallback one when premium is configured."""

    local: TTSProvider
    premium: TTSProvider | None


def create_tiers(
    settings: TtsSettings,
    *,
    cache: AudioCache | None = None,
    on_outcome: Callable[[TtsOutcome], None] | None = None,
    meter: bool = False,
) -> TtsTiers:
    """Both tiers as ``settings`` configure them.

    Args:
        settings: the ``[tts]`` section.
        cache: when given, each provider serves repeated utterances from it.
        on_outcome: told which tier spoke each premium-attempted utterance, and why.
        meter: report each synthesis's characters to the running call's cost meter (below the
            cache: a cached utterance costs nothing).

    Raises:
        ProviderUnavailable: the local provider cannot be built.
    """
    wrap = metered if meter else (lambda provider: provider)
    local = _cached(wrap(REGISTRY.create(settings.local, settings)), cache)
    if settings.premium == "none":
        return TtsTiers(local, None)
    try:
        premium = _cached(wrap(REGISTRY.create(settings.premium, settings)), cache)
    except ProviderUnavailable as exc:
        log.warning("TTS premium %s unavailable (%s); every utterance uses %s",
                    settings.premium, exc, settings.local)
        return TtsTiers(local, None)
    return TtsTiers(
        local, FallbackTTS(premium, local, settings.first_byte_timeout_s, on_outcome=on_outcome)
    )


def create_tts(
    settings: TtsSettings,
    *,
    cache: AudioCache | None = None,
    on_outcome: Callable[[TtsOutcome], None] | None = None,
    meter: bool = False,
) -> TTSProvider:
    """The provider ``settings`` configure: local, or premium with the local fallback.

    Raises:
        ProviderUnavailable: the local provider cannot be built.
    """
    tiers = create_tiers(settings, cache=cache, on_outcome=on_outcome, meter=meter)
    return tiers.premium or tiers.local


def _cached(provider: TTSProvider, cache: AudioCache | None) -> TTSProvider:
    return provider if cache is None else CachedTTS(provider, cache)
