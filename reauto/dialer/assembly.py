"""Putting a campaign together for the dialer: store rows, gate, brain, providers, sim personas."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.agent.handover import TransferPlan
from reauto.agent.inbound import InboundLines
from reauto.agent.llm import LLMBrain, LLMParts
from reauto.agent.variants import assign, load_prompts
from reauto.agent.scoring import DEFAULT_WEIGHTS
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.campaign import Campaign
from reauto.compliance import ComplianceRules, Decision, Hours, LeadFacts, answering, check
from reauto.dialer.caller_ids import CallerIdPool, Caps, RestRule
from reauto.dialer.records import RetryPolicy
from reauto.leads.normalize import zones_of
from reauto.sim.lead import LeadScript
from reauto.store import repositories
from reauto.store.models import Call, Campaign as CampaignRow, ConsentRecord, DncEntry, DncSource, Lead
from reauto.store.types import utcnow
from reauto.telephony.sim import HumanAgent
from reauto.voice.conversation import Brain


def rules_for(campaign: Campaign) -> ComplianceRules:
    """The campaign's calling rules (the law's defaults narrowed by the campaign window)."""
    w = campaign.calling_window
    start, end = (datetime.strptime(v, "%H:%M").time() for v in (w.start, w.end))
    return ComplianceRules(
        campaign=Hours(start, end), days=frozenset(w.days), federal_holidays=w.holidays == "us_federal",
        # a cadence's length bounds its calls (each call step is one attempt)
        max_attempts=max(campaign.retry.max_attempts, sum(s.action == "call" for s in campaign.cadence)),
        record_calls=campaign.recording.policy != "never",
        record_one_party_only=campaign.recording.policy == "one_party_only",
    )


def retry_for(campaign: Campaign) -> RetryPolicy:
    r = campaign.retry
    return RetryPolicy(
        max_attempts=r.max_attempts, no_answer=timedelta(minutes=r.no_answer_min),
        busy=timedelta(minutes=r.busy_min), voicemail=timedelta(minutes=r.voicemail_min),
        cadence=tuple(timedelta(minutes=s.after_min) for s in campaign.cadence),
        dropped=timedelta(minutes=r.dropped_min),
    )


def vocabulary(campaign: Campaign) -> list[str]:
    """Phrases to bias speech recognition toward, beyond reauto's corpus of lead answers: the
    campaign's own words (``vocabulary``: towns, neighbourhoods), the names of its agent and
    business, and the times it offers. Simulated personas' answers are left out: they are a demo,
    and a recogniser tuned to them hears them and nothing else."""
    persona = campaign.persona
    return [*campaign.vocabulary, persona.agent_name, persona.business, *campaign.booking.offers]


async def upsert_campaign(sessions: async_sessionmaker[AsyncSession], campaign: Campaign) -> int:
    """The campaign's row id, creating or refreshing it from the file (dialers starting together
    may both find it missing: the one whose insert loses refreshes the winner's row)."""
    try:
        return await _upsert_campaign(sessions, campaign)
    except IntegrityError:
        return await _upsert_campaign(sessions, campaign)


async def _upsert_campaign(sessions: async_sessionmaker[AsyncSession], campaign: Campaign) -> int:
    config = campaign.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    async with sessions.begin() as s:
        row = (await s.execute(select(CampaignRow).where(CampaignRow.name == campaign.name))).scalar_one_or_none()
        if row is None:
            row = CampaignRow(name=campaign.name)
            s.add(row)
        row.config, row.config_hash = config, digest
        row.source_path = str(campaign.source) if campaign.source else None
        await s.flush()
        return row.id


async def seed_sim_leads(sessions: async_sessionmaker[AsyncSession], campaign_id: int, campaign: Campaign) -> int:
    """Make sure every simulated persona of the campaign is a lead (simulated people consented)."""
    added = 0
    async with sessions.begin() as s:
        # dialers of the campaign starting together seed one at a time (the campaign row's lock)
        await s.execute(select(CampaignRow.id).where(CampaignRow.id == campaign_id).with_for_update())
        for persona in campaign.sim_personas:
            exists = (await s.execute(select(Lead.id).where(
                Lead.campaign_id == campaign_id, Lead.phone_e164 == persona.phone))).first()
            if exists:
                continue
            first, _, last = persona.name.partition(" ")
            zones = zones_of(persona.phone)
            lead = Lead(campaign_id=campaign_id, phone_e164=persona.phone, first_name=first, last_name=last or None,
                        state=persona.state, timezone=zones[0] if len(zones) == 1 else None, tz_candidates=zones,
                        has_written_consent=True, source="sim persona")
            s.add(lead)
            await s.flush()
            s.add(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_calls=True, covers_texts=True,
                                covers_artificial_voice=True, method="simulated persona",
                                evidence=f"simulated lead of campaign {campaign.name} (no real person)"))
            added += 1
    return added


def lead_scripts(campaign: Campaign) -> dict[str, LeadScript]:
    """Simulated-lead behaviour for each persona's number."""
    scripts = {}
    for p in campaign.sim_personas:
        scripts[p.phone] = LeadScript(
            name=p.name, answers=p.answers, voice=p.voice, interrupts=p.interrupts, says_dnc=p.says_dnc,
            asks_robot=p.asks_robot, asks_human=p.asks_human, voicemail=p.voicemail,
        )
    return scripts


@dataclass
class CampaignGate:
    """The compliance gate over the store: facts, DNC lists and call history for each lead.

    ``clock`` is the instant whose local time the calling rules are evaluated at (the real time,
    or a simulated one for ``sim``). ``store_clock`` is the clock the store's records are stamped
    with: the call history windows (24 hours, 30 days) are read on it, never on a simulated one.
    """

    sessions: async_sessionmaker[AsyncSession]
    rules: ComplianceRules
    clock: Callable[[], datetime] = utcnow
    store_clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        self.decisions: dict[int, Decision] = {}

    async def abandon_rate(self, campaign_id: int) -> float | None:
        """The campaign's abandoned share of person-answered calls over 30 days (None: no such call)."""
        async with self.sessions() as s:
            abandoned, answered = await repositories.abandoned_calls(s, campaign_id, now=self.store_clock())
        return abandoned / answered if answered else None

    async def __call__(self, lead: Lead, _now: datetime) -> Decision:
        now, stored_now = self.clock(), self.store_clock()
        async with self.sessions() as s:
            listed = {row for row in (await s.execute(select(DncEntry.source).where(
                DncEntry.phone_e164 == lead.phone_e164, DncEntry.removed_at.is_(None)))).scalars()}
            # the last 24 hours of calls, on the clock they were stamped with, as the rules' instant
            history = [now - (stored_now - at) for at in (await s.execute(select(Call.created_at).where(
                Call.lead_id == lead.id, Call.created_at > stored_now - timedelta(hours=24)))).scalars()]
            ai_voice = bool(await s.scalar(select(exists().where(
                ConsentRecord.lead_id == lead.id, ConsentRecord.covers_artificial_voice.is_(True),
                ConsentRecord.revoked_at.is_(None)))))
        facts = LeadFacts(
            phone_e164=lead.phone_e164, state=lead.state,
            zones=tuple(lead.tz_candidates or ([lead.timezone] if lead.timezone else []) or zones_of(lead.phone_e164)),
            has_written_consent=lead.has_written_consent, ai_voice_consent=ai_voice,
            dnc_internal=lead.dnc or DncSource.INTERNAL in listed, dnc_national=DncSource.NATIONAL in listed,
            attempts=lead.attempts,
        )
        decision = check(facts, self.rules, now, history, abandon_rate=await self.abandon_rate(lead.campaign_id))
        self.decisions[lead.id] = decision
        return decision


    def answering(self, lead: Lead) -> Decision:
        """The decision for a call ``lead`` placed to the campaign (disclosures and recording; see
        :func:`reauto.compliance.answering`), kept for the call's brain like a dial's."""
        decision = answering(self.rules, lead.state)
        self.decisions[lead.id] = decision
        return decision


def step_voicemail(campaign: Campaign, step: int) -> str:
    """What a call at ``step`` of the cadence does at an answering machine (message or hang_up)."""
    if 0 <= step < len(campaign.cadence) and campaign.cadence[step].voicemail is not None:
        return str(campaign.cadence[step].voicemail)
    return campaign.voicemail


def transfer_plan(campaign: Campaign, now: datetime) -> TransferPlan | None:
    """The hand-over a call starting at ``now`` may make (None: no person to take it, or off shift)."""
    t = campaign.transfer
    if not t.to or not t.shift.on(now):
        return None
    return TransferPlan(agent_name=t.agent_name, on_asked="asked" in t.when,
                        hot_score=t.hot_score if "hot" in t.when else None)


def human_agents(campaign: Campaign) -> dict[str, HumanAgent]:
    """The simulated person a ``telephony: sim`` campaign's transfers reach."""
    t = campaign.transfer
    return {t.to: HumanAgent(t.sim_answers, t.sim_ring_s, t.sim_talk_s)} if t.to else {}


def script_config(campaign: Campaign, first_name: str | None, disclosures: Sequence[str] = (), *,
                  step: int = 0, scheduler: Any = None, min_confidence: float = 0.0,
                  recorded: bool = True, transfer: TransferPlan | None = None,
                  inbound: InboundLines | None = None) -> ScriptConfig:
    """What the scripted brain says on one call of ``campaign`` (plus the gate's disclosures), at
    the lead's cadence ``step``."""
    return ScriptConfig(
        agent_name=campaign.persona.agent_name, business=campaign.persona.business,
        questions=[Question(q.slot, q.text) for q in campaign.questions],
        disclosures=([campaign.disclosure] if campaign.disclosure else []) + list(disclosures),
        lead_first_name=first_name, booking_slots=campaign.booking.offers,
        book_threshold=campaign.booking.book_threshold,
        weights=campaign.scoring or dict(DEFAULT_WEIGHTS),
        callback_number=campaign.persona.callback_number,
        leave_voicemail=step_voicemail(campaign, step) == "message",
        scheduler=scheduler,
        min_confidence=min_confidence,
        recorded=recorded,
        transfer=transfer,
        inbound=inbound or InboundLines(),
    )


def brain_factory(campaign: Campaign, gate: CampaignGate, *,
                  llm: LLMParts | None = None,
                  scheduler_for: Callable[[Lead], Any] | None = None,
                  min_confidence: float = 0.0) -> Callable[[Lead, str], Brain]:
    """Builds each call's brain, with the disclosures the gate returned.

    Without ``llm`` it is the scripted brain; with it, the scripted flow worded by the LLM.
    """

    prompts = load_prompts(campaign, llm.prompt) if llm is not None else {}
    extractor = llm.extractor(campaign) if llm is not None else None

    def build(lead: Lead, answered_by: str) -> Brain:
        decision = gate.decisions.get(lead.id)
        scheduler = scheduler_for(lead) if scheduler_for is not None and answered_by != "machine" else None
        scripted = ScriptedBrain(script_config(campaign, lead.first_name, decision.disclosures if decision else (),
                                               step=lead.cadence_step or 0, scheduler=scheduler,
                                               min_confidence=min_confidence,
                                               recorded=decision.may_record if decision else False,
                                               transfer=transfer_plan(campaign, gate.clock())
                                               if campaign.transfer.to else None,
                                               inbound=InboundLines(campaign.inbound.greeting,
                                                                    campaign.inbound.opted_out)),
                                 answered_by=answered_by)
        if llm is None:
            return scripted
        variant = assign(campaign.prompt_variants, campaign.name, lead.id)
        prompt = prompts.get(variant or "", llm.prompt)
        # a variant with a prompt file of its own words every agent's lines with it
        agent_prompts = llm.agent_prompts if prompt is llm.prompt else {}
        return LLMBrain(scripted, llm.chat, prompt, llm.cache, extractor, agent_prompts, campaign.llm)

    return build


def caller_pool(campaign: Campaign, campaign_id: int) -> CallerIdPool | None:
    """The campaign's caller-ID pool (None: every call comes from ``caller_id``, uncapped)."""
    ids = campaign.caller_ids
    if not ids.active():
        return None
    return CallerIdPool(campaign_id, [campaign.caller_id, *ids.pool],
                        Caps(ids.per_hour, ids.per_day, ids.min_spacing_s),
                        RestRule(ids.rest_below, ids.rest_after_calls, ids.rest_hours) if ids.rest_below > 0 else None,
                        campaign=campaign.name)


def variant_for(campaign: Campaign) -> Callable[[Lead], str | None]:
    """Each lead's A/B prompt variant (stored on its calls); None without variants."""
    return lambda lead: assign(campaign.prompt_variants, campaign.name, lead.id)


def uses_calendar(campaign: Campaign) -> bool:
    """Whether calls offer the calendar's real free slots (weekly hours set, no fixed offers)."""
    return bool(campaign.booking.hours) and not campaign.booking.offers


def stt_workers() -> int:
    """Recogniser processes: one per core, at most two (the event loop needs a core too)."""
    return max(1, min(2, os.cpu_count() or 1))
