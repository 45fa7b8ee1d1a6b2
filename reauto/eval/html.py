"""``reauto eval --html``: one self-contained page with tables and plots as embedded PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reauto.eval.realtime import STAGES
from reauto.eval.runner import EvalReport, slots_text
from reauto.eval.scoring import NONE


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


@dataclass(frozen=True)
class Cell:
    """A table cell with a class: ``good`` (agrees with the label) or ``bad`` (a failure)."""

    value: Any
    css: str = ""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], row_css: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = ""
    for i, row in enumerate(rows):
        css = row_css[i] if i < len(row_css) else ""
        body += f"<tr class='{css}'>" if css else "<tr>"
        for v in row:
            cell = v if isinstance(v, Cell) else Cell(v)
            body += (f"<td class='{cell.css}'>" if cell.css else "<td>") + html.escape(_fmt(cell.value)) + "</td>"
        body += "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _rate(v: float | None, counts: str) -> str:
    """A rate as a percentage with its counts: "35.8% (49 errors in 137 words)"."""
    return "—" if v is None else f"{v:.1%} ({counts})"


def _share(n: int, of: int) -> str:
    """A count with its share: "3 of 4 (75.0%)"."""
    return f"{n} of {of} ({n / of:.1%})" if of else f"{n} of 0"


def _count(n: int, of: int) -> str:
    return f"{n} ({n / of:.0%})" if of else str(n)


def _matrix(table: dict[str, dict[str, int]]) -> str:
    """A confusion table: counts with their share of the row's calls; agreement green, the rest red."""
    predicted = sorted({p for row in table.values() for p in row}, key=lambda p: (p == NONE, p))
    rows = []
    for label, row in table.items():
        calls = sum(row.values())
        rows.append([label, *(Cell(_count(row[p], calls), "good" if p == label else "bad") if p in row else ""
                              for p in predicted)])
    return _table(["label \\ predicted", *predicted], rows)


def _slot_section(confusion: dict[str, dict[str, Any]]) -> list[str]:
    parts = []
    numbers = [(slot, v) for slot, v in confusion.items() if v["kind"] == "number"]
    if numbers:
        parts.append("<h4>Numeric slots</h4><p>Share of the calls labelled with the slot; spurious: of the "
                     "calls without that label.</p>")
        parts.append(_table(["slot", "right", "wrong", "missing", "spurious"], [
            [slot, Cell(_count(v["right"], v["labelled"]), "good" if v["right"] else ""),
             *(Cell(_count(v[k], v["labelled"]), "bad" if v[k] else "") for k in ("wrong", "missing")),
             Cell(_count(v["spurious"], v["unlabelled"]), "bad" if v["spurious"] else "")]
            for slot, v in numbers]))
    for slot, v in confusion.items():
        if v["kind"] == "category" and v["matrix"]:
            parts.append(f"<h4>{html.escape(slot)} (rows: label, columns: predicted; share of the row)</h4>")
            parts.append(_matrix(v["matrix"]))
    return parts


def _summary(s: dict[str, Any]) -> str:
    """The headline numbers, rates with their counts."""
    slots_right = sum(v["right"] for v in s["slots"].values())
    slots_labelled = sum(v["labelled"] for v in s["slots"].values())
    conf = s["outcome_confusion"]
    outcomes_right = sum(row.get(label, 0) for label, row in conf.items())
    outcomes = sum(sum(row.values()) for row in conf.values())
    return _table(["calls", "failed", "turns", "audio s", "elapsed s", "WER", "slot accuracy", "outcome accuracy"],
                  [[s["calls"], Cell(s["failed_calls"], "bad" if s["failed_calls"] else ""), s["turns"], s["audio_s"],
                    s["elapsed_s"], _rate(s["wer"], f"{s['word_errors']} errors in {s['ref_words']} words"),
                    _rate(s["slot_accuracy"], f"{slots_right} of {slots_labelled}"),
                    _rate(s["outcome_accuracy"], f"{outcomes_right} of {outcomes}")]])


def _failures(r: EvalReport) -> list[str]:
    parts = []
    wrong = r.wrong_outcomes()
    if wrong:
        parts.append("<h3>Calls with the wrong outcome</h3>")
        parts.append(_table(["call", "label", "predicted", "the agent said"], [
            [w["call"], w["label"], Cell(w["predicted"], "bad"), " | ".join(w["replies"])] for w in wrong]))
    worst = r.worst_turns()
    if worst:
        parts.append("<h3>Worst turns (most word errors first)</h3>")
        parts.append(_table(["call", "turn", "reference", "heard", "understood", "WER"], [
            [w["call"], w["turn"], w["reference"], Cell(w["heard"], "bad"), slots_text(w["understood"]),
             _rate(w["wer"], f"{w['errors']} errors in {w['ref_words']} words")] for w in worst]))
    return parts


def write_html(path: Path, reports: Sequence[EvalReport], title: str) -> Path:
    """Write the report page for one or more configurations."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for r in reports:
        s = r.summary()
        parts.append(f"<h2>Configuration: {html.escape(r.config)} (STT {html.escape(r.stt)})</h2>")
        parts.append(_summary(s))
        o = s["opt_out"]
        parts.append(f"<p>Opt-outs: {html.escape(_share(o['predicted'], o['labelled']))} calls labelled dnc were "
                     f"taken as dnc; false opt-outs (taken as dnc, labelled otherwise): "
                     f"<span class='{'bad' if o['false_opt_outs'] else ''}'>{o['false_opt_outs']}</span>"
                     + html.escape(f" ({', '.join(o['false_opt_out_calls'])})" if o["false_opt_outs"] else "")
                     + "</p>")
        parts.append("<h3>Calls</h3>")
        parts.append(_table(["call", "WER", "slots right", "outcome (label → predicted)"],
                            [[c.name, _rate(c.errors.wer, f"{c.errors.errors} of {c.errors.ref_words}"),
                              f"{sum(v['right'] for v in c.slot_checks().values())}/{len(c.labels)}",
                              f"{c.label_outcome or '—'} → {c.outcome}"] for c in r.calls],
                            ["bad" if c.label_outcome not in {None, c.outcome} else "" for c in r.calls]))
        parts.append("<h3>Slots</h3>")
        parts.extend(_slot_section(s["slot_confusion"]))
        conf = s["outcome_confusion"]
        if conf:
            parts.append("<h3>Outcome confusion (rows: label, columns: predicted; share of the row)</h3>")
            parts.append(_matrix(conf))
        parts.extend(_failures(r))
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
        parts.append(_table(["call", "turn", "reference", "heard", "understood", "confidence", "WER"],
                            [[c.name, t.turn, t.reference, t.heard, slots_text(t.understood), t.confidence,
                              Cell(t.errors.wer, "bad" if t.errors.errors else "")]
                             for c in r.calls for t in c.turns]))
    for name, img in _plots(reports):
        parts.append(f"<h2>{html.escape(name)}</h2>{img}")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
             ".bad{background:#fdd;color:#900}.good{background:#dfd}tr.bad td{background:#fdd}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
