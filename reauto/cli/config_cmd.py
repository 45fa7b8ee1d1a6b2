"""``reauto config``: show and check the resolved settings."""

from __future__ import annotations

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
    """Validate the settings file and environment; exit 2 naming the file, line and key if wrong.

    Example: reauto --config prod.toml config check
    """
    data = _public(ctx)
    emit({"ok": True, "source_file": data["source_file"]}, as_json,
         lambda d: console.print(f"settings OK ({d['source_file'] or 'defaults'})"))
