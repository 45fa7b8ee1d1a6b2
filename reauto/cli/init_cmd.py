"""``reauto init``: a starter project that works from any directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from reauto.cli.output import JsonOpt, console, emit
from reauto.errors import UsageError

#: The starter's files, in the package (``reauto/starter/``): settings, the offline demo campaign,
#: the prompt templates and a small lead file.
STARTER = "starter"


def starter_files() -> dict[str, bytes]:
    """The starter project: relative path → content."""
    root = resources.files("reauto") / STARTER
    out: dict[str, bytes] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, f"{name}/")
            elif not child.name.startswith((".", "__")):
                out[name] = child.read_bytes()

    walk(root, "")
    return dict(sorted(out.items()))


def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the project (created if missing).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that are already there.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a starter project: reauto.toml, campaigns/demo.yaml, prompts/ and a sample leads.csv.

    The demo campaign runs offline on the embedded defaults (simulated leads, pocketsphinx, Piper,
    SQLite in the project directory). Existing files are left alone unless --force.

    Example: reauto init my-desk && cd my-desk && reauto db upgrade && reauto dial campaigns/demo.yaml --at 2026-11-24T15:00:00-06:00
    """
    files = starter_files()
    clashes = [name for name in files if (directory / name).exists()]
    if clashes and not force:
        raise UsageError(f"{directory}: {', '.join(clashes)} already there (use --force to overwrite)")
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    emit({"directory": str(directory), "written": list(files)}, as_json, lambda d: console.print(
        f"wrote {len(d['written'])} files to {d['directory']}; next:\n"
        f"  cd {d['directory']}\n  reauto db upgrade\n"
        "  reauto dial campaigns/demo.yaml --at 2026-11-24T15:00:00-06:00", highlight=False))
