"""One export run: lock, pick what is new, send, record — so each call and text reaches each target once.

* **Lock**: two runs for one target never overlap (a PostgreSQL advisory lock held for the run;
  on SQLite a file lock beside the database). A second run stops at once with
  :class:`ExportLocked` (``reauto export`` says "skipped" and exits 0: cron tries again next time).
* **Ledger**: every delivered record is a row of ``export_items`` (target, key), so a record is
  never sent twice to a target, even after a crash between two records; each run takes the
  oldest records the target has not received (and stores the newest one's time as its watermark).
* **Idempotency**: a record's key (``reauto:<target>:call:<id>``) is the same on every attempt;
  targets pass it on (``Idempotency-Key``, notes carrying it) so a request retried after a lost
  answer creates nothing twice.
* **Failures**: a request is retried with backoff by the target's HTTP client. A record that
  still fails *transiently* (timeout, 429, 5xx, open breaker) stops the run — the target is
  down, so the rest waits for the next run instead of failing one by one — and counts an
  attempt (``dead_letters`` kind ``export_retry``); after ``PARK_AFTER`` such runs, or at once on
  a *permanent* failure (another 4xx, a record the target refuses), the record is parked in the
  dead-letter list (kind ``export``). Later runs skip parked records until ``reauto export dlq
  retry`` sends them again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reauto import metrics
from reauto.export.records import Item, pending, pending_events
from reauto.export.targets.base import ExportError, ExportTarget, TransientExportError
from reauto.store.models import DeadLetter, ExportItem, ExportRun
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

#: Runs a record may fail transiently before it is parked in the dead-letter list.
PARK_AFTER = 3


class ExportLocked(RuntimeError):
    """Another export to the same target is running."""


@dataclass
class ExportReport:
    target: str
    run_id: int | None = None
    dry_run: bool = False
    stopped: str | None = None  # the target became unavailable: the rest waits for the next run
    exported: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    would_export: list[dict[str, Any]] = field(default_factory=list)
    file: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "run_id": self.run_id, "dry_run": self.dry_run, "exported": len(self.exported),
                "failed": self.failed, "stopped": self.stopped, "file": self.file, "would_export": self.would_export}


def export_key(target: str, item_key: str) -> str:
    return f"reauto:{target}:{item_key}"


@contextlib.asynccontextmanager
async def export_lock(engine: AsyncEngine, target: str) -> AsyncIterator[None]:
    """Hold the target's export lock for the block; :class:`ExportLocked` if another run has it."""
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"reauto-export:{target}".encode()).digest()[:8], "big", signed=True)
        async with engine.connect() as conn:
            if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                raise ExportLocked(f"an export to {target} is already running")
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    database = engine.url.database
    base = Path(database) if database and database != ":memory:" else Path(tempfile.gettempdir()) / "reauto"
    path = base.with_name(f"{base.name}.export-{target}.lock")
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportLocked(f"an export to {target} is already running (lock {path})") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


async def _open_dead_letters(s: AsyncSession, target: str) -> set[str]:
    rows = await s.execute(select(DeadLetter.idempotency_key).where(
        DeadLetter.kind == "export", DeadLetter.target == target, DeadLetter.resolved_at.is_(None)))
    return {k for k in rows.scalars() if k}


async def run_export(engine: AsyncEngine, target: ExportTarget, *, campaign: str | None = None,
                     since: datetime | None = None, dry_run: bool = False, limit: int = 500,
                     keep_open: bool = False) -> ExportReport:
    """Send what ``target`` has not received yet (see the module's notes); returns what happened.

    ``keep_open``: the target outlives the run (its client, connections and breaker serve the next
    run too); its owner closes it. Otherwise the run closes it.
    """
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    report = ExportReport(target=target.name, dry_run=dry_run)
    async with export_lock(engine, target.name):
        async with sessions() as s:
            parked = await _open_dead_letters(s, target.name)
        # parked records are among the oldest: read past them
        source = pending_events if getattr(target, "records", "calls") == "events" else pending
        items = [i for i in await source(engine, target.name, campaign=campaign, since=since, limit=limit + len(parked))
                 if export_key(target.name, i.key) not in parked]
        if dry_run:
            report.would_export = [{"key": i.key, "kind": i.record["kind"], "campaign": i.record["campaign"],
                                    "summary": i.record["summary"]} for i in items]
            return report
        await _start_run(sessions, report)
        await _deliver(sessions, target, items, report, keep_open=keep_open)
    return report


async def _deliver(sessions: async_sessionmaker[AsyncSession], target: ExportTarget, items: list[Item],
                   report: ExportReport, *, keep_open: bool = False) -> None:
    held: list[tuple[Item, str]] = []  # sent to a target that stores them only at finish (files)
    newest: datetime | None = None
    status = "failed"
    try:
        await target.start()
        for item in items:
            key = export_key(target.name, item.key)
            try:
                remote = await target.send(item.record, key)
            except TransientExportError as exc:
                report.failed.append({"key": item.key, "error": str(exc)})
                parked = await _count_attempt(sessions, target.name, key, item.record, str(exc))
                metrics.EXPORTS.labels(target=target.name, result="dead_letter" if parked else "retry").inc()
                report.stopped = f"{target.name} is unavailable; the rest waits for the next run"
                break
            except ExportError as exc:
                report.failed.append({"key": item.key, "error": str(exc)})
                await _dead_letter(sessions, target.name, key, item.record, str(exc))
                metrics.EXPORTS.labels(target=target.name, result="dead_letter").inc()
                continue
            if target.durable_on_send:
                await _mark(sessions, target.name, [(item, remote)], report.run_id)
                report.exported.append(item.key)
                metrics.EXPORTS.labels(target=target.name, result="exported").inc()
            else:
                held.append((item, remote))
            at = datetime.fromisoformat(item.record["at"]) if item.record.get("at") else None
            newest = max(newest, at) if newest and at else (at or newest)
        await target.finish()
        if held:
            await _mark(sessions, target.name, held, report.run_id)
            report.exported += [item.key for item, _ in held]
            metrics.EXPORTS.labels(target=target.name, result="exported").inc(len(held))
        report.file = str(target.output_file) if target.output_file else None
        status = "ok" if not report.failed else "partial"
    except BaseException:
        await target.abort()
        raise
    finally:
        if not keep_open:
            await target.close()
        await _end_run(sessions, report, status, newest if status != "failed" else None)


async def _start_run(sessions: async_sessionmaker[AsyncSession], report: ExportReport) -> None:
    async with sessions.begin() as s:
        run = ExportRun(target=report.target, status="running")
        s.add(run)
        await s.flush()
        report.run_id = run.id


async def _end_run(sessions: async_sessionmaker[AsyncSession], report: ExportReport, status: str,
                   watermark: datetime | None = None) -> None:
    async with sessions.begin() as s:
        run = await s.get(ExportRun, report.run_id)
        if run is not None:
            run.finished_at, run.status, run.watermark = utcnow(), status, watermark
            run.exported, run.failed = len(report.exported), len(report.failed)


async def _mark(sessions: async_sessionmaker[AsyncSession], target: str, done: list[tuple[Item, str]],
                run_id: int | None) -> None:
    async with sessions.begin() as s:
        for item, remote in done:
            s.add(ExportItem(target=target, item_key=item.key, remote_id=str(remote)[:120], run_id=run_id))
        keys = [export_key(target, item.key) for item, _ in done]
        await s.execute(update(DeadLetter).where(  # earlier transient failures of these are over
            DeadLetter.kind == "export_retry", DeadLetter.target == target, DeadLetter.idempotency_key.in_(keys),
            DeadLetter.resolved_at.is_(None)).values(resolved_at=utcnow()))


async def _dead_letter(sessions: async_sessionmaker[AsyncSession], target: str, key: str,
                       record: Mapping[str, Any], error: str) -> None:
    async with sessions.begin() as s:
        s.add(DeadLetter(kind="export", target=target, idempotency_key=key, payload=dict(record), error=error[:4000],
                         attempts=1, last_attempt_at=utcnow()))


async def _count_attempt(sessions: async_sessionmaker[AsyncSession], target: str, key: str,
                         record: Mapping[str, Any], error: str) -> bool:
    """One more transient failure of ``key``; parks it (True) after :data:`PARK_AFTER` of them."""
    async with sessions.begin() as s:
        row = (await s.execute(select(DeadLetter).where(
            DeadLetter.kind == "export_retry", DeadLetter.target == target, DeadLetter.idempotency_key == key,
            DeadLetter.resolved_at.is_(None)).with_for_update())).scalar_one_or_none()
        if row is None:
            row = DeadLetter(kind="export_retry", target=target, idempotency_key=key, payload=dict(record),
                             error="", attempts=0)
            s.add(row)
        row.attempts, row.error, row.last_attempt_at = row.attempts + 1, error[:4000], utcnow()
        if row.attempts >= PARK_AFTER:
            row.kind = "export"  # parked: later runs skip it until `reauto export dlq retry`
            return True
        return False


async def dead_letters(engine: AsyncEngine, *, target: str | None = None, include_resolved: bool = False,
                       ) -> list[dict[str, Any]]:
    """Export dead letters, newest first."""
    query = select(DeadLetter).where(DeadLetter.kind == "export").order_by(DeadLetter.id.desc())
    if target is not None:
        query = query.where(DeadLetter.target == target)
    if not include_resolved:
        query = query.where(DeadLetter.resolved_at.is_(None))
    async with async_sessionmaker(engine)() as s:
        return [{"id": d.id, "target": d.target, "key": d.idempotency_key, "error": d.error, "attempts": d.attempts,
                 "created_at": d.created_at.isoformat(), "resolved_at": d.resolved_at.isoformat()
                 if d.resolved_at else None} for d in (await s.execute(query)).scalars()]


async def retry_dead_letters(engine: AsyncEngine, target: ExportTarget, *, ids: list[int] | None = None,
                             ) -> ExportReport:
    """Send the target's open dead letters again (or those ``ids``); each success is resolved."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    report = ExportReport(target=target.name)
    async with export_lock(engine, target.name):
        async with sessions() as s:
            query = select(DeadLetter).where(DeadLetter.kind == "export", DeadLetter.target == target.name,
                                             DeadLetter.resolved_at.is_(None)).order_by(DeadLetter.id)
            if ids:
                query = query.where(DeadLetter.id.in_(ids))
            letters = list((await s.execute(query)).scalars())
        await _start_run(sessions, report)
        status = "failed"
        try:
            await target.start()
            done: list[tuple[DeadLetter, str]] = []
            for letter in letters:
                try:
                    remote = await target.send(letter.payload, letter.idempotency_key or "")
                except ExportError as exc:
                    report.failed.append({"key": letter.payload.get("key", ""), "error": str(exc)})
                    async with sessions.begin() as s:
                        row = await s.get(DeadLetter, letter.id)
                        assert row is not None
                        row.attempts, row.last_attempt_at, row.error = row.attempts + 1, utcnow(), str(exc)[:4000]
                    continue
                done.append((letter, remote))
            await target.finish()
            async with sessions.begin() as s:
                for letter, remote in done:
                    s.add(ExportItem(target=target.name, item_key=letter.payload.get("key", f"dead:{letter.id}"),
                                     remote_id=str(remote)[:120], run_id=report.run_id))
                    row = await s.get(DeadLetter, letter.id)
                    assert row is not None
                    row.resolved_at, row.attempts, row.last_attempt_at = utcnow(), row.attempts + 1, utcnow()
            report.exported = [letter.payload.get("key", "") for letter, _ in done]
            report.file = str(target.output_file) if target.output_file else None
            status = "ok" if not report.failed else "partial"
        except BaseException:
            await target.abort()
            raise
        finally:
            await target.close()
            await _end_run(sessions, report, status)
    return report
