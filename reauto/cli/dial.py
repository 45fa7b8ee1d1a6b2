"""``reauto dial``: run a campaign's calls with a live view, then a table per call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit, err_console
from reauto.errors import UsageError

if TYPE_CHECKING:
    from reauto.dialer.results import LiveCall


def dial(
    ctx: typer.Context,
    campaign_file: Annotated[Path, typer.Argument(help="Campaign YAML file.", exists=False)],
    max_calls: Annotated[int | None, typer.Option(help="Stop after placing this many calls.", min=1)] = None,
    concurrency: Annotated[int | None, typer.Option(
        help="The most calls at once (default: the campaign's); fewer while the machine has no headroom for "
             "them (admission control).", min=1)] = None,
    fixed_concurrency: Annotated[bool, typer.Option(
        "--fixed-concurrency", help="Keep --concurrency calls at once whatever the machine's headroom "
                                    "(admission control off).")] = False,
    at: Annotated[str | None, typer.Option(
        help="Simulated telephony only: evaluate the calling rules as of this instant "
        "(ISO 8601, e.g. 2026-11-24T15:00:00-06:00), so a demo runs at any hour.")] = None,
    speed: Annotated[float, typer.Option(help="Simulated leads' clock speed (1 = real time).", min=0.5, max=4)] = 1.0,
    recordings: Annotated[Path | None, typer.Option(
        help="Directory for dual-channel recordings (default: [recording] dir; none: no recording).")] = None,
    seed_personas: Annotated[bool, typer.Option(help="Simulated telephony: add the campaign's personas as leads.")] = True,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve /metrics (Prometheus) and /live (calls in progress, for `reauto top`) on this port.",
        min=0, max=65535)] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics endpoint binds to.")] = "127.0.0.1",
    as_json: JsonOpt = False,
) -> None:
    """Dial a campaign's due leads: compliance gate, live calls, stored results.

    With `telephony: sim` every call reaches a simulated lead (the campaign's personas) over a
    simulated 8 kHz μ-law phone line; the agent hears only audio. With `telephony: twilio` the
    calls go through Twilio (\\[twilio] settings) and this process serves the webhooks and media
    streams on \\[twilio] listen_host:listen_port behind public_url. Needs a migrated database
    (`reauto db upgrade`).

    Exit status:
    0  the run ended because no lead was due, --max-calls calls were placed, or the
       campaign is paused (`reauto campaign pause`; live calls finish first);
    4  the abandoned-call gate stopped the campaign: over 30 days, more than 3%
       of the calls a person answered heard nothing from the agent within 2 s;
    5  a budget cannot cover another call.
    A stop prints one line with its reason and the next allowed time (--json:
    "stopped"); `reauto campaign status NAME` shows where the campaign stands.

    Example: reauto dial campaigns/demo.yaml --at 2026-11-24T15:00:00-06:00
    """
    from reauto.campaign import load_campaign
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun

    cfg = settings(ctx)
    campaign = load_campaign(campaign_file)
    if campaign.telephony != "sim" and at is not None:
        raise UsageError(f"--at is for simulated telephony only; {campaign_file} uses {campaign.telephony}")
    if campaign.telephony == "twilio" and not cfg.twilio.public_url:
        raise UsageError("telephony twilio needs [twilio] public_url (the https URL Twilio reaches reauto at)")
    options = DialOptions(max_calls=max_calls, concurrency=concurrency, admission=not fixed_concurrency,
                          clock_start=_parse_at(at), speed=speed, recordings=recordings or cfg.recording.dir,
                          seed=seed_personas,
                          metrics=(metrics_host, metrics_port) if metrics_port is not None else None)
    web = None
    if campaign.telephony == "twilio":  # Twilio's webhooks and media streams reach this process
        from reauto.serve.embed import start_server as web
    run = DialRun(cfg, campaign, options, on_message=say, view=None if as_json else _LiveView(), web=web)
    result = asyncio.run(run.run())
    data = {"campaign": campaign.name, "calls": result.summaries,
            "denied": [{"lead_id": i, "reason": r} for i, r in result.denied], **result.extra}
    emit(data, as_json, _render)
    stopped = data.get("stopped")
    if stopped is not None:  # cron and systemd see a campaign a gate stopped
        err_console.print(stopped["line"], highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(stopped["exit_code"])


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--at {value!r}: expected an ISO 8601 instant like 2026-11-24T15:00:00-06:00") from None
    if parsed.tzinfo is None:
        raise UsageError(f"--at {value!r}: give the UTC offset, e.g. 2026-11-24T15:00:00-06:00")
    return parsed.astimezone(UTC)


def say(line: str) -> None:
    """Print one of a dial run's lines on stderr; a ``warning: `` line as every command's warnings."""
    if line.startswith("warning: "):
        err_console.print(f"[yellow]warning:[/] {escape(line.removeprefix('warning: '))}", highlight=False)
    else:
        err_console.print(line, highlight=False, markup=False)


class _LiveView:
    """The live table of calls in progress (a :class:`reauto.dialer.run.LiveView`)."""

    def __init__(self) -> None:
        self._live: Live | None = None

    @contextmanager
    def showing(self) -> Iterator[None]:
        with Live(self.table({}), console=err_console, refresh_per_second=4, transient=True) as live:
            self._live = live
            try:
                yield
            finally:
                self._live = None

    def table(self, calls: dict[int, LiveCall]) -> Table:
        t = Table(title="live calls", title_justify="left")
        for col in ("call", "lead", "stage", "turns", "elapsed", "cost", "last"):
            t.add_column(col)
        now = asyncio.get_event_loop().time() if calls else 0
        for call_id, c in sorted(calls.items()):
            t.add_row(str(call_id), c.lead_name, c.stage, str(c.turns), f"{now - c.started:.0f}s", f"${c.cost:.4f}",
                      c.last_text[-60:])
        return t

    def update(self, calls: dict[int, LiveCall]) -> None:
        if self._live is not None:
            self._live.update(self.table(calls))


def _render(data: dict[str, Any]) -> None:
    from reauto.dialer.results import refusal_kind

    t = Table(title=f"campaign {data['campaign']}: {len(data['calls'])} calls", title_justify="left")
    for col, justify in (("call", "right"), ("lead", "left"), ("outcome", "left"), ("score", "right"),
                         ("turns", "right"), ("hello→audio", "right"), ("reply p50/p95", "right"),
                         ("cost", "right")):
        t.add_column(col, justify=justify, no_wrap=col != "lead")  # type: ignore[arg-type]
    for s in sorted(data["calls"], key=lambda c: c.call_id):
        hello = f"{s.hello_to_first_audio_ms:.0f} ms" if s.hello_to_first_audio_ms is not None else "—"
        p = (f"{s.first_audio_p50_ms:.0f}/{s.first_audio_p95_ms:.0f} ms" if s.first_audio_p50_ms is not None else "—")
        score = f"{s.score:.2f}" if s.score is not None else "—"
        t.add_row(str(s.call_id), s.lead_name, s.outcome, score, str(s.turns), hello, p, f"${s.cost_usd:.4f}")
    console.print(t)
    for s in sorted(data["calls"], key=lambda c: c.call_id):
        if s.slots:
            slots = ", ".join(f"{k}={_short(v)}" for k, v in s.slots.items())
            console.print(f"call {s.call_id} ({s.lead_name}): {slots}", highlight=False)
    spend = data["spend"]
    console.print(f"spend: ${spend['total_usd']:.4f} for {len(data['calls'])} calls; budget utilisation "
                  f"{spend['budget_utilisation']:.0%}" + (f"; {spend['refused_for_budget']} call(s) not dialed for "
                                                           "budget" if spend["refused_for_budget"] else ""),
                  highlight=False)
    a = data["abandoned_30d"]
    if a["answered_by_a_person"]:
        console.print(f"abandoned calls, last 30 days: {a['calls']} of {a['answered_by_a_person']} answered by a "
                      f"person ({a['rate']:.1%}; ceiling {a['ceiling']:.0%})", highlight=False)
    admission = data.get("admission")
    if admission and (admission["steps"] or admission["refused"]):
        console.print(f"admission: ended at {admission['limit']} of {admission['ceiling']} calls at once; due leads "
                      f"waited for headroom {admission['refused']} times"
                      + (f" (last: {admission['reason']})" if admission["reason"] else ""), highlight=False)
    heard = data.get("second_listen")
    if heard and (heard["heard"] or heard["opt_outs_found"] or heard["waiting"]):
        console.print(f"heard again after the call: {heard['heard']} calls, {heard['opt_outs_found']} opt-outs the "
                      f"live call missed (now on the do-not-call list)"
                      + (f"; {heard['waiting']} still waiting (reauto calls recheck)" if heard["waiting"] else ""),
                      highlight=False)
    for d in data["denied"]:
        console.print(f"not dialed: lead {d['lead_id']}: {d['reason']}", highlight=False)
    if data.get("paused"):
        err_console.print(f"campaign {data['campaign']} is paused: no new calls until "
                          f"`reauto campaign resume {data['campaign']}`", highlight=False)
    timed = [d for d in data["denied"] if refusal_kind(d["reason"]) in ("window", "holiday")]
    if not data["calls"] and timed and len(timed) == len(data["denied"]):
        err_console.print("no lead is inside its calling window now; each is dialed at its next legal minute "
                          "(a demo can run the rules at another instant: --at 2026-11-24T15:00:00-06:00)",
                          highlight=False)


def _short(value: Any) -> str:
    if isinstance(value, dict) and {"low", "high"} <= set(value):
        lo, hi = value["low"], value["high"]
        return f"${lo:,.0f}" if lo == hi and lo is not None else f"${lo or 0:,.0f}–{hi or 0:,.0f}"
    return str(value)
