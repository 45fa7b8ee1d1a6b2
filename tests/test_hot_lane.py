"""The hot lane: call slots the backlog never takes, kept for leads that were just posted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from reauto.campaign import Campaign
from reauto.dialer.engine import Dialer, DialerConfig
from reauto.sim.lead import LeadScript
from reauto.store.engine import session_factory
from reauto.store.models import Campaign as CampaignRow
from reauto.store.models import Lead
from reauto.store.repositories import FRESH_PRIORITY
from reauto.telephony.base import CallHandle
from reauto.telephony.sim import SimTelephony

from .test_variants import Busy

pytestmark = pytest.mark.integration


class HeldPhones(SimTelephony):
    """Every call rings until the test lets it ring out (no answer): the slots stay busy on cue."""

    def __init__(self) -> None:
        super().__init__(default=LeadScript(name="B", answers={"_unanswered": "no-answer"}))
        self.ringing: dict[str, asyncio.Event] = {}
        self.placed: list[str] = []
        self.changed = asyncio.Condition()

    async def place_call(self, *, to: str, caller_id: str, call_ref: str, **options: Any) -> CallHandle:
        release = asyncio.Event()
        async with self.changed:
            self.ringing[to] = release
            self.placed.append(to)
            self.changed.notify_all()
        await release.wait()
        async with self.changed:
            del self.ringing[to]
            self.changed.notify_all()
        return CallHandle(sid=f"SIM{call_ref}", status="no-answer")

    async def stop(self, dialer: Dialer, run: asyncio.Task[Any]) -> None:
        """Stop the dialer, letting every call ring out until its run has ended."""
        dialer.stop()

        async def ring_out() -> None:
            while not run.done():
                for release in list(self.ringing.values()):
                    release.set()
                await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(run, ring_out()), 60)

    async def until(self, condition: Any, timeout: float = 120.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: condition(self)), timeout)


def backlog_number(i: int) -> str:
    return f"+1512555{1000 + i:04d}"


def fresh_number(i: int) -> str:
    return f"+1512555{9000 + i:04d}"


async def post(sessions: Any, campaign_id: int, number: str) -> None:
    """What the intake stores for a posted lead: at the head of the queue, never called."""
    async with sessions.begin() as s:
        s.add(Lead(campaign_id=campaign_id, phone_e164=number, state="TX", has_written_consent=True,
                   priority=FRESH_PRIORITY))


async def test_the_backlog_never_takes_the_lane_and_a_posted_lead_is_dialed_at_once(pg_engine):
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        row = CampaignRow(name="lane")
        s.add(row)
        await s.flush()
        s.add_all([Lead(campaign_id=row.id, phone_e164=backlog_number(i), state="TX", has_written_consent=True)
                   for i in range(10)])

    async def gate(_lead, _now):
        return Busy()

    phones = HeldPhones()
    dialer = Dialer(sessions, phones, stt=None, tts=None, brain_factory=None, gate=gate,  # type: ignore[arg-type]
                    config=DialerConfig(campaign_id=row.id, caller_id="+15125550100", concurrency=3, hot_lane=1,
                                        admission=False, poll_s=3600, recover_every_s=3600, campaign_name="lane",
                                        stop_when_idle=False))
    run = asyncio.create_task(dialer.run())
    try:
        await phones.until(lambda p: len(p.ringing) == 2)  # two of three slots: the third is the lane's
        await post(sessions, row.id, fresh_number(0))
        dialer.wake()  # what the intake's wake-up bus does
        await phones.until(lambda p: fresh_number(0) in p.ringing)  # no backlog call had to end first
        assert sorted(phones.ringing) == sorted([backlog_number(0), backlog_number(1), fresh_number(0)])
        # the lane is full: the next posted lead takes the next free slot ahead of the backlog
        await post(sessions, row.id, fresh_number(1))
        dialer.wake()
        phones.ringing[backlog_number(0)].set()
        await phones.until(lambda p: len(p.placed) == 4)
        assert phones.placed[-1] == fresh_number(1)
        # the lane's calls end: the backlog still keeps to its two slots
        for number in (fresh_number(0), fresh_number(1)):
            phones.ringing[number].set()
        await phones.until(lambda p: not any(n.startswith("+15125559") for n in p.ringing) and len(p.ringing) == 2)
        assert all(n.startswith("+15125551") for n in phones.ringing)
    finally:
        await phones.stop(dialer, run)


@pytest.mark.unit
def test_a_lane_as_wide_as_the_campaign_is_refused():
    from reauto.campaign import load_campaign

    base = load_campaign("campaigns/demo.yaml").model_dump(mode="json")
    with pytest.raises(ValueError, match="hot_lane: 4 of 4 call slots would leave the backlog none"):
        Campaign.model_validate({**base, "concurrency": 4, "hot_lane": 4})
    assert Campaign.model_validate({**base, "concurrency": 4, "hot_lane": 3}).hot_lane == 3


@pytest.mark.unit
def test_a_narrower_run_keeps_a_slot_for_the_backlog():
    config = DialerConfig(campaign_id=1, caller_id="+15125550100", concurrency=2, hot_lane=5)
    dialer = Dialer(None, SimTelephony(), stt=None, tts=None, brain_factory=None, gate=None,  # type: ignore[arg-type]
                    config=config)
    assert dialer.queue.lane == 1


async def test_a_posted_lead_is_dialed_while_its_opening_is_prepared_the_backlog_after(pg_engine):
    """A backlog call waits for its opening before the number is dialed (a busy machine must not
    make the lead wait after "hello?"); a lead who just asked to be called is dialed at once, and
    its opening is prepared while the phone rings."""
    from reauto.leads.build import META_KEY
    from reauto.store.types import utcnow

    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        row = CampaignRow(name="opening")
        s.add(row)
        await s.flush()
        s.add(Lead(campaign_id=row.id, phone_e164=backlog_number(0), state="TX", has_written_consent=True))
    prepared = asyncio.Event()
    preparing = 0

    async def warmer() -> None:  # what the opening's synthesis would be on a busy machine
        nonlocal preparing
        preparing += 1
        await prepared.wait()

    async def gate(_lead, _now):
        return Busy()

    phones = HeldPhones()
    dialer = Dialer(sessions, phones, stt=None, tts=None, brain_factory=None, gate=gate,  # type: ignore[arg-type]
                    warmers=[warmer],
                    config=DialerConfig(campaign_id=row.id, caller_id="+15125550100", concurrency=3,
                                        admission=False, poll_s=3600, recover_every_s=3600, campaign_name="opening",
                                        stop_when_idle=False))
    run = asyncio.create_task(dialer.run())
    try:
        async def backlog_preparing() -> None:
            while not preparing:
                await asyncio.sleep(0.02)
        await asyncio.wait_for(backlog_preparing(), 120)  # the backlog lead's call prepares its opening
        async with sessions.begin() as s:
            s.add(Lead(campaign_id=row.id, phone_e164=fresh_number(0), state="TX", has_written_consent=True,
                       priority=FRESH_PRIORITY, custom={META_KEY: {"intake_at": utcnow().isoformat()}}))
        dialer.wake()
        await phones.until(lambda p: fresh_number(0) in p.ringing)
        assert backlog_number(0) not in phones.ringing  # the backlog call still waits for its opening
        prepared.set()
        await phones.until(lambda p: backlog_number(0) in p.ringing)
    finally:
        prepared.set()
        await phones.stop(dialer, run)
