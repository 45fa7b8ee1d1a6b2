"""Texts: the cadence's SMS steps and the "we'll call you at …" notice to a posted lead.

A text goes out only when the lead is on no do-not-call list, a consent on record covers texts
(and is not revoked), and — unless the campaign's ``sms.quiet_hours`` is off — the lead's local
time is inside the legal calling hours of their state (federal 8:00–21:00, stricter states
narrower) in every zone the lead may be in. Every text, sent, failed or skipped, is a
:class:`~reauto.store.models.Touch` with its reason, so it can be exported and audited.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import metrics
from reauto.campaign import Campaign
from reauto.compliance import DAYS, ComplianceRules, Hours, LeadFacts, in_window, next_allowed, zones_for
from reauto.dialer.records import advance_cadence
from reauto.leads.normalize import zones_of
from reauto.store.models import ConsentRecord, DncEntry, Lead, LeadStatus, Touch
from reauto.store.types import utcnow
from reauto.telephony.base import Telephony

log = logging.getLogger(__name__)

QUIET = "quiet hours"


def legal_hours(rules: ComplianceRules) -> ComplianceRules:
    """The law's hours only (federal and state), every day: the campaign's own window is for calls."""
    return dataclasses.replace(rules, campaign=Hours(time(0), time(23, 59)), days=frozenset(DAYS),
                               federal_holidays=False)


def spoken_time(at: datetime, zone: str, now: datetime) -> str:
    """``9:00 AM today`` / ``tomorrow`` / ``on Tuesday`` / ``on Dec 3``, in the lead's zone."""
    local, today = at.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone)).date()
    clock = local.strftime("%I:%M %p").lstrip("0")
    days = (local.date() - today).days
    if days <= 0:
        return f"{clock} today"
    if days == 1:
        return f"{clock} tomorrow"
    return f"{clock} on {local:%A}" if days < 7 else f"{clock} on {local:%b} {local.day}"


@dataclass
class Texter:
    """Sends a campaign's texts through its telephony provider.

    ``clock`` is the instant the calling rules are evaluated at (the gate's); the queue and the
    texts' records keep the store's clock (``store_clock``), as for calls.
    """

    sessions: async_sessionmaker[AsyncSession]
    telephony: Telephony
    campaign: Campaign
    rules: ComplianceRules
    waits: tuple[timedelta, ...] = ()
    clock: Callable[[], datetime] = utcnow
    store_clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        self.legal = legal_hours(self.rules)

    def render(self, template: str, lead: Lead, call_time: str = "") -> str:
        persona = self.campaign.persona
        return self.campaign.sms.templates[template].format(
            first_name=lead.first_name or "there", agent_name=persona.agent_name, business=persona.business,
            callback_number=persona.callback_number or self.campaign.caller_id, call_time=call_time)

    def _facts(self, lead: Lead) -> LeadFacts:
        zones = tuple(lead.tz_candidates or ([lead.timezone] if lead.timezone else []) or zones_of(lead.phone_e164))
        return LeadFacts(phone_e164=lead.phone_e164, state=lead.state, zones=zones, has_written_consent=True)

    async def refusal(self, lead: Lead, now: datetime) -> str | None:
        """Why ``lead`` may not be texted at ``now`` (None: they may)."""
        async with self.sessions() as s:
            listed = await s.scalar(select(exists().where(DncEntry.phone_e164 == lead.phone_e164,
                                                          DncEntry.removed_at.is_(None))))
            consented = await s.scalar(select(exists().where(
                ConsentRecord.lead_id == lead.id, ConsentRecord.covers_texts.is_(True),
                ConsentRecord.revoked_at.is_(None))))
        if lead.dnc or listed:
            return "dnc: on a do-not-call list"
        if not consented:
            return "no consent on record covers texts"
        if self.campaign.sms.quiet_hours:
            zones = zones_for(self._facts(lead))
            if not zones:
                return "unknown time zone: quiet hours cannot be checked"
            if not all(in_window(self.legal, lead.state, zone, now) for zone in zones):
                return QUIET
        return None

    async def send_text(self, lead: Lead, kind: str, body: str) -> Touch:
        """Gate, send and store one text that is not a campaign template (a booking confirmation)."""
        touch = await self._send(lead, kind, None, body=body)
        async with self.sessions.begin() as s:
            s.add(touch)
        return touch

    async def _send(self, lead: Lead, kind: str, template: str | None, *, step: int | None = None,
                    call_time: str = "", body: str | None = None) -> Touch:
        """Gate, send and record one text (the touch is returned, whatever happened)."""
        now = self.clock()
        touch = Touch(campaign_id=lead.campaign_id, lead_id=lead.id, channel="sms", kind=kind, step=step,
                      status="skipped", created_at=self.store_clock())
        touch.reason = await self.refusal(lead, now)
        if touch.reason is None:
            touch.body = body if template is None else self.render(template, lead, call_time)
            try:
                touch.provider_sid = await self.telephony.send_sms(to=lead.phone_e164, from_=self.campaign.caller_id,
                                                                   body=touch.body)
                touch.status, touch.reason = "sent", None
            except Exception as exc:  # noqa: BLE001 - recorded; the cadence goes on
                touch.status, touch.reason = "failed", f"{type(exc).__name__}: {exc}"[:300]
                log.warning("text to lead %s failed: %s", lead.id, touch.reason)
        metrics.TEXTS.labels(campaign=self.campaign.name, kind=kind, status=touch.status).inc()
        return touch

    async def cadence_step(self, lead: Lead) -> None:
        """Run the lead's current SMS step, then move it to the next step (a claimed lead is released).

        In quiet hours the step waits for the first legal minute instead of being skipped.
        """
        step = lead.cadence_step or 0
        touch = await self._send(lead, "cadence", self.campaign.cadence[step].template, step=step)
        async with self.sessions.begin() as s:
            row = await s.get(Lead, lead.id, with_for_update=True)
            assert row is not None
            row.lease_owner, row.lease_expires_at = None, None
            if touch.reason == QUIET:
                gate_now = self.clock()
                at = next_allowed(self._facts(lead), self.legal, gate_now)
                row.status = LeadStatus.SCHEDULED
                row.next_attempt_at = self.store_clock() + ((at - gate_now) if at else timedelta(hours=12))
                return  # not recorded: the step has not happened yet
            s.add(touch)
            row.status = advance_cadence(row, self.waits, self.store_clock())

    async def after_hours(self, lead: Lead, call_at: datetime) -> None:
        """Tell a posted lead, once, when the first legal call will come (``call_at``, gate clock)."""
        template = self.campaign.sms.after_hours_intake
        if not template:
            return
        async with self.sessions() as s:
            if await s.scalar(select(exists().where(Touch.lead_id == lead.id, Touch.kind == "after_hours"))):
                return
        zones = zones_for(self._facts(lead))
        when = spoken_time(call_at, zones[0], self.clock()) if zones else ""
        touch = await self._send(lead, "after_hours", template, call_time=when)
        async with self.sessions.begin() as s:
            s.add(touch)
