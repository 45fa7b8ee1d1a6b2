"""``reauto top``: a dialer's live state in the terminal, from its ``/live`` and ``/metrics``.

For operators without Grafana: the calls in progress with their stage, turns, elapsed time and
running cost; the campaign's totals (placed, outcomes, refusals, spend by component); latency
p50/p95 per stage estimated from the histogram buckets, as Prometheus' ``histogram_quantile``
does; budget bars; event-loop lag.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.table import Table

from reauto.errors import ReautoError


@dataclass
class Snapshot:
    """One poll of a dialer."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    def values(self, name: str) -> list[tuple[dict[str, str], float]]:
        return self.samples.get(name, [])

    def total(self, name: str, **match: str) -> float:
        return sum(v for labels, v in self.values(name) if all(labels.get(k) == x for k, x in match.items()))


def fetch(url: str, timeout_s: float = 2.0) -> Snapshot:
    """Poll ``url`` (the dialer's monitoring endpoint) once.

    Raises:
        ReautoError: the endpoint does not answer (names it and says how to start one).
    """
    base = url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout_s) as http:
            calls = _get(http, f"{base}/live").json()["calls"]
            text = _get(http, f"{base}/metrics").text
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, KeyError, TypeError) as exc:
        raise ReautoError(f"{base}: no dialer answers ({exc}); start one with "
                          "`reauto dial CAMPAIGN.yaml --metrics-port 9464`") from None
    return Snapshot(calls, parse(text))


def _get(http: httpx.Client, url: str) -> httpx.Response:
    response = http.get(url)
    if response.status_code != 200:
        raise ValueError(f"GET {url}: HTTP {response.status_code} {response.reason_phrase}")
    return response


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples of the ``reauto_`` families by sample name."""
    out: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("reauto_"):
            continue
        for sample in family.samples:
            out[sample.name].append((dict(sample.labels), float(sample.value)))
    return dict(out)


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding the q-th rank."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            span = count - prev_count
            return prev_le + (le - prev_le) * ((rank - prev_count) / span if span else 0.0)
        prev_le, prev_count = le, count
    return prev_le


def stage_quantiles(snap: Snapshot, name: str = "reauto_stage_latency_seconds_bucket") -> dict[str, tuple[Any, Any]]:
    """p50 and p95 (seconds) per stage from the bucket samples."""
    per_stage: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for labels, value in snap.values(name):
        per_stage[labels.get("stage", "")].append((float(labels["le"]), value))
    return {stage: (quantile(0.5, b), quantile(0.95, b)) for stage, b in sorted(per_stage.items())}


def render(snap: Snapshot, url: str) -> Group:
    """The screen: live calls, totals, latency, spend and budgets."""
    calls = Table(title=f"calls in progress ({len(snap.calls)}) — {url}", title_justify="left", expand=True)
    for col in ("call", "lead", "stage", "turns", "elapsed", "cost", "last"):
        calls.add_column(col, justify="right" if col in ("call", "turns", "elapsed", "cost") else "left")
    for c in snap.calls:
        calls.add_row(str(c["call_id"]), c["lead"], c["stage"], str(c["turns"]), f"{c['elapsed_s']:.0f}s",
                      f"${c['cost_usd']:.4f}", c["last"][-50:])

    totals = Table(title="campaign totals", title_justify="left")
    for col in ("campaign", "placed", "active", "admitted", "outcomes", "refused", "spend"):
        totals.add_column(col)
    campaigns = sorted({labels["campaign"] for labels, _ in snap.values("reauto_calls_placed_total")})
    for name in campaigns:
        outcomes: dict[str, float] = defaultdict(float)
        for labels, v in snap.values("reauto_calls_completed_total"):
            if labels.get("campaign") == name:
                outcomes[labels["outcome"]] += v
        spend = snap.total("reauto_cost_dollars_total", campaign=name)
        limits = [v for labels, v in snap.values("reauto_dialer_admission_limit") if labels.get("campaign") == name]
        waited = snap.total("reauto_dialer_admission_refused_total", campaign=name)
        admitted = (f"{max(limits):.0f} at once" if limits else "—") + (f", waited {waited:.0f}×" if waited else "")
        totals.add_row(name, f"{snap.total('reauto_calls_placed_total', campaign=name):.0f}",
                       f"{snap.total('reauto_calls_active', campaign=name):.0f}", admitted,
                       ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items())) or "—",
                       f"{snap.total('reauto_leads_refused_total', campaign=name):.0f}", f"${spend:.4f}")

    latency = Table(title="latency (from histogram buckets)", title_justify="left")
    for col in ("stage", "p50", "p95"):
        latency.add_column(col, justify="left" if col == "stage" else "right")
    for stage, (p50, p95) in stage_quantiles(snap).items():
        latency.add_row(stage, _ms(p50), _ms(p95))
    lag = stage_quantiles(snap, "reauto_event_loop_lag_seconds_bucket").get("", (None, None))
    latency.add_row("event loop lag", _ms(lag[0]), _ms(lag[1]))

    budgets = Table(title="budgets", title_justify="left")
    for col in ("scope", "period", "used"):
        budgets.add_column(col)
    for labels, value in snap.values("reauto_budget_utilisation_ratio"):
        filled = int(min(value, 1.0) * 20)
        budgets.add_row(labels["scope"], labels["period"], "█" * filled + "░" * (20 - filled) + f" {value:.0%}")
    return Group(calls, totals, latency, budgets)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"
