"""Posted leads wake dialers in other processes: Redis pub/sub and PostgreSQL LISTEN/NOTIFY."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from reauto.config import DatabaseSettings, RedisSettings, Settings
from reauto.intake.wake import LocalWake, PostgresWake, RedisWake, wake_bus_for
from reauto.store.engine import make_engine

from .test_intake import KEY, free_port, serving  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


async def heard_within(heard: list[int], count: int, timeout: float = 3.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(heard) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # and nothing more arrives
    return heard


def listening(bus, heard):
    bus.subscribe(heard.append)
    return bus


async def test_redis_bus_wakes_other_processes_and_delivers_own_publications_once(redis_settings):
    here, there = [], []
    a = listening(RedisWake(redis_settings.url, key_prefix=redis_settings.key_prefix), here)
    b = listening(RedisWake(redis_settings.url, key_prefix=redis_settings.key_prefix), there)
    await a.start()
    await b.start()
    try:
        await a.publish(7)
        await b.publish(9)
        assert sorted(await heard_within(here, 2)) == [7, 9]
        assert sorted(await heard_within(there, 2)) == [7, 9]
    finally:
        await a.close()
        await b.close()


async def test_postgres_bus_wakes_other_processes_and_reconnects_after_losing_its_connection(pg_url):
    engines = [make_engine(DatabaseSettings(url=pg_url)) for _ in range(2)]
    here: list[int] = []
    a = listening(PostgresWake(engines[0]), here)
    b = PostgresWake(engines[1])  # publishes only
    b.retry_s = a.retry_s = (0.05,)
    await a.start()
    try:
        await b.publish(3)
        assert await heard_within(here, 1) == [3]
        # the listening connection dies (a database restart, a proxy timeout): it comes back
        async with engines[1].begin() as conn:
            killed = await conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN reauto_leads_posted%' AND pid <> pg_backend_pid()"))
        assert killed >= 1
        for _ in range(100):
            await asyncio.sleep(0.05)
            if a.listening.is_set():
                break
        await asyncio.sleep(0.2)
        await b.publish(4)
        assert await heard_within(here, 2) == [3, 4]
    finally:
        await a.close()
        await b.close()
        for engine in engines:
            await engine.dispose()


async def test_an_unreachable_bus_never_fails_the_intake_and_still_wakes_this_process():
    heard = []
    bus = listening(RedisWake("redis://127.0.0.1:1/0", timeout_s=0.3), [])
    bus.subscribe(heard.append)
    for _ in range(3):
        await bus.publish(5)  # no exception: the lead is stored, other dialers poll
    assert heard == [5, 5, 5]
    assert bus.breaker.state == "open"
    await bus.publish(5)  # an open breaker skips the network at once
    assert heard == [5, 5, 5, 5]
    await bus.close()


async def test_a_failing_listener_does_not_silence_the_others():
    heard = []
    bus = LocalWake()
    bus.subscribe(lambda _c: 1 / 0)
    bus.subscribe(heard.append)
    await bus.publish(2)
    assert heard == [2]


async def test_the_bus_follows_the_settings(pg_url, tmp_path):
    pg = make_engine(DatabaseSettings(url=pg_url))
    lite = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        redis = Settings(redis=RedisSettings(url="redis://127.0.0.1:6379/0"))
        assert isinstance(wake_bus_for(redis, lite), RedisWake)
        assert isinstance(wake_bus_for(Settings(), pg), PostgresWake)
        assert isinstance(wake_bus_for(Settings(), lite), LocalWake)
    finally:
        await pg.dispose()
        await lite.dispose()


@pytest.mark.slow
async def test_a_lead_posted_to_another_process_is_dialed_without_waiting_for_a_poll(serving):  # noqa: F811
    """`reauto serve` (intake only) in its own process; this process's dialer polls every 60 s."""
    from .test_intake import WAKE_S, seconds_to_first_call, serve_and_post_to, stop

    cfg, campaign = serving
    port = free_port()
    env = {**os.environ, "REAUTO_DATABASE_URL": cfg.database.url, "REAUTO_INTAKE_API_KEYS": f'["{KEY}"]',
           "REAUTO_INTAKE_CONSENT_WRITTEN": "true", "REAUTO_INTAKE_CONSENT_AI_VOICE": "true"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "reauto"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"reauto serve did not start: {server.stderr.read().decode()[-2000:]}")
        task, posted = await serve_and_post_to(cfg, campaign, "2026-11-24T14:00:00-06:00", port)
        dialed = await seconds_to_first_call(cfg, posted, within_s=WAKE_S)
        await stop(task)
        assert dialed is not None and dialed < WAKE_S  # woken, not polled: the dialer's poll interval is 60 s
    finally:
        server.terminate()
        server.wait(10)


async def test_a_lead_falling_due_between_polls_is_dialed_when_due_not_at_the_next_poll(pg_engine):
    """A serving dialer polls every hour here: the lead due in a second (a callback booked for a
    minute, or one stamped by a server whose clock runs ahead) is still dialed once it is due."""
    from datetime import timedelta

    from sqlalchemy import select

    from reauto.dialer.engine import Dialer, DialerConfig
    from reauto.sim.lead import LeadScript
    from reauto.store.engine import session_factory
    from reauto.store.models import Call, Campaign as CampaignRow, Lead
    from reauto.store.types import utcnow
    from reauto.telephony.sim import SimTelephony

    from .test_variants import Busy

    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        row = CampaignRow(name="due-soon")
        s.add(row)
        await s.flush()
        s.add(Lead(campaign_id=row.id, phone_e164="+15125550177", state="TX", has_written_consent=True,
                   next_attempt_at=utcnow() + timedelta(seconds=1)))

    async def gate(_lead, _now):
        return Busy()

    dialer = Dialer(sessions, SimTelephony(default=LeadScript(name="B", answers={"_unanswered": "busy"})),
                    stt=None, tts=None, brain_factory=None, gate=gate,  # type: ignore[arg-type]
                    config=DialerConfig(campaign_id=row.id, caller_id="+15125550100", poll_s=3600,
                                        recover_every_s=3600, campaign_name=row.name, stop_when_idle=False))
    run = asyncio.create_task(dialer.run())
    try:
        calls: list = []
        for _ in range(1200):  # the call is placed when the lead is due; an hour's poll would never place it here
            async with sessions() as s:
                calls = (await s.execute(select(Call).where(Call.campaign_id == row.id))).scalars().all()
            if calls or run.done():
                break
            await asyncio.sleep(0.05)
        assert len(calls) == 1, "the lead was not dialed when it fell due"
    finally:
        dialer.stop()
        await asyncio.wait_for(run, 60)
