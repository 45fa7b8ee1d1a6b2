"""File targets: ``csv`` and ``jsonl`` in ``[export] out_dir``, one file per run.

A run writes ``.reauto-<target>-<stamp>.<ext>.part`` and renames it to
``reauto-<target>-<stamp>.<ext>`` only when every record of the run is in it, in the same step
that marks the records exported: a run that dies leaves no file and marks nothing, so the next
run writes every record once. The columns and fields are the ``reauto.export/1`` schema
(:mod:`reauto.export.records`); CSV cells holding nested values (slots, appointment, text) are JSON.

CSV files are opened in spreadsheets, where a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is a formula (``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``): lead fields come
from outside, so such a text cell is written with a leading ``'`` and every cell is quoted, as
OWASP's "CSV Injection" page describes. A cell that is only a number (an E.164 phone, a negative
amount) is written as it is: a spreadsheet reads it as that number, and importers need it intact.
"""

from __future__ import annotations

import csv
import json
import os
import re
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from reauto.export.records import CSV_COLUMNS, flat
from reauto.export.targets.base import ExportTarget, PermanentExportError

if TYPE_CHECKING:
    from reauto.config import Settings


class _FileTarget(ExportTarget):
    extension: ClassVar[str]
    durable_on_send: ClassVar[bool] = False  # records count as exported when the file is in place

    def __init__(self, out_dir: Path | str) -> None:
        self.out_dir = Path(out_dir)
        self.output_file: Path | None = None  # the finished file of the run (None until finish)
        self._part: Path | None = None
        self._fh: IO[str] | None = None
        self.count = 0

    @classmethod
    def from_settings(cls, cfg: Settings) -> _FileTarget:
        return cls(cfg.export.out_dir)

    async def start(self) -> None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # the run cannot start: nothing is sent or parked
            raise PermanentExportError(f"[export] out_dir {self.out_dir}: {exc.strerror}") from None

    def _open(self) -> IO[str]:
        if self._fh is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            self.output_file = self.out_dir / f"reauto-{self.name}-{stamp}.{self.extension}"
            self._part = self.out_dir / f".{self.output_file.name}.part"
            self._fh = self._part.open("w", encoding="utf-8", newline="")
            self._header(self._fh)
        return self._fh

    def _header(self, fh: IO[str]) -> None:
        """Written once at the top of the file."""

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        self._write(self._open(), record)
        self.count += 1
        return f"{self.output_file.name if self.output_file else ''}#{self.count}"

    @abstractmethod
    def _write(self, fh: IO[str], record: Mapping[str, Any]) -> None:
        """Append one record to the open file."""

    async def finish(self) -> None:
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        assert self._part is not None and self.output_file is not None
        self._part.replace(self.output_file)

    async def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
        self.output_file = None

    async def close(self) -> None:
        await self.abort() if self._fh is not None else None


#: What a spreadsheet takes for the start of a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralised(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvTarget(_FileTarget):
    """One row per record, the columns of ``CSV_COLUMNS``; every cell quoted and neutralised."""

    name = "csv"
    extension = "csv"

    def _header(self, fh: IO[str]) -> None:
        self._writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore",
                                      quoting=csv.QUOTE_ALL)
        self._writer.writeheader()

    def _write(self, fh: IO[str], record: Mapping[str, Any]) -> None:
        self._writer.writerow({k: neutralised(v) for k, v in flat(dict(record)).items()})


class JsonlTarget(_FileTarget):
    """One JSON object per line: the whole record (with the transcript)."""

    name = "jsonl"
    extension = "jsonl"

    def _write(self, fh: IO[str], record: Mapping[str, Any]) -> None:
        fh.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
