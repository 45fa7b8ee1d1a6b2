"""Per-invocation state: the settings, resolved once from ``--config`` and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from reauto.config import Settings, load_settings


@dataclass
class AppState:
    """What the root callback learned; commands ask it for settings."""

    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


def state(ctx: typer.Context) -> AppState:
    """The :class:`AppState` of this invocation (created if a command runs standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    """Resolved settings for this invocation."""
    return state(ctx).settings()
