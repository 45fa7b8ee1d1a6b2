"""The do-not-call lists: the national registry copy and the internal list.

Entries are never deleted: removing a number from the internal list stamps ``removed_at`` and
the record stays (COMPLIANCE.md: records are kept 5 years). Adding or importing a number flags
every lead with that number (``dnc`` true, status ``dnc``); the dialer's queue skips flagged
leads. Leads in a live call keep their status (the call's own outcome is written when it ends)
but get the flag at once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reauto.errors import UsageError
from reauto.leads.build import Issue
from reauto.leads.bulk import insert_ignore
from reauto.leads.mapping import alias_field, key
from reauto.leads.normalize import InvalidPhone, parse_phone
from reauto.leads.readers import LineSource, Progress, sniff_delimiter
from reauto.store.models import DncEntry, DncSource, Lead, LeadStatus
from reauto.store.types import utcnow

DEFAULT_IMPORT_BATCH = 5000
#: Statuses of a lead in a live call: the flag is set, the status is left to the call.
_LIVE = (LeadStatus.DIALING.value, LeadStatus.IN_CALL.value)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class DncRecord:
    """One DNC entry as shown to the operator."""

    phone: str
    source: str
    reason: str | None
    added_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DncStatus:
    """Whether a number may be called, and the entries that say so.

    Attributes:
        phone: the number in E.164.
        callable: True when no active entry lists it.
        active: entries that list it now.
        removed: internal entries that listed it before (kept for the record).
    """

    phone: str
    callable: bool
    active: list[DncRecord]
    removed: list[DncRecord]


@dataclass(frozen=True, slots=True)
class DncChange:
    """What ``add`` or ``remove`` did."""

    phone: str
    source: str
    changed: bool
    leads: int


@dataclass(slots=True)
class DncImportReport:
    """What an import did.

    Attributes:
        added: numbers newly listed; ``already_listed`` were listed before (or twice in the file).
        rejected: lines without a usable number; ``issues`` says which and why.
        leads_flagged: leads flagged because of this import.
    """

    file: str
    source: str
    lines: int = 0
    added: int = 0
    already_listed: int = 0
    rejected: int = 0
    leads_flagged: int = 0
    batches: int = 0
    issues: list[Issue] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts and rejects."""
        return {
            "file": self.file, "source": self.source, "lines": self.lines, "added": self.added,
            "already_listed": self.already_listed, "rejected": self.rejected,
            "leads_flagged": self.leads_flagged, "batches": self.batches,
            "rejects": [
                {"file": i.file, "line": i.line, "field": i.field, "value": i.value, "reason": i.reason}
                for i in self.issues
            ],
        }


def normalize_number(phone: str, region: str = "US") -> str:
    """E.164 of a number given on the command line.

    Raises:
        UsageError: it is not a callable number.
    """
    try:
        return parse_phone(phone, region).e164
    except InvalidPhone as exc:
        raise UsageError(f"{phone!r} is not a valid phone number: {exc.reason}") from None


async def flag_leads(conn: AsyncConnection, phones: Sequence[str]) -> int:
    """Flag the leads with these numbers (``dnc`` true, status ``dnc`` unless in a call).

    Returns:
        How many leads were newly flagged.
    """
    if not phones:
        return 0
    result = await conn.execute(
        update(Lead)
        .where(Lead.phone_e164.in_(list(phones)), Lead.dnc.is_(False))
        .values(
            dnc=True,
            status=case((Lead.status.in_(_LIVE), Lead.status), else_=LeadStatus.DNC.value),
            updated_at=utcnow(),
        )
    )
    return int(result.rowcount or 0)


async def add_number(
    engine: AsyncEngine,
    phone: str,
    *,
    reason: str | None = None,
    source: DncSource = DncSource.INTERNAL,
    region: str = "US",
) -> DncChange:
    """List a number (or list it again after a removal) and flag its leads at once.

    Raises:
        UsageError: the number is not valid.
    """
    e164 = normalize_number(phone, region)
    now = utcnow()
    async with engine.begin() as conn:
        existing = (
            await conn.execute(
                select(DncEntry.id, DncEntry.removed_at).where(
                    DncEntry.phone_e164 == e164, DncEntry.source == source
                )
            )
        ).first()
        if existing is None:
            await insert_ignore(
                conn, DncEntry.__table__,
                [{"phone_e164": e164, "source": source.value, "reason": _reason(reason),
                  "added_at": now, "removed_at": None}],
            )
            changed = True
        else:
            changed = existing.removed_at is not None
            if changed:
                await conn.execute(
                    update(DncEntry)
                    .where(DncEntry.id == existing.id)
                    .values(removed_at=None, added_at=now, reason=_reason(reason))
                )
        flagged = await flag_leads(conn, [e164])
    return DncChange(e164, source.value, changed, flagged)


async def remove_number(engine: AsyncEngine, phone: str, *, region: str = "US") -> DncChange:
    """Take a number off the internal list; the record stays with ``removed_at`` set.

    Its leads are unflagged only when no other active entry (the national registry) lists it.

    Raises:
        UsageError: the number is invalid, only on the national registry, or not listed.
    """
    e164 = normalize_number(phone, region)
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(DncEntry.source, DncEntry.removed_at).where(DncEntry.phone_e164 == e164)
            )
        ).all()
        internal = [r for r in rows if r.source == DncSource.INTERNAL and r.removed_at is None]
        national = [r for r in rows if r.source == DncSource.NATIONAL and r.removed_at is None]
        if not internal:
            if national:
                raise UsageError(
                    f"{e164} is on the national registry, which only a registry import changes; "
                    "the internal list does not have it"
                )
            raise UsageError(f"{e164} is not on the internal do-not-call list")
        await conn.execute(
            update(DncEntry)
            .where(DncEntry.phone_e164 == e164, DncEntry.source == DncSource.INTERNAL)
            .values(removed_at=utcnow())
        )
        unflagged = 0
        if not national:
            result = await conn.execute(
                update(Lead)
                .where(Lead.phone_e164 == e164, Lead.dnc.is_(True))
                .values(
                    dnc=False,
                    status=case(
                        (Lead.status == LeadStatus.DNC.value, LeadStatus.NEW.value),
                        else_=Lead.status,
                    ),
                    updated_at=utcnow(),
                )
            )
            unflagged = int(result.rowcount or 0)
    return DncChange(e164, DncSource.INTERNAL.value, True, unflagged)


async def check_number(engine: AsyncEngine, phone: str, *, region: str = "US") -> DncStatus:
    """Whether a number may be called, with every entry about it.

    Raises:
        UsageError: the number is not valid.
    """
    e164 = normalize_number(phone, region)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(DncEntry).where(DncEntry.phone_e164 == e164).order_by(DncEntry.added_at)
            )
        ).all()
    records = [
        DncRecord(e164, DncSource(r.source).value, r.reason, r.added_at, r.removed_at) for r in rows
    ]
    active = [r for r in records if r.removed_at is None]
    removed = [r for r in records if r.removed_at is not None]
    return DncStatus(e164, not active, active, removed)


async def import_file(
    engine: AsyncEngine,
    path: Path,
    *,
    source: DncSource = DncSource.NATIONAL,
    reason: str | None = None,
    region: str = "US",
    batch_size: int = DEFAULT_IMPORT_BATCH,
    on_progress: Callable[[Progress, DncImportReport], None] | None = None,
) -> DncImportReport:
    """Import a registry file, streamed in batches (one transaction each).

    The file holds one number per line (10 digits, E.164, or the registry's ``AAA,NNNNNNN``) or
    is a CSV whose header names a phone column (or area-code and number columns).

    Raises:
        UsageError: the file cannot be opened, or its header has no phone column.
    """
    if batch_size < 1:
        raise UsageError("batch size must be at least 1")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    report = DncImportReport(file=str(path), source=source.value)
    progress = Progress(total_bytes=path.stat().st_size)
    batch: dict[str, int] = {}
    for line, raw in _numbers(path, progress):
        report.lines += 1
        try:
            e164 = parse_phone(raw, region).e164
        except InvalidPhone as exc:
            report.rejected += 1
            report.issues.append(Issue(path.name, line, "phone", raw[:200], exc.reason))
            continue
        if e164 in batch:
            report.already_listed += 1
            continue
        batch[e164] = line
        if len(batch) >= batch_size:
            await _import_batch(engine, report, list(batch), source, reason)
            batch = {}
            if on_progress is not None:
                on_progress(progress, report)
    if batch:
        await _import_batch(engine, report, list(batch), source, reason)
    if on_progress is not None:
        on_progress(progress, report)
    return report


async def _import_batch(
    engine: AsyncEngine, report: DncImportReport, phones: list[str], source: DncSource, reason: str | None
) -> None:
    now = utcnow()
    rows = [
        {"phone_e164": p, "source": source.value, "reason": _reason(reason), "added_at": now, "removed_at": None}
        for p in phones
    ]
    async with engine.begin() as conn:
        added = await insert_ignore(conn, DncEntry.__table__, rows, returning=("phone_e164",))
        # Numbers removed from this list earlier and present in the file are listed again.
        relisted = await conn.execute(
            update(DncEntry)
            .where(
                and_(
                    DncEntry.source == source,
                    DncEntry.removed_at.is_not(None),
                    DncEntry.phone_e164.in_(phones),
                )
            )
            .values(removed_at=None, added_at=now)
        )
        flagged = await flag_leads(conn, phones)
    fresh = len(added) + int(relisted.rowcount or 0)
    report.batches += 1
    report.added += fresh
    report.already_listed += len(phones) - fresh
    report.leads_flagged += flagged


def _reason(reason: str | None) -> str | None:
    return reason.strip()[:300] if reason and reason.strip() else None


def _numbers(path: Path, progress: Progress) -> Iterator[tuple[int, str]]:
    """(line, raw number) of every non-blank line, whatever the file's layout."""
    with path.open("rb") as fh:
        source = LineSource(fh, progress)
        lines = iter(source)
        for text in lines:
            if text.strip():
                break
        else:
            return
        first = text.strip()
        if not re.search(r"[A-Za-z]", first):
            yield source.line, _joined(first)
            for text in lines:
                if text.strip():
                    yield source.line, _joined(text.strip())
            return
        yield from _csv_numbers(path, source, lines, first)


def _joined(text: str) -> str:
    """The registry's ``AAA,NNNNNNN`` (area code, number) as one 10-digit string."""
    parts = [p.strip() for p in re.split(r"[,;\t|]", text)]
    if len(parts) == 2 and [len(p) for p in parts] == [3, 7] and all(p.isdigit() for p in parts):
        return parts[0] + parts[1]
    return text


def _csv_numbers(
    path: Path, source: LineSource, lines: Iterator[str], header_line: str
) -> Iterator[tuple[int, str]]:
    delimiter = sniff_delimiter(header_line)
    header = [key(h) for h in next(csv.reader([header_line], delimiter=delimiter))]
    area = next((i for i, h in enumerate(header) if h in ("areacode", "area", "npa")), None)
    phone = next(
        (i for i, h in enumerate(header) if alias_field(h) == "phone" or h in ("number", "dnc")),
        None,
    )
    if phone is None:
        raise UsageError(
            f"{path}:{source.line}: no phone column in the header (expected phone, number, …)"
        )
    for row in csv.reader(lines, delimiter=delimiter):
        if not any(cell.strip() for cell in row):
            continue
        value = row[phone].strip() if phone < len(row) else ""
        if area is not None and area < len(row) and len(_digits(value)) == 7:
            value = row[area].strip() + value
        yield source.line, value


def _digits(text: str) -> str:
    return "".join(_DIGITS.findall(text))
