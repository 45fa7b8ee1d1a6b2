"""Every provider reauto knows, by family: its name, where its class lives and what installs it.

Data only: nothing here imports a provider, so the settings (:mod:`reauto.config`) take the names
they accept from here, and each family's registry (``reauto.tts.REGISTRY`` …) is built from the
same lines. A name is listed once. Adding a provider is its module, its line here and its
settings section (``[tts.<name>]``, ``[export.<name>]``) when it has settings of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from reauto.providers import ProviderSpec

STT: Mapping[str, ProviderSpec] = {
    "pocketsphinx": ProviderSpec("reauto.stt.pocketsphinx:PocketSphinxSTT"),
    "faster-whisper": ProviderSpec("reauto.stt.whisper:FasterWhisperSTT", extra="whisper"),
}

TTS: Mapping[str, ProviderSpec] = {
    "piper": ProviderSpec("reauto.tts.piper:PiperTTS", extra="piper", role="local"),
    "flite": ProviderSpec("reauto.tts.flite:FliteTTS", system="flite", role="local"),
    "espeak-ng": ProviderSpec("reauto.tts.espeak:EspeakTTS", system="espeak-ng", role="local"),
    "coqui": ProviderSpec("reauto.tts.coqui:CoquiTTS", extra="coqui", role="local"),
    "elevenlabs": ProviderSpec("reauto.tts.elevenlabs:ElevenLabsTTS", extra="elevenlabs", role="premium"),
}

TELEPHONY: Mapping[str, ProviderSpec] = {
    "sim": ProviderSpec("reauto.telephony.sim:SimTelephony"),
    "twilio": ProviderSpec("reauto.telephony.twilio:TwilioTelephony", extra="twilio"),
}

#: The LLM clients the agent's replies may be worded by (``[llm] brain``; ``scripted`` needs none).
LLM: Mapping[str, ProviderSpec] = {
    "ollama": ProviderSpec("reauto.llm.ollama:OllamaChat", extra="ollama"),
}

EXPORT: Mapping[str, ProviderSpec] = {
    "followupboss": ProviderSpec("reauto.export.targets.followupboss:FollowUpBossTarget"),
    "hubspot": ProviderSpec("reauto.export.targets.hubspot:HubSpotTarget"),
    "salesforce": ProviderSpec("reauto.export.targets.salesforce:SalesforceTarget"),
    "webhook": ProviderSpec("reauto.export.targets.webhook:WebhookTarget"),
    "events": ProviderSpec("reauto.export.targets.events:EventsTarget"),
    "csv": ProviderSpec("reauto.export.targets.files:CsvTarget"),
    "jsonl": ProviderSpec("reauto.export.targets.files:JsonlTarget"),
}

#: Each family's providers, and the word its messages use for one of them.
FAMILIES: Mapping[str, Mapping[str, ProviderSpec]] = {
    "stt": STT, "tts": TTS, "telephony": TELEPHONY, "llm": LLM, "export": EXPORT,
}
KINDS: Mapping[str, str] = {"stt": "STT", "tts": "TTS", "telephony": "telephony", "llm": "LLM",
                            "export": "export target"}


def names(family: str, role: str | None = None) -> tuple[str, ...]:
    """The providers of ``family`` in catalog order; with ``role``, only those that may fill it."""
    return tuple(n for n, spec in FAMILIES[family].items() if role is None or spec.role == role)


def check(family: str, name: str, role: str | None = None, *, also: tuple[str, ...] = ()) -> str:
    """``name`` when the catalog knows it for ``family`` (and ``role``), or one of ``also``.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    known = (*names(family, role), *also)
    if name not in known:
        what = f"{role} {KINDS[family]}" if role else KINDS[family]
        raise ValueError(f"unknown {what} provider {name!r} (known: {', '.join(known)})")
    return name
