"""``kill -9`` of a dialer at five moments of a call, then a restart: nothing is lost, leaked or done twice.

Each test runs ``reauto dial`` in its own process (and process group, with its speech-recognition
workers) against the real PostgreSQL and Redis, brings it to one moment of a call by watching the
store, Redis and, where the moment is a wait on the store, PostgreSQL's own lock table — never by
sleeping — and kills it: the call queued (its budget hold taken, its call row not yet written),
ringing, mid-conversation, while its end is being stored, and while the real-time export sends
it. The leases of the dead dialer are then made to have run out (the two minutes a real restart
would wait), and a second ``reauto dial`` runs the campaign to its end. After it:

* no turn is lost: every turn the conversation's session in Redis had is in PostgreSQL;
* no hold leaks: ``reauto budget status --json`` says held 0, and the budget (sized so that a
  leaked hold would refuse the restarted dialer's call) let every call through;
* no lead is dialed twice: each lead has its interrupted call (if one was placed) and one call after;
* an interrupted call is exported as ``interrupted`` with its transcript, never as "no answer".

Each campaign starts with a history of clean person-answered calls, so that a greeting a loaded
machine makes late (an abandoned call, by the legal definition) does not stop the restarted
campaign at the abandoned-call gate: the gate is tested on its own (``tests/test_gates.py``).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from reauto.config import DatabaseSettings, RedisSettings, Settings
from reauto.costs.holds import HoldRef
from reauto.store import migrate
from reauto.store.models import (
    Budget,
    BudgetPeriod,
    Call,
    CallEvent,
    CallStatus,
    Campaign as CampaignRow,
    CostEntry,
    Lead,
    LeadStatus,
    Outcome,
    Turn,
)
from reauto.store.types import utcnow

from .conftest import create_database, drop_database

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]  # two dial runs each

ROOT = Path(__file__).resolve().parents[1]
AT = "2026-11-24T14:00:00-06:00"
REAUTO = str(Path(sys.executable).parent / "reauto")
#: Says no at the first question: a short call.
QUICK = {"name": "Nora Quick", "phone": "+15125550155", "state": "TX",
         "answers": {"intent": "no thanks we are not interested"}}
#: Answers the first question, then says no: a conversation with a middle to be cut off in.
TALKER = {"name": "Mia Talk", "phone": "+15125550166", "state": "TX",
          "answers": {"intent": "we want to buy a house", "timeline_months": "no thanks we are not interested"}}


@dataclass
class Campaign:
    """One test's campaign, database, Redis keys and dialer processes."""

    tmp: Path
    redis_settings: RedisSettings
    personas: list[dict[str, Any]]
    budget_usd: str
    export_targets: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db = f"reauto_crash_{uuid.uuid4().hex[:8]}"
        self.cfg = Settings(database=DatabaseSettings(url=create_database(self.db)), redis=self.redis_settings)
        migrate.upgrade(self.cfg)
        self.engine: Engine = create_engine(self.cfg.database.url)
        name = f"crash-{self.db[-8:]}"
        with Session(self.engine) as s, s.begin():  # small enough that a leaked hold refuses the next call
            s.add(Budget(scope="global", period=BudgetPeriod.DAILY, amount=Decimal(self.budget_usd)))
            self._clean_history(s, name)
        data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
        data.update(name=name, concurrency=len(self.personas), sim_personas=self.personas,
                    export_targets=self.export_targets)
        self.path = self.tmp / "campaign.yaml"
        self.path.write_text(yaml.safe_dump(data, sort_keys=False))
        self.env = {**os.environ, "REAUTO_DATABASE_URL": self.cfg.database.url,
                    "REAUTO_REDIS_URL": self.redis_settings.url, "REAUTO_REDIS_KEY_PREFIX": self.redis_settings.key_prefix,
                    "REAUTO_RESILIENCE_SPOOL_DIR": str(self.tmp / "spool"),
                    "REAUTO_EXPORT_OUT_DIR": str(self.tmp / "exports"), **self.extra_env}
        self.redis = redis.Redis.from_url(self.redis_settings.url)
        self.process: subprocess.Popen[bytes] | None = None
        self.sessions_at_kill: dict[int, list[dict[str, Any]]] = {}

    @staticmethod
    def _clean_history(s: Session, name: str, calls: int = 200) -> None:
        """Yesterday's person-answered calls, none abandoned (still open: nothing to export)."""
        row = CampaignRow(name=name)
        s.add(row)
        s.flush()
        lead = Lead(campaign_id=row.id, phone_e164="+15125550999", state="TX", status=LeadStatus.EXHAUSTED)
        s.add(lead)
        s.flush()
        yesterday = utcnow() - timedelta(days=1)
        s.add_all(Call(campaign_id=row.id, lead_id=lead.id, provider="sim", status=CallStatus.COMPLETED,
                       abandoned=False, created_at=yesterday, answered_at=yesterday) for _ in range(calls))

    def close(self) -> None:
        self.kill()
        self.engine.dispose()
        self.redis.close()
        drop_database(self.db)

    # --- the dialer -------------------------------------------------------------
    def start(self, speed: str = "1.5") -> None:
        self.log = self.tmp / f"dialer-{int(time.monotonic() * 1000)}.log"
        self.process = subprocess.Popen([REAUTO, "dial", str(self.path), "--at", AT, "--speed", speed, "--json"],
                                        env=self.env, cwd=self.tmp, stdout=subprocess.DEVNULL,
                                        stderr=self.log.open("wb"), start_new_session=True)

    def kill(self) -> None:
        """SIGKILL to the dialer and its recognition workers, like a lost host."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop_now(self) -> None:
        """SIGSTOP: the dialer freezes where it is (then :meth:`kill`)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def alive(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            log = self.log.read_text()[-3000:] if self.process is not None else ""
            raise AssertionError(f"the dialer ended before the crash point:\n{log}")
        return True

    def reauto(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([REAUTO, *args], env=self.env, cwd=self.tmp, capture_output=True, timeout=timeout)

    async def restart(self) -> dict[str, Any]:
        """The dead dialer's leases have run out (moved back three minutes); a new dialer runs the campaign."""
        with Session(self.engine) as s, s.begin():
            for lead in s.execute(select(Lead).where(Lead.lease_expires_at.is_not(None))).scalars():
                lead.lease_expires_at -= timedelta(minutes=3)
        # in a thread: this test's event loop goes on serving (the webhook of the real-time export)
        done = await asyncio.to_thread(self.reauto, "dial", str(self.path), "--at", AT, "--speed", "2", "--json")
        assert done.returncode == 0, done.stderr.decode()[-4000:]
        return json.loads(done.stdout)

    # --- what the store, Redis and PostgreSQL show -------------------------------
    def rows(self, model: Any, *where: Any) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(model).where(*where).order_by(model.id)).scalars())

    def persona_leads(self) -> list[int]:
        return [lead.id for lead in self.rows(Lead, Lead.phone_e164.in_([p["phone"] for p in self.personas]))]

    def holds(self) -> dict[str, int]:
        """Every hold in the budget counters: name → micro-dollars (summed over its windows)."""
        out: dict[str, int] = {}
        for key in self.redis.scan_iter(match=f"{self.redis_settings.key_prefix}budget:*"):
            for name, amount in self.redis.hgetall(key).items():
                if name.startswith(b"hold:"):
                    out[name[5:].decode()] = out.get(name[5:].decode(), 0) + int(amount)
        return out

    def session_turns(self, call_id: int) -> list[dict[str, Any]]:
        raw = self.redis.get(f"{self.redis_settings.key_prefix}session:{call_id}")
        return json.loads(raw).get("turns") or [] if raw else []

    def blocked_on(self, query_start: str) -> bool:
        """A dialer's statement starting with ``query_start`` waits on a lock."""
        with self.engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock' "
                "AND query ILIKE :q"), {"db": self.db, "q": query_start + "%"}).scalar())

    def blocked_by(self, conn: Connection) -> bool:
        """Some backend waits on a lock ``conn`` holds."""
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with self.engine.connect() as other:
            return bool(other.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"), {"pid": pid}).scalar())

    def remember_sessions(self) -> None:
        """What the conversations' sessions hold at the kill (the sweep may delete them later)."""
        self.sessions_at_kill = {c.id: self.session_turns(c.id)
                                 for c in self.rows(Call, Call.lead_id.in_(self.persona_leads()))}

    # --- the checks after the restart ---------------------------------------------
    def check_nothing_lost_leaked_or_doubled(self, out: dict[str, Any], *, dead_holds: int) -> list[Call]:
        """The checks of the module's notes; returns the calls to the personas, in order."""
        leads = self.rows(Lead, Lead.id.in_(self.persona_leads()))
        calls = self.rows(Call, Call.lead_id.in_(self.persona_leads()))
        # 0 leads dialed twice: each lead's interrupted call (if any), then exactly one more
        for lead in leads:
            mine = [c for c in calls if c.lead_id == lead.id]
            cut = [c for c in mine if c.status == CallStatus.INTERRUPTED]
            assert len(cut) <= 1 and len(mine) - len(cut) == 1, [(c.id, c.status) for c in mine]
            assert all(c.ended_at is not None for c in mine) and lead.lease_owner is None
        # 0 lost turns: whatever a session had at the kill is in the store, in its place
        for call_id, turns in self.sessions_at_kill.items():
            stored = {t.seq: t for t in self.rows(Turn, Turn.call_id == call_id)}
            for turn in turns:
                row = stored.get(turn["seq"])
                assert row is not None and row.speaker == turn["speaker"], (call_id, turn)
                assert row.text == turn["text"] or row.interrupted or turn["interrupted"], (row.text, turn)
        # 0 leaked holds: the counters hold nothing, and the restarted dialer settled the dead ones
        assert out["recovered"]["holds"] == dead_holds and self.holds() == {}
        status = self.reauto("budget", "status", "--json")
        assert status.returncode == 0, status.stderr.decode()
        assert [Decimal(b["held_usd"]) for b in json.loads(status.stdout)] == [Decimal(0)]
        # the counters' spent is the ledger's: a settled dead hold counted what its call cost
        ledger = sum((e.amount for e in self.rows(CostEntry)), Decimal(0))
        # (summed over the daily windows: a run that crosses midnight UTC settles into two)
        windows = list(self.redis.scan_iter(match=f"{self.redis_settings.key_prefix}budget:*"))
        assert windows
        spent = sum(int(self.redis.hget(w, "spent") or 0) for w in windows)
        assert Decimal(spent) / 1_000_000 == ledger
        # the restart placed every call it was due (no budget refusal) and ended because none was due
        assert out["stopped"] is None and not [d for d in out["denied"] if "budget" in d["reason"]]
        # 0 interrupted calls exported as "no answer"
        exported = self.reauto("export", "--to", "csv", "--json")
        assert exported.returncode == 0, exported.stderr.decode()
        with open(json.loads(exported.stdout)["file"], newline="", encoding="utf-8") as fh:
            records = {r["key"]: r for r in csv.DictReader(fh)}
        for call in calls:
            record = records[f"call:{call.id}"]
            if call.status == CallStatus.INTERRUPTED:
                assert record["disposition"] == "interrupted" and record["status"] == "interrupted", record
                assert "cut off" in record["summary"]
        return calls


@pytest.fixture
def campaign_factory(tmp_path: Path, redis_settings: RedisSettings) -> Iterator[Callable[..., Campaign]]:
    made: list[Campaign] = []

    def make(personas: list[dict[str, Any]], budget_usd: str, **kwargs: Any) -> Campaign:
        made.append(Campaign(tmp_path, redis_settings, personas, budget_usd, **kwargs))
        return made[-1]

    yield make
    for campaign in made:
        campaign.close()


async def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = 150.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def dialed(campaign: Campaign, *where: Any) -> list[Call]:
    """The calls to the campaign's personas (not its history)."""
    return campaign.rows(Call, Call.lead_id.in_(campaign.persona_leads()), *where)


def one_call(campaign: Campaign) -> Call:
    [call] = dialed(campaign)
    return call


async def test_killed_while_queued_its_hold_is_settled_at_zero_and_the_lead_dialed_once(campaign_factory):
    # a dead hold (0.0615) and the restarted dialer's own (0.0615) do not both fit in $0.10
    campaign = campaign_factory([QUICK], "0.10")
    with campaign.engine.connect() as lock:
        lock.execute(text("LOCK TABLE calls IN EXCLUSIVE MODE"))  # the call row waits: the hold is taken
        campaign.start()
        await wait_for(lambda: campaign.alive() and campaign.holds() and campaign.blocked_on("INSERT INTO calls"),
                       "the dialer to hold the call's money and wait to write its call row")
        [ref] = campaign.holds()
        campaign.kill()
        lock.rollback()
    [lead] = campaign.rows(Lead, Lead.id.in_(campaign.persona_leads()))
    owner = HoldRef.parse(ref)
    assert owner is not None and owner.lead_id == lead.id and owner.worker == lead.lease_owner
    assert dialed(campaign) == []
    leaked = json.loads(campaign.reauto("budget", "status", "--json").stdout)
    assert Decimal(leaked[0]["held_usd"]) == Decimal("0.0615")  # what a dead dialer leaves until a sweep
    out = await campaign.restart()
    [call] = campaign.check_nothing_lost_leaked_or_doubled(out, dead_holds=1)
    assert call.status == CallStatus.COMPLETED and call.outcome == Outcome.NOT_INTERESTED
    assert campaign.rows(Lead, Lead.id == lead.id)[0].attempts == 1  # no call was placed before the kill: no attempt counted


async def test_killed_while_ringing_the_call_is_interrupted_unanswered_and_costs_nothing(campaign_factory):
    campaign = campaign_factory([QUICK], "0.10")
    campaign.start(speed="0.5")  # the phone rings for 6 s
    await wait_for(lambda: campaign.alive() and dialed(campaign) and campaign.holds(), "a ringing call")
    campaign.stop_now()
    campaign.remember_sessions()
    ringing = one_call(campaign)
    campaign.kill()
    assert ringing.answered_at is None and ringing.status == CallStatus.QUEUED, "the call was answered already"
    out = await campaign.restart()
    calls = campaign.check_nothing_lost_leaked_or_doubled(out, dead_holds=1)
    cut = calls[0]
    assert (cut.id, cut.status, cut.answered_at, cut.abandoned, cut.cost_total) == (
        ringing.id, CallStatus.INTERRUPTED, None, None, Decimal(0))
    assert calls[1].outcome == Outcome.NOT_INTERESTED


async def test_killed_mid_call_keeps_every_turn_and_the_call_back_resumes_it(campaign_factory):
    # after the kill: 1 billed minute (0.0255) + a dead hold + the call-back's hold do not fit in $0.13
    campaign = campaign_factory([TALKER], "0.13")
    campaign.start()

    def past_the_first_answer() -> bool:
        calls = campaign.alive() and dialed(campaign)
        return bool(calls) and calls[0].ended_at is None and len(campaign.session_turns(calls[0].id)) >= 5

    await wait_for(past_the_first_answer, "the conversation to be past the lead's first answer")
    campaign.stop_now()
    campaign.remember_sessions()
    campaign.kill()
    spoken = campaign.sessions_at_kill[one_call(campaign).id]
    assert len(spoken) >= 5 and any("buy" in t["text"] for t in spoken if t["speaker"] == "lead")
    out = await campaign.restart()
    cut, again = campaign.check_nothing_lost_leaked_or_doubled(out, dead_holds=1)
    assert cut.status == CallStatus.INTERRUPTED and cut.answered_at is not None and cut.abandoned is not None
    assert cut.ended_at >= max(t.started_at or t.ended_at for t in campaign.rows(Turn, Turn.call_id == cut.id))
    assert cut.cost_total > 0 and {e.component for e in campaign.rows(CostEntry, CostEntry.call_id == cut.id)} == {
        "telephony", "media_stream", "amd"}  # the answered minutes, billed by the sweep
    first = campaign.rows(Turn, Turn.call_id == again.id, Turn.speaker == "agent")[0]
    assert "got cut off" in first.text and again.outcome == Outcome.NOT_INTERESTED
    [event] = campaign.rows(CallEvent, CallEvent.call_id == cut.id, CallEvent.type == "interrupted")
    assert event.payload["turns"] >= len(spoken)


async def test_killed_while_storing_the_calls_end_keeps_its_turns_and_bills_its_minutes(campaign_factory):
    campaign = campaign_factory([QUICK], "0.13")
    campaign.start()
    answered = await wait_for(lambda: campaign.alive() and dialed(campaign, Call.answered_at.is_not(None)),
                              "the call to be answered")
    with campaign.engine.connect() as lock:
        # the call's end takes its row FOR UPDATE: it waits here (turns still go in beside the lock)
        lock.execute(text("SELECT id FROM calls WHERE id = :id FOR NO KEY UPDATE"), {"id": answered[0].id})
        await wait_for(lambda: campaign.alive() and campaign.blocked_by(lock), "the call's end to be stored")
        campaign.remember_sessions()
        campaign.kill()
        lock.rollback()
    stored = campaign.rows(Turn, Turn.call_id == answered[0].id)
    assert any("not interested" in t.text for t in stored)  # the whole conversation was written as it went
    out = await campaign.restart()
    cut, again = campaign.check_nothing_lost_leaked_or_doubled(out, dead_holds=1)
    assert cut.status == CallStatus.INTERRUPTED and cut.cost_total > 0
    assert len(campaign.rows(Turn, Turn.call_id == cut.id)) == len(stored)


async def test_killed_during_the_real_time_export_sends_every_call_once_as_it_ended(campaign_factory):
    received: list[dict[str, Any]] = []
    hang = asyncio.Event()
    answering = asyncio.Event()

    async def webhook(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                size = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                received.append(json.loads(await reader.readexactly(size)))
                if not answering.is_set():
                    hang.set()
                    await answering.wait()  # the first delivery never gets its answer
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(webhook, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        campaign = campaign_factory(
            [QUICK, TALKER], "0.13", export_targets=["webhook"],
            extra_env={"REAUTO_EXPORT__WEBHOOK__URL": f"http://127.0.0.1:{port}/calls",
                       "REAUTO_EXPORT__WEBHOOK__SECRET": "s3cret", "REAUTO_EXPORT_TIMEOUT_S": "60"})
        campaign.start()
        await wait_for(lambda: campaign.alive() and hang.is_set(), "the first call's real-time export")
        campaign.stop_now()
        campaign.remember_sessions()
        campaign.kill()
        dead = len(campaign.holds())  # the second lead's call, cut off wherever it was
        answering.set()
        out = await campaign.restart()
        calls = campaign.check_nothing_lost_leaked_or_doubled(out, dead_holds=dead)
    finally:
        answering.set()
        server.close()
        await server.wait_closed()
    # every call reached the webhook as it ended (the first one again: the kill lost its answer)
    delivered = {r["key"]: r for r in received}
    assert set(delivered) == {f"call:{c.id}" for c in calls}
    for call in calls:
        record = delivered[f"call:{call.id}"]
        expected = "interrupted" if call.status == CallStatus.INTERRUPTED else str(call.outcome)
        assert record["disposition"] == expected and record["transcript"], record
    with Session(campaign.engine) as s:
        keys = list(s.execute(text("SELECT item_key FROM export_items WHERE target = 'webhook'")).scalars())
    assert sorted(keys) == sorted(delivered)  # each call once in the export ledger
