"""Conversation sessions: checkpointed after every turn, shared through Redis, expired, deleted at call end."""

import asyncio

import pytest

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.config import RedisSettings
from reauto.sessions import MemorySessions, RedisSessions, sessions_for

CONFIG = ScriptConfig(agent_name="Ava", business="Lone Star Realty", booking_slots=["Tuesday at 10 AM", "Friday at 4 PM"],
                      book_threshold=0.0, questions=[Question("intent", "Buying or selling?"),
                                                     Question("budget_usd", "What budget?")])


async def halfway() -> ScriptedBrain:
    brain = ScriptedBrain(CONFIG)
    brain.opening()
    await brain.respond("yes it's me", None)
    await brain.respond("we want to buy a house", None)
    return brain


@pytest.mark.unit
async def test_a_restored_brain_goes_on_where_the_conversation_was():
    brain = await halfway()
    resumed = ScriptedBrain(CONFIG)
    resumed.restore(brain.snapshot())
    assert resumed.snapshot() == brain.snapshot()
    a = await brain.respond("around four hundred thousand dollars", None)
    b = await resumed.respond("around four hundred thousand dollars", None)
    assert a.text == b.text and "Tuesday at 10 AM" in b.text
    assert resumed.slots == brain.slots and resumed.slots["budget_usd"] == {"low": 400000, "high": 400000}


@pytest.mark.integration
async def test_redis_sessions_are_shared_expire_and_are_deleted(redis_settings):
    state = {"call_id": 7, "brain": (await halfway()).snapshot()}
    worker_a = RedisSessions(redis_settings.url, key_prefix=redis_settings.key_prefix, ttl_s=0.5)
    worker_b = sessions_for(redis_settings)  # another worker (its own connection, default TTL)
    try:
        await worker_a.save(7, state)
        assert await worker_b.load(7) == state and await worker_b.live() == [7]
        await worker_b.delete(7)  # the call ended
        assert await worker_a.load(7) is None
        await worker_a.save(8, state)
        await asyncio.sleep(0.7)
        assert await worker_b.load(8) is None  # expired
    finally:
        await worker_a.close()
        await worker_b.close()


@pytest.mark.integration
async def test_redis_away_keeps_sessions_in_this_process_until_it_answers(redis_settings):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on: Redis is away
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = {"call_id": 9, "brain": (await halfway()).snapshot()}
    away = RedisSessions(f"redis://127.0.0.1:{port}/0", key_prefix=redis_settings.key_prefix, timeout_s=0.3)
    try:
        await away.save(9, state)  # no error: the checkpoint is kept here
        assert away.degraded and await away.load(9) == state and await away.live() == [9]
        await away.delete(9)
        assert await away.load(9) is None and await away.live() == []
    finally:
        await away.close()
    back = RedisSessions(redis_settings.url, key_prefix=redis_settings.key_prefix)
    try:
        back.degraded = True
        await back.local.save(10, {"older": True})  # saved while Redis was away
        assert await back.load(10) == {"older": True}
        await back.save(10, state)  # Redis answers again: the newest copy goes there
        assert not back.degraded and await back.local.load(10) is None and await back.load(10) == state
        await back.delete(10)
    finally:
        await back.close()


@pytest.mark.unit
async def test_in_process_sessions_expire_too():
    store = sessions_for(RedisSettings(url=None), ttl_s=0.05)
    assert isinstance(store, MemorySessions)
    await store.save(1, {"x": 1})
    assert await store.load(1) == {"x": 1} and await store.live() == [1]
    await asyncio.sleep(0.08)
    assert await store.load(1) is None and await store.live() == []
    await store.save(2, {"x": 2})
    await store.delete(2)
    assert await store.live() == []


@pytest.mark.integration
@pytest.mark.slow
async def test_a_dialed_call_is_checkpointed_every_turn_and_its_session_removed_at_the_end(
        redis_settings, tmp_path, monkeypatch):
    import uuid
    from datetime import datetime
    from pathlib import Path

    import yaml

    from reauto.campaign import load_campaign
    from reauto.config import DatabaseSettings, Settings
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.store import migrate

    from .conftest import create_database, drop_database

    saved: list[tuple[int, dict]] = []
    original = RedisSessions.save

    async def spy(self, call_id, state):
        saved.append((call_id, state))
        await original(self, call_id, state)

    monkeypatch.setattr(RedisSessions, "save", spy)
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "campaigns" / "demo.yaml").read_text())
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Jane Doe"]
    path = tmp_path / "checkpointed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    name = f"reauto_ss_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)), redis=redis_settings)
    try:
        migrate.upgrade(cfg)
        [summary] = (await DialRun(cfg, load_campaign(path), DialOptions(
            max_calls=1, concurrency=1, speed=1.5,
            clock_start=datetime.fromisoformat("2026-11-24T14:00:00-06:00"))).run()).summaries
    finally:
        drop_database(name)
    assert summary.outcome == "booked"
    agents = [state["brain"]["agent"] for call_id, state in saved if call_id == summary.call_id]
    assert len(agents) >= 4 and agents[-1] == "closer" and "qualifier" in agents  # one per agent turn
    assert saved[-1][1]["brain"]["slots"]["appointment"] == summary.slots["appointment"]
    store = sessions_for(redis_settings)
    try:
        assert await store.live() == []  # deleted when the call ended
    finally:
        await store.close()
