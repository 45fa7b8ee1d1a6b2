"""``reauto export``: push call results and texts to a CRM, a webhook or files — safe to run from cron."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.store import run_db
from reauto.cli.output import JsonOpt, console, emit, err_console, table
from reauto.errors import UsageError

app = typer.Typer(
    help="Push each finished call and each text to a CRM (followupboss, hubspot, salesforce), a signed "
    "webhook, or a csv/jsonl file, exactly once per target. Safe from cron: two runs never overlap "
    "and a record that keeps failing waits in the dead-letter list. Exit status: 0 done (or skipped: "
    "another export to the target is running), 1 a record failed (the target is unavailable, or a record "
    "went to the dead-letter list), 2 bad usage or settings.\n\n"
    "Example: reauto export --to followupboss --campaign austin-buyers",
    invoke_without_command=True,
)
dlq = typer.Typer(help="Records that could not be exported.\n\nExample: reauto export dlq list --target hubspot",
                  no_args_is_help=True)
app.add_typer(dlq, name="dlq")

TargetOpt = Annotated[str | None, typer.Option(
    "--to", help="followupboss, hubspot, salesforce, webhook, events (call and lead events), csv or jsonl "
                 "(settings in \\[export]).")]


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since {value!r}: expected a date or an ISO time, e.g. 2026-11-01") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.callback()
def export(
    ctx: typer.Context,
    to: TargetOpt = None,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign's calls and texts.")] = None,
    since: Annotated[str | None, typer.Option(help="Only calls placed (texts sent) from this date or time (UTC).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be sent; send and store nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send what TARGET has not received yet: calls (disposition, slots, score, summary, transcript,
    recording, appointment, cost) and texts. Exit status: 0 done (or skipped because another export
    to the target is running), 1 some records went to the dead-letter list, 2 bad usage or settings.

    Example: reauto export --to csv --since 2026-11-01
    """
    if ctx.invoked_subcommand is not None:
        return
    if to is None:
        raise UsageError("say where to: --to followupboss|hubspot|salesforce|webhook|csv|jsonl")
    from reauto.export.runner import ExportLocked, run_export
    from reauto.export.targets import create_target
    from reauto.export.targets.base import ExportError

    cfg = settings(ctx)
    target = create_target(to, cfg)
    start = _since(since)

    async def work(engine: Any) -> Any:
        return await run_export(engine, target, campaign=campaign, since=start, dry_run=dry_run,
                                limit=cfg.export.batch_size)

    try:
        report = run_db(cfg, work)
    except ExportError as exc:  # the target could not start (an unwritable out_dir)
        raise UsageError(str(exc)) from None
    except ExportLocked as exc:
        emit({"target": to, "skipped": str(exc)}, as_json,
             lambda d: err_console.print(f"skipped: {d['skipped']}", highlight=False))
        return
    emit(report.as_json(), as_json, _render)
    if report.failed:
        raise typer.Exit(1)


def _render(d: dict[str, Any]) -> None:
    if d["dry_run"]:
        table(f"would export to {d['target']}: {len(d['would_export'])} records", ["key", "kind", "campaign", "summary"],
              [(r["key"], r["kind"], r["campaign"], r["summary"]) for r in d["would_export"]])
        return
    where = f" → {d['file']}" if d["file"] else ""
    console.print(f"{d['target']}: {d['exported']} exported{where}, {len(d['failed'])} failed", highlight=False,
                  markup=False)
    if d.get("stopped"):
        err_console.print(f"stopped: {d['stopped']}", highlight=False, markup=False)
    for failure in d["failed"]:
        err_console.print(f"  {failure['key']}: {failure['error']}", highlight=False, markup=False)


@dlq.command("list")
def dlq_list(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(help="Only this target.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the records that could not be exported, with the error and attempts.

    Example: reauto export dlq list --target hubspot --json
    """
    from reauto.export.runner import dead_letters

    cfg = settings(ctx)
    rows = run_db(cfg, lambda engine: dead_letters(engine, target=target, include_resolved=all_))
    emit(rows, as_json, lambda d: table(f"{len(d)} dead letters", ["id", "target", "key", "attempts", "error", "resolved"],
                                        [(r["id"], r["target"], r["key"], r["attempts"], r["error"][:120],
                                          r["resolved_at"] or "") for r in d]))


@dlq.command("retry")
def dlq_retry(
    ctx: typer.Context,
    target: Annotated[str, typer.Option("--target", help="The target to send them to again.")],
    ids: Annotated[list[int] | None, typer.Option("--id", help="Only these dead letters (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a target's dead letters again; those that go through are resolved. Exit 1 if any fail again.

    Example: reauto export dlq retry --target followupboss --id 12
    """
    from reauto.export.runner import ExportLocked, retry_dead_letters
    from reauto.export.targets import create_target

    cfg = settings(ctx)
    sender = create_target(target, cfg)
    try:
        report = run_db(cfg, lambda engine: retry_dead_letters(engine, sender, ids=ids or None))
    except ExportLocked as exc:
        raise UsageError(f"{exc}; retry when it ends") from None
    emit(report.as_json(), as_json, _render)
    if report.failed:
        raise typer.Exit(1)
