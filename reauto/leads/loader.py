"""Load a lead file into a campaign: batched, transactional, idempotent.

Each batch (default 1000 good rows) is one transaction: leads are inserted with ``INSERT …
ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite alike), then their consent records.
A failure inside a batch rolls the whole batch back; batches before it stay committed, and a
rerun skips what landed (same number or same external id in the campaign → "already present").
When the database refuses a value of one lead, that batch is written again lead by lead, so the
one lead is rejected (with the database's reason) and the others land.
Numbers on an active do-not-call entry are inserted flagged (``dnc`` true, status ``dnc``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reauto.errors import UsageError
from reauto.leads.bulk import insert_ignore
from reauto.leads.build import ConsentPolicy, Issue, LeadDraft, build_lead
from reauto.leads.mapping import ColumnMapping
from reauto.leads.normalize import regions_of
from reauto.leads.readers import Progress, csv_header, detect_format, read_records
from reauto.store.models import Campaign, ConsentRecord, DncEntry, Lead, LeadStatus
from reauto.store.types import utcnow

DEFAULT_BATCH_SIZE = 1000


@dataclass(slots=True)
class LoadReport:
    """What a load did.

    Attributes:
        file: the file loaded.
        campaign: campaign name; ``campaign_id`` its row id.
        rows: records read (blank lines not counted).
        inserted: new leads written.
        duplicates_in_file: records whose number (or external id) appeared earlier in the file.
        already_present: records whose number or external id the campaign already had.
        rejected: records not loaded because of an error.
        consent_records: consent records written with the new leads.
        dnc_flagged: new leads inserted flagged because their number is on a DNC list.
        batches: transactions committed.
        seconds: wall time of the load.
        issues: every rejected, duplicate and warning record, in file order.
    """

    file: str
    campaign: str
    campaign_id: int = 0
    rows: int = 0
    inserted: int = 0
    duplicates_in_file: int = 0
    already_present: int = 0
    rejected: int = 0
    consent_records: int = 0
    dnc_flagged: int = 0
    batches: int = 0
    seconds: float = 0.0
    issues: list[Issue] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Issue]:
        """Issues of one kind: ``rejected``, ``duplicate`` or ``warning``."""
        return [i for i in self.issues if i.kind == kind]

    def summary(self) -> dict[str, Any]:
        """The JSON summary: counts plus rejects, duplicates and warnings lists."""
        def rows(kind: str) -> list[dict[str, Any]]:
            return [
                {"file": i.file, "line": i.line, "field": i.field, "value": i.value, "reason": i.reason}
                for i in self.of_kind(kind)
            ]

        return {
            "file": self.file,
            "campaign": self.campaign,
            "rows": self.rows,
            "inserted": self.inserted,
            "duplicates_in_file": self.duplicates_in_file,
            "already_present": self.already_present,
            "rejected": self.rejected,
            "consent_records": self.consent_records,
            "dnc_flagged": self.dnc_flagged,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
            "rejects": rows("rejected"),
            "duplicates": rows("duplicate"),
            "warnings": rows("warning"),
        }


#: Called with the read progress and the report so far, every few hundred records.
ProgressHook = Callable[[Progress, LoadReport], None]


def dialect_insert(engine_or_conn: AsyncEngine | AsyncConnection, table: Any) -> Any:
    """An INSERT that understands ``on_conflict_do_nothing`` on this backend."""
    name = engine_or_conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def get_or_create_campaign(engine: AsyncEngine, name: str) -> int:
    """Id of the campaign called ``name``, creating its row when it is new.

    Raises:
        UsageError: the name is empty or longer than 120 characters.
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise UsageError("campaign name must be 1 to 120 characters")
    async with engine.begin() as conn:
        found = await conn.scalar(select(Campaign.id).where(Campaign.name == name))
        if found is not None:
            return int(found)
        now = utcnow()
        stmt = dialect_insert(conn, Campaign).values(
            name=name, config={}, active=True, created_at=now, updated_at=now
        )
        # Another loader may create it at the same moment: do nothing, then read it back.
        await conn.execute(stmt.on_conflict_do_nothing())
        return int(await conn.scalar(select(Campaign.id).where(Campaign.name == name)))


#: Key of a campaign's stored settings listing the countries whose numbers it may call.
COUNTRIES_KEY = "lead_countries"


async def campaign_countries(engine: AsyncEngine, campaign_id: int, region: str) -> frozenset[str]:
    """Regions whose numbers the campaign takes: its ``lead_countries`` when it names them, else
    ``region`` (``default_region``) with, for the US, its territories."""
    async with engine.connect() as conn:
        config = await conn.scalar(select(Campaign.config).where(Campaign.id == campaign_id))
    named = config.get(COUNTRIES_KEY) if isinstance(config, dict) else None
    return regions_of(named) if named else regions_of([region])


async def load_leads(
    engine: AsyncEngine,
    path: Path,
    campaign: str,
    *,
    mapping: ColumnMapping | None = None,
    region: str = "US",
    batch_size: int = DEFAULT_BATCH_SIZE,
    policy: ConsentPolicy = ConsentPolicy(),  # noqa: B008 - frozen, shared safely
    on_progress: ProgressHook | None = None,
) -> LoadReport:
    """Load a CSV or JSONL lead file into ``campaign`` (created if new).

    Args:
        engine: the database.
        path: the file (``.jsonl``/``.ndjson`` are JSON Lines, anything else CSV).
        campaign: campaign name.
        mapping: column choices; None uses the built-in aliases only.
        region: region assumed for numbers without a country code.
        batch_size: good rows per transaction.
        policy: what the consent column means (written, covers AI voice).
        on_progress: progress callback for a progress bar.

    Returns:
        Counts and every issue, with file and line.

    Raises:
        UsageError: the file cannot be read, or a mapped column is not in the CSV header.
    """
    if batch_size < 1:
        raise UsageError("batch size must be at least 1")
    mapping = mapping or ColumnMapping()
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if detect_format(path) == "csv":
        absent = mapping.missing(csv_header(path))
        if absent:
            raise UsageError(f"{path}: mapped column(s) not in the header: {', '.join(absent)}")
    started = time.perf_counter()
    report = LoadReport(file=str(path), campaign=campaign.strip())
    report.campaign_id = await get_or_create_campaign(engine, campaign)
    countries = await campaign_countries(engine, report.campaign_id, region)
    progress = Progress(total_bytes=path.stat().st_size)
    first_line: dict[str, int] = {}
    first_external: dict[str, int] = {}
    batch: list[LeadDraft] = []
    name = path.name
    for record in read_records(path, progress):
        report.rows += 1
        report.issues += [Issue(name, record.line, "encoding", "", w, "warning") for w in record.warnings]
        if record.error is not None:
            where = "json" if detect_format(path) == "jsonl" else "row"
            report.issues.append(Issue(name, record.line, where, "", record.error))
            report.rejected += 1
        else:
            draft, issues = build_lead(
                mapping.apply(record.values), file=name, line=record.line, region=region, policy=policy,
                countries=countries,
            )
            report.issues += issues
            if draft is None:
                report.rejected += 1
            elif is_duplicate(draft, first_line, first_external, report, name):
                report.duplicates_in_file += 1
            else:
                batch.append(draft)
        if len(batch) >= batch_size:
            await write_batch(engine, report, batch)
            batch = []
        if on_progress is not None and report.rows % 500 == 0:
            on_progress(progress, report)
    if batch:
        await write_batch(engine, report, batch)
    report.seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(progress, report)
    return report


def is_duplicate(
    draft: LeadDraft,
    first_line: dict[str, int],
    first_external: dict[str, int],
    report: LoadReport,
    name: str,
) -> bool:
    """Report a record whose number or external id already appeared in this file."""
    earlier = first_line.get(draft.phone)
    reason = f"duplicate of line {earlier}"
    if earlier is None and draft.external_id is not None:
        earlier = first_external.get(draft.external_id)
        reason = f"same external id as line {earlier}"
    if earlier is not None:
        value = draft.phone if reason.startswith("duplicate") else str(draft.external_id)
        field_name = "phone" if reason.startswith("duplicate") else "external_id"
        report.issues.append(Issue(name, draft.line, field_name, value, reason, "duplicate"))
        return True
    first_line[draft.phone] = draft.line
    if draft.external_id is not None:
        first_external[draft.external_id] = draft.line
    return False


async def write_batch(engine: AsyncEngine, report: LoadReport, batch: Sequence[LeadDraft], *,
                      priority: int = 0) -> set[str]:
    """Insert one batch of new leads and their consent records in one transaction.

    Leads already in the campaign (same number or external id) are left as they are. Returns the
    numbers inserted. ``priority``: place in the dial queue (higher first; intake leads jump it).
    A lead whose values the database refuses is rejected alone (an issue of kind ``rejected``,
    field ``lead``); an unreachable database still fails the call.
    """
    try:
        return await _write(engine, report, batch, priority)
    except (DBAPIError, StatementError, ValueError, TypeError) as exc:
        if not refused_by_row(exc):
            raise
        if len(batch) == 1:
            _refuse(report, batch[0], exc)
            return set()
    inserted: set[str] = set()
    for draft in batch:
        try:
            inserted |= await _write(engine, report, [draft], priority)
        except (DBAPIError, StatementError, ValueError, TypeError) as exc:
            if not refused_by_row(exc):
                raise
            _refuse(report, draft, exc)
    return inserted


def refused_by_row(exc: BaseException) -> bool:
    """Whether an insert failed because of the values of a row (not the database's state)."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        return False  # connection lost, server down, missing table: the load stops
    return True


def _refuse(report: LoadReport, draft: LeadDraft, exc: BaseException) -> None:
    """Report a lead the database refused, by the database's reason (never its parameters)."""
    orig = getattr(exc, "orig", None)
    diag = getattr(getattr(orig, "diag", None), "message_primary", None)
    cause = diag or type(orig or exc).__name__
    report.issues.append(Issue(Path(report.file).name, draft.line, "lead", "",
                               f"the database refused this lead: {cause}"))
    report.rejected += 1


async def _write(engine: AsyncEngine, report: LoadReport, batch: Sequence[LeadDraft], priority: int) -> set[str]:
    async with engine.begin() as conn:
        listed = await _listed(conn, [d.phone for d in batch])
        now = utcnow()
        rows = [_lead_row(d, report.campaign_id, d.phone in listed, now, priority) for d in batch]
        inserted = await insert_ignore(conn, Lead.__table__, rows, returning=("id", "phone_e164"))
        ids = {phone: lead_id for lead_id, phone in inserted}
        consents = [
            {**d.consent, "lead_id": ids[d.phone], "created_at": now}
            for d in batch
            if d.consent is not None and d.phone in ids
        ]
        await _insert_consents(conn, consents)
    report.batches += 1
    report.inserted += len(ids)
    report.already_present += len(batch) - len(ids)
    report.consent_records += len(consents)
    report.dnc_flagged += sum(1 for phone in ids if phone in listed)
    return set(ids)


async def _listed(conn: AsyncConnection, phones: list[str]) -> set[str]:
    """Which of ``phones`` are on an active DNC entry (national or internal)."""
    if conn.dialect.name == "postgresql":
        # One array parameter, not a thousand placeholders for the driver to parse per batch.
        match = DncEntry.phone_e164 == any_(bindparam("phones", phones, type_=ARRAY(String)))
    else:
        match = DncEntry.phone_e164.in_(phones)
    found = await conn.scalars(
        select(DncEntry.phone_e164).where(match, DncEntry.removed_at.is_(None))
    )
    return set(found)


async def _insert_consents(conn: AsyncConnection, consents: list[dict[str, Any]]) -> None:
    await insert_ignore(conn, ConsentRecord.__table__, consents)


def _lead_row(draft: LeadDraft, campaign_id: int, dnc: bool, now: Any, priority: int = 0) -> dict[str, Any]:
    # Every column is given explicitly: one shape for executemany, no per-row default calls.
    return {
        **draft.row,
        "campaign_id": campaign_id,
        "dnc": dnc,
        "status": LeadStatus.DNC.value if dnc else LeadStatus.NEW.value,
        "priority": priority,
        "attempts": 0,
        "last_attempt_at": None,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "created_at": now,
        "updated_at": now,
    }
