"""``reauto eval --html``: one self-contained page with tables and plots as embedded PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reauto.eval.realtime import STAGES
from reauto.eval.runner import EvalReport


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plots(reports: Sequence[EvalReport]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    fig, ax = plt.subplots(figsize=(6, 3))
    for r in reports:
        wers = [t.errors.wer for c in r.calls for t in c.turns if t.errors.wer is not None]
        ax.hist([min(w, 1.5) for w in wers], bins=15, range=(0, 1.5), alpha=0.6, label=r.config)
    ax.set_xlabel("WER per lead turn (capped at 1.5)")
    ax.set_ylabel("turns")
    ax.legend()
    out.append(("Word error rate per turn", _png(fig)))

    fig, ax = plt.subplots(figsize=(6, 3))
    width = 0.8 / max(1, len(reports))
    slots = sorted({s for r in reports for s in r.summary()["slots"]})
    for k, r in enumerate(reports):
        acc = [(r.summary()["slots"].get(s) or {}).get("accuracy") or 0.0 for s in slots]
        ax.bar([i + k * width for i in range(len(slots))], acc, width=width, label=r.config)
    ax.set_xticks([i + width * (len(reports) - 1) / 2 for i in range(len(slots))], slots, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.legend()
    out.append(("Slot accuracy", _png(fig)))

    measured = [(r, [s for c in r.calls for s in c.latency]) for r in reports]
    if any(stages for _, stages in measured):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for r, stages in measured:
            for stage in STAGES:
                values = sorted(v for s in stages if (v := getattr(s, stage)) is not None)
                if values:
                    ax.step(values, [(i + 1) / len(values) for i in range(len(values))], where="post",
                            label=f"{stage} ({r.config})" if len(reports) > 1 else stage)
        ax.set_xlabel("ms after the lead stopped speaking")
        ax.set_ylabel("share of turns")
        ax.legend(fontsize=7)
        out.append(("Latency per stage (CDF)", _png(fig)))
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def write_html(path: Path, reports: Sequence[EvalReport], title: str) -> Path:
    """Write the report page for one or more configurations."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for r in reports:
        s = r.summary()
        parts.append(f"<h2>Configuration: {html.escape(r.config)} (STT {html.escape(r.stt)})</h2>")
        parts.append(_table(["calls", "failed", "turns", "audio s", "elapsed s", "WER", "slot accuracy",
                             "outcome accuracy"],
                            [[s["calls"], s["failed_calls"], s["turns"], s["audio_s"], s["elapsed_s"], s["wer"],
                              s["slot_accuracy"], s["outcome_accuracy"]]]))
        parts.append("<h3>Calls</h3>")
        parts.append(_table(["call", "WER", "slots right", "outcome (label → predicted)"],
                            [[c.name, c.errors.wer,
                              f"{sum(v['right'] for v in c.slot_checks().values())}/{len(c.labels)}",
                              f"{c.label_outcome or '—'} → {c.outcome}"] for c in r.calls]))
        conf = s["outcome_confusion"]
        predicted = sorted({p for row in conf.values() for p in row})
        if conf:
            parts.append("<h3>Outcome confusion (rows: label, columns: predicted)</h3>")
            parts.append(_table(["label", *predicted], [[lab, *(row.get(p, 0) for p in predicted)]
                                                        for lab, row in conf.items()]))
        parts.append("<h3>Recogniser confidence vs errors</h3>")
        parts.append(_table(["confidence", "turns", "WER"], [[b["confidence"], b["turns"], b["wer"]]
                                                             for b in s["confidence"]]))
        if s["latency_ms"]:
            parts.append("<h3>Latency from the end of the lead's speech (ms)</h3>")
            parts.append(_table(["stage", "turns", "p50", "p95"], [[k, f"{v['turns']}/{v['of']}", v["p50"], v["p95"]]
                                                                  for k, v in s["latency_ms"].items()]))
        if r.problems:
            parts.append("<h3>Calls that could not be evaluated</h3>")
            parts.append(_table(["call", "reason"], [[p.name, p.reason] for p in r.problems]))
        parts.append("<h3>Lead turns</h3>")
        parts.append(_table(["call", "turn", "reference", "heard", "confidence", "WER"],
                            [[c.name, t.turn, t.reference, t.heard, t.confidence, t.errors.wer]
                             for c in r.calls for t in c.turns]))
    for name, img in _plots(reports):
        parts.append(f"<h2>{html.escape(name)}</h2>{img}")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
