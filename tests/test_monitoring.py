"""The monitoring endpoint of a dialer and ``reauto top`` reading it."""

import json
from types import SimpleNamespace

import aiohttp
import pytest
from typer.testing import CliRunner

from reauto.cli.main import app
from reauto.dialer.results import refusal_kind
from reauto.errors import ReautoError
from reauto.metrics import CALLS_COMPLETED, CALLS_PLACED, STAGE_LATENCY, exposition, metric_names, observe_stages
from reauto.monitoring.server import MonitoringServer, live_rows
from reauto.monitoring.top import Snapshot, fetch, parse, quantile, render, stage_quantiles

runner = CliRunner()


@pytest.mark.unit
def test_quantile_interpolates_inside_the_bucket_like_prometheus():
    buckets = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (float("inf"), 40.0)]
    assert quantile(0.25, buckets) == pytest.approx(0.1)  # rank 10: the end of the first bucket
    assert quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * (20 - 10) / 20)
    assert quantile(0.95, buckets) == pytest.approx(0.5 + 0.5 * (38 - 30) / 10)
    assert quantile(0.5, []) is None and quantile(0.5, [(0.1, 0.0)]) is None
    assert quantile(0.99, [(0.1, 1.0), (float("inf"), 5.0)]) == 0.1  # in +Inf: the last finite bound


@pytest.mark.unit
def test_refusal_reasons_become_bounded_labels():
    assert refusal_kind("on the national DNC list") == "dnc"
    assert refusal_kind("outside the calling window (20:30 local)") == "window"
    assert refusal_kind("3 calls in 24 h already") == "frequency"
    assert refusal_kind("no written consent for artificial voice") == "consent"
    assert refusal_kind("something new") == "other"


@pytest.mark.unit
def test_live_rows_keep_only_the_last_four_digits():
    calls = {7: SimpleNamespace(lead_name="Jane Doe", phone="+15125550123", stage="talking", turns=3,
                                started=100.0, cost=0.0255, last_text="lead: yes")}
    (row,) = live_rows(calls, now=130.0)
    assert row == {"call_id": 7, "lead": "Jane Doe", "phone": "…0123", "stage": "talking", "turns": 3,
                   "elapsed_s": 30.0, "cost_usd": 0.0255, "last": "lead: yes"}


async def test_endpoint_serves_metrics_live_calls_and_health_and_top_reads_them():
    CALLS_PLACED.labels(campaign="mon-test").inc(3)
    CALLS_COMPLETED.labels(campaign="mon-test", outcome="booked", status="completed", variant="default").inc(2)
    observe_stages([("monitoring-test", 420.0), ("stt", None), ("vad", -5.0)])  # a label only this test uses
    rows = [{"call_id": 1, "lead": "Jane Doe", "phone": "…0123", "stage": "talking", "turns": 2,
             "elapsed_s": 12.0, "cost_usd": 0.0255, "last": "agent: hi"}]
    server = MonitoringServer(lambda: rows, port=0)
    await server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                text = await r.text()
            async with http.get(f"{url}/live") as r:
                assert (await r.json()) == {"calls": rows}
            async with http.get(f"{url}/healthz") as r:
                assert (await r.json()) == {"status": "ok"}
        assert 'reauto_calls_placed_total{campaign="mon-test"} 3.0' in text
        for name in metric_names():
            assert f"# TYPE {name.removesuffix('_total')}" in text, name
        # reauto top reads the same endpoint (run in a thread: the server lives on this loop)
        import asyncio

        snap = await asyncio.to_thread(fetch, url)
        assert snap.calls == rows and snap.total("reauto_calls_placed_total", campaign="mon-test") == 3
        p50, p95 = stage_quantiles(snap)["monitoring-test"]
        assert 0.3 <= p50 <= 0.5 and p95 <= 0.5
        screen = await asyncio.to_thread(runner.invoke, app, ["top", "--once", "--url", url])
        assert screen.exit_code == 0 and "Jane Doe" in screen.stdout and "mon-test" in screen.stdout
        as_json = await asyncio.to_thread(runner.invoke, app, ["top", "--json", "--url", url])
        assert json.loads(as_json.stdout)["calls"] == rows
    finally:
        await server.close()
    with pytest.raises(ReautoError, match="no dialer answers"):
        fetch(url, timeout_s=0.5)


@pytest.mark.unit
def test_render_without_data_and_parse_ignores_other_families():
    STAGE_LATENCY.labels(stage="tts_first_byte").observe(0.05)
    samples = parse(exposition().decode())
    assert all(name.startswith("reauto_") for name in samples)
    assert render(Snapshot(), "http://x") is not None


@pytest.mark.integration
def test_several_dialer_processes_are_aggregated_in_multiprocess_mode(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set, each process writes its own files and /metrics sums them."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    placed = ("from reauto.metrics import CALLS_PLACED, CALLS_ACTIVE\n"
              "CALLS_PLACED.labels(campaign='mp').inc({n})\nCALLS_ACTIVE.labels(campaign='mp').set(0)\n")
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", placed.format(n=n)], env=env, check=True, timeout=60)
    out = subprocess.run([sys.executable, "-c", "import sys; from reauto.metrics import exposition; "
                          "sys.stdout.write(exposition().decode())"], env=env, check=True, timeout=60,
                         capture_output=True, text=True).stdout
    assert 'reauto_calls_placed_total{campaign="mp"} 5.0' in out
