"""Handing a call over to a person (:mod:`reauto.agent.handover`): the offer to connect a hot lead,
the transfer itself, and a time to meet instead when no one takes the call."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from reauto.agent.extract import Extraction
from reauto.agent.handover import HOLD_LINE, TransferPlan, connecting_line, unavailable_line
from reauto.agent.scripted.scheduler import SchedulerSteps
from reauto.agent.wording import whisper
from reauto.voice.conversation import Reply


class TransferSteps(SchedulerSteps):
    """Starts, holds and ends a transfer to a person, or offers a time instead (the attributes of the
    brain it reads, declared here)."""

    agent: str
    transitions: list[tuple[str, str, str]]
    transfer_reason: str | None

    @property
    @abstractmethod
    def slots(self) -> dict[str, Any]:
        """What the lead said, by slot."""

    async def _handover(self, found: Extraction) -> Reply | None:
        """A transfer started, held or declined by this turn (None: the turn is not about one)."""
        plan = self.config.transfer
        if self.agent == "transferring":
            return self._say(HOLD_LINE, "transferring")  # the person's phone is ringing
        if plan is not None and plan.on_asked and found.has("human_request") and self.transfer_reason is None:
            return self._start_transfer("asked")
        if self.agent == "transfer_offer" and plan is not None:
            if found.has("affirm") or found.has("human_request"):
                return self._start_transfer("hot")
            return await self._meet_instead("No problem. ")
        return None

    def _start_transfer(self, reason: str) -> Reply:
        assert self.config.transfer is not None
        self.transfer_reason = reason
        reply = self._say(connecting_line(self.config.transfer), "transferring")
        return Reply(reply.text, agent=reply.agent, transfer=True)

    async def transfer_failed(self, why: str) -> Reply:
        """The person did not take the call (``why``): offer the lead a time to meet instead."""
        plan = self.config.transfer or TransferPlan()
        self.transitions.append((self.agent, self.agent, f"transfer failed: {why}"))
        return await self._meet_instead(unavailable_line(plan))

    def transferred(self) -> None:
        """The lead is with the person now: the agent's part of the call is over."""
        self._move("transferred", "bridged")

    def whisper(self) -> str:
        """What the person hears before the lead is put through."""
        return whisper(self.config.lead_first_name, self.slots, reason=self.transfer_reason or "asked")

    async def _meet_instead(self, prefix: str) -> Reply:
        if await self._load_offers():
            self._move("scheduler", "no transfer")
            return self._say(f"{prefix}Let's find a time for you to talk instead. {self._offer()}", "scheduler")
        return self._say(f"{prefix}One of our agents will call you back shortly. Goodbye.", "closer",
                         end_call=True, outcome="callback")
