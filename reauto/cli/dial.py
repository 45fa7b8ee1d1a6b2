"""``reauto dial``: run a campaign's calls with a live view, then a table per call."""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from reauto.cli.brains import close_llm, connect_llm
from reauto.runtime import settled_gc
from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit, err_console
from reauto.errors import UsageError


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

    cfg = settings(ctx)
    campaign = load_campaign(campaign_file)
    if campaign.telephony != "sim" and at is not None:
        raise UsageError(f"--at is for simulated telephony only; {campaign_file} uses {campaign.telephony}")
    if campaign.telephony == "twilio" and not cfg.twilio.public_url:
        raise UsageError("telephony twilio needs [twilio] public_url (the https URL Twilio reaches reauto at)")
    clock_start = _parse_at(at)
    summaries, denied, extra = asyncio.run(_run(cfg, campaign, max_calls=max_calls, concurrency=concurrency,
                                         admission=not fixed_concurrency,
                                         clock_start=clock_start, speed=speed,
                                         recordings=recordings or cfg.recording.dir,
                                         seed=seed_personas, live=not as_json,
                                         metrics=(metrics_host, metrics_port) if metrics_port is not None else None))
    data = {"campaign": campaign.name, "calls": summaries, "denied": [{"lead_id": i, "reason": r} for i, r in denied],
            **extra}
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


async def _run(cfg: Any, campaign: Any, *, max_calls: int | None, concurrency: int | None,
               clock_start: datetime | None, speed: float, recordings: Path | None, seed: bool,
               live: bool, metrics: tuple[str, int] | None = None,
               agent_text_tap: Any = None, forever: bool = False, poll_s: float = 0.5, admission: bool = True,
               on_start: Any = None,
               ) -> tuple[list[Any], list[tuple[int, str]], dict[str, Any]]:
    from reauto.costs.alerts import Alerter
    from reauto.costs.budget import BudgetGuard
    from reauto.costs.pricing import Catalogue
    from reauto.costs.reservations import reservations_for
    from reauto.dialer import assembly
    from reauto.dialer.engine import Dialer, DialerConfig
    from reauto.dialer.inbound import spoken
    from reauto.dialer.texting import Texter
    from reauto.export.realtime import RealtimeExport
    from reauto.scheduling.booking import BusyFeed, Scheduler
    from reauto.sessions import sessions_for
    from reauto.intake.wake import wake_bus_for
    from reauto.monitoring.server import live_rows
    from reauto.store import repositories
    from reauto.dialer.control import is_paused
    from reauto.store.engine import make_engine, ping, session_factory
    from reauto.store.migrate import current, history
    from reauto.stt.pool import ProcessPoolSTT
    from reauto.telephony.sim import SimTelephony
    from reauto.tts.cache import AudioCache
    from reauto.costs.tiering import TierStats, tiered_tts
    from reauto.tts.factory import create_tiers
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    engine = make_engine(cfg.database)
    await ping(engine)
    head = [r.revision for r in history(cfg, with_state=False) if r.is_head]
    if sorted(current(cfg)) != sorted(head):
        raise UsageError("the database schema is not up to date: run `reauto db upgrade` first")
    sessions = session_factory(engine)
    campaign_id = await assembly.upsert_campaign(sessions, campaign)
    if seed and campaign.telephony == "sim":
        await assembly.seed_sim_leads(sessions, campaign_id, campaign)
    started = time.monotonic()
    clock = (lambda: clock_start + _elapsed(started)) if clock_start else None
    gate = assembly.CampaignGate(sessions, assembly.rules_for(campaign), **({"clock": clock} if clock else {}))
    stt = ProcessPoolSTT(cfg.stt, workers=assembly.stt_workers(), vocabulary=assembly.vocabulary(campaign))
    cache = AudioCache()
    catalogue = Catalogue(cfg.pricing, campaign.pricing)
    reservations = reservations_for(cfg.redis)
    # money is spent in real time, whatever instant --at evaluates the calling rules at
    guard = BudgetGuard(sessions, reservations, cfg.budget, campaign.name, alerts=Alerter(cfg.budget))
    tiers = TierStats()
    tts = tiered_tts(create_tiers(cfg.tts, cache=cache, meter=True), mode=campaign.tts_tier,
                     share_cap=campaign.premium_share_cap, premium_off_at=cfg.budget.premium_off_at,
                     utilisation=lambda: guard.last_utilisation, stats=tiers)
    await asyncio.gather(stt.start(), tts.start())
    llm = await connect_llm(cfg) if cfg.llm.brain == "ollama" else None
    view = _LiveView() if live else None
    web = None

    dialer: Any = None
    realtime = RealtimeExport(engine, cfg, campaign.name, campaign.export_targets)  # CRM push at call end
    conversations = sessions_for(cfg.redis)  # each live call's conversation state (shared through Redis)

    def wake(posted_to: int) -> None:  # a lead was posted: dial it now, not at the next poll
        if posted_to == campaign_id and dialer is not None:
            dialer.wake()

    bus = wake_bus_for(cfg, engine)  # posted here or to any other process's server
    bus.subscribe(wake)

    try:
        if campaign.telephony == "twilio":
            from reauto.serve.embed import twilio_stack

            telephony, web = await twilio_stack(cfg, sessions=sessions, engine=engine, amd=campaign.amd,
                                                live=lambda: live_rows(dialer.live), on_agent_text=agent_text_tap,
                                                on_intake=bus.publish)
        else:
            telephony = SimTelephony(assembly.lead_scripts(campaign), speed=speed,
                                     human_agents=assembly.human_agents(campaign))
            if forever:  # a serving simulated campaign still takes posted leads
                from reauto.serve.embed import start_server
                from reauto.telephony.twilio import CallRegistry

                web = await start_server(cfg, registry=CallRegistry(""), sessions=sessions, engine=engine,
                                         breakers=[], live=lambda: live_rows(dialer.live),
                                         on_intake=bus.publish)
        await bus.start()
    except BaseException:
        await asyncio.gather(stt.close(), tts.close(), reservations.close(), bus.close(), conversations.close())
        await engine.dispose()
        raise
    if web is not None:
        err_console.print(f"webhooks, media streams and lead intake (/v1/leads) on http://{web.host}:{web.port}",
                          highlight=False)
    texter = Texter(sessions, telephony, campaign, gate.rules, waits=assembly.retry_for(campaign).cadence,
                    clock=gate.clock, store_clock=gate.store_clock)
    schedulers: list[Any] = []  # this run's calls that may still be sending a booking confirmation
    feed = BusyFeed(campaign.booking.busy_calendar, campaign.booking.timezone, cache_s=cfg.scheduling.busy_cache_s,
                    timeout_s=cfg.scheduling.feed_timeout_s)

    def scheduler_for(lead: Any) -> Any:
        schedulers[:] = [s for s in schedulers if any(not t.done() for t in s.confirmations)]
        scheduler = Scheduler(sessions, campaign, lead, settings=cfg.scheduling, feed=feed, texter=texter,
                              clock=gate.clock)
        schedulers.append(scheduler)
        return scheduler

    follower = None
    if cfg.stt.second_listen:  # the opt-out safety net: each recorded call heard again after it ends
        from reauto.dialer.second_listen import Follower, SecondListen

        follower = Follower(SecondListen(sessions, cfg.stt, clock=gate.store_clock,
                                         vocabulary=assembly.vocabulary(campaign)), campaign_id)
    analyst = None
    if llm is not None:  # each answered call's analysis is written again by the LLM, after the rules'
        from reauto.analytics.postcall import LLMAnalyst

        analyst = LLMAnalyst(llm.chat, sessions, model=cfg.llm.models.get("analysis") or cfg.llm.model,
                             clock=gate.store_clock)
        analyst.start()
    dialer = Dialer(
        sessions, telephony, stt=stt, tts=tts, gate=gate,
        brain_factory=assembly.brain_factory(campaign, gate, llm=llm, scheduler_for=scheduler_for
                                             if assembly.uses_calendar(campaign) else None,
                                             min_confidence=cfg.stt.min_confidence),
        config=DialerConfig(campaign_id=campaign_id, caller_id=campaign.caller_id,
                            concurrency=concurrency or campaign.concurrency, retry=assembly.retry_for(campaign),
                            admission=admission, hot_lane=campaign.hot_lane,
                            keep_until_objection=campaign.recording.on_objection == "keep_until_objection",
                            recordings_dir=recordings, max_calls=max_calls,
                            abandon_after_s=gate.rules.abandon_after_s, abandon_ceiling=gate.rules.abandon_ceiling,
                            amd=campaign.amd,
                            call_estimate_min=cfg.budget.call_estimate_min, top_up_min=cfg.budget.top_up_min,
                            campaign_name=campaign.name, stop_when_idle=not forever, poll_s=poll_s,
                            spool_dir=cfg.resilience.spool_dir, shutdown_grace_s=cfg.resilience.shutdown_grace_s,
                            transfer=campaign.transfer if campaign.transfer.to else None,
                            answer_calls=campaign.inbound.answer, region=cfg.default_region,
                            unavailable=spoken(campaign.inbound.unavailable, campaign.model_dump(mode="json"))),
        on_change=view.update if view else None, catalogue=catalogue, guard=guard, clock=gate.clock,
        store_clock=gate.store_clock,
        warmers=[llm.chat.warm, *(functools.partial(llm.chat.warm, m) for m in sorted(set(cfg.llm.models.values())))]
        if llm else [],  # every model a call may use is kept loaded while the phone rings
        texter=texter if campaign.cadence or campaign.sms.after_hours_intake else None,
        steps=[step.action for step in campaign.cadence],
        on_call_end=_each(realtime.call_ended if realtime else None, follower.call_ended if follower else None,
                          analyst.call_ended if analyst else None),
        sessions_store=conversations,
        variant_for=assembly.variant_for(campaign),
        caller_pool=assembly.caller_pool(campaign, campaign_id),
    )
    telephony.answerer = dialer.pick_up  # calls leads place to the campaign's number come to this dialer
    if on_start is not None:  # tests and benchmarks: the dialer, before its first call
        on_start(dialer)
    realtime.start()
    if follower is not None:
        follower.start()
    server, watcher = None, None
    if metrics is not None or forever:  # a serving worker's /metrics is the server's: the gauges still count
        from reauto.monitoring.server import watch_store

        async def count_due() -> int:
            async with sessions() as s:
                return await repositories.due_count(s, campaign_id, now=gate.store_clock())

        watcher = asyncio.create_task(watch_store(engine, count_due, lambda: gate.abandon_rate(campaign_id),
                                                  campaign.name), name="store-metrics")
    if metrics is not None:
        from reauto.monitoring.server import MonitoringServer

        server = MonitoringServer(lambda: live_rows(dialer.live), host=metrics[0], port=metrics[1])
        await server.start()
        err_console.print(f"metrics on http://{metrics[0]}:{server.port}/metrics, live calls on /live",
                          highlight=False)
    signals = (signal.SIGINT, signal.SIGTERM) if forever else ()
    for sig in signals:  # reauto serve --campaign: a signal stops new dials, live calls finish
        asyncio.get_running_loop().add_signal_handler(sig, dialer.stop)
    await asyncio.to_thread(dialer.config.turn_taking.models)  # the voice models open before the first call
    try:
        with settled_gc():  # what is loaded now is not walked by the collector while calls run
            if view is not None:
                with Live(view.table({}), console=err_console, refresh_per_second=4, transient=True) as live_view:
                    view.attach(live_view)
                    summaries = await dialer.run()
            else:
                summaries = await dialer.run()
        heard = await follower.finish() if follower is not None else None
        async with sessions() as s:
            abandoned, answered = await repositories.abandoned_calls(s, campaign_id, now=gate.store_clock())
            paused = await is_paused(s, campaign_id)
        utilisation = await guard.utilisation()
    finally:
        for sig in signals:
            asyncio.get_running_loop().remove_signal_handler(sig)
        if watcher is not None:
            watcher.cancel()
        if server is not None:
            await server.close()
        if follower is not None:
            await follower.finish(0)  # a failed run: the next dialer hears what is left
        if analyst is not None:
            await analyst.finish()
        await reservations.close()
        await telephony.close()
        if web is not None:
            await web.close()
        await bus.close()
        await asyncio.gather(*(s.drain() for s in schedulers))  # booking confirmations in flight
        await realtime.close()
        await conversations.close()
        await asyncio.gather(stt.close(), tts.close(), close_llm(llm))
        await engine.dispose()
    return summaries, dialer.denied, {
        "tts_cache": {"hits": cache.hits, "misses": cache.misses},
        "tts_tiers": {"premium": tiers.premium, "local": tiers.local},
        "spend": {"total_usd": round(sum(c.cost_usd for c in summaries), 6), "budget_utilisation": round(utilisation, 4),
                  "refused_for_budget": guard.refusals, "alerts": _alerts_raised(guard),
                  "overspent_calls": [{"call_id": c, "spent_usd": str(x), "held_usd": str(h)}
                                      for c, x, h in dialer.overspent]},
        "abandoned_30d": {"calls": abandoned, "answered_by_a_person": answered,
                          "rate": abandoned / answered if answered else None,
                          "ceiling": gate.rules.abandon_ceiling},
        "stopped": dialer.stopped.as_json() if dialer.stopped is not None else None,
        "recovered": {"leads": len(dialer.recovered.leads), "calls": len(dialer.recovered.calls),
                      "holds": len(dialer.recovered.holds)},
        "admission": dialer.admission.status() if dialer.admission is not None else None,
        "second_listen": heard,
        "paused": paused,
    }


def _each(*listeners: Any) -> Any:
    """One callback that tells each of ``listeners`` (None: none given)."""
    told = [f for f in listeners if f is not None]
    if not told:
        return None

    def tell(call_id: int) -> None:
        for listener in told:
            listener(call_id)
    return tell


def _alerts_raised(guard: Any) -> list[dict[str, Any]]:
    return list(guard.alerts.raised) if guard.alerts is not None else []


def _elapsed(started: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=time.monotonic() - started)


class _LiveView:
    """The live table of calls in progress."""

    def __init__(self) -> None:
        self._live: Live | None = None

    def attach(self, live: Live) -> None:
        self._live = live

    def table(self, calls: dict[int, Any]) -> Table:
        t = Table(title="live calls", title_justify="left")
        for col in ("call", "lead", "stage", "turns", "elapsed", "cost", "last"):
            t.add_column(col)
        now = asyncio.get_event_loop().time() if calls else 0
        for call_id, c in sorted(calls.items()):
            t.add_row(str(call_id), c.lead_name, c.stage, str(c.turns), f"{now - c.started:.0f}s", f"${c.cost:.4f}",
                      c.last_text[-60:])
        return t

    def update(self, calls: dict[int, Any]) -> None:
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
