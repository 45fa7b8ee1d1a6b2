"""``reauto eval --html``: one self-contained page a manager can read.

Per configuration: the headline rates (each a percentage with its counts), the failures in red
(a wrong outcome, a wrong slot, a call whose WER is over the threshold, with what was expected
against what was heard or concluded), bar charts that carry their values, latency against the
1 s budget, and the detailed tables. Inline CSS and SVG only; every text from a call is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reauto.analytics.charts import BUDGET_MARK, LATENCY_BUDGET_MS, Bar, latency_bars, page, share, svg_bars
from reauto.eval.runner import CallResult, EvalReport, slots_text
from reauto.eval.scoring import NONE, OPT_OUT, WordErrors

#: A call whose WER is above this is listed as a failure (``reauto eval --max-wer`` overrides it).
MAX_CALL_WER = 0.25


@dataclass(frozen=True)
class Cell:
    """A table cell with a class: ``good`` (agrees with the label) or ``bad`` (a failure)."""

    value: Any
    css: str = ""


@dataclass(frozen=True)
class Failure:
    """One check a call failed: what was expected against what was heard or concluded."""

    call: str
    check: str
    expected: str
    got: str


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], row_css: Sequence[str] = ()) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = ""
    for i, row in enumerate(rows):
        css = row_css[i] if i < len(row_css) else ""
        body += f"<tr class='{css}'>" if css else "<tr>"
        for v in row:
            cell = v if isinstance(v, Cell) else Cell(v)
            body += (f"<td class='{cell.css}'>" if cell.css else "<td>") + html.escape(_fmt(cell.value)) + "</td>"
        body += "</tr>"
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def wer_text(errors: int, words: int) -> str:
    """A word error rate with its counts: "35.8% (49 errors in 137 words)"; "—" without reference words."""
    if not words:
        return "—"
    plural = "" if errors == 1 else "s"
    return f"{errors / words:.1%} ({errors} error{plural} in {words} word{'' if words == 1 else 's'})"


def _wer(e: WordErrors) -> str:
    return wer_text(e.errors, e.ref_words)


def _value(slot: str, value: Any) -> str:
    return "— (not found)" if value is None else slots_text({slot: value}).removeprefix(f"{slot} ")


def call_failures(c: CallResult, max_wer: float = MAX_CALL_WER) -> list[Failure]:
    """What ``c`` got wrong: its outcome, each wrong slot, and its misheard turns when its WER is over ``max_wer``."""
    out = []
    if c.label_outcome is not None and c.label_outcome != c.outcome:
        check = ("missed do-not-call request" if c.label_outcome == OPT_OUT
                 else "false opt-out" if c.outcome == OPT_OUT else "outcome")
        said = " | ".join(r for r in c.replies[-2:] if r)
        out.append(Failure(c.name, check, c.label_outcome, f"{c.outcome} (the agent said: {said})"))
    out += [Failure(c.name, f"slot {slot}", _value(slot, v["label"]), _value(slot, v["predicted"]))
            for slot, v in c.slot_checks().items() if not v["right"]]
    if c.errors.wer is not None and c.errors.wer > max_wer:
        out.append(Failure(c.name, "word error rate", f"at most {max_wer:.1%}", _wer(c.errors)))
        out += [Failure(c.name, f"turn {t.turn} heard: WER {_wer(t.errors)}", t.reference, t.heard)
                for t in c.turns if t.errors.errors]
    return out


def failures(r: EvalReport, max_wer: float = MAX_CALL_WER) -> list[Failure]:
    """Every failed check of the report's calls, then the calls that could not be evaluated."""
    return ([f for c in r.calls for f in call_failures(c, max_wer)]
            + [Failure(p.name, "not evaluated", "a readable recording", p.reason) for p in r.problems])


def _failure_section(r: EvalReport, max_wer: float) -> str:
    found = failures(r, max_wer)
    if not found:
        return (f"<p class='good'>No failures: every outcome and slot matched its label and no call's WER "
                f"was above {max_wer:.1%}.</p>")
    calls = len({f.call for f in found})
    return _table(f"Failures: {calls} of {len(r.calls) + len(r.problems)} calls (expected vs heard or concluded)",
                  ["call", "check", "expected", "heard / concluded"],
                  [[f.call, f.check, f.expected, f.got] for f in found], ["bad"] * len(found))


def _summary(s: dict[str, Any], max_wer: float) -> str:
    """The headline numbers, rates with their counts, failures red."""
    slots_right = sum(v["right"] for v in s["slots"].values())
    slots_labelled = sum(v["labelled"] for v in s["slots"].values())
    conf = s["outcome_confusion"]
    outcomes_right = sum(row.get(label, 0) for label, row in conf.items())
    outcomes = sum(sum(row.values()) for row in conf.values())
    o = s["opt_out"]
    return _table("Summary", ["calls", "not evaluated", "lead turns", "audio", "elapsed", "WER", "slot accuracy",
                              "outcome accuracy", "do-not-call requests caught"],
                  [[s["calls"], Cell(s["failed_calls"], "bad" if s["failed_calls"] else ""), s["turns"],
                    f"{s['audio_s']} s", f"{s['elapsed_s']} s",
                    Cell(wer_text(s["word_errors"], s["ref_words"]), "bad" if (s["wer"] or 0) > max_wer else ""),
                    Cell(share(slots_right, slots_labelled), "bad" if slots_right < slots_labelled else ""),
                    Cell(share(outcomes_right, outcomes), "bad" if outcomes_right < outcomes else ""),
                    Cell(share(o["predicted"], o["labelled"]), "bad" if o["predicted"] < o["labelled"] else "")]])


def wer_bands(wers: Sequence[float], max_wer: float) -> list[Bar]:
    """Lead turns heard exactly, up to ``max_wer`` and over it (red when any), with their shares."""
    exact = sum(w == 0 for w in wers)
    over = sum(w > max_wer for w in wers)
    return [Bar("heard exactly", exact, share(exact, len(wers))),
            Bar(f"up to {max_wer:.1%}", len(wers) - exact - over, share(len(wers) - exact - over, len(wers))),
            Bar(f"over {max_wer:.1%}", over, share(over, len(wers)), bad=over > 0)]


def _charts(r: EvalReport, s: dict[str, Any], max_wer: float) -> list[str]:
    right = [Bar(slot, v["accuracy"] or 0.0, share(v["right"], v["labelled"]), bad=v["right"] < v["labelled"])
             for slot, v in s["slots"].items()]
    labelled = [c for c in r.calls if c.label_outcome is not None]
    hits = sum(c.label_outcome == c.outcome for c in labelled)
    right.append(Bar("outcome", hits / len(labelled) if labelled else 0.0, share(hits, len(labelled)),
                     bad=hits < len(labelled)))
    turns = [t.errors.wer for c in r.calls for t in c.turns if t.errors.wer is not None]
    charts = [svg_bars("Share right (labelled calls)", right, top=1.0),
              svg_bars("Lead turns by word error rate", wer_bands(turns, max_wer))]
    latency = s["latency_ms"]
    if latency:
        points = [(f"{stage} {p}", v[p], f"{v['turns']} of {v['of']} turns") for stage, v in latency.items()
                  for p in ("p50", "p95")]
        charts.append(svg_bars("Latency after the lead stopped speaking (ms)", latency_bars(points),
                               mark=BUDGET_MARK))
    else:
        charts.append("<p>No latency measured: run <code>reauto eval --realtime</code> to time every stage.</p>")
    return charts


def _matrix(caption: str, table: dict[str, dict[str, int]]) -> str:
    """A confusion table: shares of the row's calls with counts; agreement green, the rest red."""
    predicted = sorted({p for row in table.values() for p in row}, key=lambda p: (p == NONE, p))
    rows = []
    for label, row in table.items():
        calls = sum(row.values())
        rows.append([label, *(Cell(share(row[p], calls), "good" if p == label else "bad") if p in row else ""
                              for p in predicted)])
    return _table(caption, ["label \\ predicted", *predicted], rows)


def _slot_section(confusion: dict[str, dict[str, Any]]) -> list[str]:
    parts = []
    numbers = [(slot, v) for slot, v in confusion.items() if v["kind"] == "number"]
    if numbers:
        parts.append(_table("Numeric slots (share of the calls labelled with the slot; spurious: of the calls "
                            "without that label)", ["slot", "right", "wrong", "missing", "spurious"], [
            [slot, Cell(share(v["right"], v["labelled"]), "good" if v["right"] else ""),
             *(Cell(share(v[k], v["labelled"]), "bad" if v[k] else "") for k in ("wrong", "missing")),
             Cell(share(v["spurious"], v["unlabelled"]), "bad" if v["spurious"] else "")]
            for slot, v in numbers]))
    parts += [_matrix(f"{slot} (rows: label, columns: predicted; share of the row)", v["matrix"])
              for slot, v in confusion.items() if v["kind"] == "category" and v["matrix"]]
    return parts


def _section(r: EvalReport, max_wer: float) -> list[str]:
    s = r.summary()
    o = s["opt_out"]
    false = f" ({', '.join(o['false_opt_out_calls'])})" if o["false_opt_outs"] else ""
    parts = [f"<h2>Configuration: {html.escape(r.config)} (STT {html.escape(r.stt)})</h2>", _summary(s, max_wer),
             f"<p>Opt-outs: {share(o['predicted'], o['labelled'])} of the calls labelled dnc were taken as dnc; "
             f"false opt-outs (taken as dnc, labelled otherwise): <span class='{'bad' if false else ''}'>"
             f"{o['false_opt_outs']}{html.escape(false)}</span>.</p>",
             "<h3>Failures</h3>", _failure_section(r, max_wer), "<h3>Charts</h3>", *_charts(r, s, max_wer),
             "<h3>Details</h3>"]
    parts.append(_table("Calls (failures in red)", ["call", "WER", "slots right", "outcome (label → predicted)"],
                        [[c.name, _wer(c.errors), share(sum(v["right"] for v in c.slot_checks().values()),
                                                            len(c.labels)),
                          f"{c.label_outcome or '—'} → {c.outcome}"] for c in r.calls],
                        ["bad" if call_failures(c, max_wer) else "" for c in r.calls]))
    parts += _slot_section(s["slot_confusion"])
    if s["outcome_confusion"]:
        parts.append(_matrix("Outcome confusion (rows: label, columns: predicted; share of the row)",
                             s["outcome_confusion"]))
    worst = r.worst_turns()
    if worst:
        parts.append(_table("Worst turns (most word errors first)", ["call", "turn", "reference", "heard",
                                                                     "understood", "WER"], [
            [w["call"], w["turn"], w["reference"], Cell(w["heard"], "bad"), slots_text(w["understood"]),
             wer_text(w["errors"], w["ref_words"])] for w in worst]))
    parts.append(_table("Recogniser confidence vs errors", ["confidence", "turns", "WER"],
                        [[b["confidence"], b["turns"], "—" if b["wer"] is None else f"{b['wer']:.1%}"]
                         for b in s["confidence"]]))
    if s["latency_ms"]:
        parts.append(_table(f"Latency from the end of the lead's speech (ms; budget {LATENCY_BUDGET_MS:.0f})",
                            ["stage", "turns measured", "p50", "p95"],
                            [[k, share(v["turns"], v["of"]),
                              *(Cell("—" if v[p] is None else f"{v[p]:,.0f}",
                                     "bad" if (v[p] or 0) > LATENCY_BUDGET_MS else "") for p in ("p50", "p95"))]
                             for k, v in s["latency_ms"].items()]))
    parts.append(_table("Lead turns", ["call", "turn", "reference", "heard", "understood", "confidence", "WER"],
                        [[c.name, t.turn, t.reference, t.heard, slots_text(t.understood), t.confidence,
                          Cell(_wer(t.errors), "bad" if t.errors.errors else "")]
                         for c in r.calls for t in c.turns]))
    return parts


def write_html(path: Path, reports: Sequence[EvalReport], title: str, *, max_wer: float = MAX_CALL_WER) -> Path:
    """Write the report page for one or more configurations.

    Args:
        max_wer: a call whose WER is above this is a failure.
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for r in reports:
        parts += _section(r, max_wer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(title, "".join(parts)), encoding="utf-8")
    return path
