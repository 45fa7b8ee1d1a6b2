"""Load shedding: a dialer whose event loop runs late takes no new calls until it keeps time again."""

import asyncio
from dataclasses import dataclass

import pytest

from reauto.dialer.engine import Dialer, DialerConfig
from reauto.dialer.shedding import LoadShedder
from reauto.store.engine import session_factory
from reauto.store.models import Campaign, Lead, LeadStatus
from reauto.telephony.sim import SimTelephony


@pytest.mark.unit
def test_shedding_starts_on_a_late_loop_and_stops_below_half_the_limit():
    shedder = LoadShedder(0.25, window=10)
    for lag in (0.01, 0.3, 0.02):
        shedder.observe(lag)
    assert not shedder.shedding  # one late tick is not saturation
    for _ in range(3):
        shedder.observe(0.4)
    assert shedder.shedding and shedder.episodes == 1
    for _ in range(5):
        shedder.observe(0.2)  # better, but not below half the limit: keeps shedding (no flapping)
    assert shedder.shedding
    for _ in range(10):
        shedder.observe(0.05)
    assert not shedder.shedding


@pytest.mark.unit
async def test_the_watcher_measures_a_blocked_loop():
    import time

    shedder = LoadShedder(0.05, window=4)
    watcher = asyncio.create_task(shedder.watch(interval_s=0.02))
    for _ in range(4):
        await asyncio.sleep(0.03)
        time.sleep(0.12)  # a loop too busy to keep time (CPU-bound work on it)
    await asyncio.sleep(0.05)
    watcher.cancel()
    assert shedder.episodes >= 1


@dataclass
class Refused:
    allowed: bool = False
    reason: str = "refused for the test"
    next_allowed_at: None = None
    may_record: bool = False


@pytest.mark.integration
async def test_a_shedding_dialer_leaves_due_leads_waiting_then_takes_them(sqlite_engine):
    sessions = session_factory(sqlite_engine)
    async with sessions.begin() as s:
        campaign = Campaign(name="busy")
        s.add(campaign)
        await s.flush()
        s.add(Lead(campaign_id=campaign.id, phone_e164="+15125550123", state="TX", has_written_consent=True))
    asked: list[int] = []

    async def gate(lead, _now):
        asked.append(lead.id)
        return Refused()

    dialer = Dialer(sessions, SimTelephony(), stt=None, tts=None, brain_factory=None, gate=gate,  # type: ignore[arg-type]
                    config=DialerConfig(campaign_id=campaign.id, caller_id="+15125550100", poll_s=0.05,
                                        recover_every_s=3600))

    class Saturated:
        shedding = True

        async def watch(self):
            await asyncio.Event().wait()

    dialer.shedder = Saturated()  # type: ignore[assignment]
    running = asyncio.create_task(dialer.run())
    await asyncio.sleep(0.3)
    assert not running.done() and asked == []  # due, waiting: not claimed, and the dialer did not give up
    async with sessions() as s:
        assert (await s.get(Lead, 1)).status == LeadStatus.NEW
    dialer.shedder.shedding = False
    await asyncio.wait_for(running, 5)
    assert asked == [1]
