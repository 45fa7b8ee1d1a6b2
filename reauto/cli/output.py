"""Shared output options and printing, so every command speaks the same way."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, JustifyMethod
from rich.table import Table

#: ``--json``: print machine-readable JSON on stdout instead of tables.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON when asked, else with the command's own renderer."""
    if as_json:
        print_json(data)
    else:
        render(data)


def fitted(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int,
           optional: Sequence[str] = ()) -> list[int]:
    """The indices of ``columns`` to show so that a table of ``rows`` fits ``width`` characters:
    the ``optional`` ones are left out, in that order, until every kept column shows its longest
    cell whole (a phone number cut to "+151…" is no use). A table that still does not fit keeps
    its columns and wraps its cells."""
    natural = [max([len(col), *(len(row[i]) for row in rows)]) for i, col in enumerate(columns)]
    kept = list(range(len(columns)))
    for name in optional:
        if sum(natural[i] + 3 for i in kept) + 1 <= width:  # a space each side, rules between and around
            break
        kept = [i for i in kept if columns[i] != name]
    return kept


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
          optional: Sequence[str] = (), justify: Mapping[str, JustifyMethod] | None = None) -> None:
    """Print a rich table that fits the terminal: the ``optional`` columns are left out, in that
    order, while the table would be wider (the caption names them; ``--json`` has everything).
    ``justify``: a column's alignment (default left)."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    kept = fitted(columns, cells, console.width, optional)
    left_out = [c for i, c in enumerate(columns) if i not in kept]
    caption = f"not shown at {console.width} columns: {', '.join(left_out)} (--json has them)" if left_out else None
    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for i in kept:
        t.add_column(columns[i], justify=(justify or {}).get(columns[i], "left"))
    for row in cells:
        t.add_row(*(row[i] for i in kept))
    console.print(t)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
