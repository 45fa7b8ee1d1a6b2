"""``reauto budget``: set budgets, see spend, holds and forecast, history and the cost of calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from reauto.cli.context import settings
from reauto.cli.store import run_db
from reauto.cli.output import JsonOpt, console, emit, table
from reauto.errors import UsageError

app = typer.Typer(
    help="Budgets per day, week or month (all campaigns or one): set them, see spend, holds and "
    "forecast, daily history, and the itemised cost of calls.\n\n"
    "Example: reauto budget set --daily 25 --campaign demo && reauto budget status",
    no_args_is_help=True,
)

SPARK = "▁▂▃▄▅▆▇█"


def _scope(campaign: str | None) -> str:
    from reauto.costs.budget import GLOBAL, campaign_scope

    return campaign_scope(campaign) if campaign else GLOBAL


@app.command("set")
def set_(
    ctx: typer.Context,
    daily: Annotated[float | None, typer.Option(help="Dollars per UTC day.", min=0)] = None,
    weekly: Annotated[float | None, typer.Option(help="Dollars per UTC week (from Monday).", min=0)] = None,
    monthly: Annotated[float | None, typer.Option(help="Dollars per UTC month.", min=0)] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign (default: all).")] = None,
    remove: Annotated[bool, typer.Option(help="Remove the named periods' budgets instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set (or with --remove, delete) budgets; a call is only dialed when every budget covering it can pay.

    Example: reauto budget set --daily 25 --monthly 400 --campaign demo
    """
    from sqlalchemy import delete, select

    from reauto.store.engine import session_factory
    from reauto.store.models import Budget, BudgetPeriod

    periods = {p: v for p, v in (("daily", daily), ("weekly", weekly), ("monthly", monthly)) if v is not None}
    if not periods:
        raise UsageError("give at least one of --daily, --weekly, --monthly")
    scope = _scope(campaign)

    async def work(engine: Any) -> list[dict[str, Any]]:
        async with session_factory(engine).begin() as s:
            for period, amount in periods.items():
                row = (await s.execute(select(Budget).where(Budget.scope == scope,
                                                            Budget.period == BudgetPeriod(period)))).scalar_one_or_none()
                if remove:
                    await s.execute(delete(Budget).where(Budget.scope == scope, Budget.period == BudgetPeriod(period)))
                elif row is None:
                    s.add(Budget(scope=scope, period=BudgetPeriod(period), amount=Decimal(str(amount))))
                else:
                    row.amount = Decimal(str(amount))
        return [{"scope": scope, "period": p, "amount_usd": None if remove else v} for p, v in periods.items()]

    rows = run_db(settings(ctx), work)
    emit(rows, as_json, lambda items: [console.print(
        f"{r['scope']} {r['period']}: " + ("removed" if remove else f"${r['amount_usd']:,.2f}"), highlight=False)
        for r in items])


@app.command()
def status(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only budgets covering this campaign.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Spent, held by running calls, remaining and forecast to the period's end, per budget.

    Spent comes from the cost ledger; held from the shared counters (Redis) while dialers run.
    The forecast extends the last 24 hours' burn rate to the end of the period.

    Example: reauto budget status --campaign demo
    """
    from reauto.costs.budget import GLOBAL, campaign_scope, ledger_spent, windows_for
    from reauto.costs.reservations import counter_errors, reservations_for
    from reauto.errors import ReautoError
    from reauto.store.engine import session_factory
    from reauto.store.models import Budget
    from reauto.store.types import utcnow
    from reauto.store.urls import redact

    cfg = settings(ctx)

    async def work(engine: Any) -> list[dict[str, Any]]:
        from sqlalchemy import select

        now = utcnow()
        async with session_factory(engine)() as s:
            if campaign:
                scopes = [GLOBAL, campaign_scope(campaign)]
            else:
                scopes = sorted(set((await s.execute(select(Budget.scope))).scalars()))
            windows = await windows_for(s, scopes, now)
            counters = reservations_for(cfg.redis)
            out = []
            try:
                for w in windows:
                    spent = await ledger_spent(s, w.scope, w.start, w.end)
                    try:
                        snap = await counters.snapshot(w.counter)
                    except counter_errors() as exc:
                        raise ReautoError(
                            f"the budget counters at {redact(cfg.redis.url)} cannot be reached ({type(exc).__name__}): "
                            "what running dialers hold is kept there; start Redis or correct [redis] url",
                            exit_code=3) from None
                    held = Decimal(snap[1]) / 1_000_000 if snap else Decimal(0)
                    since = max(w.start, now - timedelta(hours=24))
                    recent = await ledger_spent(s, w.scope, since, now + timedelta(seconds=1))
                    hours = max((now - since).total_seconds() / 3600, 1 / 60)
                    forecast = spent + Decimal(str(float(recent) / hours * (w.end - now).total_seconds() / 3600))
                    days = await _daily(s, w.scope, w.start, min(w.end, now + timedelta(seconds=1)))
                    out.append({"scope": w.scope, "period": w.period.value, "budget_usd": w.amount,
                                "period_start": w.start, "period_end": w.end, "spent_usd": spent, "held_usd": held,
                                "remaining_usd": w.amount - spent - held,
                                "utilisation": float((spent + held) / w.amount) if w.amount else None,
                                "forecast_usd": forecast.quantize(Decimal("0.01")),
                                "forecast_over": forecast > w.amount, "daily": days})
            finally:
                await counters.close()
            return out

    rows = run_db(cfg, work)
    emit(rows, as_json, _render_status)


async def _daily(s: Any, scope: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from reauto.costs.budget import ledger_spent

    out, day = [], start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        out.append({"day": day.date().isoformat(), "spent_usd": await ledger_spent(s, scope, day, nxt)})
        day = nxt
    return out


def _spark(values: list[Decimal]) -> str:
    top = max(values, default=Decimal(0))
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1)))] for v in values)


def _render_status(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no budgets set (reauto budget set --daily 25)")
        return
    columns = ("scope", "period", "budget", "spent", "held", "remaining", "used", "forecast", "per day")
    cells = []
    for r in rows:
        used = r["utilisation"] or 0.0
        bar = "█" * int(min(used, 1) * 10) + "░" * (10 - int(min(used, 1) * 10))
        forecast = f"${r['forecast_usd']:,.2f}" + (" ⚠" if r["forecast_over"] else "")
        cells.append((r["scope"], r["period"], f"${r['budget_usd']:,.2f}", f"${r['spent_usd']:,.4f}",
                      f"${r['held_usd']:,.4f}", f"${r['remaining_usd']:,.4f}", f"{bar} {used:.0%}", forecast,
                      _spark([d["spent_usd"] for d in r["daily"]])))
    table("budgets", columns, cells, optional=("per day", "held", "forecast"),
          justify={c: "right" for c in columns if c not in ("scope", "period", "per day")})


@app.command()
def history(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="How many days back.", min=1, max=366)] = 14,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign.")] = None,
    by: Annotated[str, typer.Option(help="Columns: component (telephony, stt …) or provider.")] = "component",
    as_json: JsonOpt = False,
) -> None:
    """Spend per day and component (telephony, media stream, AMD, STT, TTS, LLM) or provider.

    Example: reauto budget history --days 7 --campaign demo --by provider
    """
    if by not in ("component", "provider"):
        raise UsageError(f"--by {by!r}: expected component or provider")
    from sqlalchemy import func, select

    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign, CostEntry
    from reauto.store.types import utcnow

    async def work(engine: Any) -> list[dict[str, Any]]:
        since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
        day = func.date(CostEntry.ts)
        column = CostEntry.component if by == "component" else CostEntry.provider
        query = (select(day, column, func.sum(CostEntry.amount), func.count(func.distinct(CostEntry.call_id)))
                 .where(CostEntry.ts >= since).group_by(day, column).order_by(day))
        if campaign:
            query = query.join(Campaign, Campaign.id == CostEntry.campaign_id).where(Campaign.name == campaign)
        async with session_factory(engine)() as s:
            rows = (await s.execute(query)).all()
        out: dict[str, dict[str, Any]] = {}
        for d, component, amount, calls in rows:
            entry = out.setdefault(str(d), {"day": str(d), "total_usd": Decimal(0), "calls": 0, "components": {}})
            entry["components"][component] = Decimal(amount)
            entry["total_usd"] += Decimal(amount)
            entry["calls"] = max(entry["calls"], calls)
        return list(out.values())

    rows = run_db(settings(ctx), work)

    def render(items: list[dict[str, Any]]) -> None:
        t = Table(title=f"spend, last {days} days" + (f" ({campaign})" if campaign else ""), title_justify="left")
        comps = sorted({c for i in items for c in i["components"]})
        for col in ("day", "calls", *comps, "total"):
            t.add_column(col, justify="left" if col == "day" else "right")
        for i in items:
            t.add_row(i["day"], str(i["calls"]), *(f"${i['components'].get(c, 0):,.4f}" for c in comps),
                      f"${i['total_usd']:,.4f}")
        console.print(t if items else "no spend recorded in that period")

    emit(rows, as_json, render)


@app.command()
def costs(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Calls of this campaign.")] = None,
    call: Annotated[int | None, typer.Option("--call", help="One call.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many calls, newest first.", min=1)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The itemised cost of calls: every ledger line with its arithmetic, and the call's total.

    Example: reauto budget costs --campaign demo --limit 5
    """
    from sqlalchemy import select

    from reauto.store.engine import session_factory
    from reauto.store.models import Call, Campaign, CostEntry

    if campaign is None and call is None:
        raise UsageError("give --campaign or --call")

    async def work(engine: Any) -> list[dict[str, Any]]:
        query = select(Call).order_by(Call.id.desc()).limit(limit)
        if call is not None:
            query = query.where(Call.id == call)
        if campaign is not None:
            query = query.join(Campaign, Campaign.id == Call.campaign_id).where(Campaign.name == campaign)
        async with session_factory(engine)() as s:
            calls = list((await s.execute(query)).scalars())
            out = []
            for c in calls:
                lines = list((await s.execute(select(CostEntry).where(CostEntry.call_id == c.id)
                                              .order_by(CostEntry.id))).scalars())
                out.append({"call_id": c.id, "status": c.status.value, "outcome": c.outcome.value if c.outcome else None,
                            "total_usd": Decimal(c.cost_total or 0), "seconds": _seconds(c),
                            "lines": [{"component": e.component, "provider": e.provider, "quantity": e.quantity,
                                       "unit": e.unit, "unit_price": e.unit_price, "amount": e.amount,
                                       "arithmetic": f"{Decimal(e.quantity).normalize():f} {e.unit} × "
                                                     f"${Decimal(e.unit_price):.6f} = ${Decimal(e.amount):.6f}"}
                                      for e in lines]})
        return out

    rows = run_db(settings(ctx), work)

    def render(items: list[dict[str, Any]]) -> None:
        if not items:
            console.print("no calls")
        for i in items:
            t = Table(title=f"call {i['call_id']} ({i['status']}, {i['outcome'] or '—'}, "
                            f"{i['seconds'] or 0:.0f} s): ${i['total_usd']:.6f}", title_justify="left")
            for col in ("component", "provider", "arithmetic"):
                t.add_column(col)
            for line in i["lines"]:
                t.add_row(line["component"], line["provider"], line["arithmetic"])
            console.print(t)

    emit(rows, as_json, render)


def _seconds(call: Any) -> float | None:
    if call.answered_at and call.ended_at:
        return (call.ended_at - call.answered_at).total_seconds()
    return None
