"""Leads posted in real time, validated exactly like ``reauto leads load`` and stored at the head
of their campaign's dial queue.

Each record is a JSON object with a lead file's columns (the same aliases and normaliser:
``phone``, ``first_name``, ``email``, ``state``, ``external_id``, consent columns …). A batch stores
its good records and reports every bad one with its index, field and reason; a record whose
number or external id the campaign already has is acknowledged and left as it is (idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.leads.build import META_KEY, ConsentPolicy, LeadDraft, build_lead
from reauto.leads.loader import LoadReport, campaign_countries, is_duplicate, write_batch
from reauto.leads.mapping import ColumnMapping
from reauto.leads.values import clean_text, kind_of
from reauto.store.models import Campaign, Lead
from reauto.store.repositories import FRESH_PRIORITY
from reauto.store.types import utcnow

#: Where an intake lead sits in the dial queue (imported leads have 0; higher is dialed first).
INTAKE_PRIORITY = FRESH_PRIORITY


class UnknownCampaign(LookupError):
    """The campaign named in the request does not exist."""


@dataclass
class IntakeResult:
    """What happened to each record of a batch (indexes count from 0)."""

    campaign_id: int
    created: list[dict[str, Any]] = field(default_factory=list)
    already_present: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "already_present": self.already_present, "rejected": self.rejected,
                "warnings": self.warnings}


async def campaign_id_of(engine: AsyncEngine, name: str) -> int:
    """The id of the campaign called ``name``; raises :class:`UnknownCampaign`."""
    if not name or len(name) > 120 or clean_text(name)[1]:  # no stored name is like it: not worth a query
        raise UnknownCampaign(f"no campaign named {clean_text(name[:120])[0]!r}")
    async with engine.connect() as conn:
        found = await conn.scalar(select(Campaign.id).where(Campaign.name == name))
    if found is None:
        raise UnknownCampaign(f"no campaign named {name!r}")
    return int(found)


async def accept_leads(engine: AsyncEngine, campaign: str, records: Sequence[Any], *, region: str = "US",
                       policy: ConsentPolicy = ConsentPolicy(),  # noqa: B008 - frozen, shared safely
                       priority: int = INTAKE_PRIORITY, source: str = "intake",
                       mapping: ColumnMapping | None = None) -> IntakeResult:
    """Validate and store ``records`` in ``campaign``; returns each record's fate.

    ``mapping``: how the records' keys map onto lead fields (default: the lead file aliases).
    """
    result = IntakeResult(campaign_id=await campaign_id_of(engine, campaign))
    report = LoadReport(file=source, campaign=campaign, campaign_id=result.campaign_id)
    countries = await campaign_countries(engine, result.campaign_id, region)
    mapping = mapping or ColumnMapping()
    received = utcnow()
    drafts: list[LeadDraft] = []
    first_line: dict[str, int] = {}
    first_external: dict[str, int] = {}
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            result.rejected.append({"index": index, "field": "lead", "value": shown(record),
                                    "reason": "expected a JSON object"})
            continue
        draft, issues = build_lead(mapping.apply({str(k): v for k, v in record.items()}), file=source, line=index,
                                   region=region, policy=policy, countries=countries)
        for issue in issues:
            entry = {"index": index, "field": issue.field, "value": issue.value, "reason": issue.reason}
            (result.warnings if issue.kind == "warning" else result.rejected).append(entry)
        if draft is None:
            continue
        if is_duplicate(draft, first_line, first_external, report, source):
            dup = report.issues[-1]
            result.rejected.append({"index": index, "field": dup.field, "value": dup.value,
                                    "reason": dup.reason.replace("line", "record")})
            continue
        draft.row["source"] = draft.row.get("source") or source
        draft.row["custom"][META_KEY]["intake_at"] = received.isoformat()
        drafts.append(draft)
    inserted = await write_batch(engine, report, drafts, priority=priority) if drafts else set()
    refused = {i.line: i for i in report.of_kind("rejected")}  # leads the database would not take
    for line, issue in refused.items():
        result.rejected.append({"index": line, "field": issue.field, "value": issue.value, "reason": issue.reason})
    drafts = [d for d in drafts if d.line not in refused]
    ids = await _lead_ids(engine, result.campaign_id, drafts)
    for draft in drafts:
        lead_id = ids.get(draft.phone) or (ids.get(f"ext:{draft.external_id}") if draft.external_id else None)
        entry = {"index": draft.line, "lead_id": lead_id, "phone": draft.phone}
        (result.created if draft.phone in inserted else result.already_present).append(entry)
    result.rejected.sort(key=lambda r: r["index"])
    return result


def shown(value: Any) -> str:
    """A record that is not an object, as the answer shows it: short and free of control characters."""
    if isinstance(value, str):
        return clean_text(value)[0][:80]
    return kind_of(value)


async def _lead_ids(engine: AsyncEngine, campaign_id: int, drafts: Sequence[LeadDraft]) -> dict[str, int]:
    """Stored lead ids by number, and by ``ext:<external id>`` (a known id may carry a new number)."""
    if not drafts:
        return {}
    phones = [d.phone for d in drafts]
    externals = [d.external_id for d in drafts if d.external_id]
    async with engine.connect() as conn:
        rows = await conn.execute(select(Lead.phone_e164, Lead.external_id, Lead.id).where(
            Lead.campaign_id == campaign_id, Lead.phone_e164.in_(phones) | Lead.external_id.in_(externals)))
        ids: dict[str, int] = {}
        for phone, external, lead_id in rows:
            ids[phone] = int(lead_id)
            if external:
                ids[f"ext:{external}"] = int(lead_id)
        return ids
