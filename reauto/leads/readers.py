"""Read lead files record by record, keeping the line each record starts on.

CSV: any usual delimiter (sniffed from the header), a UTF-8 BOM, quoted fields with embedded
delimiters and newlines, UTF-16 (Excel's "Unicode text"). Lines that are not UTF-8 are decoded as
cp1252 (or latin-1 for the five bytes cp1252 leaves undefined) and the record carries a warning
naming the bytes, instead of the whole load failing. JSONL: one object per line; a line that is
not a JSON object becomes an error record with its line number.

Both readers stream the file: memory stays flat however many rows it has.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from reauto.errors import UsageError
from reauto.leads.values import MAX_DEPTH, json_depth

#: Delimiters tried when sniffing the header line, most common first.
DELIMITERS = ",;\t|"
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_UTF16 = (b"\xff\xfe", b"\xfe\xff")


@dataclass(slots=True)
class RawRecord:
    """One record of a lead file, before mapping.

    Attributes:
        line: 1-based physical line the record starts on.
        values: column/key → value (strings for CSV; any JSON value for JSONL).
        warnings: problems that did not stop the record (e.g. bytes that were not UTF-8).
        error: why the record cannot be used at all (bad JSON, too many fields), else None.
    """

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True)
class Progress:
    """Bytes of the file consumed so far, for a progress bar."""

    total_bytes: int
    done_bytes: int = 0


def detect_format(path: Path) -> str:
    """``jsonl`` for ``.jsonl``/``.ndjson`` files, else ``csv``."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def read_records(path: Path, progress: Progress | None = None) -> Iterator[RawRecord]:
    """Records of a CSV or JSONL lead file, chosen by extension.

    Raises:
        UsageError: the file cannot be opened, or a CSV file has no header line.
    """
    reader = read_jsonl if detect_format(path) == "jsonl" else read_csv
    return reader(path, progress)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot open: {exc.strerror}") from None


def decode_line(raw: bytes) -> tuple[str, str | None]:
    """Decode one physical line: UTF-8, else cp1252, else latin-1.

    Returns:
        The text and, when the line was not UTF-8, a warning naming the offending bytes.
    """
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end]
    try:
        text, codec = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, codec = raw.decode("latin-1"), "latin-1"
    return text, f"bytes {bad!r} are not UTF-8; line decoded as {codec}"


class LineSource:
    """Yields decoded lines and counts them, so warnings are filed under the right line."""

    def __init__(self, fh: BinaryIO, progress: Progress | None) -> None:
        self.fh = fh
        self.progress = progress
        self.line = 0
        self.warnings: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        head = self.fh.read(4)
        if head.startswith(_BOM_UTF16):
            # UTF-16 cannot be split on b"\n"; such files (Excel exports) are small.
            text = (head + self.fh.read()).decode("utf-16", errors="replace")
            for piece in _split_lines(text):
                self.line += 1
                yield piece
            self._finish()
            return
        pending = head.removeprefix(_BOM_UTF8)
        if self.progress is not None:
            self.progress.done_bytes = len(head)
        for chunk in self.fh:
            if self.progress is not None:
                self.progress.done_bytes += len(chunk)
            data, pending = pending + chunk, b""
            if data.endswith(b"\n"):
                yield from self._emit(data)
            else:
                pending = data  # only the file's last line lacks its newline
        if pending:
            yield from self._emit(pending)
        self._finish()

    def _emit(self, data: bytes) -> Iterator[str]:
        # ``data`` is one physical line, or a few when the 4 sniffed bytes held short ones.
        for piece in _split_lines(data):
            self.line += 1
            text, warning = decode_line(piece)
            if warning is not None:
                self.warnings[self.line] = warning
            yield text

    def _finish(self) -> None:
        if self.progress is not None:
            self.progress.done_bytes = self.progress.total_bytes

    def warnings_between(self, first: int, last: int) -> list[str]:
        """Warnings of physical lines ``first``..``last`` (a record spans several when quoted)."""
        if not self.warnings:
            return []
        return [f"line {n}: {self.warnings.pop(n)}" for n in range(first, last + 1) if n in self.warnings]


def _split_lines(data: Any) -> list[Any]:
    """Split after each ``\\n`` only: a stray ``\\r`` inside a value is not a new line."""
    sep = b"\n" if isinstance(data, bytes) else "\n"
    parts = data.split(sep)
    out = [p + sep for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns (``,`` when none does)."""
    counts = {d: len(_cells(header, d) or [""]) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] > 1 else ","


def _cells(line: str, delimiter: str) -> list[str] | None:
    """One line split as CSV; None when it is not CSV (a stray carriage return, say)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return None


def parse_header(path: Path, line: str) -> tuple[str, list[str]]:
    """The delimiter and unique column names of a header line.

    Raises:
        UsageError: the line is not a CSV header (binary data, a stray carriage return).
    """
    if "\x00" in line:
        raise UsageError(f"{path}: the first line holds NUL bytes: not a CSV text file "
                         "(a UTF-16 file needs its byte order mark)")
    delimiter = sniff_delimiter(line)
    cells = _cells(line, delimiter)
    if cells is None:
        raise UsageError(f"{path}: the first line is not a CSV header (a carriage return inside a name?)")
    return delimiter, unique_names(cells)


def read_csv(path: Path, progress: Progress | None = None) -> Iterator[RawRecord]:
    """Records of a CSV file with a header line, each with the line it starts on.

    Raises:
        UsageError: the file cannot be opened or has no header.
    """
    with _open(path) as fh:
        source = LineSource(fh, progress)
        lines = iter(source)
        header_line = next((ln for ln in lines if ln.strip()), None)
        if header_line is None:
            raise UsageError(f"{path}: empty file (a CSV needs a header line)")
        delimiter, header = parse_header(path, header_line)
        pending_warnings = source.warnings_between(1, source.line)
        reader = csv.reader(lines, delimiter=delimiter)
        start = source.line + 1
        while True:
            try:
                row: list[str] | None = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row, error = None, f"unreadable CSV: {exc}"
            else:
                error = None
            end = source.line
            record = RawRecord(line=start, warnings=pending_warnings + source.warnings_between(start, end))
            pending_warnings = []
            span, start = (record.line, end), end + 1
            if row is not None and not any(cell.strip() for cell in row):
                continue  # a blank line
            record.error = error or _row_error(row or [], header, span)
            if record.error is None:
                record.values = {name: (row[i] if i < len(row) else "") for i, name in enumerate(header)}
            yield record


#: A quoted value running over more lines than this is an unbalanced quote, not an address.
MAX_RECORD_LINES = 20


def _row_error(row: list[str], header: list[str], span: tuple[int, int]) -> str | None:
    if span[1] - span[0] + 1 > MAX_RECORD_LINES:
        return (
            f"unbalanced quote: the record runs from line {span[0]} to line {span[1]}; "
            "the lines in between were not loaded"
        )
    if len(row) > len(header):
        return (
            f"{len(row)} fields but the header has {len(header)} "
            "(an unquoted delimiter inside a value?)"
        )
    return None


def unique_names(header: list[str]) -> list[str]:
    """Header names stripped, blanks named ``column N``, repeats suffixed `` (2)``, `` (3)`` …"""
    out: list[str] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(header, start=1):
        name = raw.strip() or f"column {index}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def read_jsonl(path: Path, progress: Progress | None = None) -> Iterator[RawRecord]:
    """Records of a JSON Lines file: one object per line, blank lines skipped.

    Raises:
        UsageError: the file cannot be opened.
    """
    with _open(path) as fh:
        source = LineSource(fh, progress)
        for text in source:
            number = source.line
            warnings = source.warnings_between(number, number)
            if not text.strip():
                continue
            record = RawRecord(line=number, warnings=warnings)
            try:
                value = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                record.error = f"invalid JSON: {exc.msg} (column {exc.colno})"
            except RecursionError:
                record.error = f"invalid JSON: nested deeper than {MAX_DEPTH} levels"
            except ValueError as exc:  # an integer of thousands of digits
                record.error = f"invalid JSON: {exc}"[:200]
            else:
                if not isinstance(value, dict):
                    record.error = f"expected a JSON object, got {type(value).__name__}"
                elif json_depth(value) > MAX_DEPTH:
                    record.error = f"invalid JSON: nested deeper than {MAX_DEPTH} levels"
                else:
                    record.values = {str(k): v for k, v in value.items()}
            yield record


#: Signature shared by the readers, for callers that pick one at run time.
Reader = Callable[[Path, Progress | None], Iterator[RawRecord]]


def csv_header(path: Path) -> list[str]:
    """The header names of a CSV file as :func:`read_csv` reports them (``[]`` when empty).

    Raises:
        UsageError: the file cannot be opened.
    """
    with _open(path) as fh:
        header_line = next((ln for ln in LineSource(fh, None) if ln.strip()), None)
    if header_line is None:
        return []
    return parse_header(path, header_line)[1]
