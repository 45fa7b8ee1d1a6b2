"""``reauto campaign``: validate and show campaign files; where a campaign stands; pause and resume it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from reauto.campaign import load_campaign, validate_campaign
from reauto.cli.output import JsonOpt, console, emit, err_console

app = typer.Typer(
    help="Validate and show campaign YAML files; see where a campaign stands; pause and resume it while it runs.\n\n"
    "Example: reauto campaign validate campaigns/*.yaml",
    no_args_is_help=True,
)


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Campaign files.")], as_json: JsonOpt = False) -> None:
    """Check campaign files; print every problem as file:line:column and exit 2 if any.

    Example: reauto campaign validate campaigns/demo.yaml
    """
    problems = [p for f in files for p in validate_campaign(f)[1]]
    data = {"ok": not problems, "files": [str(f) for f in files], "problems": problems}

    def render(d: dict) -> None:
        for p in d["problems"]:
            err_console.print(str(p), highlight=False, markup=False)  # patterns have [brackets]
        if d["ok"]:
            console.print(f"{len(d['files'])} campaign file(s) OK")

    emit(data, as_json, render)
    if problems:
        raise typer.Exit(2)


@app.command()
def show(file: Annotated[Path, typer.Argument(help="Campaign file.")], as_json: JsonOpt = False) -> None:
    """Show a campaign with every default filled in.

    Example: reauto campaign show campaigns/demo.yaml --json
    """
    campaign = load_campaign(file)
    emit(campaign.model_dump(mode="json"), as_json,
         lambda d: console.print_json(data=d))


@app.command()
def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign's name (its `name:`).")],
    as_json: JsonOpt = False,
) -> None:
    """Where a campaign stands: paused or not, the abandoned-call rate over 30 days (the calls a person
    answered, and how many of them heard nothing from the agent within 2 s), how many more
    person-answered calls without abandonment bring it back to the ceiling (3%), the next time a
    call may be placed, each budget's spent and held money, and the leads due now.

    Example: reauto campaign status demo --json
    """
    from reauto.cli.context import settings
    from reauto.cli.store import run_db

    data = run_db(settings(ctx), lambda engine: _status(settings(ctx), engine, name))
    emit(data, as_json, _render_status)


@app.command()
def pause(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign's name (its `name:`).")],
    as_json: JsonOpt = False,
) -> None:
    """Stop the campaign's new calls at once, in every dialer; live calls finish.

    When this returns no dialer places another call of the campaign. A `reauto dial` run ends once
    its live calls have; `reauto serve --campaign` waits for `reauto campaign resume`.

    Example: reauto campaign pause austin-buyers
    """
    _control(ctx, name, True, as_json)


@app.command()
def resume(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign's name (its `name:`).")],
    as_json: JsonOpt = False,
) -> None:
    """Let a paused campaign dial again; serving dialers are woken at once.

    Example: reauto campaign resume austin-buyers
    """
    _control(ctx, name, False, as_json)


def _control(ctx: typer.Context, name: str, paused: bool, as_json: bool) -> None:
    from reauto.cli.context import settings
    from reauto.cli.store import run_db
    from reauto.dialer.control import set_paused
    from reauto.intake.wake import wake_bus_for

    cfg = settings(ctx)

    async def work(engine: Any) -> dict[str, Any]:
        bus = wake_bus_for(cfg, engine)
        try:
            return (await set_paused(engine, name, paused, wake=bus.publish)).as_json()
        finally:
            await bus.close()

    data = run_db(cfg, work)
    verb = "paused" if paused else "resumed"
    emit(data, as_json, lambda d: console.print(
        f"campaign {d['campaign']} {verb}" + ("" if d["changed"] else f" (it was already {verb})"), highlight=False))


async def _status(cfg: Any, engine: Any, name: str) -> dict[str, Any]:
    from sqlalchemy import select

    from reauto.compliance import ComplianceRules
    from reauto.costs.budget import GLOBAL, campaign_scope, ledger_spent, windows_for
    from reauto.costs.pricing import Catalogue
    from reauto.costs.reservations import counter_errors, reservations_for
    from reauto.dialer.stops import abandon_standing
    from reauto.errors import UsageError
    from reauto.store import repositories
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign
    from reauto.store.types import utcnow

    now = utcnow()
    async with session_factory(engine)() as s:
        row = (await s.execute(select(Campaign).where(Campaign.name == name))).scalar_one_or_none()
        if row is None:
            raise UsageError(f"no campaign named {name!r} in the database (it is registered by its first dial)")
        config = dict(row.config or {})
        standing = await abandon_standing(s, row.id, now=now, ceiling=ComplianceRules().abandon_ceiling)
        due = await repositories.due_count(s, row.id, now=now)
        windows = await windows_for(s, [GLOBAL, campaign_scope(name)], now, cfg.budget.stop_dialing_at)
        estimate = Catalogue(cfg.pricing, config.get("pricing")).call_estimate(
            str(config.get("telephony", "sim")), cfg.budget.call_estimate_min, amd=bool(config.get("amd", True)))
        counters = reservations_for(cfg.redis)
        budgets = []
        try:
            for w in windows:
                try:
                    snap = await counters.snapshot(w.counter)
                except counter_errors():
                    snap = None  # unreachable: held unknown
                spent = await ledger_spent(s, w.scope, w.start, w.end)
                held = Decimal(snap[1]) / 1_000_000 if snap is not None else None
                counted = Decimal(snap[0]) / 1_000_000 if snap is not None else spent
                limit = Decimal(w.counter.limit) / 1_000_000
                budgets.append({"scope": w.scope, "period": w.period.value, "budget_usd": w.amount,
                                "spent_usd": spent, "held_usd": held, "period_end": w.end,
                                "covers_a_call": counted + (held or 0) + estimate <= limit})
        finally:
            await counters.close()
    blocked = [b["period_end"] for b in budgets if not b["covers_a_call"]]
    waits = [t for t in (standing.clears_at if standing.over else None, max(blocked, default=None)) if t is not None]
    return {"campaign": name, "at": now, "abandoned_30d": standing.as_json(), "budgets": budgets,
            "call_estimate_usd": estimate, "due_leads": due,
            "next_allowed_at": max(waits) if waits else now, "paused": row.active is False,
            "stopped_by": [k for k, on in (("paused", row.active is False), ("abandoned_rate", standing.over),
                                           ("budget", bool(blocked))) if on]}


def _render_status(d: dict[str, Any]) -> None:
    a = d["abandoned_30d"]
    rate = f"{a['rate']:.1%}" if a["rate"] is not None else "—"
    console.print(f"campaign {d['campaign']}: {d['due_leads']} leads due", highlight=False)
    console.print(f"abandoned calls, last 30 days: {a['abandoned']} of {a['answered_by_a_person']} answered by a "
                  f"person ({rate}; ceiling {a['ceiling']:.0%})" + (
                      f" — over: {a['calls_to_clear']} more person-answered calls without abandonment bring it "
                      f"back, or it clears by itself at {a['clears_at']}" if a["over"] else ""), highlight=False)
    for b in d["budgets"]:
        held = f"${b['held_usd']:,.4f}" if b["held_usd"] is not None else "unknown (counters unreachable)"
        console.print(f"budget {b['scope']} {b['period']}: ${b['spent_usd']:,.4f} spent, {held} held of "
                      f"${b['budget_usd']:,.2f}" + ("" if b["covers_a_call"] else " — cannot cover a call"),
                      highlight=False)
    when = d["next_allowed_at"]
    if d.get("paused"):
        console.print(f"paused: no new calls until `reauto campaign resume {d['campaign']}`", highlight=False)
    console.print("calls may be placed now" if not d["stopped_by"] else
                  f"stopped by {', '.join(d['stopped_by'])}: next allowed at {when.isoformat(timespec='seconds')}",
                  highlight=False)
