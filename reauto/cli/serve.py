"""``reauto serve``: Twilio webhooks, media streams, health and metrics — and, with a campaign, its dialer."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from reauto.cli.context import settings
from reauto.cli.output import emit, err_console
from reauto.errors import UsageError


def serve(
    ctx: typer.Context,
    campaign_file: Annotated[Path | None, typer.Option(
        "--campaign", help="Also dial this campaign from this process (posted leads first), until stopped.")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default: \\[twilio] listen_host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: \\[twilio] listen_port).", min=0, max=65535)] = None,
    concurrency: Annotated[int | None, typer.Option(help="Calls at once (default: the campaign's).", min=1)] = None,
) -> None:
    """Serve Twilio's webhooks and media streams, lead intake, /healthz, /readyz, /metrics and /docs.

    Twilio reaches the server at \\[twilio] public_url (put a TLS proxy in front); every webhook
    must carry a valid X-Twilio-Signature and every media stream its call's one-time token.
    With --campaign the same process dials the campaign's due leads (the media streams of its
    calls come back here) and keeps waiting for new ones; a lead posted to /v1/leads
    (\\[intake] api_keys or hmac_secret) goes to the head of the queue and is dialed at once, within
    the calling rules. SIGTERM or Ctrl-C stops new dials and lets the calls in progress finish.
    A `telephony: sim` campaign is served too: its calls reach simulated leads. Calls are recorded
    into \\[recording] dir when it is set (as the gate and the campaign allow). When a gate stops
    the campaign it exits as `reauto dial` does: 4 for the abandoned-call rate, 5 for the budget.

    Example: reauto serve --campaign campaigns/austin-buyers.yaml --port 8080
    """
    cfg = settings(ctx)
    overrides = {k: v for k, v in (("listen_host", host), ("listen_port", port)) if v is not None}
    cfg = cfg.model_copy(update={"twilio": cfg.twilio.model_copy(update=overrides)})
    if campaign_file is None:
        asyncio.run(_serve_only(cfg))
        return
    from reauto.campaign import load_campaign
    from reauto.cli.dial import say
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.serve.embed import start_server

    campaign = load_campaign(campaign_file)
    if campaign.telephony == "twilio" and not cfg.twilio.public_url:
        raise UsageError("telephony twilio needs [twilio] public_url (the https URL Twilio reaches reauto at)")
    options = DialOptions(concurrency=concurrency, recordings=cfg.recording.dir, seed=False, forever=True)
    result = asyncio.run(DialRun(cfg, campaign, options, on_message=say, web=start_server).run())
    emit({"campaign": campaign.name, "calls": len(result.summaries), "denied": len(result.denied)}, False,
         lambda d: err_console.print(f"stopped: {d['calls']} calls placed, {d['denied']} leads not dialed",
                                     highlight=False))
    stopped = result.extra.get("stopped")
    if stopped is not None:  # a gate stopped the campaign: systemd sees it (the exit statuses of reauto dial)
        err_console.print(stopped["line"], highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(stopped["exit_code"])


async def _serve_only(cfg: Any) -> None:
    from reauto.intake.wake import wake_bus_for
    from reauto.serve.embed import start_server
    from reauto.store.engine import make_engine, session_factory
    from reauto.telephony.twilio import CallRegistry

    engine = make_engine(cfg.database)
    bus = wake_bus_for(cfg, engine)  # posted leads wake the dial workers of other processes
    server = await start_server(cfg, registry=CallRegistry(cfg.twilio.public_url), sessions=session_factory(engine),
                                engine=engine, breakers=[], live=None, on_intake=bus.publish)
    err_console.print(f"serving on http://{server.host}:{server.port} (docs on /docs); Ctrl-C stops",
                      highlight=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()
        await bus.close()
        await engine.dispose()
