"""``reauto report --png/--html``: the report's tables, its charts as inline SVG, and one PNG figure.

The HTML page is self-contained (inline CSS and SVG, no script, nothing fetched) and reads on its
own: every rate is a percentage with its counts, every bar carries its value, every chart has a
text alternative, and the legal limit on abandoned calls is checked first and shown in red when
breached. ``reauto eval --html`` draws its charts with the same :func:`svg_bars`. matplotlib is
imported only for ``--png``, on an Agg canvas of its own (no pyplot, no global figure state).
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reauto.analytics.report import LOW_CONFIDENCE, QUALIFIED_SCORE, CampaignReport
from reauto.compliance import ComplianceRules
from reauto.dialer.stops import ABANDON_WINDOW, AbandonStanding

#: The turn latency budget: the agent's first audio within 1 s of the end of the lead's speech.
LATENCY_BUDGET_MS = 1000.0
#: Where the abandoned-call ceiling comes from, as a manager or counsel would look it up.
ABANDON_RULE = "FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(4); FCC, 47 CFR 64.1200(a)(7)"
#: The pages' style: failures (``bad``) and legal-limit breaches (``breach``) in red.
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:.5em 0 1.5em}caption{text-align:left;font-weight:bold;padding:.3em 0}"
         "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
         ".bad,.breach{color:#b00020}tr.bad td,td.bad,tr.breach td{background:#fde8e8}.good{background:#e6f4e6}"
         "p.breach{border-left:6px solid #b00020;background:#fde8e8;padding:.5em 1em;font-weight:bold}"
         "p.ok{border-left:6px solid #2e7d32;background:#e6f4e6;padding:.5em 1em}"
         "figure{margin:1em 0}figcaption{font-weight:bold}svg{max-width:100%;height:auto}"
         "svg text{font:12px sans-serif;fill:#222}"
         "svg .bar{fill:#4a7bb7}svg .bar.bad{fill:#b00020}svg text.bad{fill:#b00020;font-weight:bold}"
         "svg line.mark{stroke:#b00020;stroke-width:2;stroke-dasharray:5 3}svg text.mark{fill:#b00020}")


def share(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal and both counts: ``54.2% (65 of 120)``."""
    return f"{part / whole:.1%} ({part} of {whole})" if whole else "— (0 of 0)"


def money(value: Decimal | None, places: int = 4) -> str:
    """Dollars with ``places`` decimals, ``—`` when undefined."""
    return "—" if value is None else f"${value:,.{places}f}"


def num(value: float | None, fmt: str = ".3f") -> str:
    """A number in ``fmt``, ``—`` when undefined."""
    return "—" if value is None else format(value, fmt)


def abandon_ceiling() -> float:
    """The abandoned-call ceiling the dialer's gate enforces (a share of person-answered calls)."""
    return ComplianceRules().abandon_ceiling


def abandon_standing(report: CampaignReport) -> AbandonStanding:
    """The period's abandoned calls against the gate's ceiling (``over``: the legal limit is breached)."""
    return AbandonStanding(report.quality.abandoned, report.totals.answered, abandon_ceiling())


@dataclass(frozen=True)
class TableSpec:
    """One table of the report, already formatted for display.

    Attributes:
        flags: rows to show in red, by index: ``breach`` (over a legal limit) or ``bad`` (over a budget).
    """

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    flags: Mapping[int, str] = field(default_factory=dict)


def report_tables(report: CampaignReport) -> list[TableSpec]:
    """The report as titled tables: summary, days, outcomes, variants, cost, quality and speed."""
    t, c, q = report.totals, report.cost, report.quality
    last_day = report.days[-1].day if report.days else report.start.date()
    summary = TableSpec(
        f"{report.campaign}: {report.period} {report.start.date()} … {last_day} (UTC)",
        ("calls", "answered", "qualified leads", "bookings", "booking rate"),
        [(str(t.calls), share(t.answered, t.calls), str(t.qualified), str(t.bookings), share(t.bookings, t.answered))])
    days = TableSpec("per day", ("day", "calls", "answered", "qualified", "bookings", "booking rate", "cost"),
                     [(d.day.isoformat(), str(d.calls), str(d.answered), str(d.qualified), str(d.bookings),
                       share(d.bookings, d.answered), money(d.cost, 2)) for d in report.days])
    outcomes = TableSpec("outcome mix", ("outcome", "calls", "share"),
                         [(o.outcome, str(o.count), share(o.count, t.calls)) for o in report.outcomes])
    variants = TableSpec("booking rate by prompt variant (z-test against the variant with most calls)",
                         ("variant", "calls", "answered", "bookings", "rate", "vs", "p-value", "note"),
                         [(v.variant, str(v.calls), str(v.answered), str(v.bookings), share(v.bookings, v.answered),
                           v.versus or "(ref)", num(v.p_value),
                           "small sample" if v.small_sample else "") for v in report.variants])
    cost = TableSpec("cost", ("total", "per call", "per qualified lead", "per booking"),
                     [(money(c.total, 2), money(c.per_call), money(c.per_qualified_lead), money(c.per_booking))])
    low = round((q.low_confidence_share or 0.0) * q.lead_turns)
    standing = abandon_standing(report)
    budget = f"budget {LATENCY_BUDGET_MS:.0f}"
    quality = TableSpec("quality", ("measure", "value"), [
        ("lead turns with an STT confidence", str(q.lead_turns)),
        ("STT confidence, mean", num(q.confidence_mean)),
        (f"STT confidence below {LOW_CONFIDENCE}", share(low, q.lead_turns)),
        ("agent turns with a first-audio time", str(q.agent_turns)),
        (f"agent first audio p50 (ms, {budget})", num(q.first_audio_p50_ms, ".0f")),
        (f"agent first audio p95 (ms, {budget})", num(q.first_audio_p95_ms, ".0f")),
        (f"abandoned / answered (legal limit {standing.ceiling:.1%})", share(q.abandoned, t.answered)
         + (" — over the legal limit" if standing.over else "")),
    ], {i: "bad" for i, v in ((4, q.first_audio_p50_ms), (5, q.first_audio_p95_ms)) if (v or 0) > LATENCY_BUDGET_MS}
       | ({6: "breach"} if standing.over else {}))
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
        label = share(v.bookings, v.answered) + ("" if v.p_value is None else f"  p={v.p_value:.2f}")
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


def write_png(path: Path, report: CampaignReport) -> Path:
    """Write the figure of :func:`render_png` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_png(report))
    return path


# ---------------------------------------------------------------------------------------------
# Inline SVG


@dataclass(frozen=True)
class Bar:
    """One bar of :func:`svg_bars`: its name, its length in the chart's unit, the words it carries."""

    label: str
    value: float
    text: str
    bad: bool = False  # a failure or over a budget: drawn red


@dataclass(frozen=True)
class Mark:
    """A named vertical line across a bar chart (a budget or a limit), in the bars' unit."""

    value: float
    label: str


_ROW, _LEFT, _SPAN, _WIDTH = 22, 200, 300, 720


def svg_bars(title: str, bars: Sequence[Bar], *, top: float | None = None, mark: Mark | None = None) -> str:
    """A horizontal bar chart as a ``<figure>`` of inline SVG.

    Every bar carries its text at its end; a zero bar is a thin stub, so its "0" still stands on
    the axis; failures are red. ``top`` is the value at full length (default: the longest bar, or
    the mark with room beyond it). The title and the bars' texts are the chart's text alternative.
    """
    e = html.escape
    scale = top or max([b.value for b in bars] + [mark.value * 1.25 if mark else 0.0]) or 1.0
    head = 16 if mark else 0
    shapes = []
    for i, b in enumerate(bars):
        y, width = head + i * _ROW, max(2.0, _SPAN * min(b.value, scale) / scale)
        bad = " bad" if b.bad else ""
        shapes.append(f'<text x="{_LEFT - 6}" y="{y + 15}" text-anchor="end">{e(b.label)}</text>'
                      f'<rect class="bar{bad}" x="{_LEFT}" y="{y + 4}" width="{width:.1f}" height="{_ROW - 8}"/>'
                      f'<text class="value{bad}" x="{_LEFT + width + 5:.1f}" y="{y + 15}">{e(b.text)}</text>')
    height = head + _ROW * len(bars) + 4
    if mark is not None:
        x = _LEFT + _SPAN * min(mark.value, scale) / scale
        shapes.append(f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="13" y2="{height}"/>'
                      f'<text class="mark" x="{x:.1f}" y="11" text-anchor="middle">{e(mark.label)}</text>')
    alt = "; ".join(f"{b.label}: {b.text}" for b in bars) + (f" ({mark.label} marked)" if mark else "")
    return (f'<figure><figcaption>{e(title)}</figcaption><svg role="img" viewBox="0 0 {_WIDTH} {height}" '
            f'width="{_WIDTH}" height="{height}"><title>{e(title)}</title><desc>{e(alt)}</desc>'
            f'{"".join(shapes)}</svg></figure>')


def latency_bars(points: Sequence[tuple[str, float | None, str]]) -> list[Bar]:
    """Bars of (name, milliseconds or None, counts): red over :data:`LATENCY_BUDGET_MS`."""
    return [Bar(name, ms or 0.0, f"{'—' if ms is None else f'{ms:,.0f} ms'} ({counts})",
                bad=(ms or 0.0) > LATENCY_BUDGET_MS) for name, ms, counts in points]


BUDGET_MARK = Mark(LATENCY_BUDGET_MS, f"{LATENCY_BUDGET_MS / 1000:g} s budget")


def _charts(report: CampaignReport) -> list[str]:
    t, q = report.totals, report.quality
    funnel = [Bar("calls placed", t.calls, str(t.calls)),
              Bar("answered by a person", t.answered, share(t.answered, t.calls)),
              Bar("booked", t.bookings, f"{share(t.bookings, t.answered)} of answered")]
    days = [Bar(d.day.isoformat(), d.calls, str(d.calls)) for d in report.days]
    mix = [Bar(o.outcome, o.count, share(o.count, t.calls)) for o in report.outcomes]
    variants = [Bar(v.variant, v.booking_rate or 0.0, share(v.bookings, v.answered)) for v in report.variants]
    agents = f"{q.agent_turns} agent turns"
    latency = latency_bars([("first audio p50", q.first_audio_p50_ms, agents),
                            ("first audio p95", q.first_audio_p95_ms, agents)])
    return [svg_bars("Calls placed, answered and booked", funnel),
            svg_bars("Calls placed per day (UTC)", days),
            svg_bars("Outcome mix (share of calls placed)", mix),
            svg_bars("Booking rate by prompt variant (bookings of answered calls)", variants, top=1.0)
            if variants else "",
            svg_bars("Agent first audio, milliseconds after the lead stopped speaking", latency, mark=BUDGET_MARK)]


def legal_section(report: CampaignReport) -> str:
    """The legal limits the report's data can check, each in red when breached, with the limit named."""
    standing = abandon_standing(report)
    limit = f"the limit is {standing.ceiling:.1%} per campaign over {ABANDON_WINDOW.days} days ({ABANDON_RULE})"
    measured = f"abandoned calls {share(standing.abandoned, standing.answered)} of person-answered calls"
    css, text = (("", "Abandoned calls: no person-answered calls in this period") if not standing.answered
                 else ("breach", f"Legal limit breached: {measured}") if standing.over
                 else ("ok", f"Within the legal limit: {measured}"))
    line = (f"<p class='{css}'>" if css else "<p>") + html.escape(f"{text}; {limit}.") + "</p>"
    window = ("" if len(report.days) == ABANDON_WINDOW.days else
              f"<p>Measured over this report's {len(report.days)} day{'s' if len(report.days) > 1 else ''}; "
              "<code>reauto campaign status</code> "
              f"gives the rolling {ABANDON_WINDOW.days} days the dialer's gate uses.</p>")
    return (f"<section><h2>Legal limits</h2>{line}{window}<p>Calling hours and do-not-call lists are checked "
            "before every dial by the compliance gate; this report's data does not list individual calls."
            "</p></section>")


def _html_table(spec: TableSpec) -> str:
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in spec.columns)
    body = "".join((f"<tr class='{spec.flags[i]}'>" if i in spec.flags else "<tr>")
                   + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for i, row in enumerate(spec.rows))
    return (f"<table><caption>{html.escape(spec.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def page(title: str, body: str) -> str:
    """A self-contained page: the style inline, nothing fetched, no script."""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def render_html(report: CampaignReport) -> str:
    """One self-contained page: the legal limits, the charts, the tables, the notes and the definitions."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    definitions = (
        "Whole UTC days; a call counts on the day it was placed. Answered: completed and not voicemail. "
        f"Qualified lead: a lead whose call's latest qualification snapshot scores ≥ {QUALIFIED_SCORE}. "
        "Booking rate: bookings / answered calls. Variants are tested against the one with most calls "
        "(pooled two-proportion z-test, two-sided). Abandon rate: abandoned / answered calls; a call is "
        f"abandoned when the agent's first audio came more than {ComplianceRules().abandon_after_s:g} s after "
        "the person's greeting.")
    title = f"reauto report: {report.campaign} ({report.period})"
    return page(title, "".join([
        f"<h1>{html.escape(title)}</h1>", legal_section(report),
        f"<section><h2>notes</h2><ul>{notes}</ul></section>" if notes else "",
        "<section><h2>charts</h2>", *_charts(report), "</section>",
        "<section><h2>tables</h2>", *(_html_table(t) for t in report_tables(report)), "</section>",
        f"<p><small>{html.escape(definitions)}</small></p>"]))


def write_html(path: Path, report: CampaignReport) -> Path:
    """Write the page of :func:`render_html` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
