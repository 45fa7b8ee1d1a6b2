"""``reauto report``: campaign analytics on a hand-built week of calls in the real PostgreSQL.

The seeded week (2026-03-04 … 2026-03-10, campaign ``spring``) and every expected number are
written out by hand below; calls just outside the week and in another campaign must not count.
"""

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import typer
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from reauto.analytics import charts
from reauto.analytics.report import (
    CallRow,
    Period,
    build_report,
    percentile,
    period_window,
    small_sample,
    two_proportion_p,
    variant_notes,
    variant_stats,
)
from reauto.cli import report as report_cli
from reauto.cli.context import AppState
from reauto.config import DatabaseSettings, Settings
from reauto.errors import UsageError
from reauto.store.engine import session_factory
from reauto.store.models import Call, Campaign, Lead, QualificationSnapshot, Turn

PNG = b"\x89PNG\r\n\x1a\n"
END = date(2026, 3, 10)
runner = CliRunner()
root = typer.Typer()
root.command(name="report")(report_cli.report)


@root.callback()
def _root() -> None:
    """Test root, so that ``report`` stays a named sub-command."""


def cli(url: str, *args: str):
    return runner.invoke(root, ["report", *args],
                         obj=AppState(_settings=Settings(database=DatabaseSettings(url=url))))


def at(day: int, hh: int = 12, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, us, tzinfo=UTC)


def chi_square_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """p of the 2×2 chi-square test (1 df, no correction), written independently of the z-test."""
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    cols = [k1 + k2, n1 + n2 - k1 - k2]
    total = n1 + n2
    chi2 = sum((table[r][c] - (n1, n2)[r] * cols[c] / total) ** 2 / ((n1, n2)[r] * cols[c] / total)
               for r in range(2) for c in range(2))
    # survival function of chi-square with one degree of freedom
    return math.erfc(math.sqrt(chi2 / 2))


# (name, created_at, lead, status, outcome, variant, cost, abandoned, snapshots [(version, score)],
#  turns [(speaker, confidence, first_audio_ms)])
CALLS = [
    ("c1", at(4, 0, 0, 0), "L1", "completed", "booked", "A", "0.50", False, [(1, 0.3), (2, 0.8)],
     [("lead", 0.9, None), ("agent", 0.2, 400), ("lead", 0.3, 50), ("agent", None, 800)]),
    ("c2", at(4, 9), "L2", "no-answer", "no_answer", "A", "0.02", None, [], []),
    ("c3", at(5, 10), "L3", "completed", "voicemail", "B", "0.10", None, [], []),
    ("c4", at(5, 11), "L4", "completed", "not_interested", "B", "0.30", False, [(1, 0.7), (2, 0.4)], []),
    ("c5", at(7, 12), "L5", "completed", "callback", "A", "0.40", True, [(1, 0.6)], []),
    ("c6", at(7, 13), "L6", "completed", "booked", "A", "0.60", False, [(1, 0.9)],
     [("lead", 0.44, None), ("agent", None, 600), ("lead", 0.45, None), ("agent", None, None),
      ("lead", None, None), ("agent", None, 1200)]),
    ("c7", at(7, 14), "L7", "busy", None, None, "0", None, [], []),
    ("c8", at(8, 15), "L1", "completed", "booked", "B", "0.45", False, [(3, 0.85)], []),
    ("c9", at(8, 16), "L8", "failed", "bad_number", None, "0.01", None, [], []),
    ("c10", at(9, 9, 30), "L2", "completed", "dnc", "A", "0.20", False, [(1, 0.7)], []),
    ("c11", at(9, 10, 30), "L3", "completed", "booked", "A", "0.55", False, [(1, 0.95)],
     [("lead", 0.8, None), ("agent", None, 500), ("agent", None, 700), ("agent", None, 900),
      ("agent", None, 1000), ("agent", None, 3000), ("agent", None, 450)]),
    ("c12", at(10, 23, 59, 59, 999999), "L4", "completed", None, None, "0.25", True, [], []),
    ("c13", at(10, 8), "L5", "voicemail", "voicemail", "A", "0.05", None, [], []),
    # just outside the week, on both sides
    ("x1", at(3, 23, 59, 59, 999999), "L6", "completed", "booked", "A", "1.00", False, [(2, 0.9)],
     [("lead", 0.1, None), ("agent", None, 9999)]),
    ("x2", at(11, 0, 0, 0), "L7", "completed", "booked", "A", "1.00", False, [], []),
]
# inside the week, but another campaign's
OTHER = ("o1", at(7, 12), "M1", "completed", "booked", "A", "2.00", True, [(1, 0.99)],
         [("lead", 0.05, None), ("agent", None, 5)])


async def seed(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as s:
        spring, other = Campaign(name="spring"), Campaign(name="other")
        s.add_all([spring, other])
        await s.flush()
        leads: dict[str, Lead] = {}
        for spec in (*CALLS, OTHER):
            lead_name = spec[2]
            if lead_name not in leads:
                owner = other if spec is OTHER else spring
                leads[lead_name] = Lead(campaign_id=owner.id, phone_e164=f"+1512555{len(leads):04d}",
                                        first_name=lead_name)
                s.add(leads[lead_name])
        await s.flush()
        for spec in (*CALLS, OTHER):
            name, created, lead, status, outcome, variant, cost, abandoned, snaps, turns = spec
            call = Call(campaign_id=(other if spec is OTHER else spring).id, lead_id=leads[lead].id,
                        provider="sim", provider_sid=name, status=status, outcome=outcome,
                        prompt_variant=variant, cost_total=Decimal(cost), abandoned=abandoned,
                        created_at=created)
            s.add(call)
            await s.flush()
            s.add_all(QualificationSnapshot(lead_id=leads[lead].id, call_id=call.id, version=v, score=score)
                      for v, score in snaps)
            s.add_all(Turn(call_id=call.id, seq=i, speaker=speaker, text="…", confidence=conf,
                           first_audio_ms=audio) for i, (speaker, conf, audio) in enumerate(turns))
        # a snapshot of a spring lead not tied to any call never counts
        s.add(QualificationSnapshot(lead_id=leads["L8"].id, call_id=None, version=1, score=1.0))


@pytest.fixture
async def seeded(pg_engine: AsyncEngine) -> AsyncEngine:
    await seed(pg_engine)
    return pg_engine


# ---------------------------------------------------------------------------------------------
# Pure helpers


@pytest.mark.unit
@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((30, 100, 20, 100), 0.10247),  # z = 1.6330 with the pooled rate 0.25
        ((20, 100, 30, 100), 0.10247),  # two-sided: the order does not matter
        ((45, 100, 30, 100), 0.02846),  # z = 2.1909, pooled 0.375
        ((10, 50, 10, 50), 1.0),
        ((3, 10, 6, 20), 1.0),
        ((0, 10, 0, 30), 1.0),  # no variance at all: nothing to tell apart
        ((7, 7, 9, 9), 1.0),
    ],
)
def test_two_proportion_p_known_values(counts, expected):
    assert two_proportion_p(*counts) == pytest.approx(expected, abs=5e-5)
    if expected < 1:
        assert two_proportion_p(*counts) == pytest.approx(chi_square_p(*counts), rel=1e-12)


@pytest.mark.unit
def test_two_proportion_p_edges():
    assert two_proportion_p(0, 0, 3, 10) is None
    assert two_proportion_p(3, 10, 0, 0) is None
    assert two_proportion_p(0, 0, 0, 0) is None
    with pytest.raises(ValueError):
        two_proportion_p(11, 10, 3, 10)
    with pytest.raises(ValueError):
        two_proportion_p(-1, 10, 3, 10)
    with pytest.raises(ValueError):
        two_proportion_p(0, -1, 3, 10)
    # a huge difference gives a tiny, still positive p
    assert 0 < two_proportion_p(900, 1000, 100, 1000) < 1e-100


@pytest.mark.unit
def test_small_sample_rule():
    # pooled rate 0.25: expected bookings 25 and 25, non-bookings 75 and 75
    assert small_sample(30, 100, 20, 100) is False
    # pooled 4/7 over 2 and 5 calls: 2 × 4/7 < 5
    assert small_sample(1, 2, 3, 5) is True
    # pooled 0.05 over 100 each: expected bookings exactly 5, not below
    assert small_sample(5, 100, 5, 100) is False
    assert small_sample(4, 100, 5, 100) is True
    assert small_sample(0, 0, 5, 10) is True


@pytest.mark.unit
def test_nearest_rank_percentile():
    values = [3000, 400, 1000, 450, 500, 600, 700, 800, 900, 1200]
    assert percentile(values, 50) == 700  # rank 5 of 10 (an interpolated median would be 750)
    assert percentile(values, 95) == 3000  # rank ceil(9.5) = 10
    assert percentile(values, 90) == 1200  # rank 9 exactly
    assert percentile(values, 0) == 400 and percentile(values, 100) == 3000
    assert percentile(range(1, 21), 95) == 19 and percentile(range(1, 21), 96) == 20  # ranks 19, ceil(19.2)
    assert percentile([5.0], 50) == 5.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


@pytest.mark.unit
def test_period_windows_are_whole_utc_days():
    assert period_window(Period.DAY, END) == (at(10, 0), at(11, 0))
    assert period_window("week", END) == (at(4, 0), at(11, 0))
    assert period_window(Period.MONTH, END) == (datetime(2026, 2, 9, tzinfo=UTC), at(11, 0))
    # an instant counts by its UTC date: 20:00 in Austin on the 10th is the 11th in UTC
    austin = datetime(2026, 3, 10, 20, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert period_window(Period.DAY, austin) == (at(11, 0), at(12, 0))
    with pytest.raises(ValueError):
        period_window(Period.DAY, datetime(2026, 3, 10, 12, 0))
    with pytest.raises(ValueError):
        period_window("fortnight", END)


def _row(i: int, variant: str, answered: bool, booked: bool) -> CallRow:
    return CallRow(id=i, lead_id=i, created_at=at(5), status="completed" if answered else "no-answer",
                   outcome="booked" if booked else None, variant=variant, cost=Decimal(0), abandoned=False)


@pytest.mark.unit
def test_variant_comparison_on_large_samples():
    rows = ([_row(i, "long", True, i < 45) for i in range(100)]
            + [_row(100 + i, "short", True, i < 30) for i in range(100)]
            + [_row(200 + i, "short", False, False) for i in range(20)]
            + [_row(300 + i, "quiet", False, False) for i in range(3)])
    short, long, quiet = variant_stats(rows)
    assert (short.variant, short.calls, short.answered, short.bookings, short.versus) == ("short", 120, 100, 30, None)
    assert short.p_value is None and not short.small_sample
    assert (long.variant, long.booking_rate, long.versus) == ("long", 0.45, "short")
    assert long.p_value == pytest.approx(chi_square_p(45, 100, 30, 100), rel=1e-12)
    assert long.small_sample is False
    assert quiet.answered == 0 and quiet.p_value is None and quiet.booking_rate is None
    assert variant_notes([short, long, quiet]) == [
        "variant 'quiet' vs 'short': no answered calls on one side, no test"]


@pytest.mark.unit
def test_variant_ties_go_by_name():
    rows = [_row(1, "b", True, True), _row(2, "a", True, False)]
    assert [v.variant for v in variant_stats(rows)] == ["a", "b"]
    assert variant_stats([]) == []


# ---------------------------------------------------------------------------------------------
# On PostgreSQL


@pytest.mark.integration
async def test_week_report_matches_hand_counts(seeded):
    r = await build_report(seeded, "spring", Period.WEEK, END)
    assert (r.campaign, r.period, r.start, r.end) == ("spring", "week", at(4, 0), at(11, 0))

    per_day = [(d.day.day, d.calls, d.answered, d.qualified, d.bookings, d.booking_rate, d.cost) for d in r.days]
    assert per_day == [
        (4, 2, 1, 1, 1, 1.0, Decimal("0.52")),  # c1 at 00:00:00 sharp is in; x1 a microsecond earlier is not
        (5, 2, 1, 0, 0, 0.0, Decimal("0.40")),  # c3 completed on a voicemail; c4's latest snapshot is 0.4
        (6, 0, 0, 0, 0, None, Decimal("0")),  # no calls: still a row
        (7, 3, 2, 2, 1, 0.5, Decimal("1.00")),  # c5 at exactly 0.6 qualifies; c7 busy
        (8, 2, 1, 1, 1, 1.0, Decimal("0.46")),
        (9, 2, 2, 2, 1, 0.5, Decimal("0.75")),
        (10, 2, 1, 0, 0, 0.0, Decimal("0.30")),  # c12 at 23:59:59.999999 is in; c13 status voicemail
    ]

    t = r.totals
    # qualified: L1 (twice, on the 4th and the 8th), L5, L6, L2, L3 → 5 leads (days sum to 6)
    assert (t.calls, t.answered, t.qualified, t.bookings, t.booking_rate) == (13, 8, 5, 4, 0.5)

    mix = {o.outcome: (o.count, o.share) for o in r.outcomes}
    assert mix == {"booked": (4, 4 / 13), "callback": (1, 1 / 13), "not_interested": (1, 1 / 13),
                   "dnc": (1, 1 / 13), "voicemail": (2, 2 / 13), "no_answer": (1, 1 / 13),
                   "bad_number": (1, 1 / 13), "transferred": (0, 0.0), "none": (2, 2 / 13)}

    a, b, default = r.variants
    assert (a.variant, a.calls, a.answered, a.bookings, a.booking_rate) == ("A", 7, 5, 3, 0.6)
    assert (a.versus, a.p_value, a.small_sample) == (None, None, False)
    assert (b.variant, b.calls, b.answered, b.bookings, b.booking_rate, b.versus) == ("B", 3, 2, 1, 0.5, "A")
    assert b.p_value == pytest.approx(chi_square_p(1, 2, 3, 5), rel=1e-12)
    assert b.p_value == pytest.approx(0.80915, abs=5e-5)
    assert b.small_sample is True
    assert (default.variant, default.calls, default.answered, default.bookings) == ("default", 3, 1, 0)
    assert default.p_value == pytest.approx(chi_square_p(0, 1, 3, 5), rel=1e-12)
    assert default.small_sample is True
    assert len(r.notes) == 2 and all("too small" in n for n in r.notes)
    assert "'B' vs 'A'" in r.notes[0] and "'default' vs 'A'" in r.notes[1]

    c = r.cost
    assert c.total == Decimal("3.43")
    assert c.per_call == Decimal("0.263846")  # 3.43 / 13 = 0.2638461…
    assert c.per_qualified_lead == Decimal("0.686000")
    assert c.per_booking == Decimal("0.857500")

    q = r.quality
    # lead turns with a confidence: 0.9, 0.3 (c1), 0.44, 0.45 (c6), 0.8 (c11); agent 0.2 ignored
    assert q.lead_turns == 5
    assert q.confidence_mean == pytest.approx((0.9 + 0.3 + 0.44 + 0.45 + 0.8) / 5)
    assert q.low_confidence_share == pytest.approx(2 / 5)  # 0.3 and 0.44; 0.45 is not below
    # agent first audio: 400 800 | 600 1200 | 500 700 900 1000 3000 450 (the lead turn's 50 ignored)
    assert q.agent_turns == 10
    assert (q.first_audio_p50_ms, q.first_audio_p95_ms) == (700, 3000)
    assert (q.abandoned, q.abandon_rate) == (2, 0.25)  # c5, c12 over 8 answered


@pytest.mark.integration
async def test_day_and_month_boundaries(seeded):
    day = await build_report(seeded, "spring", Period.DAY, date(2026, 3, 4))
    assert [d.day for d in day.days] == [date(2026, 3, 4)]
    assert (day.totals.calls, day.totals.bookings, day.cost.total) == (2, 1, Decimal("0.52"))

    before = await build_report(seeded, "spring", Period.DAY, date(2026, 3, 3))
    assert (before.totals.calls, before.totals.bookings, before.cost.total) == (1, 1, Decimal("1.00"))
    assert before.quality.first_audio_p50_ms == 9999

    # 20:00 in Austin on the 10th is already the 11th in UTC: only x2
    late = await build_report(seeded, "spring", "day",
                              datetime(2026, 3, 10, 20, 0, tzinfo=timezone(timedelta(hours=-6))))
    assert late.days[0].day == date(2026, 3, 11) and late.totals.calls == 1

    month = await build_report(seeded, "spring", Period.MONTH, END)
    assert len(month.days) == 30 and month.days[0].day == date(2026, 2, 9)
    assert (month.totals.calls, month.totals.bookings, month.totals.qualified) == (14, 5, 5)  # + x1
    assert month.cost.total == Decimal("4.43")
    assert month.quality.lead_turns == 6 and month.quality.low_confidence_share == pytest.approx(3 / 6)


@pytest.mark.integration
async def test_empty_period(seeded):
    r = await build_report(seeded, "spring", Period.WEEK, date(2026, 1, 31))
    assert [d.calls for d in r.days] == [0] * 7 and r.days[-1].day == date(2026, 1, 31)
    assert (r.totals.calls, r.totals.answered, r.totals.booking_rate) == (0, 0, None)
    assert all(o.count == 0 and o.share is None for o in r.outcomes)
    assert r.variants == []
    assert (r.cost.total, r.cost.per_call, r.cost.per_qualified_lead, r.cost.per_booking) == (0, None, None, None)
    q = r.quality
    assert (q.lead_turns, q.confidence_mean, q.low_confidence_share, q.agent_turns) == (0, None, None, 0)
    assert (q.first_audio_p50_ms, q.first_audio_p95_ms, q.abandoned, q.abandon_rate) == (None, None, 0, None)
    assert r.notes == ["no calls placed in this period"]
    png = charts.render_png(r)  # an empty period still draws
    page = charts.render_html(r)
    assert png.startswith(PNG) and "no calls placed in this period" in page
    assert "no person-answered calls in this period" in page and "class='breach'" not in page


@pytest.mark.integration
async def test_unknown_campaign(seeded):
    with pytest.raises(UsageError, match="no campaign named 'autumn'"):
        await build_report(seeded, "autumn", Period.WEEK, END)


@pytest.mark.integration
def test_cli_json(seeded, pg_url):
    result = cli(pg_url, "--campaign", "spring", "--period", "week", "--end", "2026-03-10", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["start"] == "2026-03-04T00:00:00+00:00" and data["end"] == "2026-03-11T00:00:00+00:00"
    assert [d["day"] for d in data["days"]][::3] == ["2026-03-04", "2026-03-07", "2026-03-10"]
    assert data["days"][0]["cost"] == "0.520000"
    assert data["totals"] == {"calls": 13, "answered": 8, "qualified": 5, "bookings": 4, "booking_rate": 0.5}
    assert data["cost"] == {"total": "3.430000", "per_call": "0.263846", "per_qualified_lead": "0.686000",
                            "per_booking": "0.857500"}
    assert data["variants"][1]["variant"] == "B" and data["variants"][1]["small_sample"] is True
    assert data["quality"]["first_audio_p95_ms"] == 3000
    assert data["thresholds"]["qualified_score"] == 0.6


@pytest.mark.integration
def test_cli_tables_png_and_html(seeded, pg_url, tmp_path):
    png, page = tmp_path / "out" / "report.png", tmp_path / "report.html"
    result = cli(pg_url, "-C", "spring", "--end", "2026-03-10", "--png", str(png), "--html", str(page))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "spring: week 2026-03-04 … 2026-03-10 (UTC)" in out
    assert "per day" in out and "outcome mix" in out and "booking rate by prompt variant" in out
    assert "$3.43" in out and "$0.8575" in out and "50.0%" in out
    assert "note:" in out and "too small" in out
    assert f"report written to {png}" in out and f"report written to {page}" in out

    assert png.read_bytes().startswith(PNG)
    text = page.read_text()
    assert text.startswith("<!doctype html>")
    assert "<svg role=\"img\"" in text and "<img" not in text  # charts inline, nothing to load
    for caption in ("per day", "outcome mix", "booking rate by prompt variant", "cost", "quality"):
        assert f"<caption>{caption}" in text
    assert "<td>2026-03-06</td>" in text and "<td>default</td>" in text and "<td>$0.2638</td>" in text
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")
    # 2 of 8 person-answered calls abandoned: over the 3% limit, in red, with the limit named
    assert "<p class='breach'>Legal limit breached: abandoned calls 25.0% (2 of 8)" in text


@pytest.mark.integration
def test_cli_json_with_files_keeps_stdout_json(seeded, pg_url, tmp_path):
    png = tmp_path / "r.png"
    result = cli(pg_url, "-C", "spring", "--period", "month", "--end", "2026-03-10T20:00:00-06:00",
                 "--json", "--png", str(png))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "month" and data["days"][-1]["day"] == "2026-03-11"
    assert data["totals"]["calls"] == 15  # x1 and x2 join the 13
    assert png.read_bytes().startswith(PNG)


@pytest.mark.integration
def test_cli_defaults_to_the_current_week(seeded, pg_url):
    data = json.loads(cli(pg_url, "-C", "spring", "--json").stdout)
    today = datetime.now(UTC).date()
    assert data["days"][-1]["day"] in (today.isoformat(), (today + timedelta(days=1)).isoformat())
    assert len(data["days"]) == 7 and data["period"] == "week"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-C", "autumn"], "no campaign named 'autumn'"),
        (["-C", "spring", "--end", "March 10"], "expected a date like 2026-03-10"),
        (["-C", "spring", "--end", "2026-03-10T18:00:00"], "give the UTC offset"),
    ],
)
def test_cli_usage_errors(seeded, pg_url, args, message):
    result = cli(pg_url, *args)
    assert isinstance(result.exception, UsageError), result.output
    assert message in str(result.exception) and result.exception.exit_code == 2


@pytest.mark.integration
def test_cli_rejects_an_unknown_period(pg_url):
    result = cli(pg_url, "-C", "spring", "--period", "fortnight")
    assert result.exit_code == 2 and "fortnight" in result.output


@pytest.mark.unit
def test_help_ends_with_an_example():
    from typer.main import get_command

    lines = (get_command(root).commands["report"].help or "").strip().splitlines()
    assert lines[-1] == "Example: reauto report --campaign demo --period week --html report.html"


@pytest.mark.integration
async def test_same_numbers_on_sqlite(sqlite_engine):
    await seed(sqlite_engine)
    r = await build_report(sqlite_engine, "spring", Period.WEEK, END)
    assert (r.totals.calls, r.totals.answered, r.totals.qualified, r.totals.bookings) == (13, 8, 5, 4)
    assert [d.calls for d in r.days] == [2, 2, 0, 3, 2, 2, 2]
    assert r.cost.total == Decimal("3.43") and r.cost.per_booking == Decimal("0.857500")
    assert (r.quality.first_audio_p50_ms, r.quality.first_audio_p95_ms) == (700, 3000)
    assert r.quality.low_confidence_share == pytest.approx(0.4)
