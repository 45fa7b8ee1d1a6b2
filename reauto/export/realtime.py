"""Real-time export: a campaign's ``export_targets`` receive each call as soon as it ends.

The dialer signals every call end; one background task per dialer runs an export to each API
target of the campaign (``followupboss``, ``hubspot``, ``salesforce``, ``webhook``) — calls never
wait for a CRM. Several ends close together make one run. The run is the same as ``reauto
export``'s (ledger, idempotency keys, dead letters), so the cron export and the real-time push
never send a record twice; when cron holds the lock the push leaves the records to it. File
targets (``csv``, ``jsonl``) are batch outputs: export them with ``reauto export``. The ``events``
target is also pushed during calls, so that ``call.queued`` and ``call.answered`` reach their
receivers as they happen, not at the call's end: at once when this process stores them (a commit
that stored events wakes the task, :func:`reauto.events.subscribe`), and every ``events_every_s``
for those other processes store (a ``reauto serve`` taking texts beside the dialer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from reauto import events
from reauto.export.runner import ExportLocked, run_export
from reauto.export.targets import REGISTRY, create_target

if TYPE_CHECKING:
    from reauto.export.targets.base import ExportTarget

log = logging.getLogger(__name__)


class RealtimeExport:
    """Pushes ``campaign``'s finished calls (and texts) to its API targets in the background."""

    def __init__(self, engine: AsyncEngine, cfg: Any, campaign: str, targets: list[str],
                 events_every_s: float = 2.0) -> None:
        self.engine, self.cfg, self.campaign = engine, cfg, campaign
        self.events_every_s = events_every_s
        # file targets are batch outputs, durable only once a run finishes: `reauto export` writes them
        self.targets = [t for t in targets if REGISTRY.load(t).durable_on_send]
        self.runs = 0
        self._live: dict[str, ExportTarget] = {}  # one per target for the dialer's life: its breaker remembers
        self._wake = asyncio.Event()
        self._ended = False  # a call ended since the last push: every target, not only events
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def __bool__(self) -> bool:
        return bool(self.targets)

    def start(self) -> None:
        if self.targets and self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"export-{self.campaign}")
            if "events" in self.targets:
                loop = asyncio.get_running_loop()
                self._unsubscribe = events.subscribe(lambda: loop.call_soon_threadsafe(self._wake.set))

    def call_ended(self, _call_id: int | None = None) -> None:
        self._ended = True
        self._wake.set()

    async def _loop(self) -> None:
        has_events = "events" in self.targets
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.events_every_s if has_events else None)
            except TimeoutError:
                await self.push(only="events")  # events other processes stored
                continue
            self._wake.clear()
            ended, self._ended = self._ended, False
            await self.push(None if ended or not has_events else "events")  # woken by stored events only

    async def push(self, only: str | None = None) -> None:
        """One export run to each target, or to ``only`` (errors are logged: the records wait for the next run)."""
        self.runs += 1
        for name in self.targets if only is None else [only]:
            try:
                target = self._live.get(name)
                if target is None:
                    target = self._live[name] = create_target(name, self.cfg)
                report = await run_export(self.engine, target, campaign=self.campaign,
                                          limit=self.cfg.export.batch_size, keep_open=True)
            except ExportLocked:
                continue  # a cron export is running: it sends these records
            except Exception as exc:  # noqa: BLE001 - the dialer goes on; cron or the next call retries
                log.warning("real-time export to %s failed: %s: %s", name, type(exc).__name__, exc)
                continue
            if report.failed:
                log.warning("real-time export to %s: %d records to the dead-letter list", name, len(report.failed))

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop, after a last push of what ended since the previous one, and close the targets' clients."""
        try:
            if self._task is not None:
                await self._stop(timeout_s)
        finally:
            live, self._live = list(self._live.values()), {}
            for target in live:
                await target.close()

    async def _stop(self, timeout_s: float) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        try:
            await asyncio.wait_for(self.push(), timeout_s)
        except TimeoutError:
            log.warning("real-time export: the last push took over %.0f s; `reauto export` sends the rest", timeout_s)
