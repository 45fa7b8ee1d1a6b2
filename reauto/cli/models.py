"""``reauto models``: the models the configured providers need — list, pull, verify."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit, err_console, table

if TYPE_CHECKING:
    from reauto.config import Settings
    from reauto.modelfiles.catalog import Need

app = typer.Typer(
    help="The models the configured providers need: where each is looked for and whether it is there; pull "
    "faster-whisper models, Piper voices and Ollama models; verify them against their checksums.\n\n"
    "Example: REAUTO_STT_PROVIDER=faster-whisper REAUTO_STT__FASTER_WHISPER__MODEL=small.en reauto models pull",
    no_args_is_help=True,
)

CampaignOpt = Annotated[list[Path] | None, typer.Option(
    "--campaign", help="A campaign file: its llm: model is needed too (Ollama brain); repeatable.",
    show_default=False)]


def _needs(cfg: Settings, campaigns: list[Path] | None) -> list[Need]:
    """What the settings' providers need, and the models the campaigns name."""
    from reauto.campaign import load_campaign
    from reauto.modelfiles.catalog import campaign_needs, needs

    base = needs(cfg)
    chosen = {c.name: c.llm.model for c in (load_campaign(path) for path in campaigns or [])}
    return base + campaign_needs(cfg, chosen, base)


def _render(title: str) -> Any:
    def render(rows: list[dict[str, str]]) -> None:
        table(title, ["provider", "model", "state", "where", "detail", "setting"],
              [(r["provider"], r["model"], r["state"], r["where"], r["detail"], r["setting"]) for r in rows],
              optional=("setting", "detail"))
        for r in rows:
            if r["state"] in ("missing", "corrupt", "unreachable") and r["detail"]:
                err_console.print(f"[red]{r['provider']} {r['model']}:[/] {r['detail']}", highlight=False)
    return render


@app.command("list")
def list_(ctx: typer.Context, campaign: CampaignOpt = None, as_json: JsonOpt = False) -> None:
    """Each model the configured providers need, where it is looked for, and whether it is there.

    States: present, missing, bundled (ships with reauto or its packages), cloud (a vendor's voice:
    it needs a key, not a download), unreachable (an Ollama host that does not answer). Ollama
    models are looked up on each of \\[llm] hosts, with the model each --campaign names.

    Example: reauto models list --campaign campaigns/demo.yaml --json
    """
    from reauto.modelfiles.actions import Models

    cfg = settings(ctx)
    statuses = asyncio.run(Models(cfg.models).inspect(_needs(cfg, campaign)))
    emit([s.row() for s in statuses], as_json, _render("models the configured providers need"))


@app.command()
def pull(
    ctx: typer.Context,
    whisper: Annotated[list[str] | None, typer.Option(
        help="A faster-whisper size (small.en) or Hub repository; repeatable.", show_default=False)] = None,
    piper: Annotated[list[str] | None, typer.Option(
        help="A Piper voice (en_US-amy-medium); repeatable.", show_default=False)] = None,
    ollama: Annotated[list[str] | None, typer.Option(
        help="An Ollama model (llama3.2:3b), pulled on each \\[llm] host; repeatable.", show_default=False)] = None,
    campaign: CampaignOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch the models the configured providers need and lack, or the models named.

    --whisper SIZE|ORG/REPO: a faster-whisper CTranslate2 model from the Hugging Face Hub into
    \\[models] dir. --piper VOICE: a Piper voice (en_US-amy-medium) from rhasspy/piper-voices.
    --ollama MODEL: pulled by each of \\[llm] hosts through Ollama's API. --campaign FILE: the
    configured models and the Ollama model the campaign's llm: section names. Every file is checked
    against the checksum its source publishes and recorded in a manifest for `reauto models
    verify`; an interrupted download continues where it stopped. Exit 1 when a model could not
    be pulled.

    Example: reauto models pull --whisper small.en --piper en_US-amy-medium
    """
    from reauto.modelfiles.actions import Models
    from reauto.modelfiles.catalog import Need

    cfg = settings(ctx)
    asked = [Need("stt", "faster-whisper", n, "--whisper", "whisper") for n in whisper or []]
    asked += [Need("tts", "piper", n, "--piper", "piper") for n in piper or []]
    asked += [Need("llm", "ollama", n, "--ollama", "ollama", host) for n in ollama or [] for host in cfg.llm.hosts]
    wanted = asked or _needs(cfg, campaign)
    with _meter(enabled=not as_json) as meter:
        statuses = asyncio.run(Models(cfg.models).pull(wanted, meter))
    emit([s.row() for s in statuses], as_json, _render("models"))
    if not all(s.ok for s in statuses):
        raise typer.Exit(1)


@app.command()
def verify(ctx: typer.Context, campaign: CampaignOpt = None, as_json: JsonOpt = False) -> None:
    """Check that every model the configured providers need is there and whole.

    Pulled files are read again against the SHA-256 recorded when they were pulled; Ollama models
    are looked up on each host (with the model each --campaign names). Exit 1 naming what is
    missing, corrupt or unreachable.

    Example: reauto models verify --campaign campaigns/demo.yaml
    """
    from reauto.modelfiles.actions import Models

    cfg = settings(ctx)
    statuses = asyncio.run(Models(cfg.models).inspect(_needs(cfg, campaign), checksums=True))
    emit([s.row() for s in statuses], as_json, _render("models verified"))
    if not all(s.ok for s in statuses):
        raise typer.Exit(1)
    if not as_json:
        console.print("every model is there", highlight=False)


@contextmanager
def _meter(*, enabled: bool) -> Iterator[Any]:
    """Progress bars on stderr (a terminal only); a silent meter otherwise."""
    from reauto.modelfiles.actions import Silent

    if not enabled or not err_console.is_terminal:
        yield Silent()
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err_console, transient=False) as progress:
        yield _RichMeter(progress)


class _RichMeter:
    def __init__(self, progress: Any) -> None:
        self._progress = progress

    def start(self, label: str, total: int) -> int:
        return int(self._progress.add_task(label, total=total or None))

    def update(self, task: int, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        self._progress.update(task, advance=advance, completed=completed, total=total)
