"""``reauto campaign``: validate and show campaign files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reauto.campaign import load_campaign, validate_campaign
from reauto.cli.output import JsonOpt, console, emit, err_console

app = typer.Typer(
    help="Validate and show campaign YAML files.\n\nExample: reauto campaign validate campaigns/*.yaml",
    no_args_is_help=True,
)


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Campaign files.")], as_json: JsonOpt = False) -> None:
    """Check campaign files; print every problem as file:line:column and exit 2 if any.

    Example: reauto campaign validate campaigns/demo.yaml
    """
    problems = [p for f in files for p in validate_campaign(f)[1]]
    data = {"ok": not problems, "files": [str(f) for f in files], "problems": problems}

    def render(d: dict) -> None:
        for p in d["problems"]:
            err_console.print(str(p), highlight=False, markup=False)  # patterns have [brackets]
        if d["ok"]:
            console.print(f"{len(d['files'])} campaign file(s) OK")

    emit(data, as_json, render)
    if problems:
        raise typer.Exit(2)


@app.command()
def show(file: Annotated[Path, typer.Argument(help="Campaign file.")], as_json: JsonOpt = False) -> None:
    """Show a campaign with every default filled in.

    Example: reauto campaign show campaigns/demo.yaml --json
    """
    campaign = load_campaign(file)
    emit(campaign.model_dump(mode="json"), as_json,
         lambda d: console.print_json(data=d))
