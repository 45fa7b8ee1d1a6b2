"""Recording retention: the audio of calls older than the kept days is deleted, once, on the record.

A purged call keeps everything but its audio: ``recording_path`` becomes null and
``recording_purged_at`` says when, with a ``recording_purged`` event naming the file. A file already
gone is counted as such. Calls are taken in batches by id, so a run over tens of thousands of
recordings holds no lock for long, and a second run finds nothing to do (``reauto calls
purge-recordings``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.store.models import Call, CallEvent, Campaign

log = logging.getLogger(__name__)

#: Calls handled per transaction.
BATCH = 500


@dataclass
class PurgeReport:
    """What a purge did (or, with ``dry_run``, would do)."""

    keep_days: int
    before: datetime
    dry_run: bool
    purged: int = 0  # recordings deleted (or due, on a dry run)
    already_gone: int = 0  # their file was missing: only the record was updated
    bytes_freed: int = 0
    calls: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"keep_days": self.keep_days, "before": self.before.isoformat(), "dry_run": self.dry_run,
                "purged": self.purged, "already_gone": self.already_gone, "bytes_freed": self.bytes_freed,
                "calls": self.calls}


async def purge_recordings(sessions: async_sessionmaker[AsyncSession], *, keep_days: int, now: datetime,
                           campaign: str | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete the audio of every call (of ``campaign``) that ended more than ``keep_days`` ago."""
    before = now - timedelta(days=keep_days)
    report = PurgeReport(keep_days, before, dry_run)
    after_id = 0
    while True:
        async with sessions.begin() as s:
            query = (select(Call.id, Call.recording_path).where(
                Call.id > after_id, Call.recording_path.is_not(None), Call.recording_purged_at.is_(None),
                Call.created_at < before).order_by(Call.id).limit(BATCH))
            if campaign is not None:
                query = query.join(Campaign, Campaign.id == Call.campaign_id).where(Campaign.name == campaign)
            rows = list((await s.execute(query)).all())
            if not rows:
                return report
            after_id = rows[-1][0]
            gone: list[int] = []
            for call_id, path in rows:
                size = _size(path)
                report.calls.append(call_id)
                report.purged += 1
                report.bytes_freed += size or 0
                if size is None:
                    report.already_gone += 1
                if dry_run:
                    continue
                if size is not None:
                    Path(path).unlink(missing_ok=True)
                gone.append(call_id)
                s.add(CallEvent(call_id=call_id, type="recording_purged", ts=now,
                                payload={"file": path, "keep_days": keep_days, "found": size is not None}))
            if gone:
                await s.execute(update(Call).where(Call.id.in_(gone))
                                .values(recording_path=None, recording_purged_at=now))
            log.info("recordings: %d purged so far (%d already gone)", report.purged, report.already_gone)


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None
