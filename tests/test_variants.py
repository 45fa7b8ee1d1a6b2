"""A/B prompt variants: stable per lead, split by weight, stored on calls, compared by `calls stats`."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reauto.agent.llm import LLMBrain, LLMParts
from reauto.agent.prompts import PromptTemplate, load_agent_prompts
from reauto.agent.variants import assign, draw, load_prompts
from reauto.analytics.groups import group_stats
from reauto.analytics.report import CallRow
from reauto.campaign import Campaign, Variant
from reauto.cli.context import AppState
from reauto.cli.main import app
from pydantic import ValidationError

from reauto.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def campaign(variants: list[dict], name: str = "ab") -> Campaign:
    return Campaign.model_validate({"name": name, "caller_id": "+15125550100", "persona": {"business": "B"},
                                    "questions": [{"slot": "intent", "text": "Buying or selling?"}],
                                    "prompt_variants": variants})


@pytest.mark.unit
def test_a_lead_keeps_its_variant_and_leads_split_by_weight():
    variants = [Variant(name="a", weight=1), Variant(name="b", weight=3)]
    first = [assign(variants, "c", lead) for lead in range(8000)]
    assert first == [assign(variants, "c", lead) for lead in range(8000)]  # every call, every process
    share = Counter(first)["b"] / len(first)
    assert 0.73 < share < 0.77  # 3 of 4
    other = [assign(variants, "another campaign", lead) for lead in range(8000)]
    assert sum(x != y for x, y in zip(first, other, strict=True)) > 2000  # campaigns draw independently
    assert assign([], "c", 1) is None and assign([Variant(name="only")], "c", 1) == "only"
    assert 0 <= min(draw(str(i)) for i in range(1000)) and max(draw(str(i)) for i in range(1000)) < 1


@pytest.mark.unit
def test_each_variant_speaks_with_its_own_prompt(tmp_path):
    default = PromptTemplate.load(ROOT / "prompts" / "agent.txt")
    c = campaign([{"name": "warm", "weight": 1}, {"name": "direct", "prompt": "agent-direct.txt"}])
    prompts = load_prompts(c, default)
    assert prompts["warm"] is default and prompts["direct"].path.name == "agent-direct.txt"
    assert prompts["direct"].digest != default.digest  # its replies are cached apart
    missing = campaign([{"name": "x", "prompt": "nowhere.txt"}])
    with pytest.raises(ConfigError, match="prompt_variants x: prompt file .*nowhere.txt not found"):
        load_prompts(missing, default)
    with pytest.raises(ValidationError, match="prompt"):
        Campaign.model_validate({**c.model_dump(exclude={"source"}), "prompt_variants": [{"name": "y",
                                                                                         "prompt": "../etc.txt"}]})


@pytest.mark.unit
def test_the_brain_of_a_lead_uses_its_variants_prompt():
    from reauto.dialer.assembly import brain_factory, variant_for
    from reauto.llm.ollama import OllamaChat
    from reauto.config import LlmSettings

    c = campaign([{"name": "warm"}, {"name": "direct", "prompt": "agent-direct.txt"}])

    class Gate:
        decisions: dict = {}

    @dataclass
    class Lead:
        id: int
        first_name: str = "Jane"
        cadence_step: int = 0

    default = PromptTemplate.load(ROOT / "prompts" / "agent.txt")
    extract = PromptTemplate.load(ROOT / "prompts" / "extract.txt")
    agents = load_agent_prompts(ROOT / "prompts")
    build = brain_factory(c, Gate(), llm=LLMParts(OllamaChat(LlmSettings()), default, None, extract, agents))
    of = variant_for(c)
    seen = {}
    for lead_id in range(20):
        brain = build(Lead(lead_id), "human")  # type: ignore[arg-type]
        assert isinstance(brain, LLMBrain)
        seen[of(Lead(lead_id))] = brain.prompt.path.name  # type: ignore[arg-type]
        # the agents' own prompts go with agent.txt; a variant's own file words every agent's lines
        assert set(brain.agent_prompts) == (set(agents) if brain.prompt is default else set())
        assert brain.extractor is not None and set(brain.extractor.specs) == {q.slot for q in c.questions}
    assert seen == {"warm": "agent.txt", "direct": "agent-direct.txt"}


def row(i: int, variant: str, outcome: str | None, status: str = "completed", score: float | None = 0.5,
        cost: str = "0.02") -> CallRow:
    from datetime import UTC, datetime

    return CallRow(id=i, lead_id=i, created_at=datetime(2026, 11, 20 + i % 3, tzinfo=UTC), status=status,
                   outcome=outcome, variant=variant, cost=Decimal(cost), abandoned=False, score=score)


@pytest.mark.unit
def test_groups_count_answered_bookings_scores_and_test_variants_against_the_biggest():
    rows = ([row(i, "warm", "booked") for i in range(30)] + [row(30 + i, "warm", "callback") for i in range(70)]
            + [row(100 + i, "direct", "booked") for i in range(10)]
            + [row(110 + i, "direct", "voicemail", status="voicemail", score=None) for i in range(40)])
    warm, direct = group_stats(rows, "variant")
    assert (warm.group, warm.calls, warm.answered, warm.bookings, warm.booking_rate) == ("warm", 100, 100, 30, 0.3)
    assert warm.versus is None and direct.versus == "warm"
    assert (direct.calls, direct.answered, direct.bookings, direct.booking_rate) == (50, 10, 10, 1.0)
    assert direct.p_value is not None and direct.p_value < 0.001 and direct.mean_score == 0.5
    assert warm.cost_per_call == Decimal("0.02")
    by_outcome = {g.group: g.calls for g in group_stats(rows, "outcome")}
    assert by_outcome == {"booked": 40, "callback": 70, "voicemail": 40}
    assert sum(g.calls for g in group_stats(rows, "day")) == 150


@dataclass
class Busy:
    allowed: bool = True
    reason: str = ""
    next_allowed_at: None = None
    may_record: bool = False
    disclosures: tuple = ()


@pytest.mark.integration
async def test_calls_store_their_leads_variant_and_calls_stats_compares_them(pg_engine, pg_settings):
    from reauto.dialer.engine import Dialer, DialerConfig
    from reauto.dialer.assembly import variant_for
    from reauto.sim.lead import LeadScript
    from reauto.store.engine import session_factory
    from reauto.store.models import Call, Campaign as CampaignRow, Lead
    from reauto.telephony.sim import SimTelephony
    from sqlalchemy import select

    c = campaign([{"name": "warm", "weight": 1}, {"name": "direct", "weight": 1}], name="ab-stored")
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        row_ = CampaignRow(name=c.name)
        s.add(row_)
        await s.flush()
        s.add_all([Lead(campaign_id=row_.id, phone_e164=f"+151255501{i:02d}", state="TX", has_written_consent=True)
                   for i in range(12)])

    async def gate(_lead, _now):
        return Busy()

    dialer = Dialer(sessions, SimTelephony(default=LeadScript(name="B", answers={"_unanswered": "busy"})),
                    stt=None, tts=None, brain_factory=None, gate=gate,  # type: ignore[arg-type]
                    config=DialerConfig(campaign_id=row_.id, caller_id=c.caller_id, poll_s=0.05, recover_every_s=3600,
                                        campaign_name=c.name, concurrency=6),
                    variant_for=variant_for(c))
    await asyncio.wait_for(dialer.run(), 30)
    async with sessions() as s:
        calls = (await s.execute(select(Call).where(Call.campaign_id == row_.id))).scalars().all()
        leads = {lead.id: lead for lead in (await s.execute(select(Lead).where(Lead.campaign_id == row_.id))).scalars()}
    assert len(calls) == 12
    assert all(call.prompt_variant == assign(c.prompt_variants, c.name, call.lead_id) for call in calls)
    assert {call.prompt_variant for call in calls} == {"warm", "direct"} and len(leads) == 12

    result = await asyncio.to_thread(CliRunner().invoke, app, ["calls", "stats", "--campaign", c.name, "--json"],
                                     obj=AppState(_settings=pg_settings))
    assert result.exit_code == 0, result.output
    groups = {g["group"]: g for g in json.loads(result.stdout)}
    assert set(groups) == {"warm", "direct"} and sum(g["calls"] for g in groups.values()) == 12
    assert all(g["answered"] == 0 and g["booking_rate"] is None for g in groups.values())  # all busy
    outcomes = await asyncio.to_thread(CliRunner().invoke, app, ["calls", "stats", "--campaign", c.name, "--by",
                                                                  "outcome", "--json"], obj=AppState(_settings=pg_settings))
    assert [(g["group"], g["calls"]) for g in json.loads(outcomes.stdout)] == [("no_answer", 12)]
    table = await asyncio.to_thread(CliRunner().invoke, app, ["calls", "stats", "--campaign", c.name],
                                    obj=AppState(_settings=pg_settings))
    assert table.exit_code == 0 and "calls by variant" in table.stdout and "direct" in table.stdout
    bad = await asyncio.to_thread(CliRunner().invoke, app, ["calls", "stats", "--campaign", c.name, "--by", "lead"],
                                  obj=AppState(_settings=pg_settings))
    assert bad.exit_code != 0 and "choose variant, outcome or day" in str(bad.exception)
