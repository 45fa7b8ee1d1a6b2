"""``reauto top``: watch a running dialer live in the terminal."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.live import Live

from reauto.cli.output import JsonOpt, console, print_json


def top(
    url: Annotated[str, typer.Option(help="The dialer's monitoring endpoint (reauto dial --metrics-port).")]
    = "http://127.0.0.1:9464",
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.", min=0.2)] = 1.0,
    once: Annotated[bool, typer.Option(help="Print one screen and exit.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Live dashboard of a running dialer: calls with stage and cost, totals, latency, budgets.

    Example: reauto dial campaigns/demo.yaml --metrics-port 9464 & reauto top --url http://127.0.0.1:9464
    """
    from reauto.monitoring.top import fetch, render, stage_quantiles

    if as_json:
        snap = fetch(url)
        print_json({"calls": snap.calls, "latency_s": {k: {"p50": v[0], "p95": v[1]}
                                                        for k, v in stage_quantiles(snap).items()}})
        return
    if once:
        console.print(render(fetch(url), url))
        return
    with Live(render(fetch(url), url), console=console, refresh_per_second=4, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(fetch(url), url))
        except KeyboardInterrupt:
            pass
