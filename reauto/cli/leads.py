"""``reauto leads``: load lead files into a campaign, list, show and count leads."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit, err_console, table
from reauto.cli.store import run_db
from reauto.leads import queries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from reauto.leads.build import ConsentPolicy, Issue
    from reauto.leads.loader import LoadReport
    from reauto.leads.readers import Progress as ReadProgress

__all__ = ["app", "render_issues", "run_db", "write_report"]
#: Rows per transaction of `leads load` (the loader's own default; a literal here so that listing
#: leads does not import the file readers: tests/test_cli_leads.py checks they agree).
BATCH_SIZE = 1000
#: Issues printed on the terminal; the rest are counted (and all go to --report).
SHOWN_ISSUES = 50

app = typer.Typer(
    help="Load lead files (CSV/JSONL, any CRM's columns) into a campaign; list, show and count "
    "leads.\n\nExample: reauto leads load leads.csv --campaign demo --report rejects.csv",
    no_args_is_help=True,
)


def write_report(path: Path, issues: list[Issue]) -> None:
    """Write issues as CSV (file, line, field, value, reason); warnings say so in the reason."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "line", "field", "value", "reason"])
        for i in issues:
            reason = f"warning: {i.reason}" if i.kind == "warning" else i.reason
            out.writerow([i.file, i.line, i.field, i.value, reason])


def render_issues(issues: list[Issue], title: str) -> None:
    """The first :data:`SHOWN_ISSUES` issues as a table, then how many more there are."""
    if not issues:
        return
    table(
        title,
        ["line", "kind", "field", "value", "reason"],
        [(i.line, i.kind, i.field, i.value, i.reason) for i in issues[:SHOWN_ISSUES]],
    )
    if len(issues) > SHOWN_ISSUES:
        console.print(f"… and {len(issues) - SHOWN_ISSUES} more (write them all with --report FILE)")


def _render_load(report: LoadReport, policy: ConsentPolicy | None = None) -> None:
    render_issues(report.issues, f"{report.file}: rows not loaded as they are")
    if policy is not None and report.consent_records and not (policy.written and policy.artificial_voice):
        missing = [flag for flag, ok in (("--consent-written", policy.written),
                                          ("--consent-ai-voice", policy.artificial_voice)) if not ok]
        err_console.print(
            f"note: the gate calls a lead only with prior express written consent that covers an AI voice; "
            f"these consent records are not marked so. If the file's consent column is that consent, say so "
            f"when loading it: {' '.join(missing)}.", highlight=False)
    console.print(
        f"{report.file} → campaign {report.campaign!r}: [bold]{report.inserted}[/] inserted, "
        f"{report.already_present} already present, {report.duplicates_in_file} duplicates in "
        f"file, {report.rejected} rejected, {len(report.of_kind('warning'))} warnings "
        f"({report.rows} rows, {report.consent_records} consent records, "
        f"{report.dnc_flagged} on a DNC list, {report.seconds:.1f} s)",
        highlight=False,
    )


@app.command()
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV (any delimiter) or .jsonl file of leads.")],
    campaign: Annotated[str, typer.Option("--campaign", "-C", help="Campaign name (created if new).")],
    maps: Annotated[
        list[str] | None,
        typer.Option("--map", help='Column for a lead field: field="Column" (repeatable).'),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help="YAML file mapping lead fields to columns.")
    ] = None,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Write every reject/duplicate/warning as CSV.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per transaction.")
    ] = BATCH_SIZE,
    consent_written: Annotated[
        bool,
        typer.Option("--consent-written", help="The file's consent column is prior express written consent."),
    ] = False,
    consent_ai_voice: Annotated[
        bool,
        typer.Option("--consent-ai-voice", help="That consent covers calls with an artificial (AI) voice."),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any row is rejected.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load leads from FILE into a campaign: normalise, dedupe, flag DNC, record consent.

    Good rows land batch by batch; bad rows are reported with their line and reason. Loading
    the same file again inserts nothing.

    Example: reauto leads load export.csv --campaign spring --map phone="Phone 1" --report rejects.csv
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from reauto.leads.build import ConsentPolicy
    from reauto.leads.loader import load_leads
    from reauto.leads.mapping import ColumnMapping

    cfg = settings(ctx)
    mapping = ColumnMapping.from_options(maps or [], mapping_file)
    policy = ConsentPolicy(written=consent_written, artificial_voice=consent_ai_voice)
    show_bar = not as_json and console.is_terminal

    async def work(engine: AsyncEngine) -> LoadReport:
        if not show_bar:
            return await load_leads(
                engine, file, campaign, mapping=mapping, region=cfg.default_region,
                batch_size=batch_size, policy=policy,
            )
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rows]} rows"), TimeRemainingColumn(), console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"loading {file.name}", total=None, rows=0)

            def tick(progress: ReadProgress, report: LoadReport) -> None:
                bar.update(task, total=progress.total_bytes, completed=progress.done_bytes, rows=report.rows)

            return await load_leads(
                engine, file, campaign, mapping=mapping, region=cfg.default_region,
                batch_size=batch_size, policy=policy, on_progress=tick,
            )

    report = run_db(cfg, work)
    if report_file is not None:
        write_report(report_file, report.issues)
    emit(report.summary() if as_json else report, as_json, lambda r: _render_load(r, policy))
    if strict and report.rejected:
        raise typer.Exit(1)


@app.command("list")
def list_(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status (new, dnc …).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List leads, newest first.

    Example: reauto leads list --campaign spring --status new --limit 20
    """
    cfg = settings(ctx)
    rows = run_db(
        cfg, lambda engine: queries.list_leads(engine, campaign=campaign, status=status, limit=limit)
    )
    emit(
        rows,
        as_json,
        lambda items: table(
            f"leads ({len(items)})",
            ["id", "campaign", "name", "phone", "state", "timezone", "status", "dnc", "consent", "attempts"],
            [
                (r.id, r.campaign, r.name, r.phone, r.state, r.timezone, r.status,
                 "yes" if r.dnc else "", "written" if r.consent else "", r.attempts)
                for r in items
            ],
            optional=("timezone", "campaign", "consent", "dnc", "attempts"),
        ),
    )


def _render_detail(details: list[queries.LeadDetail]) -> None:
    for detail in details:
        lead = detail.lead
        rows: list[tuple[str, Any]] = [("campaign", detail.campaign)]
        rows += [(k, v) for k, v in lead.items() if v not in (None, [], {})]
        table(f"lead {lead['id']}", ["field", "value"], rows)
        if detail.consents:
            table(
                "consent",
                ["kind", "obtained", "method", "ai voice", "texts", "revoked", "evidence"],
                [(c["kind"], c["obtained_at"], c["method"], c["covers_artificial_voice"],
                  c["covers_texts"], c["revoked_at"], c["evidence"]) for c in detail.consents],
            )
        if detail.dnc_entries:
            table(
                "do-not-call",
                ["source", "reason", "added", "removed"],
                [(d["source"], d["reason"], d["added_at"], d["removed_at"]) for d in detail.dnc_entries],
            )
        if detail.touches:
            table(
                "texts",
                ["at", "kind", "step", "status", "reason", "text"],
                [(t["created_at"], t["kind"], t["step"], t["status"], t["reason"], t["body"]) for t in detail.touches],
            )


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Lead id, or a phone number (every campaign's lead).")],
    as_json: JsonOpt = False,
) -> None:
    """Show one lead in full: fields, consent records, DNC entries and the texts sent (or skipped).

    Example: reauto leads show "+1 512 555 0123"
    """
    cfg = settings(ctx)
    details = run_db(cfg, lambda engine: queries.show_lead(engine, ref, region=cfg.default_region))
    emit(details, as_json, _render_detail)


def _render_stats(data: dict[str, Any]) -> None:
    scope = f"campaign {data['campaign']!r}" if data["campaign"] else "all campaigns"
    console.print(f"{data['total']} leads in {scope}", highlight=False)
    for name in ("status", "state", "timezone", "written_consent", "dnc"):
        table(f"by {name.replace('_', ' ')}", [name, "leads"], list(data[name].items()))


@app.command()
def stats(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Count leads by status, state, time zone, written consent and DNC flag.

    Example: reauto leads stats --campaign spring --json
    """
    cfg = settings(ctx)
    data = run_db(cfg, lambda engine: queries.lead_stats(engine, campaign=campaign))
    emit(data, as_json, _render_stats)
