"""A gate that stops a campaign ends ``reauto dial`` with its own exit status, its reason and the next
allowed time; ``reauto campaign status`` shows where the campaign stands."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import DatabaseSettings, Settings
from reauto.dialer.stops import EXIT_ABANDON_GATE, EXIT_BUDGET, AbandonStanding, RunStop, clears_at
from reauto.errors import UsageError
from reauto.store import migrate
from reauto.store.models import Budget, BudgetPeriod, Call, CallStatus, Campaign, Lead, LeadStatus
from reauto.store.types import utcnow

from .conftest import create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.mark.unit
def test_the_rate_clears_when_the_abandoned_calls_leave_the_30_day_window():
    calls = [(NOW - timedelta(days=5), True), (NOW - timedelta(days=3), True)]
    calls += [(NOW - timedelta(days=2), False)] * 8
    # 2 of 10; the first leaving makes it 1 of 9 (11%); the second, 0 of 8
    assert clears_at(calls, 0.03, NOW) == NOW - timedelta(days=3) + timedelta(days=30, seconds=1)
    assert clears_at([(NOW, False)] * 3, 0.03, NOW) is None
    standing = AbandonStanding(2, 10, 0.03)
    # 2 / (10 + 57) = 2.99% is the first rate at or under 3%
    assert standing.over and standing.calls_to_clear == 57 and 2 / 66 > 0.03 >= 2 / 67
    assert AbandonStanding(1, 40, 0.03).calls_to_clear == 0 and AbandonStanding(0, 0, 0.03).rate is None
    assert AbandonStanding(3, 100, 0.03).calls_to_clear == 0  # exactly at the ceiling is allowed


@pytest.mark.unit
def test_a_stop_says_its_reason_and_next_allowed_time_in_one_line():
    stop = RunStop("abandoned_rate", "campaign abandoned-call rate 20.0% over 3%", NOW)
    assert stop.exit_code == EXIT_ABANDON_GATE != RunStop("budget", "x").exit_code == EXIT_BUDGET
    assert stop.line() == ("stopped by the abandoned rate gate: campaign abandoned-call rate 20.0% over 3%; "
                           "next allowed at 2026-11-24T17:00:00+00:00")
    assert "\n" not in stop.line() and stop.as_json()["next_allowed_at"] == NOW.isoformat()


@pytest.fixture
def database():
    name = f"reauto_gates_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    migrate.upgrade(cfg)
    engine = create_engine(cfg.database.url)
    yield cfg, engine
    engine.dispose()
    drop_database(name)


def campaign_file(tmp_path: Path, name: str) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = name
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Jane Doe"]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(cfg, *args):
    return runner.invoke(app, list(args), obj=AppState(_settings=cfg))


@pytest.mark.integration
@pytest.mark.slow
def test_the_abandoned_call_gate_stops_dial_with_exit_4_and_campaign_status_says_why(database, tmp_path):
    cfg, engine = database
    now = utcnow()
    with Session(engine) as s, s.begin():
        camp = Campaign(name="gated")
        s.add(camp)
        s.flush()
        old = Lead(campaign_id=camp.id, phone_e164="+15125550999", state="TX", status=LeadStatus.EXHAUSTED)
        s.add(old)
        s.flush()
        # 2 of 10 person-answered calls in 30 days were abandoned (20%); voicemails do not count
        history = [(5, True), (3, True)] + [(2, False)] * 8 + [(1, None)] * 3
        s.add_all(Call(campaign_id=camp.id, lead_id=old.id, provider="sim", status=CallStatus.COMPLETED,
                       abandoned=abandoned, created_at=now - timedelta(days=days)) for days, abandoned in history)
    second_abandoned = now - timedelta(days=3)
    result = cli(cfg, "dial", str(campaign_file(tmp_path, "gated")), "--at", "2026-11-24T14:00:00-06:00", "--json")
    assert result.exit_code == EXIT_ABANDON_GATE, result.output
    out = json.loads(result.stdout)
    stopped = out["stopped"]
    assert stopped["reason"] == "abandoned_rate" and stopped["exit_code"] == 4
    assert "20.0% over 3%" in stopped["message"] and "2 of 10 person-answered calls" in stopped["message"]
    expected = second_abandoned + timedelta(days=30, seconds=1)
    assert abs(datetime.fromisoformat(stopped["next_allowed_at"]) - expected) < timedelta(seconds=5)
    assert out["calls"] == [] and "abandoned-call rate" in out["denied"][0]["reason"]
    assert stopped["line"] in result.stderr
    with Session(engine) as s:
        assert s.execute(select(Call).where(Call.created_at > now - timedelta(hours=1))).first() is None  # none placed

    status = cli(cfg, "campaign", "status", "gated", "--json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["abandoned_30d"] | {"clears_at": None} == {
        "abandoned": 2, "answered_by_a_person": 10, "rate": 0.2, "ceiling": 0.03, "over": True, "calls_to_clear": 57,
        "clears_at": None}
    assert data["stopped_by"] == ["abandoned_rate"] and data["next_allowed_at"] == data["abandoned_30d"]["clears_at"]
    assert data["due_leads"] == 0  # Jane was refused and rescheduled for the gate's next look
    plain = cli(cfg, "campaign", "status", "gated")
    assert "57 more person-answered calls without abandonment" in plain.stdout
    assert isinstance(cli(cfg, "campaign", "status", "nope").exception, UsageError)  # one line, exit 2


@pytest.mark.integration
@pytest.mark.slow
def test_a_budget_that_cannot_cover_a_call_stops_dial_with_exit_5_until_its_period_ends(database, tmp_path):
    cfg, engine = database
    with Session(engine) as s, s.begin():
        s.add(Budget(scope="global", period=BudgetPeriod.DAILY, amount=Decimal("0.05")))  # a call holds 0.0615
    result = cli(cfg, "dial", str(campaign_file(tmp_path, "broke")), "--at", "2026-11-24T14:00:00-06:00", "--json")
    assert result.exit_code == EXIT_BUDGET, result.output
    stopped = json.loads(result.stdout)["stopped"]
    tomorrow = (utcnow() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert stopped["reason"] == "budget" and "global daily budget $0.05 is used up" in stopped["message"]
    assert datetime.fromisoformat(stopped["next_allowed_at"]) == tomorrow
    status = json.loads(cli(cfg, "campaign", "status", "broke", "--json").stdout)
    assert status["stopped_by"] == ["budget"] and status["due_leads"] == 1
    assert [(b["scope"], b["covers_a_call"], b["held_usd"]) for b in status["budgets"]] == [("global", False, None)]
