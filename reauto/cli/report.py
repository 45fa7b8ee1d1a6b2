"""``reauto report``: a campaign's calls, bookings, variants, cost and quality over a period."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reauto.analytics.report import CampaignReport, Period
from reauto.cli.context import settings
from reauto.cli.store import run_db
from reauto.cli.output import JsonOpt, console, emit
from reauto.errors import UsageError


def parse_end(value: str | None) -> date | datetime:
    """``--end``: a date (``2026-03-10``) or an instant with its UTC offset; default now (UTC)."""
    from reauto.store.types import utcnow

    if value is None:
        return utcnow()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--end {value!r}: expected a date like 2026-03-10 or an instant like "
                         "2026-03-10T18:00:00-06:00") from None
    if instant.tzinfo is None:
        raise UsageError(f"--end {value!r}: give the UTC offset, e.g. 2026-03-10T18:00:00-06:00")
    return instant


def report(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Option("--campaign", "-C", help="Campaign name.")],
    period: Annotated[
        Period, typer.Option(help="Whole UTC days: day (1), week (7) or month (30), ending with --end's day.")
    ] = Period.WEEK,
    end: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Last day of the period: 2026-03-10, or an instant with its offset "
                                          "(its UTC date is used). Default: today, UTC."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML page.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Also write the charts as a PNG image.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Analytics of one campaign over a day, week or month: funnel, variants, cost and quality.

    Per UTC day: calls placed, answered by a person (completed, not voicemail), qualified leads
    (a call whose latest qualification snapshot scores at least 0.6) and bookings. Then the
    booking rate (bookings / answered), the outcome mix, the booking rate per prompt variant with
    a two-proportion z-test against the variant with most calls, the cost per call, qualified
    lead and booking, STT confidence, agent first-audio latency and abandoned calls.

    Example: reauto report --campaign demo --period week --html report.html
    """
    from reauto.analytics.report import build_report

    last = parse_end(end)

    async def work(engine: Any) -> CampaignReport:
        return await build_report(engine, campaign, period, last)

    result = run_db(settings(ctx), work)
    emit(result.as_dict(), as_json, lambda _: _render(result))
    if png is None and html is None:
        return
    from reauto.analytics.charts import write_html, write_png

    written = [write_png(png, result)] if png is not None else []
    if html is not None:
        written.append(write_html(html, result))
    if not as_json:
        for path in written:
            console.print(f"report written to {path}", highlight=False)


def _render(result: CampaignReport) -> None:
    from reauto.analytics.charts import report_tables

    for spec in report_tables(result):
        t = Table(title=spec.title, title_justify="left")
        for i, col in enumerate(spec.columns):
            t.add_column(col, justify="left" if i == 0 or col in ("vs", "note") else "right")
        for i, row in enumerate(spec.rows):
            t.add_row(*row, style="bold red" if i in spec.flags else None)  # over a legal limit or a budget
        console.print(t)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
