"""Persisting a call: the call row, its events, turns with latency, slots and the lead's next step."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.costs.meter import LedgerLine
from reauto.dialer.recovery import RECOVERY_KEY
from reauto.store.models import (
    Appointment,
    Call,
    CallEvent,
    CallStatus,
    CostEntry,
    DncEntry,
    DncSource,
    Lead,
    LeadStatus,
    Outcome,
    QualificationSnapshot,
    Turn,
)
from reauto.store.types import utcnow
from reauto.telephony.lifecycle import advance
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import CallLatency

#: How each outcome moves the lead on.
OUTCOME_STATUS: Mapping[str, LeadStatus] = {
    Outcome.BOOKED: LeadStatus.BOOKED,
    Outcome.NOT_INTERESTED: LeadStatus.NOT_INTERESTED,
    Outcome.DNC: LeadStatus.DNC,
    Outcome.BAD_NUMBER: LeadStatus.BAD_NUMBER,
    Outcome.CALLBACK: LeadStatus.CALLBACK,
    Outcome.VOICEMAIL: LeadStatus.SCHEDULED,
    Outcome.NO_ANSWER: LeadStatus.SCHEDULED,
}


#: Outcomes that leave a lead in its cadence: nobody (or a machine) answered.
UNANSWERED = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL})


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a lead again after an unanswered attempt.

    ``cadence``: with a campaign cadence, the wait before each step (index 0: the first); an
    unanswered call moves the lead to the next step instead of the retry delays.
    """

    max_attempts: int = 3
    no_answer: timedelta = timedelta(hours=4)
    busy: timedelta = timedelta(minutes=30)
    voicemail: timedelta = timedelta(days=1)
    callback: timedelta = timedelta(days=1)
    cadence: tuple[timedelta, ...] = ()
    dropped: timedelta = timedelta(minutes=2)  # a call the network cut off: call back and resume

    def delay(self, outcome: str) -> timedelta:
        return {
            "no_answer": self.no_answer,
            "busy": self.busy,
            "voicemail": self.voicemail,
            "callback": self.callback,
        }.get(outcome, self.no_answer)


def advance_cadence(lead: Lead, waits: Sequence[timedelta], now: datetime) -> LeadStatus:
    """Move ``lead`` to its cadence's next step: due after that step's wait, or exhausted after the last."""
    lead.cadence_step = (lead.cadence_step or 0) + 1
    if lead.cadence_step >= len(waits):
        return LeadStatus.EXHAUSTED
    lead.next_attempt_at = now + waits[lead.cadence_step]
    return LeadStatus.SCHEDULED


@dataclass
class CallRecorder:
    """Writes one call's records; every method is its own short transaction.

    ``clock`` stamps every record (call rows, events, the lead's next attempt, DNC entries): the
    store's clock, the same one its 30-day and 24-hour windows are read with.
    """

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime] = utcnow

    async def open_call(
        self, lead: Lead, *, provider: str, worker: str, prompt_variant: str | None = None, step: int | None = None
    ) -> int:
        """The call row (queued) and its ``dial`` event (with the cadence step the call is, if any)."""
        now = self.clock()
        async with self.sessions.begin() as s:
            call = Call(
                created_at=now,
                campaign_id=lead.campaign_id,
                lead_id=lead.id,
                provider=provider,
                worker=worker,
                prompt_variant=prompt_variant,
                status=CallStatus.QUEUED,
            )
            s.add(call)
            await s.flush()
            payload: dict[str, Any] = {"worker": worker}
            if step is not None:
                payload["cadence_step"] = step
            s.add(CallEvent(call_id=call.id, type="dial", payload=payload, ts=now))
            return call.id

    async def event(self, call_id: int, type_: str, payload: Mapping[str, Any] | None = None, *,
                    at: datetime | None = None) -> None:
        """One call event, stamped ``at`` (default: now on the recorder's clock)."""
        async with self.sessions.begin() as s:
            s.add(CallEvent(call_id=call_id, type=type_, payload=dict(payload or {}), ts=at or self.clock()))

    async def answered(self, call_id: int, sid: str, answered_by: str, *, at: datetime | None = None) -> None:
        """The call was answered ``at`` (default: now on the recorder's clock)."""
        at = at or self.clock()
        async with self.sessions.begin() as s:
            call = await s.get(Call, call_id, with_for_update=True)
            assert call is not None
            call.provider_sid = sid
            call.status = advance(call.status, CallStatus.IN_PROGRESS)
            call.answered_at = call.answered_at or at
            s.add(CallEvent(call_id=call_id, type="answered", payload={"answered_by": answered_by}, ts=at))

    async def finish(
        self,
        call_id: int,
        *,
        status: CallStatus,
        outcome: str,
        turns: Sequence[TurnRecord] = (),
        latency: CallLatency | None = None,
        slots: Mapping[str, Any] | None = None,
        score: float | None = None,
        recording_path: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        details: Mapping[str, Any] | None = None,
        abandoned: bool | None = None,
        costs: Sequence[LedgerLine] = (),
        now: datetime | None = None,
        dropped: bool = False,
    ) -> None:
        """Store the call's end and move its lead on, in one transaction.

        ``costs``: the call's priced usage; each line goes to the cost ledger and their sum is
        the call's ``cost_total``.

        ``abandoned``: whether a person answered and waited too long for the agent (None when no
        person answered); the compliance gate keeps each campaign's rate under its ceiling.

        ``dropped``: the connection was lost mid-conversation; the lead is called back after
        ``retry.dropped`` and that call resumes this one's conversation.
        """
        now = now or self.clock()
        async with self.sessions.begin() as s:
            call = await s.get(Call, call_id, with_for_update=True)
            assert call is not None
            lead = await s.get(Lead, call.lead_id, with_for_update=True)
            assert lead is not None
            # the provider's callbacks may have moved the call on already: never backwards
            call.status, call.outcome = advance(call.status, status), Outcome(outcome)
            call.ended_at = call.ended_at or now
            call.recorded, call.recording_path = recording_path is not None, recording_path
            call.abandoned = abandoned
            for line in costs:
                s.add(CostEntry(call_id=call_id, campaign_id=call.campaign_id, ts=now, component=line.component,
                                provider=line.provider, quantity=line.quantity, unit=line.unit,
                                unit_price=line.unit_price, amount=line.amount))
            call.cost_total = sum((line.amount for line in costs), Decimal(0))
            completed = latency.completed() if latency is not None else []
            agent_turns = iter(completed)
            for seq, turn in enumerate(turns):
                row = Turn(call_id=call_id, seq=seq, speaker=turn.speaker, text=turn.text,
                           confidence=turn.confidence, interrupted=turn.interrupted)
                if turn.speaker == "agent":
                    timing = next(agent_turns, None)
                    if timing is not None:
                        row.stt_ms, row.llm_ttft_ms = timing.stt_ms, timing.brain_ms
                        row.tts_ttfb_ms, row.first_audio_ms = timing.tts_ms, timing.first_audio_ms
                s.add(row)
            if slots is not None:
                version = (await s.execute(
                    select(func.coalesce(func.max(QualificationSnapshot.version), 0))
                    .where(QualificationSnapshot.lead_id == lead.id)
                )).scalar_one() + 1
                s.add(QualificationSnapshot(lead_id=lead.id, call_id=call_id, version=version,
                                            slots=dict(slots), score=score or 0.0))
            # appointments booked during the call belong to it
            await s.execute(update(Appointment).where(Appointment.lead_id == lead.id, Appointment.call_id.is_(None),
                                                      Appointment.created_at >= call.created_at)
                            .values(call_id=call_id))
            s.add(CallEvent(call_id=call_id, type="ended", ts=now,
                            payload={"status": status.value, "outcome": outcome, **dict(details or {})}))
            self._move_lead_on(lead, outcome, retry, now)
            if dropped and lead.status in (LeadStatus.SCHEDULED, LeadStatus.CALLBACK):
                lead.next_attempt_at = now + retry.dropped
                lead.custom = {**(lead.custom or {}), RECOVERY_KEY: {"call_id": call_id, "at": now.isoformat(),
                                                                    "reason": "dropped"}}
            if outcome == Outcome.DNC:
                await self._add_internal_dnc(s, lead.phone_e164, "asked on a call", now)

    @staticmethod
    def _move_lead_on(lead: Lead, outcome: str, retry: RetryPolicy, now: datetime) -> None:
        if lead.custom and RECOVERY_KEY in lead.custom:  # the cut-off conversation has been continued
            lead.custom = {k: v for k, v in lead.custom.items() if k != RECOVERY_KEY}
        lead.attempts += 1
        lead.last_attempt_at = now
        lead.lease_owner = None
        lead.lease_expires_at = None
        status = OUTCOME_STATUS.get(outcome, LeadStatus.SCHEDULED)
        if retry.cadence and outcome in UNANSWERED:
            status = advance_cadence(lead, retry.cadence, now)
        elif status in (LeadStatus.SCHEDULED, LeadStatus.CALLBACK):
            if lead.attempts >= retry.max_attempts:
                status = LeadStatus.EXHAUSTED
            else:
                lead.next_attempt_at = now + retry.delay(outcome)
        if status == LeadStatus.DNC:
            lead.dnc = True
        lead.status = status

    @staticmethod
    async def _add_internal_dnc(s: AsyncSession, phone: str, reason: str, now: datetime) -> None:
        existing = (await s.execute(
            select(DncEntry).where(DncEntry.phone_e164 == phone, DncEntry.source == DncSource.INTERNAL)
        )).scalar_one_or_none()
        if existing is None:
            s.add(DncEntry(phone_e164=phone, source=DncSource.INTERNAL, reason=reason, added_at=now))
        else:
            existing.removed_at = None
            existing.reason = reason
