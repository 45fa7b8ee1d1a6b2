"""Command groups whose feature has not landed yet: each says so clearly and exits 2."""

from __future__ import annotations

import typer

from reauto.cli.output import fail


def pending_group(name: str, summary: str, example: str, feature: str) -> typer.Typer:
    """A group that explains it is not available yet instead of pretending to work."""
    group = typer.Typer(help=f"{summary}\n\nExample: {example}", invoke_without_command=True)

    @group.callback()
    def _unavailable(ctx: typer.Context) -> None:
        if ctx.resilient_parsing:
            return
        raise fail(f"`reauto {name}` is not available yet: it arrives with {feature}.", code=2)

    return group
