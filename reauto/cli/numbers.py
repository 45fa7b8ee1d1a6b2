"""``reauto numbers``: a campaign's caller IDs — how each is doing, and which are resting."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.store import run_db
from reauto.cli.output import JsonOpt, emit, table
from reauto.errors import UsageError

app = typer.Typer(
    help="A campaign's caller IDs: calls, answer rate, short calls and attestation per number, and the numbers "
    "rested for a low answer rate.\n\nExample: reauto numbers stats --campaign austin-buyers --days 7",
    no_args_is_help=True,
)


@app.command()
def stats(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Option("--campaign", "-C", help="The campaign.")],
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Calls of the last N days.")] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Calls, answer rate, short calls, attestation and rest of each number the campaign called from.

    Short calls are answered calls under 10 s (a sign of a spam label); the attestation is the last
    StirStatus Twilio reported (A/B/C); a number rests when its answer rate falls under the
    campaign's caller_ids.rest_below share of its pool's (the JSON says why).

    Example: reauto numbers stats --campaign austin-buyers
    """
    from sqlalchemy import select

    from reauto.dialer.caller_ids import number_stats
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign
    from reauto.store.types import utcnow

    async def work(engine: Any) -> list[dict[str, Any]]:
        async with session_factory(engine)() as s:
            campaign_id = (await s.execute(select(Campaign.id).where(Campaign.name == campaign))).scalar_one_or_none()
            if campaign_id is None:
                raise UsageError(f"no campaign named {campaign!r} in the store")
            now = utcnow()
            return await number_stats(s, campaign_id, since=now - timedelta(days=days), now=now)

    rows = run_db(settings(ctx), work)

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    emit(rows, as_json, lambda items: table(
        f"caller IDs of {campaign}, last {days} days ({len(items)})",
        ["number", "calls", "answered", "short", "attest.", "resting until"],
        [(r["number"], r["calls"], pct(r["answer_rate"]), pct(r["short_rate"]), r["attestation"] or "",
          (r["rested_until"] or "")[:16]) for r in items]))
