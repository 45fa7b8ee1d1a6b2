"""``reauto config``: show and check the resolved settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit
from reauto.store.engine import redact

app = typer.Typer(
    help="Show or check the settings resolved from reauto.toml and REAUTO_* variables.\n\n"
    "Example: REAUTO_DATABASE_URL=sqlite:///other.db reauto config show",
    no_args_is_help=True,
)


def _public(ctx: typer.Context) -> dict:
    cfg = settings(ctx)
    data = cfg.model_dump(mode="json")
    data["database"]["url"] = redact(cfg.database.url)
    if cfg.redis.url:
        data["redis"]["url"] = redact(cfg.redis.url)
    _mask(data)
    data["source_file"] = str(cfg.source_file) if cfg.source_file else None
    return data


#: Setting names whose values are secrets (at any depth: forms' tokens too).
SECRET_SUFFIXES = ("api_key", "api_keys", "token", "secret", "system_key", "webhook", "webhook_url")


def _mask(node: dict) -> None:
    for key, value in node.items():
        if isinstance(value, dict):
            _mask(value)
        elif value and key.endswith(SECRET_SUFFIXES):
            node[key] = "***"


@app.command()
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every setting with its resolved value (passwords hidden).

    Example: reauto config show --json
    """

    def render(d: dict) -> None:
        console.print(f"[bold]settings from[/] {d.pop('source_file') or 'defaults (no reauto.toml)'}")
        for key, value in d.items():
            if isinstance(value, dict):
                for sub, v in value.items():
                    console.print(f"  {key}.{sub} = {v!r}", highlight=False)
            else:
                console.print(f"  {key} = {value!r}", highlight=False)

    emit(_public(ctx), as_json, render)


@app.command()
def check(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Validate the settings file and environment, and that each configured provider has what it
    needs to start (a model path, a key); exit 2 naming the file, line and key, or the setting, if wrong.

    Example: reauto --config prod.toml config check
    """
    data = _public(ctx)
    problems = provider_problems(settings(ctx))
    if problems:
        from reauto.errors import ConfigError

        raise ConfigError("\n".join(problems))
    emit({"ok": True, "source_file": data["source_file"]}, as_json,
         lambda d: console.print(f"settings OK ({d['source_file'] or 'defaults'})"))


def provider_problems(cfg: Any) -> list[str]:
    """What a configured provider lacks to start, each naming the setting to change (none: ready).

    Only what can be told without loading a model: a model path that is empty or missing, a key
    that is not set. A size name for faster-whisper ("small.en") is taken as cached.
    """
    out = []
    stt, tts = cfg.stt, cfg.tts
    if stt.provider == "faster-whisper":
        model = stt.whisper_model.strip()
        if not model:
            out.append("stt.whisper_model (REAUTO_STT_WHISPER_MODEL): faster-whisper needs a CTranslate2 model "
                       "directory or a cached size name; none is set")
        elif ("/" in model or model.startswith(".")) and not Path(model).expanduser().is_dir():
            out.append(f"stt.whisper_model (REAUTO_STT_WHISPER_MODEL): no model directory at {model}")
    if tts.local == "coqui":
        if not tts.coqui_model.strip():
            out.append("tts.coqui_model (REAUTO_TTS_COQUI_MODEL): the coqui voice needs a model directory; none is set")
        elif not Path(tts.coqui_model).expanduser().exists():
            out.append(f"tts.coqui_model (REAUTO_TTS_COQUI_MODEL): nothing at {tts.coqui_model}")
    if tts.local == "piper" and tts.piper_voice.strip() and not Path(tts.piper_voice).expanduser().is_file():
        out.append(f"tts.piper_voice (REAUTO_TTS_PIPER_VOICE): no voice file at {tts.piper_voice}")
    if tts.premium == "elevenlabs" and not tts.elevenlabs_api_key:
        out.append("tts.elevenlabs_api_key (REAUTO_TTS_ELEVENLABS_API_KEY): the premium tier is elevenlabs and "
                   "no key is set (set tts.premium = \"none\" to keep every utterance local)")
    if tts.premium == "elevenlabs" and not tts.elevenlabs_voice_id:
        out.append("tts.elevenlabs_voice_id (REAUTO_TTS_ELEVENLABS_VOICE_ID): the premium tier needs a voice id")
    return out
