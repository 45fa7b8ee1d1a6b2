"""Read-only views of the leads: a list, one lead in full, and counts for a campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.errors import UsageError
from reauto.store.models import Campaign, ConsentRecord, DncEntry, Lead, LeadStatus, Touch


@dataclass(frozen=True, slots=True)
class LeadSummary:
    """One line of ``reauto leads list``."""

    id: int
    campaign: str
    name: str
    phone: str
    state: str | None
    timezone: str | None
    status: str
    dnc: bool
    consent: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class LeadDetail:
    """Everything stored about one lead: its row, consent records, DNC entries and texts."""

    lead: dict[str, Any]
    campaign: str
    consents: list[dict[str, Any]]
    dnc_entries: list[dict[str, Any]]
    touches: list[dict[str, Any]] = field(default_factory=list)


async def campaign_id(engine: AsyncEngine, name: str) -> int:
    """Id of an existing campaign.

    Raises:
        UsageError: no campaign has that name.
    """
    async with engine.connect() as conn:
        found = await conn.scalar(select(Campaign.id).where(Campaign.name == name))
    if found is None:
        raise UsageError(f"no campaign named {name!r} (leads load creates it)")
    return int(found)


def _status(value: str | None) -> LeadStatus | None:
    if value is None:
        return None
    try:
        return LeadStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in LeadStatus)
        raise UsageError(f"unknown status {value!r} (known: {known})") from None


async def list_leads(
    engine: AsyncEngine,
    *,
    campaign: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[LeadSummary]:
    """Leads, newest first, optionally of one campaign and one status.

    Raises:
        UsageError: unknown campaign or status, or a limit below 1.
    """
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    wanted = _status(status)
    stmt = select(Lead, Campaign.name).join(Campaign, Campaign.id == Lead.campaign_id)
    if campaign is not None:
        stmt = stmt.where(Lead.campaign_id == await campaign_id(engine, campaign))
    if wanted is not None:
        stmt = stmt.where(Lead.status == wanted)
    stmt = stmt.order_by(Lead.id.desc()).limit(limit).offset(offset)
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [_summary(row) for row in rows]


def _summary(row: Any) -> LeadSummary:
    name = " ".join(p for p in (row.first_name, row.last_name) if p)
    return LeadSummary(
        id=row.id, campaign=row.name, name=name, phone=row.phone_e164, state=row.state,
        timezone=row.timezone or ("/".join(row.tz_candidates) if row.tz_candidates else None),
        status=LeadStatus(row.status).value, dnc=row.dnc, consent=row.has_written_consent,
        attempts=row.attempts,
    )


async def show_lead(engine: AsyncEngine, ref: str, *, region: str = "US") -> list[LeadDetail]:
    """The lead with id ``ref``, or every lead (one per campaign) with phone number ``ref``.

    Raises:
        UsageError: ``ref`` is neither an id nor a valid number, or nothing matches.
    """
    from reauto.leads.normalize import InvalidPhone, parse_phone  # phonenumbers: only `leads show` needs it

    text = ref.strip()
    if text.isdigit() and len(text) < 10:
        where = Lead.id == int(text)
    else:
        try:
            where = Lead.phone_e164 == parse_phone(text, region).e164
        except InvalidPhone as exc:
            raise UsageError(f"{ref!r} is neither a lead id nor a phone number ({exc.reason})") from None
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Lead.__table__, Campaign.name.label("campaign_name"))
                .join(Campaign, Campaign.id == Lead.campaign_id)
                .where(where)
                .order_by(Lead.id)
            )
        ).mappings().all()
        if not rows:
            raise UsageError(f"no lead matches {ref!r}")
        details = []
        for row in rows:
            lead = {k: v for k, v in row.items() if k != "campaign_name"}
            consents = (
                await conn.execute(
                    select(ConsentRecord.__table__)
                    .where(ConsentRecord.lead_id == lead["id"])
                    .order_by(ConsentRecord.id)
                )
            ).mappings().all()
            dnc = (
                await conn.execute(
                    select(DncEntry.__table__)
                    .where(DncEntry.phone_e164 == lead["phone_e164"])
                    .order_by(DncEntry.id)
                )
            ).mappings().all()
            touches = (
                await conn.execute(
                    select(Touch.__table__).where(Touch.lead_id == lead["id"]).order_by(Touch.id)
                )
            ).mappings().all()
            details.append(
                LeadDetail(
                    lead=lead,
                    campaign=row["campaign_name"],
                    consents=[dict(c) for c in consents],
                    dnc_entries=[dict(d) for d in dnc],
                    touches=[dict(t) for t in touches],
                )
            )
    return details


async def lead_stats(engine: AsyncEngine, *, campaign: str | None = None) -> dict[str, Any]:
    """Counts of leads by status, state, time zone, written consent and DNC flag.

    Raises:
        UsageError: unknown campaign.
    """
    cid = await campaign_id(engine, campaign) if campaign is not None else None

    def grouped(column: Any) -> Select[Any]:
        stmt = select(column, func.count()).group_by(column).order_by(func.count().desc(), column)
        return stmt.where(Lead.campaign_id == cid) if cid is not None else stmt

    async with engine.connect() as conn:
        total_stmt = select(func.count()).select_from(Lead)
        if cid is not None:
            total_stmt = total_stmt.where(Lead.campaign_id == cid)
        total = int(await conn.scalar(total_stmt) or 0)
        by: dict[str, dict[str, int]] = {}
        for name, column in (
            ("status", Lead.status),
            ("state", Lead.state),
            ("timezone", Lead.timezone),
            ("written_consent", Lead.has_written_consent),
            ("dnc", Lead.dnc),
        ):
            rows = (await conn.execute(grouped(column))).all()
            by[name] = {_label(value): int(count) for value, count in rows}
    return {"campaign": campaign, "total": total, **by}


def _label(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, LeadStatus):
        return value.value
    return str(value)
