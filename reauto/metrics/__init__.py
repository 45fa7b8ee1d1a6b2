"""reauto's Prometheus metrics: one module, the ``reauto_`` prefix, base units (seconds, dollars).

No label carries a call id, a phone number or a lead: label values are campaigns, outcomes,
stages, providers and the like, so the series count stays bounded. Every process registers the
same metrics; ``reauto dial --metrics-port`` and ``reauto serve`` expose them on ``/metrics``.
With ``PROMETHEUS_MULTIPROC_DIR`` set (several dialer processes behind one scrape), values are
aggregated across processes by prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from reauto.metrics.gpu import DEVICE_LABELS, GpuCollector

#: prometheus-client's own switch for multi-process metrics (it reads it when it is imported).
PROMETHEUS_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Latency buckets in seconds: voice stages live between 10 ms and a few seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
#: Stages of a turn, measured per lead turn (see reauto.voice.latency).
STAGES = ("vad", "stt", "llm_first_token", "tts_first_byte", "first_audio", "turn_total")

CALLS_PLACED = Counter("reauto_calls_placed", "Calls placed (dialed).", ["campaign"])
CALLS_COMPLETED = Counter("reauto_calls_completed", "Calls ended, by outcome and final status.",
                          ["campaign", "outcome", "status", "variant"])
CALLS_ACTIVE = Gauge("reauto_calls_active", "Calls in progress.", ["campaign"], multiprocess_mode="livesum")
LEADS_REFUSED = Counter("reauto_leads_refused", "Leads the compliance gate or the budget did not let dial.",
                        ["campaign", "reason"])
STAGE_LATENCY = Histogram("reauto_stage_latency_seconds", "Per-turn latency of each stage, from the lead's "
                          "end of speech.", ["stage"], buckets=LATENCY_BUCKETS)
HELLO_TO_AUDIO = Histogram("reauto_hello_to_first_audio_seconds", "The lead's first words to the agent's "
                           "first audio (the abandoned-call clock).", buckets=LATENCY_BUCKETS)
ABANDONED_RATIO = Gauge("reauto_abandoned_calls_ratio", "Abandoned share of person-answered calls, last 30 days.",
                        ["campaign"], multiprocess_mode="max")
STT_CONFIDENCE = Histogram("reauto_stt_confidence", "Recogniser confidence of lead turns (0..1).",
                           buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0))
CACHE_REQUESTS = Counter("reauto_cache_requests", "Cache lookups by kind and result.", ["kind", "result"])
LLM_TOKENS = Counter("reauto_llm_tokens", "LLM tokens (prompt + reply) by model.", ["model"])
LLM_EXTRACTIONS = Counter("reauto_llm_extractions", "LLM slot extractions by result: filled, empty, refused "
                          "(invalid or ungrounded), failed (no reply), late (the turn stopped waiting).", ["result"])
LLM_OFF_PLAN = Counter("reauto_llm_off_plan", "LLM replies that did not keep the plan (asked about another slot, "
                       "dropped an offered time, or broke the form), so the planned line was spoken instead, by "
                       "agent and reason.", ["agent", "reason"])
TTS_CHARACTERS = Counter("reauto_tts_characters", "Characters synthesised by tier and provider.",
                         ["tier", "provider"])
COST = Counter("reauto_cost_dollars", "Priced usage by component.", ["campaign", "component"])
BUDGET_UTILISATION = Gauge("reauto_budget_utilisation_ratio", "Spent and held over the budget, by scope.",
                           ["scope", "period"], multiprocess_mode="max")
BREAKER_STATE = Gauge("reauto_breaker_state", "Circuit breakers: 0 closed, 1 half-open, 2 open.",
                      ["dependency"], multiprocess_mode="max")
DB_QUERY = Histogram("reauto_db_query_seconds", "Store queries by name.", ["query"], buckets=LATENCY_BUCKETS)
DB_POOL = Gauge("reauto_db_pool_connections", "Database pool connections by state.", ["state"],
                multiprocess_mode="livesum")
QUEUE_DEPTH = Gauge("reauto_dialer_queue_depth", "Leads due to be dialed.", ["campaign"], multiprocess_mode="max")
LOOP_LAG = Histogram("reauto_event_loop_lag_seconds", "How late the event loop runs a 100 ms timer.",
                     buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
SPEED_TO_LEAD = Histogram("reauto_speed_to_lead_seconds", "A posted lead's intake → dial started, and → answered.",
                          ["stage"], buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600))
LEADS_RECEIVED = Counter("reauto_leads_received", "Leads posted to the intake, by result.", ["result"])
SHEDDING = Gauge("reauto_dialer_shedding", "1 while a dialer takes no new calls because its event loop runs late.",
                 ["campaign"], multiprocess_mode="livemax")
EXPORTS = Counter("reauto_exports", "Records (calls, texts) sent to export targets, by result: exported, "
                  "dead_letter.", ["target", "result"])
TEXTS = Counter("reauto_texts", "Texts to leads (cadence steps, after-hours notices) by status: sent, failed, "
                "skipped.", ["campaign", "kind", "status"])
TRANSFERS = Counter("reauto_transfers", "Hand-overs of a lead to a person by how they ended: bridged, no-answer, "
                    "declined, busy, failed, unsupported.", ["campaign", "status"])
TRANSFER_SECONDS = Histogram("reauto_transfer_bridge_seconds", "From the hand-over's start to the lead and the person "
                             "connected.", ["campaign"], buckets=(0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60))
TEXTS_RECEIVED = Counter("reauto_texts_received", "Texts from leads by how they were read: opt_out, help, opt_in, "
                         "message.", ["kind"])
INBOUND_CALLS = Counter("reauto_inbound_calls", "Calls leads placed to a campaign's number, by how they were taken: "
                        "answered (by the agent) or unavailable (the caller heard the unavailable line).",
                        ["campaign", "taken"])
CALLER_IDS_RESTED = Counter("reauto_caller_ids_rested", "Numbers of a caller-ID pool rested because their answer "
                            "rate fell well under their pool's.", ["campaign"])
ADMISSION_LIMIT = Gauge("reauto_dialer_admission_limit", "Calls at once a dialer admits now (learned from what its "
                        "calls get, up to --concurrency).", ["campaign"], multiprocess_mode="livemax")
STT_BACKLOG = Gauge("reauto_stt_backlog", "Answers waiting for a dialer's recogniser, per decoder (read by "
                    "admission control before each new call; above 1 a lead who stops speaking waits for more than "
                    "one round of other calls' decodings).", ["campaign"], multiprocess_mode="livemax")
ADMISSION_REFUSED = Counter("reauto_dialer_admission_refused", "Times due leads waited because the dialer had no "
                            "headroom for another call, by reason: limit, paused.", ["campaign", "reason"])
SECOND_LISTEN = Counter("reauto_second_listen", "Calls answered by a person heard again from their recording after "
                        "the call, by result: clear, opt_out (an opt-out the live call missed: the number is now on the "
                        "do-not-call list), not_heard (not recorded, or the recording unreadable).", ["result"])
RECORDS_SPOOLED = Gauge("reauto_call_records_spooled", "Call records waiting on disk for the database to return.",
                        multiprocess_mode="livesum")

# GPUs, per NVIDIA device (labels: gpu index, uuid, name). GPU_COLLECTOR reads them from NVML at each
# scrape instead of reauto's code setting them, so they are declared without a registry; where there is
# no NVML or no GPU they have no samples (absent, never zero).
GPU_UTILISATION = Gauge("reauto_gpu_utilisation_ratio", "Share of NVML's last sample period a kernel ran on the GPU.",
                        DEVICE_LABELS, registry=None)
GPU_MEMORY_UTILISATION = Gauge("reauto_gpu_memory_utilisation_ratio", "Share of NVML's last sample period the GPU's "
                               "memory was read or written (not how full it is: see memory used and total).",
                               DEVICE_LABELS, registry=None)
GPU_MEMORY_USED = Gauge("reauto_gpu_memory_used_bytes", "GPU memory in use, by every process on the device.",
                        DEVICE_LABELS, registry=None)
GPU_MEMORY_TOTAL = Gauge("reauto_gpu_memory_total_bytes", "GPU memory on the device.", DEVICE_LABELS, registry=None)
GPU_TEMPERATURE = Gauge("reauto_gpu_temperature_celsius", "GPU core temperature (devices with a sensor NVML reads).",
                        DEVICE_LABELS, registry=None)
GPU_COLLECTOR = GpuCollector(utilisation=GPU_UTILISATION, memory_utilisation=GPU_MEMORY_UTILISATION,
                             memory_used=GPU_MEMORY_USED, memory_total=GPU_MEMORY_TOTAL, temperature=GPU_TEMPERATURE)
GPU_COLLECTOR.register(REGISTRY)

BREAKER_CODES = {"closed": 0, "half-open": 1, "open": 2}


def prometheus_multiproc_dir(env: Mapping[str, str] | None = None) -> str | None:
    """The directory several processes share their metrics in, when multi-process mode is on.

    Read from the environment as prometheus-client itself reads it, not from the settings.
    """
    return (os.environ if env is None else env).get(PROMETHEUS_MULTIPROC_ENV) or None


def metric_names() -> list[str]:
    """Every metric family reauto exports (as Prometheus names them, counters with ``_total``)."""
    out = []
    for metric in (CALLS_PLACED, CALLS_COMPLETED, CALLS_ACTIVE, LEADS_REFUSED, STAGE_LATENCY, HELLO_TO_AUDIO,
                   ABANDONED_RATIO, STT_CONFIDENCE, CACHE_REQUESTS, LLM_TOKENS, LLM_EXTRACTIONS, LLM_OFF_PLAN,
                   TTS_CHARACTERS, COST,
                   BUDGET_UTILISATION, BREAKER_STATE, DB_QUERY, DB_POOL, QUEUE_DEPTH, LOOP_LAG, SPEED_TO_LEAD,
                   LEADS_RECEIVED, TEXTS, EXPORTS, SHEDDING, RECORDS_SPOOLED, ADMISSION_LIMIT, ADMISSION_REFUSED,
                   STT_BACKLOG, SECOND_LISTEN, TRANSFERS, TRANSFER_SECONDS, TEXTS_RECEIVED, INBOUND_CALLS,
                   CALLER_IDS_RESTED, GPU_UTILISATION, GPU_MEMORY_UTILISATION, GPU_MEMORY_USED, GPU_MEMORY_TOTAL,
                   GPU_TEMPERATURE):
        name = metric._name  # noqa: SLF001 (prometheus-client keeps the family name here)
        out.append(f"{name}_total" if isinstance(metric, Counter) else name)
    return out


def exposition(registry: CollectorRegistry | None = None) -> bytes:
    """The text exposition of every metric (aggregated across processes in multiprocess mode)."""
    if registry is None and prometheus_multiproc_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    return generate_latest(registry)


def served_registry() -> CollectorRegistry:
    """The registry a ``/metrics`` endpoint serves, the GPU collector on it (read by the serving process).

    prometheus-client's default registry, or with ``PROMETHEUS_MULTIPROC_DIR`` set a new one that
    aggregates every process's files at each scrape.
    """
    if prometheus_multiproc_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    GPU_COLLECTOR.register(registry)
    return registry


def observe_stages(stages: Iterable[tuple[str, float | None]]) -> None:
    """Record one turn's stage latencies given in milliseconds (None: not reached)."""
    for stage, ms in stages:
        if ms is not None and ms >= 0:
            STAGE_LATENCY.labels(stage=stage).observe(ms / 1000)
