"""Per-invocation state: the settings, resolved once from ``--config`` and the environment."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reauto.logfilter import install as install_redaction

if TYPE_CHECKING:  # loaded with the settings: `reauto --version` and `reauto version` need neither
    from reauto.config import Settings


@dataclass
class AppState:
    """What the root callback learned; commands ask it for settings."""

    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from reauto.config import SettingsDeprecationWarning, load_settings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SettingsDeprecationWarning)
                self._settings = load_settings(self.config_path)
            _print_warnings(caught)
            if LOGGING["console"]:
                configure_logging(self._settings.log_level)
        return self._settings


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Loading's warnings (a deprecated setting's name) as every command's ``warning:`` lines on stderr."""
    from rich.markup import escape

    from reauto.cli.output import err_console

    for w in caught:
        err_console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False)


#: Set by the console script: its process logs to stderr (tests and embedding programs keep theirs).
LOGGING = {"console": False}


def configure_logging(level: str) -> None:
    """reauto's log lines on stderr at ``log_level`` (an embedding program's own handlers win).

    Every handler of the root logger gets the redacting filter (:mod:`reauto.logfilter`): no
    phone number or SQL parameter reaches a log line, whichever library wrote it.
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        install_redaction(handler)
    logging.getLogger("reauto").setLevel(level)


def state(ctx: typer.Context) -> AppState:
    """The :class:`AppState` of this invocation (created if a command runs standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def settings(ctx: typer.Context) -> Settings:
    """Resolved settings for this invocation."""
    return state(ctx).settings()
