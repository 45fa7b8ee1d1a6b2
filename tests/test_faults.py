"""Fault injection against the real servers: PostgreSQL and Redis restart while calls are live.

``reauto dial`` runs in its own process on simulated calls. PostgreSQL is reached through a
loopback proxy that the test cuts and restores (to the dialer, exactly a server restart: open
connections reset, new ones refused, then accepted again). Redis is a private ``redis-server``
that the test kills and starts again on the same port, without persistence (its counters and
sessions are gone, as after a crash).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from reauto.dialer.spool import SpoolFile, SpoolingRecorder, decode, encode
from reauto.dialer.records import RetryPolicy
from reauto.store.models import Call, CallEvent, CallStatus, Lead, LeadStatus, Turn

from .conftest import create_database, drop_database
from .fakes.tcpproxy import TcpProxy
from .test_dial import rows

ROOT = Path(__file__).resolve().parents[1]
AT = "2026-11-24T14:00:00-06:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jane_clones(tmp_path: Path, name: str, count: int, concurrency: int) -> Path:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    jane = next(p for p in data["sim_personas"] if p["name"] == "Jane Doe")
    data.update(name=name, concurrency=concurrency)
    data["sim_personas"] = [{**jane, "name": f"Lead {i}", "phone": f"+1512555{i:04d}"} for i in range(20, 20 + count)]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_dialer(path: Path, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(Path(sys.executable).parent / "reauto"), "dial", str(path), "--at", AT,
                             "--speed", "1.5", "--json"], env={**os.environ, **env}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=log.open("wb"), start_new_session=True)


async def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def finish(process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> dict:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"the dialer did not finish:\n{log.read_text()[-3000:]}")
    out = process.stdout.read() if process.stdout else b""
    assert process.returncode == 0, log.read_text()[-3000:]
    return json.loads(out)


def spooled(directory: Path, op: str) -> int:
    return sum(1 for f in directory.glob("*.jsonl") for line in f.read_text().splitlines() if f'"op":"{op}"' in line)


def stored(cfg) -> tuple[list[Call], list[CallEvent], list[Turn], list[Lead]]:
    return rows(cfg, Call), rows(cfg, CallEvent), rows(cfg, Turn), rows(cfg, Lead)


def assert_every_call_stored_once(found, count: int) -> list[Call]:
    calls, events, turns, leads = found
    assert len({c.lead_id for c in calls}) == len(calls) == count  # every lead dialed exactly once
    for call in calls:
        assert call.status == CallStatus.COMPLETED and call.outcome is not None, call
        assert sum(e.type == "ended" and e.call_id == call.id for e in events) == 1
        assert sum(t.call_id == call.id for t in turns) >= 4  # the conversation's turns are stored
    assert all(lead.status not in (LeadStatus.DIALING, LeadStatus.NEW) and lead.lease_owner is None
               for lead in leads)
    return calls


@pytest.mark.integration
@pytest.mark.slow
async def test_postgres_restart_while_calls_are_live_loses_no_record_and_dials_nobody_twice(tmp_path):
    name = f"reauto_pgfault_{uuid.uuid4().hex[:8]}"
    from reauto.config import DatabaseSettings, Settings
    from reauto.store import migrate

    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    url = make_url(cfg.database.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    spool, log = tmp_path / "spool", tmp_path / "dialer.log"
    dialer = None
    try:
        migrate.upgrade(cfg)
        path = jane_clones(tmp_path, "pgfault", count=4, concurrency=2)
        env = {"REAUTO_DATABASE_URL": url.set(port=proxy.port).render_as_string(hide_password=False),
               "REAUTO_RESILIENCE_SPOOL_DIR": str(spool), "REAUTO_DATABASE_CONNECT_TIMEOUT_S": "1"}
        dialer = start_dialer(path, env, tmp_path, log)
        await wait_until(lambda: len(rows(cfg, Call, Call.status == CallStatus.IN_PROGRESS)) >= 2, 120,
                         "two live calls")
        await proxy.stop()  # PostgreSQL goes away mid-conversation
        # both calls finish while it is away: their records wait in the spool, nothing new is dialed
        await wait_until(lambda: spooled(spool, "finish") >= 2, 150, "the live calls to end into the spool")
        await asyncio.sleep(2)
        assert dialer.poll() is None, log.read_text()[-4000:]
        assert len(rows(cfg, Call)) == 2
        restored = datetime.now().astimezone()
        await proxy.start()  # it is back: the spool is stored, dialing resumes
        out = await finish(dialer, 180, log)
    finally:
        if dialer is not None and dialer.poll() is None:
            os.killpg(dialer.pid, signal.SIGKILL)
        await proxy.stop()
        try:
            found = stored(cfg)
        finally:
            drop_database(name)
    calls = assert_every_call_stored_once(found, 4)
    later = [c for c in calls if c.created_at > restored]
    assert len(out["calls"]) == 4
    assert len(later) == 2  # the two leads still due were dialed only once the store answered
    assert not list(spool.glob("*.jsonl")) and not list(spool.glob("*.failed"))  # replayed, nothing refused
    assert "wait in" in log.read_text() and "every spooled call record is stored" in log.read_text()


@pytest.mark.integration
@pytest.mark.slow
async def test_redis_restart_while_calls_are_live_stops_dialing_until_it_returns(tmp_path):
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        pytest.skip("redis-server is not installed (scripts/test installs it)")
    from reauto.cli.context import AppState
    from reauto.cli.main import app
    from reauto.config import DatabaseSettings, RedisSettings, Settings
    from reauto.store import migrate
    from typer.testing import CliRunner

    port = free_port()

    def redis_up() -> subprocess.Popen[bytes]:
        return subprocess.Popen([server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    name = f"reauto_redisfault_{uuid.uuid4().hex[:8]}"
    redis_settings = RedisSettings(url=f"redis://127.0.0.1:{port}/0", key_prefix=f"fault-{uuid.uuid4().hex[:6]}:")
    cfg = Settings(database=DatabaseSettings(url=create_database(name)), redis=redis_settings)
    server = redis_up()
    log, dialer = tmp_path / "dialer.log", None
    try:
        migrate.upgrade(cfg)
        await wait_until(lambda: _pings(port), 10, "redis-server to start")
        budget = await asyncio.to_thread(CliRunner().invoke, app, ["budget", "set", "--daily", "5", "--campaign",
                                                                   "redisfault"], obj=AppState(_settings=cfg))
        assert budget.exit_code == 0, budget.output
        path = jane_clones(tmp_path, "redisfault", count=4, concurrency=2)
        env = {"REAUTO_DATABASE_URL": cfg.database.url, "REAUTO_REDIS_URL": redis_settings.url,
               "REAUTO_REDIS_KEY_PREFIX": redis_settings.key_prefix}
        dialer = start_dialer(path, env, tmp_path, log)
        await wait_until(lambda: len(rows(cfg, Call, Call.status == CallStatus.IN_PROGRESS)) >= 2, 120,
                         "two live calls")
        server.send_signal(signal.SIGKILL)  # Redis dies: budget counters and sessions are gone
        server.wait(10)
        # the live calls go on to their end; no new call can prove its money is there (fail closed)
        await wait_until(lambda: len(rows(cfg, Call, Call.ended_at.is_not(None))) >= 2, 150, "the live calls to end")
        await asyncio.sleep(2)
        assert dialer.poll() is None, log.read_text()[-4000:]
        assert len(rows(cfg, Call)) == 2
        restarted = datetime.now().astimezone()
        server = redis_up()  # back, empty: the counters are rebuilt from the cost ledger
        out = await finish(dialer, 180, log)
    finally:
        if dialer is not None and dialer.poll() is None:
            os.killpg(dialer.pid, signal.SIGKILL)
        server.kill()
        server.wait(10)
        try:
            found = stored(cfg)
        finally:
            drop_database(name)
    calls = assert_every_call_stored_once(found, 4)
    later = [c for c in calls if c.created_at > restarted]
    assert len(out["calls"]) == 4 and out["spend"]["overspent_calls"] == []
    assert len(later) == 2  # dialing resumed only once the counters could be read again
    assert all(c.cost_total > 0 for c in calls)


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- the spool on its own -----------------------------------------------------------------------
@pytest.mark.unit
def test_spool_lines_round_trip_every_argument_of_a_call_end():
    from datetime import UTC, timedelta
    from decimal import Decimal

    from reauto.costs.meter import LedgerLine
    from reauto.voice.conversation import TurnRecord
    from reauto.voice.latency import CallLatency, TurnLatency

    latency = CallLatency()
    latency.turns.append(TurnLatency(vad_stop=1.0, stt_final=1.2, turn_end=1.3, agent_text=1.4, tts_first=1.5,
                                     first_audio=1.6, stt_ms=200.0, brain_ms=10.0, tts_ms=80.0))
    kwargs = dict(status=CallStatus.COMPLETED, outcome="booked", turns=[TurnRecord("agent", "Hi", None, False, "greeter")],
                  latency=latency, slots={"budget_usd": {"low": 1, "high": 2}}, score=0.5, recording_path=None,
                  retry=RetryPolicy(max_attempts=4, cadence=(timedelta(0), timedelta(hours=1))), details={"x": 1},
                  abandoned=False, costs=[LedgerLine("stt", "pocketsphinx", Decimal("1.5"), "minute", Decimal("0.01"),
                                                     Decimal("0.015"))],
                  now=datetime(2026, 11, 29, 12, tzinfo=UTC), dropped=True)
    line = json.loads(json.dumps(encode("finish", 7, kwargs)))
    op, call_id, back = decode(line)
    assert (op, call_id) == ("finish", 7)
    assert back["status"] is CallStatus.COMPLETED and back["turns"] == kwargs["turns"]
    assert back["latency"].completed() == latency.completed()
    assert back["retry"] == kwargs["retry"] and back["costs"] == kwargs["costs"] and back["now"] == kwargs["now"]
    assert {k: back[k] for k in ("slots", "score", "details", "abandoned", "dropped")} == {
        k: kwargs[k] for k in ("slots", "score", "details", "abandoned", "dropped")}


@pytest.mark.unit
def test_a_torn_last_line_is_ignored_and_done_lines_are_not_replayed(tmp_path):
    spool = SpoolFile(tmp_path / "w-1.jsonl")
    spool.append({"op": "event", "call_id": 1, "args": {}})
    spool.append({"op": "event", "call_id": 2, "args": {}})
    with spool.path.open("a") as f:
        f.write('{"op": "fin')  # the process died mid-write
    assert [line["call_id"] for line in spool.lines()] == [1, 2]
    spool.mark_done(1)
    assert [line["call_id"] for line in spool.lines()] == [2]
    spool.remove()
    assert spool.lines() == [] and not spool.done_path.exists()


@pytest.mark.integration
async def test_a_dead_dialers_spool_is_replayed_once_and_a_refused_line_is_kept(pg_engine, tmp_path):
    from reauto.store.engine import session_factory
    from reauto.store.models import Campaign

    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        campaign = Campaign(name=f"spool-{uuid.uuid4().hex[:6]}")
        s.add(campaign)
        await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164="+15125550177", state="TX", status=LeadStatus.DIALING,
                    lease_owner="dead", has_written_consent=True)
        s.add(lead)
        await s.flush()
        call = Call(campaign_id=campaign.id, lead_id=lead.id, provider="sim", worker="dead",
                    status=CallStatus.IN_PROGRESS)
        s.add(call)
        await s.flush()
    dead = SpoolFile(tmp_path / "dead-worker-1.jsonl")  # what a dialer that died left behind
    dead.append(encode("event", call.id, {"type_": "amd", "payload": {"answered_by": "human"}}))
    dead.append(encode("finish", call.id, {"status": CallStatus.COMPLETED, "outcome": "callback",
                                           "now": datetime.now().astimezone()}))
    dead.append(encode("event", 10**9, {"type_": "orphan", "payload": {}}))  # refused: no such call
    dead.append(encode("finish", call.id, {"status": CallStatus.COMPLETED, "outcome": "callback"}))  # again
    recorder = SpoolingRecorder(sessions, tmp_path, "live-worker")
    assert await recorder.replay_orphans() == 4
    assert not dead.path.exists() and dead.failed_path.exists()
    assert json.loads(dead.failed_path.read_text())["args"]["type_"] == "orphan"
    async with sessions() as s:
        from sqlalchemy import select

        stored = await s.get(Call, call.id)
        kinds = [e.type for e in (await s.execute(select(CallEvent).where(CallEvent.call_id == call.id))).scalars()]
        moved = await s.get(Lead, lead.id)
    assert stored.outcome == "callback" and sorted(kinds) == ["amd", "analysis", "ended"]  # the repeated end skipped
    assert moved.attempts == 1 and moved.lease_owner is None
    assert await recorder.replay_orphans() == 0


@pytest.mark.integration
@pytest.mark.slow
async def test_sigterm_lets_live_calls_go_on_for_the_grace_then_ends_them_to_be_resumed(tmp_path, redis_settings):
    from reauto.campaign import load_campaign
    from reauto.config import DatabaseSettings, ResilienceSettings, Settings
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.serve.embed import start_server
    from reauto.dialer.recovery import RECOVERY_KEY
    from reauto.store import migrate

    name = f"reauto_sigterm_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)), redis=redis_settings,
                   resilience=ResilienceSettings(shutdown_grace_s=2.0, spool_dir=tmp_path / "spool"))
    try:
        migrate.upgrade(cfg)
        campaign = load_campaign(jane_clones(tmp_path, "sigterm", count=1, concurrency=1))
        serving = asyncio.create_task(DialRun(cfg, campaign, DialOptions(
            concurrency=1, clock_start=datetime.fromisoformat(AT), speed=1.5, forever=True), web=start_server).run())
        await wait_until(lambda: rows(cfg, Call, Call.status == CallStatus.IN_PROGRESS) or serving.done(), 120,
                         "the call to be answered")
        # the greeting, a first answer and the next question are said (turns are stored as they are said)
        await wait_until(lambda: len(rows(cfg, Turn)) >= 3 or serving.done(), 120, "three turns to be said")
        os.kill(os.getpid(), signal.SIGTERM)  # what `reauto serve --campaign` gets from systemd
        stopped = time.monotonic()
        summaries = (await asyncio.wait_for(serving, 60)).summaries
        took = time.monotonic() - stopped
        found = stored(cfg)
    finally:
        drop_database(name)
    calls, events, turns, leads = found
    [call], [lead] = calls, leads
    ended = next(e for e in events if e.type == "ended")
    assert ended.payload.get("ended_by") == "shutdown", ended.payload  # the grace ran out mid-conversation
    assert took < 30 and len(summaries) == 1
    assert call.outcome == "callback" and sum(t.call_id == call.id for t in turns) >= 3  # what was said is kept
    assert lead.custom[RECOVERY_KEY]["call_id"] == call.id and lead.status == LeadStatus.CALLBACK  # resumed later
