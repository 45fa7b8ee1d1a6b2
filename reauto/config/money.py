"""What calls cost and how far they may go: ``[pricing]`` and ``[budget]``."""

from __future__ import annotations

from pydantic import Field, field_validator

from reauto.config.base import Section


class PricingSettings(Section):
    """``[pricing]``: the catalogue every usage event is priced from (US dollars, list prices).

    A campaign file may override any of these keys under ``pricing:``.
    """

    telephony_per_min: dict[str, float] = Field(
        default_factory=lambda: {"twilio": 0.0140},
        description="Outbound voice per started minute, by telephony provider.")
    media_stream_per_min: dict[str, float] = Field(
        default_factory=lambda: {"twilio": 0.0040},
        description="Media stream (the call's audio to reauto) per started minute, by provider.")
    amd_per_call: dict[str, float] = Field(
        default_factory=lambda: {"twilio": 0.0075}, description="Answering-machine detection per call.")
    sim_priced_as: str = Field(
        "twilio", description="Simulated calls are priced as this provider's (what the real call would cost).")
    stt_per_second: dict[str, float] = Field(
        default_factory=lambda: {"pocketsphinx": 0.0, "faster-whisper": 0.0},
        description="Speech recognition per second of audio, by provider (local ones cost nothing extra).")
    tts_per_character: dict[str, float] = Field(
        default_factory=lambda: {"piper": 0.0, "flite": 0.0, "espeak-ng": 0.0, "coqui": 0.0},
        description="Speech synthesis per character, by local provider.")
    elevenlabs_usd_per_credit: float = Field(
        0.0002, ge=0, description="ElevenLabs: dollars per credit (Pro plan list price).")
    elevenlabs_credits_per_character: dict[str, float] = Field(
        default_factory=lambda: {"eleven_flash_v2_5": 0.5, "eleven_turbo_v2_5": 0.5,
                                 "eleven_multilingual_v2": 1.0, "eleven_v3": 1.0},
        description="ElevenLabs credits per character by model (used without a character-cost header).")
    llm_per_1k_tokens: dict[str, float] = Field(
        default_factory=dict, description="Hosted LLM price per 1,000 tokens, by model.")
    llm_gpu_hour_usd: float = Field(
        0.0, ge=0, description="Self-hosted LLM: dollars per GPU hour (0: hardware already paid for).")
    llm_tokens_per_second: float = Field(
        40.0, gt=0, description="Self-hosted LLM: tokens per second one GPU serves (amortises the hour).")

    @field_validator("telephony_per_min", "media_stream_per_min", "amd_per_call", "stt_per_second",
                     "tts_per_character", "elevenlabs_credits_per_character", "llm_per_1k_tokens")
    @classmethod
    def _non_negative(cls, prices: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in prices.items() if v < 0]
        if bad:
            raise ValueError(f"prices cannot be negative: {', '.join(bad)}")
        return prices


class BudgetSettings(Section):
    """``[budget]``: how budgets are enforced while calls run."""

    call_estimate_min: float = Field(
        3.0, gt=0, description="Minutes of call reserved before dialing (topped up while it runs).")
    top_up_min: float = Field(1.0, gt=0, description="Minutes added to a running call's reservation at a time.")
    premium_off_at: float = Field(
        0.9, ge=0, le=1, description="Emergency breaker: no premium TTS at or above this budget utilisation.")
    stop_dialing_at: float = Field(
        1.0, ge=0, le=1, description="Emergency breaker: no new dials at or above this utilisation.")
    alert_at: list[float] = Field(
        default_factory=lambda: [0.5, 0.8, 1.0], description="Utilisation levels that raise an alert.")
    alert_webhook: str = Field("", description="URL that receives each alert as a JSON POST (empty: log only).")
    alert_timeout_s: float = Field(3.0, gt=0, description="Timeout of one alert webhook request.")
