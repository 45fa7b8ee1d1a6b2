"""``reauto calls``: stored calls, and exporting them as evaluation sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.leads import run_db
from reauto.cli.output import JsonOpt, console, emit, err_console, table

app = typer.Typer(
    help="List stored calls and export recorded ones as evaluation sets for `reauto eval`.\n\n"
    "Example: reauto calls export-recordings --campaign demo --out recordings/",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List calls, newest first: lead, status, outcome, turns, recording.

    Example: reauto calls list --campaign demo --limit 20
    """
    from reauto.store.engine import session_factory
    from reauto.store.repositories import recent_calls

    async def work(engine: Any) -> list[dict[str, Any]]:
        async with session_factory(engine)() as s:
            return await recent_calls(s, campaign=campaign, limit=limit)

    rows = run_db(settings(ctx), work)
    emit(rows, as_json, lambda items: table(
        f"calls ({len(items)})", ["id", "campaign", "lead", "status", "outcome", "turns", "recorded", "started"],
        [(r["id"], r["campaign"], r["lead"], r["status"], r["outcome"], r["turns"],
          "yes" if r["recording_path"] else "", r["created_at"]) for r in items]))


@app.command("export-recordings")
def export_recordings(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Option("--campaign", "-C", help="Campaign whose recorded calls to export.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write (one sub-directory per call).")],
    limit: Annotated[int | None, typer.Option(help="At most this many calls, oldest first.", min=1)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace calls already exported to --out.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a campaign's recorded calls in the format `reauto eval` reads.

    The dual-channel recording is split into lead.wav and agent.wav; the stored transcript
    becomes the reference and the outcome and final slots the labels (review them: they are
    what the call concluded, not verified truth).

    Example: reauto calls export-recordings --campaign demo --out recordings/ && reauto eval recordings/
    """
    from reauto.eval.export import export_recordings as export

    report = run_db(settings(ctx), lambda engine: export(engine, campaign, out, limit=limit, overwrite=overwrite))

    def render(r: Any) -> None:
        console.print(f"exported {len(r.written)} call(s) to {out}", highlight=False)
        for skipped in r.skipped:
            err_console.print(f"[yellow]skipped[/] call {skipped['call_id']}: {skipped['reason']}", highlight=False)

    emit(report, as_json, render)
