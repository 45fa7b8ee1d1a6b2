"""``DialRun``: a campaign's dial run is built, run and closed — everything it opened is closed, in
one order, whether the run ends or fails part-way."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.campaign import Campaign, load_campaign
from reauto.config import DatabaseSettings, Settings
from reauto.dialer import building
from reauto.dialer import run as run_module
from reauto.dialer.building import DialOptions
from reauto.dialer.run import DialResult, DialRun
from reauto.dialer.second_listen import Follower
from reauto.errors import UsageError
from reauto.telephony.sim import SimTelephony

ROOT = Path(__file__).resolve().parents[1]
AT = datetime.fromisoformat("2026-11-24T14:00:00-06:00")  # a Tuesday afternoon in Texas: inside the window
#: What a run that built everything closes, in order (the second listen's finish in the run
#: itself comes first when it ends; no web server, analyst or LLM for a plain simulated run).
CLOSE_ORDER = ["metrics", "second listen", "reservations", "telephony", "wake bus", "export", "conversations",
               "stt", "tts", "store"]


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of what the run closes, in the order it closes them."""
    log: list[str] = []

    def spy(cls: type, method: str, name: str) -> None:
        original = getattr(cls, method)

        async def closing(self: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(name)
            return await original(self, *args, **kwargs)
        monkeypatch.setattr(cls, method, closing)

    def made_by(factory: str, name: str) -> None:  # the class the run's factory picks (memory, Redis, …)
        make: Callable[..., Any] = getattr(building, factory)

        def making(*args: Any, **kwargs: Any) -> Any:
            made = make(*args, **kwargs)
            spy(type(made), "close", name)
            return made
        monkeypatch.setattr(building, factory, making)

    spy(AsyncEngine, "dispose", "store")
    spy(building.ProcessPoolSTT, "close", "stt")
    spy(SimTelephony, "close", "telephony")
    spy(building.RealtimeExport, "close", "export")
    spy(run_module.MonitoringServer, "close", "metrics")
    spy(Follower, "finish", "second listen")
    for factory, name in (("tiered_tts", "tts"), ("reservations_for", "reservations"),
                          ("sessions_for", "conversations"), ("wake_bus_for", "wake bus")):
        made_by(factory, name)
    return log


def campaign(tmp_path: Path) -> Campaign:
    """The demo campaign with one Texan lead who does not answer (a short call, no audio)."""
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = "dial-run"
    data["sim_personas"] = [{"name": "Nora Away", "phone": "+15125550166", "state": "TX",
                             "answers": {"_unanswered": "no-answer"}}]
    path = tmp_path / "dial-run.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_campaign(path)


def left_open(tasks_before: set[asyncio.Task[Any]]) -> list[str]:
    """The tasks and worker processes started since ``tasks_before`` that are still there."""
    tasks = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
    return [t.get_name() for t in tasks] + [p.name for p in multiprocessing.active_children()]


@pytest.mark.integration
@pytest.mark.slow
async def test_a_run_dials_the_seeded_campaign_and_closes_everything_it_opened(fresh_db_cfg, tmp_path, closed):
    before = asyncio.all_tasks()
    messages: list[str] = []
    started: list[Any] = []
    options = DialOptions(max_calls=1, concurrency=1, clock_start=AT, speed=4.0, metrics=("127.0.0.1", 0),
                          on_start=started.append)
    run = DialRun(fresh_db_cfg, campaign(tmp_path), options, on_message=messages.append)
    result = await run.run()

    assert isinstance(result, DialResult)
    [summary] = result.summaries
    assert summary.lead_name == "Nora Away" and summary.outcome == "no_answer"
    assert result.denied == [] and result.extra["stopped"] is None and result.extra["paused"] is False
    assert result.extra["spend"]["total_usd"] == summary.cost_usd
    assert started == [run.dialer]
    [metrics] = messages
    assert metrics.startswith("metrics on http://127.0.0.1:") and metrics.endswith("/metrics, live calls on /live")

    assert closed == ["second listen", *CLOSE_ORDER]  # the run hears its calls again, then closes
    assert left_open(before) == []
    with pytest.raises(RuntimeError, match="runs once"):
        await run.run()


@pytest.mark.integration
@pytest.mark.slow
async def test_a_run_that_fails_part_way_closes_what_it_opened(fresh_db_cfg, tmp_path, closed):
    before = asyncio.all_tasks()
    with socket.socket() as taken:  # the metrics endpoint cannot listen: everything else is open by then
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        options = DialOptions(max_calls=1, clock_start=AT, metrics=("127.0.0.1", taken.getsockname()[1]))
        with pytest.raises(OSError):
            await DialRun(fresh_db_cfg, campaign(tmp_path), options).run()
    assert closed == CLOSE_ORDER
    assert left_open(before) == []


@pytest.mark.unit
async def test_a_store_whose_schema_is_not_up_to_date_stops_the_run_before_anything_else_opens(tmp_path, closed):
    before = asyncio.all_tasks()
    cfg = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(UsageError, match="reauto db upgrade"):
        await DialRun(cfg, campaign(tmp_path), DialOptions(clock_start=AT)).run()
    assert closed == ["store"]
    assert left_open(before) == []


@pytest.mark.integration
@pytest.mark.slow
async def test_a_serving_run_without_a_web_server_is_refused_and_closes_what_it_opened(fresh_db_cfg, tmp_path, closed):
    before = asyncio.all_tasks()
    with pytest.raises(UsageError, match="needs a web server"):
        await DialRun(fresh_db_cfg, campaign(tmp_path), DialOptions(clock_start=AT, forever=True)).run()
    assert closed == ["reservations", "telephony", "wake bus", "conversations", "stt", "tts", "store"]
    assert left_open(before) == []
