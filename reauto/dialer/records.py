"""Persisting a call: the call row, its events, turns with latency, slots and the lead's next step.

Turns and slot readings are written while the call goes on (:meth:`CallRecorder.journal`, fed by
:class:`~reauto.dialer.journal.CallJournal`); :meth:`CallRecorder.finish` completes them. A turn
is keyed by (call, place in the conversation), so writing it again only completes it: no
duplicates, whichever write comes first or twice (a replayed spool).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import events
from reauto.costs.meter import LedgerLine
from reauto.dialer.caller_ids import CallerIdPool
from reauto.dialer.postcall import analyse, store_analysis
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
from reauto.store.repositories import campaign_paused
from reauto.store.types import utcnow
from reauto.telephony.lifecycle import advance
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import CallLatency, TurnLatency

#: Where a lead called back to resume a cut-off conversation keeps that call (in ``Lead.custom``).
RECOVERY_KEY = "_recovery"


class CampaignPaused(Exception):
    """The campaign was paused (``reauto campaign pause``): no new call is opened."""

#: How each outcome moves the lead on.
OUTCOME_STATUS: Mapping[str, LeadStatus] = {
    Outcome.BOOKED: LeadStatus.BOOKED,
    Outcome.NOT_INTERESTED: LeadStatus.NOT_INTERESTED,
    Outcome.DNC: LeadStatus.DNC,
    Outcome.BAD_NUMBER: LeadStatus.BAD_NUMBER,
    Outcome.CALLBACK: LeadStatus.CALLBACK,
    Outcome.VOICEMAIL: LeadStatus.SCHEDULED,
    Outcome.NO_ANSWER: LeadStatus.SCHEDULED,
    Outcome.TRANSFERRED: LeadStatus.QUALIFIED,  # a person has the lead now
}


#: Outcomes that leave a lead in its cadence: nobody (or a machine) answered.
UNANSWERED = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL})


@dataclass(frozen=True)
class TurnRow:
    """One turn as the ``turns`` table keeps it; ``seq`` is its place in the conversation (from 0).

    ``started_at`` is stamped on an agent's reply as it starts, ``ended_at`` on a lead's answer
    as it ends (the store's clock); the latency columns are known once the reply has played.
    """

    seq: int
    speaker: str
    text: str
    confidence: float | None = None
    interrupted: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    stt_ms: float | None = None
    llm_ttft_ms: float | None = None
    tts_ttfb_ms: float | None = None
    first_audio_ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "ended_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TurnRow:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("started_at", "ended_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    @property
    def at(self) -> datetime | None:
        """The latest instant the turn is known to have reached."""
        stamps = [t for t in (self.started_at, self.ended_at) if t is not None]
        return max(stamps) if stamps else None


def with_latency(row: TurnRow, timing: TurnLatency | None) -> TurnRow:
    """``row`` with the stage times of its reply (an agent turn's; unchanged without them)."""
    if timing is None or row.speaker != "agent":
        return row
    return replace(row, stt_ms=timing.stt_ms, llm_ttft_ms=timing.brain_ms, tts_ttfb_ms=timing.tts_ms,
                   first_audio_ms=timing.first_audio_ms)


def turn_rows(turns: Sequence[TurnRecord], latency: CallLatency | None) -> list[TurnRow]:
    """The rows of a call's turns: the n-th agent turn takes the n-th completed turn latency."""
    timings = iter(latency.completed() if latency is not None else [])
    rows = []
    for seq, turn in enumerate(turns):
        row = TurnRow(seq, turn.speaker, turn.text, turn.confidence, turn.interrupted)
        if turn.speaker == "agent":
            row = with_latency(row, next(timings, None))
        rows.append(row)
    return rows


async def store_turns(s: AsyncSession, call_id: int, rows: Sequence[TurnRow]) -> None:
    """Insert the call's turns, or complete them where stored: what is said now wins (an interrupted
    reply is cut to what was heard), a time or latency already stored stays unless a new one is known."""
    if not rows:
        return
    dialect = s.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = [{"call_id": call_id, **{f.name: getattr(r, f.name) for f in fields(TurnRow)}} for r in rows]
    stmt = insert(Turn).values(values)
    keep = ("started_at", "ended_at", "stt_ms", "llm_ttft_ms", "tts_ttfb_ms", "first_audio_ms")
    updates: dict[str, Any] = {name: getattr(stmt.excluded, name)
                               for name in ("speaker", "text", "confidence", "interrupted")}
    updates.update({name: func.coalesce(getattr(stmt.excluded, name), getattr(Turn, name)) for name in keep})
    await s.execute(stmt.on_conflict_do_update(index_elements=["call_id", "seq"], set_=updates))


async def store_slots(s: AsyncSession, lead_id: int, call_id: int, slots: Mapping[str, Any],
                      score: float | None) -> bool:
    """A new qualification snapshot of the lead from this call, unless the call's latest one says the
    same (a reading repeated by the call's end, or by a replay); whether one was added."""
    plain = json.loads(json.dumps(dict(slots), default=str))
    last = (await s.execute(select(QualificationSnapshot).where(QualificationSnapshot.call_id == call_id)
                            .order_by(QualificationSnapshot.version.desc()).limit(1))).scalar_one_or_none()
    if last is not None and dict(last.slots or {}) == plain and last.score == (score or 0.0):
        return False
    version = (await s.execute(
        select(func.coalesce(func.max(QualificationSnapshot.version), 0))
        .where(QualificationSnapshot.lead_id == lead_id)
    )).scalar_one() + 1
    s.add(QualificationSnapshot(lead_id=lead_id, call_id=call_id, version=version, slots=plain, score=score or 0.0))
    return True


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
        self, lead: Lead, *, provider: str, worker: str, prompt_variant: str | None = None, step: int | None = None,
        incoming: str | None = None,
    ) -> int:
        """The call row (queued) and its ``dial`` event (with the cadence step the call is, if any);
        for a call the lead placed (``incoming``: the provider's call id), an ``incoming`` event.

        Raises:
            CampaignPaused: the campaign was paused since the lead was claimed (nothing is written).
        """
        call_id, _number = await self.open_dial(lead, provider=provider, worker=worker, prompt_variant=prompt_variant,
                                                step=step, incoming=incoming)
        return call_id

    async def open_dial(
        self, lead: Lead, *, provider: str, worker: str, prompt_variant: str | None = None, step: int | None = None,
        incoming: str | None = None, pool: CallerIdPool | None = None,
    ) -> tuple[int, str | None]:
        """:meth:`open_call`, and the number the call comes from, chosen from ``pool`` in the same
        transaction (None without a pool: the campaign's caller ID).

        Raises:
            CampaignPaused: the campaign was paused since the lead was claimed.
            NoCallerId: every number of the pool is at a cap (nothing is written).
        """
        now = self.clock()
        choosing = pool is not None and not incoming
        async with self.sessions.begin() as s:
            if choosing:  # the pool's lock first: taken after the pause check's share lock, two dialers deadlock
                assert pool is not None
                await pool.lock(s)
            if await campaign_paused(s, lead.campaign_id):
                raise CampaignPaused(lead.campaign_id)
            number = await pool.choose(s, lead, now) if choosing and pool is not None else None
            call = Call(
                caller_id=number,
                created_at=now,
                campaign_id=lead.campaign_id,
                lead_id=lead.id,
                provider=provider,
                worker=worker,
                prompt_variant=prompt_variant,
                status=CallStatus.RINGING if incoming else CallStatus.QUEUED,
                direction="inbound" if incoming else "outbound",
                provider_sid=incoming,
            )
            s.add(call)
            await s.flush()
            payload: dict[str, Any] = {"worker": worker}
            if step is not None:
                payload["cadence_step"] = step
            if number is not None:
                payload["caller_id"] = number
            s.add(CallEvent(call_id=call.id, type="incoming" if incoming else "dial", payload=payload, ts=now))
            events.record(s, "call.queued", campaign_id=lead.campaign_id, at=now, call_id=call.id, lead_id=lead.id,
                          direction=call.direction, caller_id=number)
            return call.id, number

    async def event(self, call_id: int, type_: str, payload: Mapping[str, Any] | None = None, *,
                    at: datetime | None = None) -> None:
        """One call event, stamped ``at`` (default: now on the recorder's clock)."""
        async with self.sessions.begin() as s:
            s.add(CallEvent(call_id=call_id, type=type_, payload=dict(payload or {}), ts=at or self.clock()))

    async def journal(self, call_id: int, *, rows: Sequence[TurnRow] = (), slots: Mapping[str, Any] | None = None,
                      score: float | None = None) -> None:
        """What a live call said so far: its new or changed turns, and its slots when they changed."""
        async with self.sessions.begin() as s:
            await store_turns(s, call_id, rows)
            if slots is not None:
                lead_id = (await s.execute(select(Call.lead_id).where(Call.id == call_id))).scalar_one()
                await store_slots(s, lead_id, call_id, slots, score)

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
            events.record(s, "call.answered", campaign_id=call.campaign_id, at=at, call_id=call_id,
                          lead_id=call.lead_id, answered_by=answered_by)

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
        recording_declined_s: float | None = None,
        inbound: bool = False,
    ) -> None:
        """Store the call's end and move its lead on, in one transaction.

        ``recording_declined_s``: the lead objected to the recording this many seconds after the
        answer (it stopped then; ``recording_path`` is what policy kept of it, if anything).

        ``costs``: the call's priced usage; each line goes to the cost ledger and their sum is
        the call's ``cost_total``.

        ``abandoned``: whether a person answered and waited too long for the agent (None when no
        person answered); the compliance gate keeps each campaign's rate under its ceiling.

        ``dropped``: the connection was lost mid-conversation; the lead is called back after
        ``retry.dropped`` and that call resumes this one's conversation.

        ``inbound``: the lead placed the call; it is not an attempt (see :meth:`_after_inbound`).
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
            if recording_declined_s is not None:
                call.recording_declined_at = (call.answered_at + timedelta(seconds=recording_declined_s)
                                              if call.answered_at is not None else now)
            call.abandoned = abandoned
            for line in costs:
                s.add(CostEntry(call_id=call_id, campaign_id=call.campaign_id, ts=now, component=line.component,
                                provider=line.provider, quantity=line.quantity, unit=line.unit,
                                unit_price=line.unit_price, amount=line.amount))
            call.cost_total = sum((line.amount for line in costs), Decimal(0))
            # the turns written during the call are completed, not written again
            await store_turns(s, call_id, turn_rows(turns, latency))
            if slots is not None:
                await store_slots(s, lead.id, call_id, slots, score)
            # appointments booked during the call belong to it
            await s.execute(update(Appointment).where(Appointment.lead_id == lead.id, Appointment.call_id.is_(None),
                                                      Appointment.created_at >= call.created_at)
                            .values(call_id=call_id))
            s.add(CallEvent(call_id=call_id, type="ended", ts=now,
                            payload={"status": status.value, "outcome": outcome, **dict(details or {})}))
            opted_out = lead.dnc
            if inbound:
                self._after_inbound(lead, outcome, retry, now)
            else:
                self._move_lead_on(lead, outcome, retry, now)
            if dropped and lead.status in (LeadStatus.SCHEDULED, LeadStatus.CALLBACK):
                lead.next_attempt_at = now + retry.dropped
                lead.custom = {**(lead.custom or {}), RECOVERY_KEY: {"call_id": call_id, "at": now.isoformat(),
                                                                    "reason": "dropped"}}
            if outcome == Outcome.DNC and not (inbound and opted_out):  # a caller told they had opted out
                await add_internal_dnc(s, lead.phone_e164, "asked on a call", now, campaign_id=call.campaign_id)
            await self._ended_events(s, call, lead, slots or {}, now)

    @staticmethod
    async def _ended_events(s: AsyncSession, call: Call, lead: Lead, slots: Mapping[str, Any], now: datetime) -> None:
        """``call.ended``, and ``lead.booked`` for a booked call."""
        duration = ((call.ended_at - call.answered_at).total_seconds()
                    if call.ended_at is not None and call.answered_at is not None else None)
        events.record(s, "call.ended", campaign_id=call.campaign_id, at=now, call_id=call.id, lead_id=lead.id,
                      direction=call.direction, status=str(call.status.value), outcome=str(call.outcome.value)
                      if call.outcome else None, duration_s=round(duration, 1) if duration is not None else None,
                      cost_usd=float(call.cost_total or 0), lead_status=str(lead.status.value))
        starts = (await s.execute(select(Appointment.starts_at).where(Appointment.call_id == call.id)
                                  .order_by(Appointment.id).limit(1))).scalar_one_or_none()
        if call.outcome == Outcome.BOOKED:
            offer = slots.get("appointment")
            events.record(s, "lead.booked", campaign_id=call.campaign_id, at=now, lead_id=lead.id, call_id=call.id,
                          starts_at=starts.isoformat() if starts is not None else None,
                          offer=str(offer) if offer is not None else None)
        turns = [(speaker, text) for speaker, text in (await s.execute(
            select(Turn.speaker, Turn.text).where(Turn.call_id == call.id).order_by(Turn.seq))).all()]
        follow_up = starts if call.outcome == Outcome.BOOKED else (
            lead.next_attempt_at if lead.status in (LeadStatus.CALLBACK, LeadStatus.SCHEDULED) else None)
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or None
        found = analyse(turns, outcome=str(call.outcome.value) if call.outcome else "callback", slots=slots,
                        name=name, follow_up_at=follow_up, inbound=call.direction == "inbound")
        store_analysis(s, call, found, now)

    @staticmethod
    def _after_inbound(lead: Lead, outcome: str, retry: RetryPolicy, now: datetime) -> None:
        """Move a lead on after a call they placed: not an attempt (no count, no cadence step). What
        they decided stands (booked, not interested, do not call, wrong number, with a person); a
        request to be called back schedules one, except for a lead who is booked or opted out (their
        request goes to a person with the call's record). A lead claimed for the call is released."""
        if lead.lease_owner is not None and lead.status == LeadStatus.DIALING:
            lead.lease_owner, lead.lease_expires_at = None, None
            lead.status = LeadStatus.NEW if lead.attempts == 0 and lead.source != "inbound" else LeadStatus.SCHEDULED
        if lead.dnc or lead.status in (LeadStatus.DNC, LeadStatus.BAD_NUMBER):
            return
        status = OUTCOME_STATUS.get(outcome)
        if outcome == Outcome.CALLBACK:
            if lead.status == LeadStatus.BOOKED:
                return
            lead.next_attempt_at = now + retry.delay(outcome)
        if status is not None and outcome not in UNANSWERED:
            lead.status = status
        if status == LeadStatus.DNC:
            lead.dnc = True

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


async def add_internal_dnc(s: AsyncSession, phone: str, reason: str, now: datetime, *,
                           campaign_id: int | None = None) -> None:
    """Put ``phone`` on the internal do-not-call list (again, if it had been removed); a new listing
    is a ``lead.opted_out`` event."""
    existing = (await s.execute(
        select(DncEntry).where(DncEntry.phone_e164 == phone, DncEntry.source == DncSource.INTERNAL)
    )).scalar_one_or_none()
    listed = existing is None or existing.removed_at is not None
    if existing is None:
        s.add(DncEntry(phone_e164=phone, source=DncSource.INTERNAL, reason=reason, added_at=now))
    else:
        existing.removed_at = None
        existing.reason = reason
    if listed:
        lead_ids = list((await s.execute(select(Lead.id).where(Lead.phone_e164 == phone).order_by(Lead.id))).scalars())
        events.record(s, "lead.opted_out", campaign_id=campaign_id, at=now, phone=phone, lead_ids=lead_ids,
                      reason=reason)
