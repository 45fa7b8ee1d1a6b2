"""``reauto dnc``: the do-not-call lists (national registry copy and internal list)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.cli.context import settings
from reauto.cli.leads import render_issues, run_db, write_report
from reauto.cli.output import JsonOpt, console, emit
from reauto.leads import dnc as service
from reauto.leads.readers import Progress as ReadProgress
from reauto.store.models import DncSource

app = typer.Typer(
    help="Manage the do-not-call lists: import the national registry, add and remove internal "
    "entries, check a number.\n\nExample: reauto dnc add +15125550123 --reason 'asked on call'",
    no_args_is_help=True,
)


class SourceChoice(str, Enum):
    """Which list an import fills."""

    NATIONAL = "national"
    INTERNAL = "internal"


@app.command()
def add(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="The number (any usual format).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept with the entry).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put a number on the internal do-not-call list and flag its leads at once.

    Example: reauto dnc add "(512) 555-0123" --reason "asked on call 2026-11-24"
    """
    cfg = settings(ctx)
    change = run_db(
        cfg, lambda engine: service.add_number(engine, phone, reason=reason, region=cfg.default_region)
    )
    emit(
        change,
        as_json,
        lambda c: console.print(
            f"{c.phone} {'added to' if c.changed else 'was already on'} the internal DNC list; "
            f"{c.leads} lead(s) flagged",
            highlight=False,
        ),
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="One number per line, or a CSV with a phone column.")],
    source: Annotated[
        SourceChoice, typer.Option("--source", help="Which list the file is.")
    ] = SourceChoice.NATIONAL,
    reason: Annotated[str | None, typer.Option("--reason", help="Reason kept with new entries.")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Numbers per transaction.")
    ] = service.DEFAULT_IMPORT_BATCH,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Write rejected lines as CSV.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a DNC file (national registry download or an internal list), streamed in batches.

    Numbers may be 10-digit, E.164 or the registry's area-code,number pairs; bad lines are
    reported with their line number. Leads with listed numbers are flagged.

    Example: reauto dnc import registry-2026-11.txt --source national --report dnc-rejects.csv
    """
    cfg = settings(ctx)
    show_bar = not as_json and console.is_terminal

    async def work(engine: AsyncEngine) -> service.DncImportReport:
        kwargs: dict[str, Any] = {
            "source": DncSource(source.value), "reason": reason, "region": cfg.default_region,
            "batch_size": batch_size,
        }
        if not show_bar:
            return await service.import_file(engine, file, **kwargs)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[lines]} lines"), console=console, transient=True,
        ) as bar:
            task = bar.add_task(f"importing {file.name}", total=None, lines=0)

            def tick(progress: ReadProgress, report: service.DncImportReport) -> None:
                bar.update(task, total=progress.total_bytes, completed=progress.done_bytes, lines=report.lines)

            return await service.import_file(engine, file, on_progress=tick, **kwargs)

    report = run_db(cfg, work)
    if report_file is not None:
        write_report(report_file, report.issues)

    def render(r: service.DncImportReport) -> None:
        render_issues(r.issues, f"{r.file}: lines not imported")
        console.print(
            f"{r.file} → {r.source} list: [bold]{r.added}[/] added, {r.already_listed} already "
            f"listed, {r.rejected} rejected ({r.lines} lines); {r.leads_flagged} lead(s) flagged",
            highlight=False,
        )

    emit(report.summary() if as_json else report, as_json, render)


@app.command()
def remove(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="The number to take off the internal list.")],
    as_json: JsonOpt = False,
) -> None:
    """Take a number off the internal list (the record is kept, stamped removed).

    National registry entries cannot be removed here: import a fresh registry copy instead.

    Example: reauto dnc remove +15125550123
    """
    cfg = settings(ctx)
    change = run_db(cfg, lambda engine: service.remove_number(engine, phone, region=cfg.default_region))
    emit(
        change,
        as_json,
        lambda c: console.print(
            f"{c.phone} removed from the internal DNC list (record kept); {c.leads} lead(s) unflagged",
            highlight=False,
        ),
    )


@app.command()
def check(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="The number to check.")],
    as_json: JsonOpt = False,
) -> None:
    """Say whether a number may be called: exit 0 if callable, 1 if on a DNC list.

    Example: reauto dnc check "512-555-0123" || echo "do not call"
    """
    cfg = settings(ctx)
    status = run_db(cfg, lambda engine: service.check_number(engine, phone, region=cfg.default_region))

    def render(s: service.DncStatus) -> None:
        if s.callable:
            console.print(f"{s.phone}: callable (not on any do-not-call list)", highlight=False)
        for r in s.active:
            console.print(
                f"{s.phone}: LISTED on the {r.source} list since {r.added_at:%Y-%m-%d %H:%M} UTC"
                + (f" — {r.reason}" if r.reason else ""),
                highlight=False,
            )
        for r in s.removed:
            console.print(
                f"  (was on the {r.source} list {r.added_at:%Y-%m-%d} – {r.removed_at:%Y-%m-%d})",
                highlight=False,
            )

    emit(status, as_json, render)
    if not status.callable:
        raise typer.Exit(1)
