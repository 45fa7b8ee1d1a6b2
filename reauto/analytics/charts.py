"""``reauto report --png/--html``: the report's tables and one figure, as PNG or a self-contained page.

matplotlib is imported only when a figure is drawn, and drawn on an Agg canvas of its own (no
pyplot, so no global backend or figure state).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reauto.analytics.report import LOW_CONFIDENCE, QUALIFIED_SCORE, CampaignReport

@dataclass(frozen=True)
class TableSpec:
    """One table of the report, already formatted for display."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, ``—`` when undefined."""
    return "—" if value is None else f"{value:.1%}"


def money(value: Decimal | None, places: int = 4) -> str:
    """Dollars with ``places`` decimals, ``—`` when undefined."""
    return "—" if value is None else f"${value:,.{places}f}"


def num(value: float | None, fmt: str = ".3f") -> str:
    """A number in ``fmt``, ``—`` when undefined."""
    return "—" if value is None else format(value, fmt)


def report_tables(report: CampaignReport) -> list[TableSpec]:
    """The report as titled tables: summary, days, outcomes, variants, cost and quality."""
    t, c, q = report.totals, report.cost, report.quality
    last_day = report.days[-1].day if report.days else report.start.date()
    summary = TableSpec(
        f"{report.campaign}: {report.period} {report.start.date()} … {last_day} (UTC)",
        ("calls", "answered", "qualified leads", "bookings", "booking rate"),
        [(str(t.calls), str(t.answered), str(t.qualified), str(t.bookings), pct(t.booking_rate))])
    days = TableSpec("per day", ("day", "calls", "answered", "qualified", "bookings", "booking rate", "cost"),
                     [(d.day.isoformat(), str(d.calls), str(d.answered), str(d.qualified), str(d.bookings),
                       pct(d.booking_rate), money(d.cost, 2)) for d in report.days])
    outcomes = TableSpec("outcome mix", ("outcome", "calls", "share"),
                         [(o.outcome, str(o.count), pct(o.share)) for o in report.outcomes])
    variants = TableSpec("booking rate by prompt variant (z-test against the variant with most calls)",
                         ("variant", "calls", "answered", "bookings", "rate", "vs", "p-value", "note"),
                         [(v.variant, str(v.calls), str(v.answered), str(v.bookings), pct(v.booking_rate),
                           v.versus or "(ref)", num(v.p_value),
                           "small sample" if v.small_sample else "") for v in report.variants])
    cost = TableSpec("cost", ("total", "per call", "per qualified lead", "per booking"),
                     [(money(c.total, 2), money(c.per_call), money(c.per_qualified_lead), money(c.per_booking))])
    quality = TableSpec("quality", ("measure", "value"), [
        ("lead turns with an STT confidence", str(q.lead_turns)),
        ("STT confidence, mean", num(q.confidence_mean)),
        (f"STT confidence below {LOW_CONFIDENCE}", pct(q.low_confidence_share)),
        ("agent turns with a first-audio time", str(q.agent_turns)),
        ("agent first audio p50 (ms)", num(q.first_audio_p50_ms, ".0f")),
        ("agent first audio p95 (ms)", num(q.first_audio_p95_ms, ".0f")),
        ("abandoned calls", str(q.abandoned)),
        ("abandoned / answered", pct(q.abandon_rate)),
    ])
    v = report.speed
    speed = TableSpec("speed to lead (posted leads' first calls)", ("measure", "value"), [
        ("posted leads dialed", str(v.posted_leads_dialed)),
        ("intake → dial started p50 / p95 (s)", f"{num(v.dial_p50_s, '.1f')} / {num(v.dial_p95_s, '.1f')}"),
        ("posted leads who answered", str(v.answered)),
        ("intake → answered p50 / p95 (s)", f"{num(v.answered_p50_s, '.1f')} / {num(v.answered_p95_s, '.1f')}"),
    ])
    return [summary, days, outcomes, variants, cost, quality, speed]


def render_png(report: CampaignReport) -> bytes:
    """Calls and bookings per day (bars) with the booking rate (line); booking rate per variant."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 7), layout="constrained")
    FigureCanvasAgg(fig)
    daily, by_variant = fig.subplots(2, 1, height_ratios=(3, 2))

    xs = list(range(len(report.days)))
    daily.bar([x - 0.2 for x in xs], [d.calls for d in report.days], width=0.4, label="calls")
    daily.bar([x + 0.2 for x in xs], [d.bookings for d in report.days], width=0.4, label="bookings")
    daily.set_xticks(xs, [d.day.strftime("%m-%d") for d in report.days], rotation=45 if len(xs) > 7 else 0,
                     fontsize=8 if len(xs) > 7 else 10)
    daily.set_ylabel("calls")
    daily.set_title(f"{report.campaign}: calls, bookings and booking rate per day (UTC)")
    rate = daily.twinx()
    rate.plot(xs, [float("nan") if d.booking_rate is None else d.booking_rate for d in report.days],
              color="tab:red", marker="o", label="booking rate")
    rate.set_ylim(0, 1.05)
    rate.set_ylabel("bookings / answered")
    handles, labels = daily.get_legend_handles_labels()
    more_handles, more_labels = rate.get_legend_handles_labels()
    daily.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=8)

    names = [v.variant for v in report.variants]
    by_variant.bar(names, [v.booking_rate or 0.0 for v in report.variants], color="tab:green")
    for i, v in enumerate(report.variants):
        label = f"{v.bookings}/{v.answered}" + ("" if v.p_value is None else f"  p={v.p_value:.2f}")
        by_variant.annotate(label, (i, v.booking_rate or 0.0), ha="center", va="bottom", fontsize=8)
    if not names:
        by_variant.text(0.5, 0.5, "no calls in this period", ha="center", va="center",
                        transform=by_variant.transAxes)
    by_variant.set_ylim(0, 1.15)
    by_variant.set_ylabel("bookings / answered")
    by_variant.set_title("booking rate by prompt variant")

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return buf.getvalue()


def write_png(path: Path, report: CampaignReport, png: bytes | None = None) -> Path:
    """Write the figure of :func:`render_png` (or ``png``, already drawn) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png if png is not None else render_png(report))
    return path


def _html_table(spec: TableSpec) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in spec.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in spec.rows)
    return f"<h2>{html.escape(spec.title)}</h2><table><tr>{head}</tr>{body}</table>"


def render_html(report: CampaignReport, png: bytes | None = None) -> str:
    """One self-contained page: the tables, the notes, the definitions and the embedded figure."""
    image = base64.b64encode(png if png is not None else render_png(report)).decode("ascii")
    title = f"reauto report: {report.campaign} ({report.period})"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    definitions = (
        "Whole UTC days; a call counts on the day it was placed. Answered: completed and not voicemail. "
        f"Qualified lead: a lead whose call's latest qualification snapshot scores ≥ {QUALIFIED_SCORE}. "
        "Booking rate: bookings / answered calls. Variants are tested against the one with most calls "
        "(pooled two-proportion z-test, two-sided). Abandon rate: abandoned / answered calls.")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<img alt="calls, bookings and booking rate per day and per variant" '
             f'src="data:image/png;base64,{image}">',
             *(_html_table(t) for t in report_tables(report)),
             f"<h2>notes</h2><ul>{notes}</ul>" if notes else "",
             f"<p><small>{html.escape(definitions)}</small></p>"]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_html(path: Path, report: CampaignReport, png: bytes | None = None) -> Path:
    """Write the page of :func:`render_html` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, png), encoding="utf-8")
    return path
