"""The scheduler's part of the scripted brain: the times it offers (from the calendar, or the campaign's
fixed ones) and the lead's answer to them, negotiated and booked through
:class:`~reauto.agent.booking.Negotiation`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from reauto.agent.booking import FixedOffers, Negotiation
from reauto.agent.extract import SlotValue
from reauto.agent.scripted.script import ScriptConfig
from reauto.voice.conversation import Reply


class SchedulerSteps(ABC):
    """Offers times and books the one a lead accepts (the attributes and hooks of the brain it reads,
    declared here)."""

    config: ScriptConfig
    values: dict[str, SlotValue]
    _offers: list[str]
    _negotiation: Negotiation | None

    @abstractmethod
    def _say(self, text: str, agent: str, *, end_call: bool = False, outcome: str | None = None) -> Reply:
        """Say ``text`` as ``agent`` (the brain's reply)."""

    @abstractmethod
    def _move(self, agent: str, reason: str) -> None:
        """Hand the conversation to ``agent``."""

    async def _load_offers(self) -> bool:
        """The slots to offer: the calendar's free ones now (with a scheduler), else the fixed ones."""
        self._negotiation = Negotiation(self._calendar())
        opened = await self._negotiation.open()
        self._offers = list(self._negotiation.offered)
        return opened

    def _calendar(self) -> Any:
        """The human agent's calendar, or the campaign's fixed offers."""
        return self.config.scheduler or FixedOffers(self.config.booking_slots, self.config.today)

    def _offer(self) -> str:
        if self._negotiation is None:
            return f"I can set up a call with one of our agents. Would {' or '.join(self._offers[:2])} work for you?"
        return self._negotiation.offer_line()

    async def _book(self, text: str) -> Reply:
        """The lead's answer to the offered times: book what they accepted, offer what fits (see
        :mod:`reauto.agent.booking`)."""
        if self._negotiation is None and self._offers:  # a restored conversation: the times it offered
            self._negotiation = Negotiation(self._calendar(), offered=list(self._offers), shown=list(self._offers))
        if self._negotiation is None and not await self._load_offers():
            return self._say("An agent will reach out to find a time. Goodbye.", "closer", end_call=True,
                             outcome="callback")
        assert self._negotiation is not None
        step = await self._negotiation.answer(text)
        self._offers = list(self._negotiation.offered)
        if step.outcome == "booked" and step.booked is not None:
            self.values["appointment"] = SlotValue(step.booked, 0.9)
        if step.outcome is not None:
            return self._say(step.say, "closer", end_call=True, outcome=step.outcome)
        return self._say(step.say, "scheduler")
