"""``reauto calls``: stored calls, and exporting them as evaluation sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.store import run_db
from reauto.cli.output import JsonOpt, console, emit, err_console, table

app = typer.Typer(
    help="List stored calls, show one with its analysis and transcript, and export recorded ones as evaluation "
    "sets for `reauto eval`.\n\n"
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
    """List calls, newest first: lead, way (out: dialed; in: the lead called), status, outcome, turns,
    recording (yes, declined by the lead, or purged).

    Example: reauto calls list --campaign demo --limit 20
    """
    from reauto.store.engine import session_factory
    from reauto.store.repositories import recent_calls

    async def work(engine: Any) -> list[dict[str, Any]]:
        async with session_factory(engine)() as s:
            return await recent_calls(s, campaign=campaign, limit=limit)

    rows = run_db(settings(ctx), work)
    emit(rows, as_json, lambda items: table(
        f"calls ({len(items)})", ["id", "campaign", "lead", "way", "status", "outcome", "turns", "recorded", "started"],
        [(r["id"], r["campaign"], r["lead"], "in" if r["direction"] == "inbound" else "out", r["status"],
          r["outcome"], r["turns"],
          {"kept": "yes", "none": ""}.get(r["recording"], r["recording"]), r["created_at"]) for r in items]))


@app.command("show")
def show(
    ctx: typer.Context,
    call_id: Annotated[int, typer.Argument(help="The call's id (reauto calls list).", min=1)],
    as_json: JsonOpt = False,
) -> None:
    """One call: who, which way, from which number, how it ended, its analysis, its transcript.

    Example: reauto calls show 42 --json
    """
    from reauto.errors import UsageError
    from reauto.store.engine import session_factory
    from reauto.store.repositories import call_detail

    async def work(engine: Any) -> dict[str, Any]:
        async with session_factory(engine)() as s:
            found = await call_detail(s, call_id)
        if found is None:
            raise UsageError(f"no call {call_id} in the store")
        return found

    detail = run_db(settings(ctx), work)

    def render(d: dict[str, Any]) -> None:
        way = "the lead called" if d["direction"] == "inbound" else f"dialed from {d['caller_id'] or 'the caller ID'}"
        console.print(f"call {d['id']} · {d['campaign']} · {d['lead'] or 'lead ' + str(d['lead_id'])} · {way}",
                      highlight=False, markup=False)
        console.print(f"{d['status']}, outcome {d['outcome'] or '-'}, ${d['cost_usd']:.4f}, started "
                      f"{d['created_at']:%Y-%m-%d %H:%M} UTC, recording {d['recording']}", highlight=False, markup=False)
        a = d["analysis"]
        if a:
            console.print(f"analysis ({a['by']}): {a['summary']}", highlight=False, markup=False, soft_wrap=True)
            console.print(f"sentiment {a['sentiment']}; objections {', '.join(a['objections']) or 'none'}; "
                          f"follow-up {a['follow_up_at'] or '-'}", highlight=False, markup=False)
        for turn in d["turns"]:
            console.print(f"{turn['speaker']:>5}: {turn['text']}", highlight=False, markup=False, soft_wrap=True)

    emit(detail, as_json, render)


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


@app.command("stats")
def stats(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Option("--campaign", "-C", help="The campaign.")],
    by: Annotated[str, typer.Option("--by", help="Group by: variant (A/B prompt variants), outcome or day.")]
    = "variant",
    days: Annotated[int, typer.Option("--days", min=1, help="Calls of the last this many days.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """A campaign's calls per group: answered, bookings, booking rate, mean score, cost per call.

    Grouped by prompt variant, each variant's booking rate is tested against the variant with the
    most calls (two-proportion z-test; p < 0.05 suggests a real difference, and small samples
    are flagged). Each lead keeps its variant on every call (campaign `prompt_variants`).

    Example: reauto calls stats --campaign austin-buyers --by variant --days 14
    """
    from datetime import timedelta

    from reauto.analytics.groups import campaign_stats
    from reauto.errors import UsageError
    from reauto.store.types import utcnow

    if by not in ("variant", "outcome", "day"):
        raise UsageError(f"--by {by!r}: choose variant, outcome or day")
    since = utcnow() - timedelta(days=days)
    groups = run_db(settings(ctx), lambda engine: campaign_stats(engine, campaign, by, since))  # type: ignore[arg-type]

    def rate(value: float | None) -> str:
        return "" if value is None else f"{value:.1%}"

    def render(items: Any) -> None:
        table(f"{campaign}: calls by {by}, last {days} days", [by, "calls", "answered", "bookings", "booking rate",
                                                               "mean score", "cost/call", "p vs reference"],
              [(g.group, g.calls, g.answered, g.bookings, rate(g.booking_rate),
                "" if g.mean_score is None else f"{g.mean_score:.2f}",
                "" if g.cost_per_call is None else f"${g.cost_per_call:.4f}",
                "" if g.versus is None else ("n/a" if g.p_value is None else
                                             f"{g.p_value:.3f}{' (small sample)' if g.small_sample else ''}"))
               for g in items])
        if not items:
            err_console.print(f"no calls of {campaign} in the last {days} days", highlight=False)

    emit(groups, as_json, render)


@app.command("recheck")
def recheck(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option("--campaign", "-C", help="Only this campaign.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many calls, oldest first.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hear calls again from their recordings and act on an opt-out the live call missed.

    A dialer hears each call answered by a person again after it ends (the opt-out safety net,
    `[stt] second_listen`); this hears the ones still waiting (a dialer stopped first). The
    lead's side is decoded with the recogniser's most accurate settings; an opt-out found puts
    the number on the do-not-call list and makes the call's outcome dnc. A call that was not
    recorded keeps its live result and is marked as not heard again.

    Example: reauto calls recheck --campaign demo
    """
    from sqlalchemy import select

    from reauto.dialer.second_listen import SecondListen
    from reauto.errors import UsageError
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign
    from reauto.store.types import utcnow

    cfg = settings(ctx)

    async def work(engine: Any) -> list[dict[str, Any]]:
        sessions = session_factory(engine)
        campaign_id = None
        if campaign is not None:
            async with sessions() as s:
                campaign_id = (await s.execute(select(Campaign.id).where(Campaign.name == campaign))).scalar()
            if campaign_id is None:
                raise UsageError(f"--campaign {campaign!r}: no such campaign in the store")
        listen = SecondListen(sessions, cfg.stt, clock=utcnow)
        try:
            heard = await listen.run_pending(campaign_id, limit)
        finally:
            await listen.close()
        return [{"call_id": h.call_id, "heard": h.checked, "opt_out": h.opt_out, "utterances": h.utterances,
                 "at_s": h.at_s, "reason": h.reason} for h in heard]

    rows = run_db(cfg, work)

    def render(items: list[dict[str, Any]]) -> None:
        table(f"calls heard again ({len(items)})", ["call", "heard", "opt-out found", "utterances", "at", "note"],
              [(r["call_id"], "yes" if r["heard"] else "no", "YES" if r["opt_out"] else "", r["utterances"],
                "" if r["at_s"] is None else f"{r['at_s']:.1f}s", r["reason"] or "") for r in items])
        if not items:
            err_console.print("no call is waiting to be heard again", highlight=False)

    emit(rows, as_json, render)


@app.command("purge-recordings")
def purge_recordings(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", "-C", help="Only this campaign: its name, or its YAML file (whose recording.keep_days "
                                 "then applies).")] = None,
    keep_days: Annotated[int | None, typer.Option(
        "--keep-days", min=1, help="Keep this many days (default: the campaign file's recording.keep_days, "
                                   "else [recording] keep_days).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete the audio of call recordings older than the retention period (safe to run from cron).

    Each purged call keeps its transcript, slots and outcome; its recording path is cleared, the
    time of the purge stored and a `recording_purged` event written. Running it again deletes
    nothing more. Evaluation sets already exported from recordings (`calls export-recordings`) are
    copies: delete them by the same rule.

    Example: reauto calls purge-recordings --campaign campaigns/austin-buyers.yaml --dry-run
    """
    from reauto.errors import UsageError
    from reauto.store.engine import session_factory
    from reauto.store.retention import purge_recordings as purge
    from reauto.store.types import utcnow

    cfg = settings(ctx)
    name = campaign
    days = keep_days
    if campaign is not None and campaign.endswith((".yaml", ".yml")):
        from reauto.campaign import load_campaign

        loaded = load_campaign(Path(campaign))
        name, days = loaded.name, keep_days or loaded.recording.keep_days
    days = days or cfg.recording.keep_days
    if days is None:
        raise UsageError("no retention period: give --keep-days, a campaign file with recording.keep_days, "
                         "or set [recording] keep_days")
    report = run_db(cfg, lambda engine: purge(session_factory(engine), keep_days=days, now=utcnow(),
                                              campaign=name, dry_run=dry_run))

    def render(r: Any) -> None:
        verb = "would delete" if dry_run else "deleted"
        console.print(f"{verb} {r['purged']} recording(s) from before {r['before'][:10]} ({r['keep_days']} days "
                      f"kept), {r['bytes_freed'] / 1e6:.1f} MB; {r['already_gone']} file(s) were already gone",
                      highlight=False)

    emit(report.as_json(), as_json, render)
