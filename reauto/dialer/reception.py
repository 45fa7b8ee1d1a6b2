"""Taking the calls leads place: the part of the :class:`~reauto.dialer.engine.Dialer` that answers them.

A lead's call to the campaign's number reaches the dialer serving the campaign
(:attr:`reauto.telephony.base.Telephony.answerer` is its :meth:`Reception.pick_up`). The call is
taken when a call slot, the store and the budget allow it: the caller is identified and claimed
(:mod:`reauto.dialer.inbound`), the call is opened and runs as one of the dial loop's calls.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reauto import metrics
from reauto.costs.budget import BudgetGuard, CountersUnavailable, Hold
from reauto.costs.holds import HoldRef
from reauto.costs.pricing import Catalogue
from reauto.costs.reservations import counter_errors
from reauto.dialer.inbound import Answering, identify, missed, number_or_none
from reauto.dialer.records import CallRecorder
from reauto.store.models import Lead
from reauto.telephony.base import IncomingCall, Pickup, Telephony

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from reauto.dialer.engine import DialerConfig

log = logging.getLogger(__name__)


class Reception(ABC):
    """Answers the calls leads place (the attributes and hooks of the dialer it reads, declared here)."""

    config: DialerConfig
    sessions: async_sessionmaker[AsyncSession]
    telephony: Telephony
    recorder: CallRecorder
    guard: BudgetGuard | None
    catalogue: Catalogue | None
    gate: Any
    store_down: bool
    counters_down: bool
    store_clock: Callable[[], datetime]
    _tasks: set[asyncio.Task[None]] | None
    _answering: set[asyncio.Task[None]]  # calls leads placed, until they end
    _stopping: asyncio.Event
    _wake: asyncio.Event

    @abstractmethod
    async def _release(self, lead: Lead, due: datetime | None = None) -> None:
        """Give a claimed lead back untouched."""

    @abstractmethod
    async def _call(self, lead: Lead, may_record: bool, hold: Hold | None = None,
                    incoming: Answering | None = None) -> None:
        """Run one call."""

    async def pick_up(self, call: IncomingCall) -> Pickup:
        """A lead calls the campaign's number: take the call here when a slot, the store and the
        budget allow (see :mod:`reauto.dialer.inbound`); else the caller hears the campaign's
        ``unavailable`` line and a known lead is due for a call back."""
        busy = Pickup(say=self.config.unavailable)
        phone = number_or_none(call, self.config.region)
        why = self._cannot_answer()
        if why is None and phone is not None:
            caller = await identify(self.sessions, campaign_id=self.config.campaign_id, phone=phone,
                                    worker=self.config.worker, lease=self.config.lease, now=self.store_clock())
            answering = getattr(self.gate, "answering", None)  # the recording rules; no calling rules
            decision = answering(caller.lead) if answering is not None else None
            hold = await self._answer_hold(caller.lead)
            if hold is False:
                why = "the budget cannot cover a call"
                if caller.claimed:
                    await self._release(caller.lead)
            else:
                call_id = await self.recorder.open_call(caller.lead, provider=self.telephony.name,
                                                        worker=self.config.worker, incoming=call.sid)
                metrics.INBOUND_CALLS.labels(campaign=self.config.campaign_name, taken="answered").inc()
                task = asyncio.create_task(self._call(
                    caller.lead, bool(decision and decision.may_record), hold or None,
                    incoming=Answering(call, call_id, caller.facts)), name=f"call-in-{call_id}")
                if self._tasks is not None:  # one of the loop's calls (else the run waits for it at its end)
                    self._tasks.add(task)
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
                self._wake.set()
                return Pickup(call_ref=str(call_id))
        log.info("incoming call %s not taken: %s", call.sid[-6:], why or "no caller ID")
        metrics.INBOUND_CALLS.labels(campaign=self.config.campaign_name, taken="unavailable").inc()
        if phone is not None:
            try:
                await missed(self.sessions, campaign_id=self.config.campaign_id, phone=phone, now=self.store_clock())
            except Exception as exc:  # noqa: BLE001 - the caller still hears the line
                log.warning("could not schedule a call back for a missed call: %s: %s", type(exc).__name__, exc)
        return busy

    def _cannot_answer(self) -> str | None:
        """Why an incoming call cannot be taken now (None: it can)."""
        if not self.config.answer_calls:
            return "the campaign does not answer calls (inbound.answer: false)"
        if self._tasks is None or self._stopping.is_set():
            return "the dialer is not running"
        if self.store_down or self.counters_down:
            return "the store or the budget counters are unreachable"
        if sum(not task.done() for task in self._tasks) >= self.config.concurrency:
            return f"every call slot is busy ({self.config.concurrency})"
        return None

    async def _answer_hold(self, lead: Lead) -> Hold | None | bool:
        """Hold an incoming call's expected cost (None: no budget kept; False: refused)."""
        if self.guard is None or self.catalogue is None:
            return None
        estimate = self.catalogue.call_estimate(self.telephony.name, self.config.call_estimate_min, amd=False)
        try:
            hold = await self.guard.hold(str(HoldRef(lead.id, self.config.worker, self.store_clock())), estimate)
        except (CountersUnavailable, *counter_errors()):
            return False
        return hold if hold is not None else False
