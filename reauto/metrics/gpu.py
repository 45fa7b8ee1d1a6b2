"""GPU gauges read from NVML at scrape time: utilisation, memory used and total, temperature.

A :class:`GpuCollector` asks NVML (NVIDIA's management library, through the ``nvidia-ml-py``
package of the ``gpu`` extra) about every NVIDIA device each time ``/metrics`` is scraped, so the
values are the device's own and never pass through ``PROMETHEUS_MULTIPROC_DIR``. Where NVML cannot
be used (the package missing, no driver, no device) the families carry no sample at all: Prometheus
then sees no GPU series, never a zero. A device that fails a query is left out of that scrape (a
temperature it cannot read leaves out only its temperature).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

#: The labels of every GPU sample: the device's NVML index, its UUID and its model name.
DEVICE_LABELS = ("gpu", "uuid", "name")


class GpuCollector:
    """A Prometheus collector of NVIDIA GPUs' state, read from NVML at each scrape.

    NVML is started on the first scrape and once only; when it cannot start, the reason is logged
    once at INFO and every later scrape yields the families without samples.

    Args:
        utilisation: the declaration of the GPU busy share (0..1).
        memory_utilisation: the declaration of the memory read/write busy share (0..1).
        memory_used: the declaration of the memory in use (bytes).
        memory_total: the declaration of the memory installed (bytes).
        temperature: the declaration of the core temperature (°C).
    """

    def __init__(self, *, utilisation: Gauge, memory_utilisation: Gauge, memory_used: Gauge, memory_total: Gauge,
                 temperature: Gauge) -> None:
        self._declared = {"utilisation": utilisation, "memory_utilisation": memory_utilisation,
                          "memory_used": memory_used, "memory_total": memory_total, "temperature": temperature}
        self._lock = threading.Lock()
        self._started = False
        self._nvml: ModuleType | None = None
        self._failing: set[int | None] = set()  # device indexes (None: the device count) failing now
        self._registries: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()

    def register(self, registry: CollectorRegistry) -> None:
        """Serve the GPU gauges on ``registry`` (idempotent: a registry gets this collector once)."""
        with self._lock:
            if registry not in self._registries:
                registry.register(self)
                self._registries.add(registry)

    def describe(self) -> list[GaugeMetricFamily]:
        """The families without samples (registries call this; it never touches NVML)."""
        return list(self._families().values())

    def collect(self) -> list[GaugeMetricFamily]:
        """The families with one sample per device that answered (a temperature only where it has a sensor)."""
        families = self._families()
        nvml = self._start()
        if nvml is None:
            return list(families.values())
        for labels, values in self._devices(nvml):
            for key, value in values.items():
                families[key].add_metric([labels[name] for name in DEVICE_LABELS], value)
        return list(families.values())

    def _families(self) -> dict[str, GaugeMetricFamily]:
        out = {}
        for key, gauge in self._declared.items():
            (declared,) = gauge.describe()
            out[key] = GaugeMetricFamily(declared.name, declared.documentation, labels=DEVICE_LABELS)
        return out

    def _start(self) -> ModuleType | None:
        """NVML, started (on the first call only); None where it cannot be used."""
        with self._lock:
            if self._started:
                return self._nvml
            self._started = True
            try:
                import pynvml
            except ImportError:
                log.info("GPU metrics off: nvidia-ml-py is not installed (pip install 'reauto[gpu]')")
                return None
            try:
                pynvml.nvmlInit()
            except pynvml.NVMLError as exc:
                log.info("GPU metrics off: NVML did not start (%s): no NVIDIA driver or GPU here", exc)
                return None
            self._nvml = pynvml
            return pynvml

    def _devices(self, nvml: Any) -> Iterator[tuple[dict[str, str], dict[str, float]]]:
        """(labels, values) of each device whose queries all answered."""
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as exc:
            self._failed(None, "GPU metrics: NVML did not count the devices (%s)", exc)
            return
        self._failing.discard(None)
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                labels = {"gpu": str(index), "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
                          "name": _text(nvml.nvmlDeviceGetName(handle))}
                rates = nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except nvml.NVMLError as exc:
                self._failed(index, "GPU metrics: GPU %s left out while it fails (%s)", exc)
                continue
            self._failing.discard(index)
            values = {"utilisation": rates.gpu / 100, "memory_utilisation": rates.memory / 100,
                      "memory_used": float(memory.used), "memory_total": float(memory.total)}
            try:
                values["temperature"] = float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
            except nvml.NVMLError:
                pass  # not every device has a sensor NVML reads (MIG instances, some virtual GPUs)
            yield labels, values

    def _failed(self, key: int | None, message: str, exc: Exception) -> None:
        """Log a failure once while it lasts (a scrape comes every few seconds)."""
        if key not in self._failing:
            self._failing.add(key)
            if key is None:
                log.warning(message, exc)
            else:
                log.warning(message, key, exc)


def _text(value: str | bytes) -> str:
    """NVML's strings (older nvidia-ml-py releases return bytes)."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
