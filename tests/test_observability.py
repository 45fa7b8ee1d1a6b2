"""The operators' observability kit (scripts/observability): dashboard, alerts, scrape config.

Every metric the kit queries must be one reauto exports (reauto.metrics); the dashboard must be
loadable by Grafana's provisioning; promtool must accept the rules, the config and reauto's own
text exposition. The promtool tests are skipped where promtool is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

import reauto.metrics as reauto_metrics

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "scripts" / "observability"
ALERTS = KIT / "alerts.yml"
PROM_CONFIG = KIT / "prometheus.yml"
DASHBOARD = KIT / "grafana" / "dashboards" / "reauto.json"
DATASOURCES = KIT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = KIT / "grafana" / "provisioning" / "dashboards" / "reauto.yml"

PANEL_TYPES = {"timeseries", "stat", "bargauge", "piechart"}
METRIC_RE = re.compile(r"reauto_[a-z_]+")
SELECTOR_RE = re.compile(r"(reauto_[a-z_]+)(\{[^}]*\})?")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SEVERITIES = {"warning", "critical"}
# Grafana's built-in variables, replaced by values promtool can parse.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "6h", "$__interval": "15s", "$campaign": ".*"}


def _families() -> dict[str, Any]:
    """Exposed family name -> metric object, for every metric defined in reauto.metrics."""
    out = {}
    for obj in vars(reauto_metrics).values():
        if isinstance(obj, Counter):
            out[f"{obj._name}_total"] = obj  # noqa: SLF001
        elif isinstance(obj, (Gauge, Histogram)):
            out[obj._name] = obj  # noqa: SLF001
    return out


def _known_base(name: str) -> str | None:
    """The exported family a series name belongs to (histogram suffixes stripped), else None."""
    names = set(reauto_metrics.metric_names())
    if name in names:
        return name
    histograms = {n for n, m in _families().items() if isinstance(m, Histogram)}
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in histograms:
            return name[: -len(suffix)]
    return None


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title/refId, expr) of every target in the dashboard."""
    return [(f"{p.get('title')}/{t.get('refId')}", t["expr"]) for p in _dashboard()["panels"] for t in p["targets"]]


def _alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _datasource_uid() -> str:
    (ds,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    return ds["uid"]


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed: apt-get install prometheus")
    return path


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, input=stdin, capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


# --- files parse, provisioning ------------------------------------------------------------------


@pytest.mark.unit
def test_kit_files_are_valid_yaml_and_json():
    for path in (ALERTS, PROM_CONFIG, DATASOURCES, PROVIDERS):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    assert isinstance(_dashboard(), dict)


@pytest.mark.unit
def test_grafana_provisioning_points_at_prometheus_and_the_dashboard_folder():
    (ds,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert ds["type"] == "prometheus"
    assert ds["uid"] == "reauto-prometheus"
    assert ds["url"] == "http://127.0.0.1:9090"
    (provider,) = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/reauto"


@pytest.mark.unit
def test_prometheus_config_scrapes_the_dialer_and_the_server():
    config = yaml.safe_load(PROM_CONFIG.read_text())
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"reauto-dial", "reauto-serve"}
    for name, target in (("reauto-dial", "127.0.0.1:9464"), ("reauto-serve", "127.0.0.1:8080")):
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
        assert [t for sc in jobs[name]["static_configs"] for t in sc["targets"]] == [target]


# --- dashboard structure ------------------------------------------------------------------------


@pytest.mark.unit
def test_dashboard_has_the_top_level_fields_grafana_requires():
    dash = _dashboard()
    assert dash["uid"] == "reauto-overview"
    assert dash["title"] == "reauto"
    assert dash["schemaVersion"] == 39
    assert dash["time"] == {"from": "now-6h", "to": "now"}
    assert dash["refresh"] == "10s"
    assert isinstance(dash["panels"], list) and dash["panels"]
    (var,) = dash["templating"]["list"]
    assert var["name"] == "campaign" and var["type"] == "query"
    query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    assert query == "label_values(reauto_calls_placed_total, campaign)"
    assert var["datasource"]["uid"] == _datasource_uid()


@pytest.mark.unit
def test_dashboard_panels_are_well_formed_and_do_not_overlap():
    uid = _datasource_uid()
    panels = _dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert all(type(i) is int for i in ids), ids
    assert len(set(ids)) == len(ids), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        title = p.get("title")
        assert title, p["id"]
        assert p["type"] in PANEL_TYPES, (title, p["type"])
        grid = p["gridPos"]
        assert set(grid) >= {"x", "y", "w", "h"}, title
        assert all(type(grid[k]) is int for k in "xywh"), (title, grid)
        assert grid["x"] >= 0 and grid["y"] >= 0 and grid["w"] > 0 and grid["h"] > 0, (title, grid)
        assert grid["x"] + grid["w"] <= 24, (title, grid)
        for cx in range(grid["x"], grid["x"] + grid["w"]):
            for cy in range(grid["y"], grid["y"] + grid["h"]):
                assert (cx, cy) not in cells, f"{title!r} overlaps {cells[(cx, cy)]!r}"
                cells[(cx, cy)] = title
        assert p["datasource"] == {"type": "prometheus", "uid": uid}, title
        assert p["targets"], title
        ref_ids = [t["refId"] for t in p["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), title
        for t in p["targets"]:
            assert t["refId"] and t["expr"].strip(), title
            if "datasource" in t:
                assert t["datasource"]["uid"] == uid, title


@pytest.mark.unit
def test_dashboard_has_the_operator_panels():
    exprs = " ".join(e for _, e in _dashboard_exprs())
    for needle in (
        "sum(reauto_calls_active",
        "reauto_calls_placed_total",
        "reauto_stage_latency_seconds_bucket",
        "reauto_hello_to_first_audio_seconds_bucket",
        "reauto_abandoned_calls_ratio",
        "rate(reauto_cost_dollars_total",
        "reauto_budget_utilisation_ratio",
        "sum by (outcome) (increase(reauto_calls_completed_total",
        "sum by (variant)",
        "reauto_stt_confidence",
        "reauto_cache_requests_total",
        "reauto_llm_tokens_total",
        "reauto_tts_characters_total",
        "reauto_breaker_state",
        "reauto_db_query_seconds_bucket",
        "reauto_dialer_queue_depth",
        "reauto_event_loop_lag_seconds_bucket",
        "reauto_speed_to_lead_seconds_bucket",
    ):
        assert needle in exprs, needle
    # Latency by stage shows p50 and p95 per stage.
    assert "histogram_quantile(0.5, sum by (le, stage)" in exprs
    assert "histogram_quantile(0.95, sum by (le, stage)" in exprs
    # The A/B panel divides booked completions by all completions per variant.
    (ab,) = [e for _, e in _dashboard_exprs() if "sum by (variant)" in e]
    booked, _, total = ab.partition(" / ")
    assert 'outcome="booked"' in booked and "outcome" not in total and "reauto_calls_completed_total" in total


# --- metric names -------------------------------------------------------------------------------


@pytest.mark.unit
def test_every_metric_the_dashboard_queries_is_exported():
    unknown = [(where, name) for where, expr in _dashboard_exprs() for name in METRIC_RE.findall(expr)
               if _known_base(name) is None]
    assert unknown == []
    assert _known_base(METRIC_RE.findall(_dashboard()["templating"]["list"][0]["definition"])[0])


@pytest.mark.unit
def test_every_metric_the_alerts_query_is_exported():
    rules = _alert_rules()
    assert rules
    unknown = [(rule["alert"], name) for rule in rules for name in METRIC_RE.findall(rule["expr"])
               if _known_base(name) is None]
    assert unknown == []


@pytest.mark.unit
def test_the_name_check_rejects_unknown_and_misused_names():
    # Guards the checker itself: a typo, a counter without _total, a gauge with _bucket.
    assert _known_base("reauto_stage_latency_seconds_bucket") == "reauto_stage_latency_seconds"
    assert _known_base("reauto_calls_placed_total") == "reauto_calls_placed_total"
    assert _known_base("reauto_calls_placed") is None
    assert _known_base("reauto_calls_active_bucket") is None
    assert _known_base("reauto_stage_latency") is None


@pytest.mark.unit
def test_every_exported_metric_is_on_the_dashboard():
    used = {_known_base(n) for _, e in _dashboard_exprs() for n in METRIC_RE.findall(e)}
    assert set(reauto_metrics.metric_names()) - used == set()


@pytest.mark.unit
def test_campaign_labelled_metrics_are_filtered_by_the_campaign_variable():
    families = _families()
    missing = []
    for where, expr in _dashboard_exprs():
        for name, selector in SELECTOR_RE.findall(expr):
            base = _known_base(name)
            if base and "campaign" in families[base]._labelnames and "$campaign" not in selector:  # noqa: SLF001
                missing.append((where, name))
    assert missing == []


# --- alert rules --------------------------------------------------------------------------------


@pytest.mark.unit
def test_alert_rules_have_severity_summary_and_description():
    rules = _alert_rules()
    names = [r["alert"] for r in rules]
    assert len(set(names)) == len(names)
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]
        assert "{{" in rule["annotations"]["description"], rule["alert"]


@pytest.mark.unit
def test_alerts_cover_the_operator_conditions():
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for rule in _alert_rules():
        for name in set(METRIC_RE.findall(rule["expr"])):
            by_metric.setdefault(name, []).append(rule)
    (latency,) = by_metric["reauto_stage_latency_seconds_bucket"]
    assert 'stage="first_audio"' in latency["expr"] and "> 1.5" in latency["expr"] and latency["for"] == "5m"
    (abandoned,) = by_metric["reauto_abandoned_calls_ratio"]
    assert "> 0.03" in abandoned["expr"] and abandoned["labels"]["severity"] == "critical"
    budget = {r["labels"]["severity"]: r["expr"] for r in by_metric["reauto_budget_utilisation_ratio"]}
    assert "> 0.9" in budget["warning"] and ">= 1" in budget["critical"]
    (breaker,) = by_metric["reauto_breaker_state"]
    assert "== 2" in breaker["expr"] and breaker["for"] == "2m"
    (errors,) = by_metric["reauto_calls_completed_total"]
    assert 'status="failed"' in errors["expr"] and "[10m]" in errors["expr"] and "> 0.05" in errors["expr"]
    (lag,) = by_metric["reauto_event_loop_lag_seconds_bucket"]
    assert "histogram_quantile(0.95" in lag["expr"] and "> 0.1" in lag["expr"]


# --- promtool -----------------------------------------------------------------------------------


@pytest.mark.integration
def test_promtool_accepts_the_alert_rules():
    proc = _run([_promtool(), "check", "rules", str(ALERTS)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in proc.stdout


@pytest.mark.integration
def test_promtool_accepts_the_scrape_config():
    proc = _run([_promtool(), "check", "config", str(PROM_CONFIG)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.integration
def test_dashboard_queries_are_valid_promql(tmp_path: Path):
    # promtool has no query parser of its own: wrap each expr in a recording rule and check those.
    rules = []
    for i, (_, expr) in enumerate(_dashboard_exprs()):
        for var, value in GRAFANA_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:expr_{i}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = _run([_promtool(), "check", "rules", str(path)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _bucket_series(metric: str, labels: str, bounds: list[str], per_minute: dict[str, int]) -> list[dict[str, str]]:
    """Cumulative histogram buckets growing by per_minute[bound] observations/min (cumulated here)."""
    series, total = [], 0
    for bound in bounds:
        total += per_minute.get(bound, 0)
        sep = "," if labels else ""
        series.append({"series": f'{metric}_bucket{{{labels}{sep}le="{bound}"}}', "values": f"0+{total}x30"})
    return series


@pytest.mark.integration
def test_alerts_fire_on_the_conditions_they_describe(tmp_path: Path):
    """promtool test rules: synthetic series, expected alerts (annotations stripped; check rules covers them)."""
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(doc))
    names = {r["alert"]: r for r in _alert_rules()}

    def named(metric: str, cond: str) -> str:
        (name,) = [n for n, r in names.items() if metric in r["expr"] and cond in r["expr"]]
        return name

    latency, abandoned = named("reauto_stage_latency", "1.5"), named("reauto_abandoned", "0.03")
    budget_warn, budget_crit = named("reauto_budget", "> 0.9"), named("reauto_budget", ">= 1")
    breaker, errors, lag = named("reauto_breaker", "== 2"), named("reauto_calls_completed", "0.05"), named(
        "reauto_event_loop_lag", "0.1")
    stage_bounds = ["0.5", "1.5", "2.0", "+Inf"]
    lag_bounds = ["0.05", "0.1", "0.25", "+Inf"]
    dial = 'instance="127.0.0.1:9464",job="reauto-dial"'

    def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
        return {"alertname": name, "exp_alerts": [{"exp_labels": {"severity": severity, **labels}}]}

    tests = [
        {   # first audio slow (all in 1.5..2 s), stt slow too but it is not the alert's stage
            "interval": "1m",
            "input_series": [
                *_bucket_series("reauto_stage_latency_seconds", 'stage="first_audio"', stage_bounds, {"2.0": 10}),
                *_bucket_series("reauto_stage_latency_seconds", 'stage="stt"', stage_bounds, {"+Inf": 10}),
            ],
            "alert_rule_test": [
                {"eval_time": "3m", "alertname": latency, "exp_alerts": []},  # pending: for 5m
                {**alert(latency, names[latency]["labels"]["severity"]), "eval_time": "10m"},
            ],
        },
        {   # first audio fast, stt slow: no latency alert
            "interval": "1m",
            "input_series": [
                *_bucket_series("reauto_stage_latency_seconds", 'stage="first_audio"', stage_bounds, {"0.5": 10}),
                *_bucket_series("reauto_stage_latency_seconds", 'stage="stt"', stage_bounds, {"+Inf": 10}),
            ],
            "alert_rule_test": [{"eval_time": "10m", "alertname": latency, "exp_alerts": []}],
        },
        {   # abandoned ratio, budget and breakers: gauges
            "interval": "1m",
            "input_series": [
                {"series": 'reauto_abandoned_calls_ratio{campaign="over"}', "values": "0.05x10"},
                {"series": 'reauto_abandoned_calls_ratio{campaign="legal"}', "values": "0.02x10"},
                {"series": 'reauto_budget_utilisation_ratio{scope="global",period="day"}', "values": "0.95x10"},
                {"series": 'reauto_budget_utilisation_ratio{scope="campaign:x",period="month"}', "values": "1x10"},
                {"series": 'reauto_budget_utilisation_ratio{scope="campaign:y",period="day"}', "values": "0.5x10"},
                {"series": f'reauto_breaker_state{{dependency="ollama",{dial}}}', "values": "2x10"},
                {"series": f'reauto_breaker_state{{dependency="alert_webhook",{dial}}}', "values": "1x10"},
            ],
            "alert_rule_test": [
                {**alert(abandoned, "critical", campaign="over"), "eval_time": "1m"},
                {**alert(budget_warn, "warning", scope="global", period="day"), "eval_time": "1m"},
                {**alert(budget_crit, "critical", scope="campaign:x", period="month"), "eval_time": "1m"},
                {"eval_time": "1m", "alertname": breaker, "exp_alerts": []},  # pending: for 2m
                {**alert(breaker, names[breaker]["labels"]["severity"], dependency="ollama",
                         instance="127.0.0.1:9464", job="reauto-dial"), "eval_time": "3m"},
            ],
        },
        {   # 10 % of campaign "bad" failed, 1 % of campaign "ok"
            "interval": "1m",
            "input_series": [
                {"series": 'reauto_calls_completed_total{campaign="bad",outcome="no_answer",status="failed",'
                           'variant="a"}', "values": "0+1x30"},
                {"series": 'reauto_calls_completed_total{campaign="bad",outcome="booked",status="completed",'
                           'variant="a"}', "values": "0+9x30"},
                {"series": 'reauto_calls_completed_total{campaign="ok",outcome="no_answer",status="failed",'
                           'variant="a"}', "values": "0+1x30"},
                {"series": 'reauto_calls_completed_total{campaign="ok",outcome="booked",status="completed",'
                           'variant="a"}', "values": "0+99x30"},
            ],
            "alert_rule_test": [
                {**alert(errors, names[errors]["labels"]["severity"], campaign="bad"), "eval_time": "20m"},
            ],
        },
        {   # the dialer's loop runs its timer 100..250 ms late; the server's is fine
            "interval": "1m",
            "input_series": [
                *_bucket_series("reauto_event_loop_lag_seconds", dial, lag_bounds, {"0.25": 10}),
                *_bucket_series("reauto_event_loop_lag_seconds", 'instance="127.0.0.1:8080",job="reauto-serve"',
                                lag_bounds, {"0.05": 10}),
            ],
            "alert_rule_test": [
                {**alert(lag, names[lag]["labels"]["severity"], instance="127.0.0.1:9464", job="reauto-dial"),
                 "eval_time": "10m"},
            ],
        },
    ]
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}))
    proc = _run([_promtool(), "test", "rules", str(spec)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- reauto's own exposition --------------------------------------------------------------------

# promtool lint problems reported about reauto_ metrics that are known and accepted (metrics.py is
# owned elsewhere). Empty: promtool 2.42 reports none for reauto's metrics.
KNOWN_REAUTO_LINT: list[str] = []
# Lint lines about the client library's own metrics (python_gc_*, process_*): not reauto's to fix.
OTHER_METRIC_LINE = re.compile(r"^(python|process)_[a-z_]*\b")


def _lint(promtool: str, text: bytes) -> tuple[int, list[str], list[str]]:
    """promtool check metrics: (exit status, lines to report, lines ignored as not reauto's)."""
    proc = _run([promtool, "check", "metrics"], stdin=text)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    ignored = [line for line in lines if OTHER_METRIC_LINE.match(line) and "reauto_" not in line]
    return proc.returncode, [line for line in lines if line not in ignored], ignored


@pytest.mark.integration
def test_lint_check_reports_reauto_problems_and_ignores_the_client_librarys():
    # Guards the filter below: a counter without _total is reported, a python_ unit problem is not.
    bad = (b"# HELP reauto_bad Bad.\n# TYPE reauto_bad counter\nreauto_bad 1\n"
           b"# HELP python_thing_milliseconds X.\n# TYPE python_thing_milliseconds gauge\n"
           b"python_thing_milliseconds 1\n")
    status, reported, ignored = _lint(_promtool(), bad)
    assert status != 0
    assert reported == ['reauto_bad counter metrics should have "_total" suffix']
    assert len(ignored) == 1 and ignored[0].startswith("python_thing_milliseconds ")
    status, reported, _ = _lint(_promtool(), b"garbage{{\n")
    assert status != 0 and reported and reported[0].startswith("error while linting")


@pytest.mark.integration
def test_promtool_lints_reautos_exposition_clean(monkeypatch: pytest.MonkeyPatch):
    promtool = _promtool()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    families = _families()
    assert set(families) == set(reauto_metrics.metric_names())
    touched = []
    try:
        for metric in families.values():  # one sample in each metric
            labels = {name: "observability-test" for name in metric._labelnames}  # noqa: SLF001
            child = metric.labels(**labels) if labels else metric
            if labels:
                touched.append((metric, tuple(labels.values())))
            if isinstance(metric, Counter):
                child.inc()
            elif isinstance(metric, Gauge):
                child.set(0)
            else:
                child.observe(0.05)
        text = reauto_metrics.exposition()
    finally:
        for metric, values in touched:
            metric.remove(*values)
    decoded = text.decode()
    for name in families:
        assert f"# TYPE {name} " in decoded, name
    status, reported, ignored = _lint(promtool, text)
    assert reported == KNOWN_REAUTO_LINT, reported
    if not reported and not ignored:
        assert status == 0
