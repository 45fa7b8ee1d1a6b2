"""GPU gauges on ``/metrics``: read from NVML (a fake ``pynvml`` here) at scrape time, absent without a GPU."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import reauto.metrics as reauto_metrics
from reauto.metrics.gpu import GpuCollector

ALERTS = Path(__file__).resolve().parents[1] / "scripts" / "observability" / "alerts.yml"
GPU_NAMES = ("reauto_gpu_utilisation_ratio", "reauto_gpu_memory_utilisation_ratio", "reauto_gpu_memory_used_bytes",
             "reauto_gpu_memory_total_bytes", "reauto_gpu_temperature_celsius")
GIB = 1 << 30


class FakeNVMLError(Exception):
    """pynvml.NVMLError of the fake."""


def fake_pynvml(devices: list[dict[str, Any]], *, init_error: Exception | None = None) -> ModuleType:
    """A ``pynvml`` whose devices are dicts; a device's ``fail`` names the queries that raise NVMLError."""
    nvml = ModuleType("pynvml")
    nvml.NVMLError = FakeNVMLError
    nvml.NVML_TEMPERATURE_GPU = 0
    nvml.inits = 0

    def query(name: str, handle: dict[str, Any]) -> None:
        if name in handle.get("fail", ()):
            raise FakeNVMLError(f"{name} failed")

    def init() -> None:
        nvml.inits += 1
        if init_error is not None:
            raise init_error

    def temperature(handle: dict[str, Any], sensor: int) -> int:
        assert sensor == nvml.NVML_TEMPERATURE_GPU
        query("temperature", handle)
        return handle["temp"]

    def utilization(handle: dict[str, Any]) -> SimpleNamespace:
        query("utilization", handle)
        return SimpleNamespace(gpu=handle["busy"], memory=handle["mem_busy"])

    def memory(handle: dict[str, Any]) -> SimpleNamespace:
        query("memory", handle)
        return SimpleNamespace(used=handle["used"], total=handle["total"], free=handle["total"] - handle["used"])

    nvml.nvmlInit = init
    nvml.nvmlDeviceGetCount = lambda: len(devices)
    nvml.nvmlDeviceGetHandleByIndex = lambda index: devices[index]
    nvml.nvmlDeviceGetUUID = lambda handle: handle["uuid"]
    nvml.nvmlDeviceGetName = lambda handle: handle["name"]
    nvml.nvmlDeviceGetUtilizationRates = utilization
    nvml.nvmlDeviceGetMemoryInfo = memory
    nvml.nvmlDeviceGetTemperature = temperature
    return nvml


def two_gpus() -> list[dict[str, Any]]:
    return [
        {"uuid": "GPU-aaaa", "name": "NVIDIA L4", "busy": 37, "mem_busy": 12, "used": 6 * GIB, "total": 24 * GIB,
         "temp": 55},
        {"uuid": b"GPU-bbbb", "name": b"NVIDIA A10G", "busy": 100, "mem_busy": 80, "used": 23 * GIB,
         "total": 24 * GIB, "temp": 81},  # bytes: older nvidia-ml-py releases
    ]


def new_collector() -> GpuCollector:
    return GpuCollector(utilisation=reauto_metrics.GPU_UTILISATION,
                        memory_utilisation=reauto_metrics.GPU_MEMORY_UTILISATION,
                        memory_used=reauto_metrics.GPU_MEMORY_USED, memory_total=reauto_metrics.GPU_MEMORY_TOTAL,
                        temperature=reauto_metrics.GPU_TEMPERATURE)


def samples(collector: GpuCollector) -> dict[tuple[str, str], tuple[dict[str, str], float]]:
    """(family, gpu index) -> (labels, value) of one scrape."""
    out = {}
    for family in collector.collect():
        for sample in family.samples:
            key = (sample.name, sample.labels["gpu"])
            assert key not in out, key
            out[key] = (sample.labels, sample.value)
    return out


def sample_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("reauto_gpu_")]


@pytest.mark.unit
def test_two_devices_report_utilisation_memory_and_temperature(monkeypatch: pytest.MonkeyPatch):
    nvml = fake_pynvml(two_gpus())
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    collector = new_collector()
    got = samples(collector)
    assert got[("reauto_gpu_utilisation_ratio", "0")] == ({"gpu": "0", "uuid": "GPU-aaaa", "name": "NVIDIA L4"},
                                                           0.37)
    assert got[("reauto_gpu_utilisation_ratio", "1")] == ({"gpu": "1", "uuid": "GPU-bbbb", "name": "NVIDIA A10G"},
                                                           1.0)
    values = {key: value for key, (_, value) in got.items()}
    assert values == {
        ("reauto_gpu_utilisation_ratio", "0"): 0.37, ("reauto_gpu_utilisation_ratio", "1"): 1.0,
        ("reauto_gpu_memory_utilisation_ratio", "0"): 0.12, ("reauto_gpu_memory_utilisation_ratio", "1"): 0.8,
        ("reauto_gpu_memory_used_bytes", "0"): 6 * GIB, ("reauto_gpu_memory_used_bytes", "1"): 23 * GIB,
        ("reauto_gpu_memory_total_bytes", "0"): 24 * GIB, ("reauto_gpu_memory_total_bytes", "1"): 24 * GIB,
        ("reauto_gpu_temperature_celsius", "0"): 55, ("reauto_gpu_temperature_celsius", "1"): 81,
    }
    assert {f.name for f in collector.collect()} == set(GPU_NAMES)
    assert {f.type for f in collector.collect()} == {"gauge"}
    # read again at each scrape, NVML started once
    nvml.nvmlDeviceGetHandleByIndex(0)["busy"] = 90
    assert samples(collector)[("reauto_gpu_utilisation_ratio", "0")][1] == 0.9
    assert nvml.inits == 1


@pytest.mark.unit
def test_a_device_that_fails_a_query_is_left_out_of_that_scrape(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture):
    devices = two_gpus()
    devices[0]["fail"] = {"memory"}
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(devices))
    collector = new_collector()
    with caplog.at_level(logging.WARNING, logger="reauto.metrics.gpu"):
        assert {gpu for _, gpu in samples(collector)} == {"1"}
        assert len(samples(collector)) == 5  # GPU 1: all five families
    assert [r.getMessage() for r in caplog.records] == ["GPU metrics: GPU 0 left out while it fails (memory failed)"]
    devices[0]["fail"] = {"utilization"}
    assert {gpu for _, gpu in samples(collector)} == {"1"}
    devices[0]["fail"] = set()  # answers again: back on the next scrape
    assert {gpu for _, gpu in samples(collector)} == {"0", "1"}


@pytest.mark.unit
def test_a_device_without_a_temperature_sensor_reports_the_rest(monkeypatch: pytest.MonkeyPatch):
    devices = two_gpus()
    devices[1]["fail"] = {"temperature"}
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(devices))
    got = samples(new_collector())
    assert ("reauto_gpu_temperature_celsius", "1") not in got
    assert got[("reauto_gpu_memory_used_bytes", "1")][1] == 23 * GIB
    assert ("reauto_gpu_temperature_celsius", "0") in got


@pytest.mark.unit
def test_without_pynvml_the_families_have_no_samples(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    registry = CollectorRegistry()
    new_collector().register(registry)
    with caplog.at_level(logging.INFO, logger="reauto.metrics.gpu"):
        text = generate_latest(registry).decode()
        generate_latest(registry)
    assert sample_lines(text) == []
    for name in GPU_NAMES:  # the names are still there for the dashboards; a sample is not
        assert f"# TYPE {name} gauge" in text
    assert [r.getMessage() for r in caplog.records] == [
        "GPU metrics off: nvidia-ml-py is not installed (pip install 'reauto[gpu]')"]
    assert caplog.records[0].levelno == logging.INFO


@pytest.mark.unit
def test_when_nvml_does_not_start_the_families_have_no_samples(monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture):
    nvml = fake_pynvml(two_gpus(), init_error=FakeNVMLError("Driver Not Loaded"))
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    collector = new_collector()
    with caplog.at_level(logging.INFO, logger="reauto.metrics.gpu"):
        for _ in range(3):
            assert samples(collector) == {}
    assert nvml.inits == 1  # tried once
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "Driver Not Loaded" in record.getMessage()


@pytest.mark.unit
def test_registering_twice_serves_each_sample_once(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(two_gpus()))
    registry = CollectorRegistry()
    collector = new_collector()
    collector.register(registry)
    collector.register(registry)
    lines = sample_lines(generate_latest(registry).decode())
    assert len(lines) == 10 and len(set(lines)) == 10
    # the default registry (single-process /metrics) carries the GPU families from import on
    assert reauto_metrics.served_registry() is reauto_metrics.served_registry()
    assert "# TYPE reauto_gpu_memory_used_bytes gauge" in reauto_metrics.exposition().decode()


def _served_with_fake_gpus(monkeypatch: pytest.MonkeyPatch, multiproc_dir: Path) -> None:
    """Multi-process mode, a fresh GPU collector, two fake GPUs."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc_dir))
    monkeypatch.setattr(reauto_metrics, "GPU_COLLECTOR", new_collector())
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(two_gpus()))


def _gpu_samples(text: str) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels["gpu"]): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name.startswith("reauto_gpu_")}


@pytest.mark.unit
def test_serve_metrics_reads_the_gpus_live_in_multiprocess_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from fastapi.testclient import TestClient

    from reauto.config import TwilioSettings
    from reauto.serve.app import create_app
    from reauto.serve.context import ServeContext
    from reauto.telephony.twilio import CallRegistry

    _served_with_fake_gpus(monkeypatch, tmp_path)
    public = "https://reauto.example.com"
    app = create_app(ServeContext(TwilioSettings(auth_token="t", public_url=public), CallRegistry(public)))
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    got = _gpu_samples(response.text)
    assert got[("reauto_gpu_memory_used_bytes", "1")] == 23 * GIB
    assert got[("reauto_gpu_utilisation_ratio", "0")] == 0.37
    assert len(got) == 10
    assert not any("gpu" in p.name for p in tmp_path.iterdir())  # read by the server, not from the files


@pytest.mark.integration
async def test_dialer_metrics_reads_the_gpus_live_in_multiprocess_mode(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path):
    import aiohttp

    from reauto.monitoring.server import MonitoringServer

    _served_with_fake_gpus(monkeypatch, tmp_path)
    server = MonitoringServer(list, port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/metrics") as r:
            text = await r.text()
    finally:
        await server.close()
    got = _gpu_samples(text)
    assert got[("reauto_gpu_memory_total_bytes", "0")] == 24 * GIB and len(got) == 10


@pytest.mark.integration
def test_gpu_alerts_fire_once_per_device_on_the_conditions_they_describe(tmp_path: Path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed: apt-get install prometheus")
    doc = yaml.safe_load(ALERTS.read_text())
    rules = {r["alert"]: r for g in doc["groups"] for r in g["rules"]}
    (memory,) = [n for n, r in rules.items() if "reauto_gpu_memory_used_bytes" in r["expr"]]
    (saturated,) = [n for n, r in rules.items() if "reauto_gpu_utilisation_ratio" in r["expr"]]
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules_file = tmp_path / "alerts.yml"
    rules_file.write_text(yaml.safe_dump(doc))
    full, roomy = ('gpu="0",name="NVIDIA L4",uuid="GPU-aaaa"', 'gpu="1",name="NVIDIA L4",uuid="GPU-bbbb"')
    # two processes (serve and dial) on one host report the same devices
    jobs = ('instance="h:8080",job="reauto-serve"', 'instance="h:9464",job="reauto-dial"')

    def series(metric: str, device: str, values: str) -> list[dict[str, str]]:
        return [{"series": f"{metric}{{{device},{job}}}", "values": values} for job in jobs]

    def fired(name: str, device: str) -> dict[str, Any]:
        labels = dict(pair.replace('"', "").split("=") for pair in device.split(","))
        return {"alertname": name, "exp_alerts": [{"exp_labels": {"severity": "warning", **labels}}]}

    total = str(24 * GIB)
    tests = [{
        "interval": "1m",
        "input_series": [
            *series("reauto_gpu_memory_total_bytes", full, f"{total}x30"),
            *series("reauto_gpu_memory_used_bytes", full, f"{int(23.5 * GIB)}x30"),  # 98 %
            *series("reauto_gpu_memory_total_bytes", roomy, f"{total}x30"),
            *series("reauto_gpu_memory_used_bytes", roomy, f"{12 * GIB}x30"),
            *series("reauto_gpu_utilisation_ratio", full, "0.99x30"),
            *series("reauto_gpu_utilisation_ratio", roomy, "0.8x30"),
        ],
        "alert_rule_test": [
            {"eval_time": "3m", "alertname": memory, "exp_alerts": []},  # pending: for 5m
            {**fired(memory, full), "eval_time": "6m"},
            {"eval_time": "8m", "alertname": saturated, "exp_alerts": []},  # pending: for 10m
            {**fired(saturated, full), "eval_time": "15m"},
        ],
    }]
    spec = tmp_path / "gpu_alerts_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}))
    proc = subprocess.run([promtool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
