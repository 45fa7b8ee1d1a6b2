"""Calls a lead places to a campaign's number: who is calling, and what the store knows of them.

:func:`identify` finds the caller's lead in the campaign (the newest with the number), what they
said on earlier calls (every qualification snapshot, newest last), their live appointment and
whether the number opted out. A lead who could be dialed is claimed for the call (as the dial
queue claims one), so no dialer calls them while they talk. A number the campaign has no lead
for gets a lead (source ``inbound``) with no consent on record: the dialer never calls it until a
consent is recorded; what it said reaches the CRM with the call.

:func:`missed` is for a call no agent could take: a known lead who may be called is due for a
call back at once (the calling rules still decide when it is placed). :func:`unattended` is what a
process that serves no dialer for the number says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.agent.inbound import CallerFacts, fill
from reauto.campaign import Inbound, numbers_of
from reauto.leads.normalize import InvalidPhone, parse_phone, zones_of
from reauto.scheduling.availability import Slot, spoken_slot
from reauto.store.models import DIALABLE, Appointment, Campaign, DncEntry, DncSource, Lead, LeadStatus, QualificationSnapshot
from reauto.telephony.base import IncomingCall

log = logging.getLogger(__name__)

#: The source stored on a lead created for a caller the campaign did not know.
INBOUND_SOURCE = "inbound"


@dataclass(frozen=True)
class Caller:
    """A caller, identified.

    Attributes:
        lead: their lead (claimed for the call when it could be dialed; created when unknown).
        facts: what the agent is told about them.
        claimed: the lead was claimed for this call (the call's end moves it on as usual).
    """

    lead: Lead
    facts: CallerFacts
    claimed: bool


def caller_number(call: IncomingCall, region: str = "US") -> str:
    """The caller's number in E.164.

    Raises:
        InvalidPhone: the caller ID is withheld or not a number.
    """
    return parse_phone(call.caller, region).e164


async def _lead_of(s: AsyncSession, campaign_id: int, phone: str) -> Lead | None:
    return (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id, Lead.phone_e164 == phone)
                            .order_by(Lead.id.desc()).limit(1).with_for_update())).scalar_one_or_none()


async def _slots(s: AsyncSession, lead_id: int) -> dict[str, Any]:
    """What the lead said on every earlier call, the latest reading of each slot winning."""
    merged: dict[str, Any] = {}
    for slots in (await s.execute(select(QualificationSnapshot.slots).where(QualificationSnapshot.lead_id == lead_id)
                                  .order_by(QualificationSnapshot.version))).scalars():
        merged.update({k: v for k, v in (slots or {}).items() if v is not None})
    return merged


async def _booked(s: AsyncSession, lead_id: int, now: datetime) -> str | None:
    """The lead's next live appointment in words ("tomorrow at 10 AM", "on Thursday at 2:30 PM")."""
    found = (await s.execute(select(Appointment).where(
        Appointment.lead_id == lead_id, Appointment.status == "booked", Appointment.starts_at > now)
        .order_by(Appointment.starts_at).limit(1))).scalar_one_or_none()
    if found is None:
        return None
    said = spoken_slot(Slot(found.starts_at, found.ends_at), found.timezone, now)
    return said if said.startswith(("today", "tomorrow")) else f"on {said}"


async def identify(sessions: async_sessionmaker[AsyncSession], *, campaign_id: int, phone: str, worker: str,
                   lease: timedelta, now: datetime) -> Caller:
    """The caller's lead (claimed or created, see the module) and what the agent is told of them."""
    async with sessions.begin() as s:
        opted_out = (await s.execute(select(DncEntry.id).where(
            DncEntry.phone_e164 == phone, DncEntry.source == DncSource.INTERNAL,
            DncEntry.removed_at.is_(None)).limit(1))).first() is not None
        lead = await _lead_of(s, campaign_id, phone)
        if lead is None:
            lead = Lead(campaign_id=campaign_id, phone_e164=phone, source=INBOUND_SOURCE, status=LeadStatus.DIALING,
                        tz_candidates=zones_of(phone), dnc=opted_out, attempts=0, lease_owner=worker,
                        lease_expires_at=now + lease, created_at=now, updated_at=now)
            s.add(lead)
            await s.flush()
            return Caller(lead, CallerFacts(opted_out=opted_out), claimed=True)
        claimed = lead.status in DIALABLE
        if claimed:  # no dialer calls them while they talk to us
            lead.claimed_from = lead.status  # type: ignore[attr-defined] - what a release restores
            lead.status, lead.lease_owner, lead.lease_expires_at = LeadStatus.DIALING, worker, now + lease
        facts = CallerFacts(known=True, first_name=lead.first_name, slots=await _slots(s, lead.id),
                            booked=await _booked(s, lead.id, now), opted_out=opted_out or lead.dnc)
    return Caller(lead, facts, claimed=claimed)


async def missed(sessions: async_sessionmaker[AsyncSession], *, campaign_id: int, phone: str,
                 now: datetime) -> bool:
    """A call no agent could take: a known lead who may be dialed is due for a call back now;
    whether one was scheduled."""
    async with sessions.begin() as s:
        lead = await _lead_of(s, campaign_id, phone)
        if lead is None or lead.dnc or lead.status not in (*DIALABLE, LeadStatus.EXHAUSTED):
            return False
        lead.status, lead.next_attempt_at = LeadStatus.CALLBACK, now
        return True


def number_or_none(call: IncomingCall, region: str) -> str | None:
    """The caller's E.164 number, or None for a withheld or unreadable caller ID (logged, masked)."""
    try:
        return caller_number(call, region)
    except InvalidPhone:
        log.info("incoming call %s from a withheld or unreadable caller ID", call.sid[-6:])
        return None



@dataclass(frozen=True)
class Answering:
    """An incoming call the dialer took: the provider's call, its stored call id, the caller's facts."""

    call: IncomingCall
    call_id: int
    facts: CallerFacts


def spoken(template: str, config: dict[str, Any], first_name: str | None = None) -> str:
    """One of a campaign's inbound lines, filled from its stored configuration."""
    persona = config.get("persona") or {}
    return fill(template, business=persona.get("business") or "us", agent_name=persona.get("agent_name") or "",
                callback_number=persona.get("callback_number") or config.get("caller_id") or "",
                first_name=first_name)


async def unattended(sessions: async_sessionmaker[AsyncSession], call: IncomingCall, *, region: str,
                     now: datetime) -> str:
    """A call to a number no dialer in this process serves: what the caller hears. A known lead of
    the campaign whose caller ID was called is due for a call back (see :func:`missed`); a number
    that opted out is told so instead."""
    async with sessions() as s:
        campaigns = [c for c in (await s.execute(select(Campaign))).scalars() if call.called in numbers_of(c.config)]
    config = dict(campaigns[0].config or {}) if campaigns else {}
    lines = {**Inbound().model_dump(), **(config.get("inbound") or {})}
    phone = number_or_none(call, region)
    if phone is not None:
        async with sessions() as s:
            listed = (await s.execute(select(DncEntry.id).where(
                DncEntry.phone_e164 == phone, DncEntry.source == DncSource.INTERNAL,
                DncEntry.removed_at.is_(None)).limit(1))).first() is not None
        if listed:
            return spoken(lines["opted_out"], config)
        if campaigns:
            await missed(sessions, campaign_id=campaigns[0].id, phone=phone, now=now)
    return spoken(lines["unavailable"], config)
