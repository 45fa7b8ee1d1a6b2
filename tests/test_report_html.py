"""The HTML pages a manager reads: ``reauto report --html`` and ``reauto eval --html``.

Asserted on meaning, through the stdlib HTML parser: what is marked as a breach or a failure,
what a bar or a cell says, what is escaped. Reports are built in memory (no database, no audio).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reauto.analytics import charts
from reauto.analytics.report import CallRow, CampaignReport, QualityStats, summarise
from reauto.compliance import ComplianceRules
from reauto.eval.html import write_html
from reauto.eval.realtime import StageTimes
from reauto.eval.recordings import CallProblem
from reauto.eval.runner import CallResult, EvalReport, TurnResult
from reauto.eval.scoring import word_errors

pytestmark = pytest.mark.unit

VOID = frozenset({"meta", "br", "img", "hr", "input", "link"})


class Node:
    """One element of a parsed page."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def strings(self) -> Iterator[str]:
        """The text pieces one by one (cells do not run into each other)."""
        for c in self.children:
            yield from [c] if isinstance(c, str) else c.strings()

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, tag: str | None = None, test: Callable[[Node], bool] = lambda n: True) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and test(n)]


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.at.children.append(Node(tag, dict(attrs), self.at))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data: str) -> None:
        self.at.children.append(data)


def parse(page: str) -> Node:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    return tree.root


def bar_texts(doc: Node, caption: str) -> dict[str, tuple[str, float, bool]]:
    """A chart's bars by label: (the text the bar carries, the bar's drawn width, whether it is red)."""
    figure = next(f for f in doc.find_all("figure") if f.find_all("figcaption")[0].text().startswith(caption))
    svg = figure.find_all("svg")[0]
    assert svg.attrs.get("role") == "img" and svg.find_all("title") and svg.find_all("desc")  # a text alternative
    texts = [n for n in svg.children if isinstance(n, Node) and n.tag in ("text", "rect")]
    out = {}
    for label, rect, value in zip(texts[0::3], texts[1::3], texts[2::3], strict=False):
        if rect.tag == "rect":
            out[label.text()] = (value.text(), float(rect.attrs["width"] or 0), "bad" in rect.classes)
    return out


# --- the campaign report ------------------------------------------------------------------------
START = datetime(2026, 3, 4, tzinfo=UTC)


def campaign_report(answered: int, abandoned: int, *, first_audio_p95_ms: float = 800.0,
                    campaign: str = "spring") -> CampaignReport:
    """A week whose calls are all placed on its first day; ``answered`` booked or not, then one voicemail."""
    rows = [CallRow(i, i, START + timedelta(hours=9, minutes=i), "completed", "booked" if i % 2 else "callback",
                    "A", Decimal("0.10"), i < abandoned) for i in range(answered)]
    rows.append(CallRow(answered, answered, START + timedelta(hours=12), "completed", "voicemail", "A",
                        Decimal("0.01"), False))
    quality = QualityStats(lead_turns=4, confidence_mean=0.7, low_confidence_share=0.25, agent_turns=6,
                           first_audio_p50_ms=600.0, first_audio_p95_ms=first_audio_p95_ms,
                           abandoned=abandoned, abandon_rate=abandoned / answered if answered else None)
    return summarise(campaign, "week", START, START + timedelta(days=7), rows, quality)


def percentages(doc: Node) -> list[str]:
    """Every percentage shown in the page's body."""
    return [p for piece in doc.find_all("body")[0].strings() for p in re.findall(r"(\d[\d.]*)%", piece)]


def breaches(doc: Node) -> list[Node]:
    return doc.find_all(test=lambda n: "breach" in n.classes)


def test_an_abandoned_rate_of_100_percent_is_a_breach_that_names_the_limit():
    doc = parse(charts.render_html(campaign_report(answered=2, abandoned=2)))
    ceiling = f"{ComplianceRules().abandon_ceiling:.1%}"
    found = [n.text() for n in breaches(doc)]
    assert any("100.0% (2 of 2)" in t and ceiling in t and "limit" in t and "16 CFR 310.4" in t for t in found), found
    # the quality table's row is red too, and says why
    rows = [n.text() for n in breaches(doc) if n.tag == "tr"]
    assert rows and "over the legal limit" in rows[0] and f"legal limit {ceiling}" in rows[0]
    # and so is the terminal's table (reauto report without --html)
    quality = next(t for t in charts.report_tables(campaign_report(answered=2, abandoned=2)) if t.title == "quality")
    flagged = [quality.rows[i][1] for i, kind in quality.flags.items() if kind == "breach"]
    assert flagged == ["100.0% (2 of 2) — over the legal limit"]


def test_an_abandoned_rate_at_the_limit_is_not_a_breach():
    doc = parse(charts.render_html(campaign_report(answered=100, abandoned=3)))
    assert breaches(doc) == []
    ok = [n.text() for n in doc.find_all("p", lambda n: "ok" in n.classes)]
    assert ok and "3.0% (3 of 100)" in ok[0] and "3.0%" in ok[0].split(";")[1]


def test_bars_carry_their_values_and_a_zero_bar_shows_its_zero():
    doc = parse(charts.render_html(campaign_report(answered=4, abandoned=0)))
    days = bar_texts(doc, "Calls placed per day")
    assert days["2026-03-04"][0] == "5" and days["2026-03-05"][0] == "0"
    assert days["2026-03-05"][1] > 0  # drawn, not an empty space
    outcomes = bar_texts(doc, "Outcome mix")
    assert outcomes["booked"][0] == "40.0% (2 of 5)" and outcomes["no_answer"][0] == "0.0% (0 of 5)"
    assert bar_texts(doc, "Booking rate by prompt variant")["A"][0] == "50.0% (2 of 4)"


def test_rates_are_percentages_with_their_counts():
    page = charts.render_html(campaign_report(answered=4, abandoned=1))
    cells = [td.text() for td in parse(page).find_all("td")]
    assert "80.0% (4 of 5)" in cells  # answered of placed
    assert "50.0% (2 of 4)" in cells  # booking rate
    assert "25.0% (1 of 4)" in cells  # low-confidence lead turns
    # no "k/n" fraction, and every percentage has one decimal (scores and p-values stay decimals)
    assert not [c for c in cells if re.fullmatch(r"\d+/\d+", c)]
    assert all(re.fullmatch(r"\d+\.\d", p) for p in percentages(parse(page)))


def test_latency_chart_marks_the_1_second_budget_and_reds_what_is_over_it():
    doc = parse(charts.render_html(campaign_report(answered=4, abandoned=0, first_audio_p95_ms=1200.0)))
    bars = bar_texts(doc, "Agent first audio")
    assert bars["first audio p95"][0].startswith("1,200 ms") and bars["first audio p95"][2]
    assert bars["first audio p50"][0].startswith("600 ms") and not bars["first audio p50"][2]
    figure = next(f for f in doc.find_all("figure") if "Agent first audio" in f.text())
    assert figure.find_all("line", lambda n: "mark" in n.classes) and "1 s budget" in figure.text()
    assert [tr.text() for tr in doc.find_all("tr", lambda n: "bad" in n.classes)] == [
        "agent first audio p95 (ms, budget 1000)1200"]


def test_the_campaign_page_is_self_contained_accessible_and_escaped():
    page = charts.render_html(campaign_report(answered=2, abandoned=0, campaign="<script>alert(1)</script>"))
    doc = parse(page)
    assert not doc.find_all("script") and not doc.find_all("img") and "http" not in page
    assert "<script>alert(1)</script>" in doc.find_all("h1")[0].text()  # shown as text
    assert all(t.find_all("caption") for t in doc.find_all("table"))
    assert "+1" not in page  # no phone number: the report has none to show


# --- the eval report ----------------------------------------------------------------------------
def _turn(n: int, ref: str, heard: str, understood: dict | None = None) -> TurnResult:
    return TurnResult(n, ref, heard, 0.5, n, n + 1.0, word_errors(ref, heard), 50.0, understood or {})


def eval_report(latency: bool = False) -> EvalReport:
    """Ana: outcome and timeline wrong, badly heard (one turn an injection); Tom: all right."""
    ana = CallResult("ana", "demo", 9.0, [
        _turn(1, "hello", "hello"),
        _turn(2, "we want to buy", "<script>alert('x')</script> buy", {"intent": "buy"}),
        _turn(3, "in two months", "into mom")],
        ["Hi", "Okay", "Sorry?"], {"intent": "buy"}, "callback", {"intent": "buy", "timeline_months": 2}, "booked")
    tom = CallResult("tom", "demo", 5.0, [_turn(1, "hello", "hello"), _turn(2, "do not call me", "do not call me")],
                     ["Hi", "Understood. Goodbye."], {}, "dnc", {}, "dnc")
    if latency:
        ana.latency = [StageTimes(2, 100.0, 600.0, 601.0, 700.0, 1500.0), StageTimes(3, 90.0, None, None, None, None)]
    return EvalReport("current", "pocketsphinx", [ana, tom], [CallProblem("broken", "lead.wav: missing")], 3.0)


def failure_rows(doc: Node) -> list[list[str]]:
    table = next(t for t in doc.find_all("table") if t.find_all("caption")[0].text().startswith("Failures"))
    rows = table.find_all("tbody")[0].find_all("tr")
    assert all("bad" in r.classes for r in rows)  # red
    return [[td.text() for td in r.find_all("td")] for r in rows]


def test_a_failing_eval_call_is_listed_with_what_was_expected_and_what_was_heard(tmp_path: Path):
    doc = parse(write_html(tmp_path / "r.html", [eval_report()], "set").read_text())
    rows = failure_rows(doc)
    assert ["ana", "outcome", "booked", "callback (the agent said: Okay | Sorry?)"] in rows
    assert ["ana", "slot timeline_months", "2", "— (not found)"] in rows
    assert ["ana", "word error rate", "at most 25.0%", "87.5% (7 errors in 8 words)"] in rows
    assert ["ana", "turn 3 heard: WER 100.0% (3 errors in 3 words)", "in two months", "into mom"] in rows
    assert ["broken", "not evaluated", "a readable recording", "lead.wav: missing"] in rows
    assert not [r for r in rows if r[0] == "tom"]
    # the calls table reds ana, not tom
    calls = next(t for t in doc.find_all("table") if t.find_all("caption")[0].text().startswith("Calls"))
    assert {r.find_all("td")[0].text(): "bad" in r.classes for r in calls.find_all("tbody")[0].find_all("tr")} == {
        "ana": True, "tom": False}


def test_a_transcript_with_markup_is_shown_as_text(tmp_path: Path):
    page = write_html(tmp_path / "r.html", [eval_report()], "<b>set</b>").read_text()
    doc = parse(page)
    assert not doc.find_all("script") and not doc.find_all("b")
    heard = [r[3] for r in failure_rows(doc) if r[1].startswith("turn 2")]
    assert heard == ["<script>alert('x')</script> buy"]
    assert doc.find_all("h1")[0].text() == "<b>set</b>"


def test_eval_rates_are_percentages_with_counts_and_zero_bars_show_zero(tmp_path: Path):
    doc = parse(write_html(tmp_path / "r.html", [eval_report()], "set").read_text())
    summary = next(t for t in doc.find_all("table") if t.find_all("caption")[0].text() == "Summary")
    cells = [td.text() for td in summary.find_all("td")]
    assert "50.0% (1 of 2)" in cells  # slot accuracy, and outcome accuracy
    assert "100.0% (1 of 1)" in cells  # the dnc request was caught
    assert all(re.fullmatch(r"\d+\.\d", p) for p in percentages(doc)), percentages(doc)
    shares = bar_texts(doc, "Share right")
    assert shares["timeline_months"][0] == "0.0% (0 of 1)" and shares["timeline_months"][2]
    assert shares["timeline_months"][1] > 0 and shares["intent"][0] == "100.0% (1 of 1)"
    assert shares["outcome"][0] == "50.0% (1 of 2)"
    bands = bar_texts(doc, "Lead turns by word error rate")
    assert bands["heard exactly"][0] == "60.0% (3 of 5)" and bands["over 25.0%"][0] == "40.0% (2 of 5)"
    assert bands["up to 25.0%"][0] == "0.0% (0 of 5)" and bands["up to 25.0%"][1] > 0


def test_eval_latency_chart_marks_the_budget(tmp_path: Path):
    doc = parse(write_html(tmp_path / "r.html", [eval_report(latency=True)], "set").read_text())
    bars = bar_texts(doc, "Latency")
    assert bars["first_audio p95"] == ("1,500 ms (1 of 2 turns)", pytest.approx(bars["first_audio p95"][1]), True)
    assert bars["vad_stop p95"][0] == "100 ms (2 of 2 turns)" and not bars["vad_stop p95"][2]
    figure = next(f for f in doc.find_all("figure") if f.text().startswith("Latency"))
    assert "1 s budget" in figure.text() and figure.find_all("line", lambda n: "mark" in n.classes)
