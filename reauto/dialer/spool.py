"""Call records that wait on disk while the database is down, and are stored when it returns.

A call that is talking when PostgreSQL goes away must not lose what it learned. The dialer's
recorder (:class:`SpoolingRecorder`) writes through to the store as usual; when a write fails
because the store cannot be reached, that write and every later one of the process go, in
order, to an append-only JSON-lines file in ``[resilience] spool_dir`` (one line per write,
flushed and fsynced before the call moves on). A background task replays the file into the
store as soon as it answers again, oldest first, then deletes it. A dialer that starts finds
the spool files of dialers that died and replays them too; a file lock makes sure only one
process replays a file.

Replaying is safe to repeat: a replayed call end is skipped when the call already has its
``ended`` event (the process may die between storing a line and noting it as done), and how
many lines are done is kept next to the file. A line the store refuses for good (not an outage)
is moved to ``<file>.failed`` with the reason, never dropped.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reauto import metrics
from reauto.costs.meter import LedgerLine
from reauto.dialer.records import CallRecorder, RetryPolicy, TurnRow
from reauto.store.engine import store_unavailable
from reauto.store.models import CallEvent, CallStatus
from reauto.store.types import utcnow
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import TurnLatency

log = logging.getLogger(__name__)

__all__ = ["SpoolFile", "SpoolingRecorder", "decode", "encode", "store_unavailable"]

#: Recorder writes that can wait for the store (opening a call cannot: no call without its row).
SPOOLED_OPS = ("event", "answered", "journal", "finish")


@dataclass
class _Timings:
    """A stored call's per-turn latency, as :meth:`CallRecorder.finish` reads it."""

    turns: list[TurnLatency]

    def completed(self) -> list[TurnLatency]:
        return self.turns


def encode(op: str, call_id: int, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """One spool line: the recorder method, the call and its arguments as JSON values."""
    args: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "status":
            value = CallStatus(value).value
        elif key == "turns":
            value = [asdict(t) for t in value]
        elif key == "rows":
            value = [row.as_json() for row in value]
        elif key == "latency":
            value = None if value is None else [asdict(t) for t in value.completed()]
        elif key == "retry":
            value = {f.name: _seconds(getattr(value, f.name)) for f in fields(RetryPolicy)}
        elif key == "costs":
            value = [{k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(line).items()} for line in value]
        elif key in ("now", "at"):
            value = None if value is None else value.isoformat()
        args[key] = value
    return {"op": op, "call_id": call_id, "args": args}


def decode(line: Mapping[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """The recorder method, call id and keyword arguments of a spool line."""
    args = dict(line["args"])
    if "status" in args:
        args["status"] = CallStatus(args["status"])
    if "turns" in args:
        args["turns"] = [TurnRecord(**t) for t in args["turns"]]
    if "rows" in args:
        args["rows"] = [TurnRow.from_json(r) for r in args["rows"]]
    if args.get("latency") is not None:
        args["latency"] = _Timings([TurnLatency(**t) for t in args["latency"]])
    if "retry" in args:
        raw = args["retry"]
        args["retry"] = RetryPolicy(
            max_attempts=raw["max_attempts"], no_answer=timedelta(seconds=raw["no_answer"]),
            busy=timedelta(seconds=raw["busy"]), voicemail=timedelta(seconds=raw["voicemail"]),
            callback=timedelta(seconds=raw["callback"]), cadence=tuple(timedelta(seconds=s) for s in raw["cadence"]),
            **({"dropped": timedelta(seconds=raw["dropped"])} if "dropped" in raw else {}))
    if "costs" in args:
        args["costs"] = [LedgerLine(**{k: Decimal(v) if k in ("quantity", "unit_price", "amount") else v
                                       for k, v in c.items()}) for c in args["costs"]]
    for key in ("now", "at"):
        if args.get(key) is not None:
            args[key] = datetime.fromisoformat(args[key])
    return str(line["op"]), int(line["call_id"]), args


def _seconds(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [_seconds(v) for v in value]
    return value


class SpoolFile:
    """One process's spool: an append-only JSON-lines file and a count of lines already stored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done_path = path.with_name(path.name + ".done")
        self.failed_path = path.with_name(path.name + ".failed")

    def append(self, line: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(line, separators=(",", ":"), default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def lines(self) -> list[dict[str, Any]]:
        """The lines not yet stored (a torn last line, from a crash mid-write, is ignored)."""
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                log.error("%s: ignoring a torn line (the process died while writing it)", self.path)
        return out[self.done():]

    def done(self) -> int:
        try:
            return int(self.done_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def mark_done(self, count: int) -> None:
        tmp = self.done_path.with_name(self.done_path.name + ".tmp")
        tmp.write_text(str(count))
        os.replace(tmp, self.done_path)

    def fail(self, line: dict[str, Any], reason: str) -> None:
        with self.failed_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**line, "error": reason}, default=str) + "\n")

    def remove(self) -> None:
        for path in (self.path, self.done_path):
            path.unlink(missing_ok=True)


class SpoolingRecorder(CallRecorder):
    """A :class:`CallRecorder` whose call events and call ends wait in a spool while the store is down.

    Args:
        sessions: the store.
        directory: ``[resilience] spool_dir``.
        worker: this dialer's name (the spool file is named after it and the process id).
        retry_s: the first wait between replay attempts (doubles up to 30 s).
        clock: the store's clock; every write is stamped when it happens, not when it is stored.
    """

    def __init__(self, sessions: Any, directory: Path, worker: str, *, retry_s: float = 1.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(sessions, clock)
        self.directory = Path(directory)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in worker)
        self.spool = SpoolFile(self.directory / f"{safe}-{os.getpid()}.jsonl")
        self.retry_s = retry_s
        self.spooled = 0  # writes that waited in the spool (this process)
        self.replayed = 0  # spooled writes stored later
        self._pending = 0
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Writes of this process waiting for the store."""
        return self._pending

    async def event(self, call_id: int, type_: str, payload: Mapping[str, Any] | None = None, *,
                    at: datetime | None = None) -> None:
        await self._write("event", call_id, {"type_": type_, "payload": dict(payload or {}), "at": at or self.clock()})

    async def answered(self, call_id: int, sid: str, answered_by: str, *, at: datetime | None = None) -> None:
        await self._write("answered", call_id, {"sid": sid, "answered_by": answered_by, "at": at or self.clock()})

    async def journal(self, call_id: int, **kwargs: Any) -> None:
        await self._write("journal", call_id, kwargs)

    async def finish(self, call_id: int, **kwargs: Any) -> None:
        if kwargs.get("now") is None:
            kwargs["now"] = self.clock()  # the call ended now, whenever it is stored
        await self._write("finish", call_id, kwargs)

    async def _write(self, op: str, call_id: int, kwargs: dict[str, Any]) -> None:
        if not self._pending:
            try:
                await getattr(CallRecorder, op)(self, call_id, **kwargs)
                return
            except Exception as exc:
                if not store_unavailable(exc):
                    raise
                log.warning("the store is unreachable (%s: %s): call %s's records wait in %s",
                            type(exc).__name__, exc, call_id, self.spool.path)
        self.spool.append(encode(op, call_id, kwargs))  # later writes queue behind the first: order kept
        self._pending += 1
        self.spooled += 1
        metrics.RECORDS_SPOOLED.inc()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_until_empty(), name="spool-flush")

    async def _flush_until_empty(self) -> None:
        wait = self.retry_s
        while True:
            await asyncio.sleep(wait)
            if await self.replay(self.spool):
                self._pending = 0
                log.info("the store is back: every spooled call record is stored")
                return
            wait = min(wait * 2, 30.0)

    async def replay_orphans(self) -> int:
        """Replay the spool files other (dead) dialers left; the number of lines stored."""
        if not self.directory.is_dir():
            return 0
        before = self.replayed
        for path in sorted(self.directory.glob("*.jsonl")):
            if path != self.spool.path:
                await self.replay(SpoolFile(path))
        return self.replayed - before

    async def replay(self, spool: SpoolFile) -> bool:
        """Store ``spool``'s lines in order; True when all are stored (the file is removed)."""
        async with self._lock:
            try:
                handle = spool.path.open("a")
            except OSError:
                return True  # nothing to replay
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False  # another process is replaying it (its owner, alive)
                done = spool.done()
                for line in spool.lines():
                    try:
                        await self._apply(line)
                    except Exception as exc:
                        if store_unavailable(exc):
                            return False
                        log.error("%s: a spooled %s of call %s was refused: %s", spool.path, line.get("op"),
                                  line.get("call_id"), exc)
                        spool.fail(line, f"{type(exc).__name__}: {exc}")
                    done += 1
                    self.replayed += 1
                    spool.mark_done(done)
                    metrics.RECORDS_SPOOLED.dec()
                spool.remove()
                return True

    async def _apply(self, line: Mapping[str, Any]) -> None:
        op, call_id, kwargs = decode(line)
        if op not in SPOOLED_OPS:
            raise ValueError(f"unknown spooled operation {op!r}")
        if op == "finish":
            async with self.sessions() as s:
                ended = (await s.execute(select(CallEvent.id).where(
                    CallEvent.call_id == call_id, CallEvent.type == "ended").limit(1))).first()
            if ended is not None:
                return  # stored before the process could note it
        await getattr(CallRecorder, op)(self, call_id, **kwargs)
