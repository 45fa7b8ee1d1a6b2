"""The CLI's commands, each imported only when it runs.

Importing every command module costs about a second of CPU (SQLAlchemy, pydantic, the lead
parsers, pipecat for some), which ``reauto --version``, ``reauto --help`` and every command paid
before doing anything. The root group knows each command by name, module and one-line help
(:data:`COMMANDS`); ``reauto --help`` lists them from that table, and a command's module is
imported when the command is invoked or its own help is asked for. ``tests/test_cli_lazy.py``
checks the table against the commands' own help, so the listing stays true.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives: ``module.attribute`` is a Typer app (a group of subcommands) or a
    command function; ``summary`` is its help's first line, as ``reauto --help`` shows it."""

    module: str
    attribute: str
    summary: str


#: The commands in the order ``reauto --help`` lists them (after ``version``).
COMMANDS: dict[str, LazyCommand] = {
    "dial": LazyCommand("reauto.cli.dial", "dial",
                        "Dial a campaign's due leads: compliance gate, live calls, stored results."),
    "init": LazyCommand("reauto.cli.init_cmd", "init",
                        "Write a starter project: reauto.toml, campaigns/demo.yaml, prompts/ and a sample leads.csv."),
    "eval": LazyCommand("reauto.cli.eval_cmd", "evaluate",
                        "Replay recorded calls through the current configuration and score it."),
    "top": LazyCommand("reauto.cli.top", "top",
                       "Live dashboard of a running dialer: calls with stage and cost, totals, latency, budgets."),
    "report": LazyCommand("reauto.cli.report", "report",
                          "Analytics of one campaign over a day, week or month: funnel, variants, cost and quality."),
    "serve": LazyCommand("reauto.cli.serve", "serve",
                         "Serve Twilio's webhooks and media streams, lead intake, /healthz, /readyz, /metrics "
                         "and /docs."),
    "db": LazyCommand("reauto.cli.db", "app",
                      "Create and migrate the database schema, show its revision, wait for it to answer."),
    "campaign": LazyCommand("reauto.cli.campaign", "app",
                            "Validate and show campaign YAML files; see where a campaign stands; pause and resume "
                            "it while it runs."),
    "leads": LazyCommand("reauto.cli.leads", "app",
                         "Load lead files (CSV/JSONL, any CRM's columns) into a campaign; list, show and count "
                         "leads."),
    "dnc": LazyCommand("reauto.cli.dnc", "app",
                       "Manage the do-not-call lists: import the national registry, add and remove internal "
                       "entries, check a number."),
    "numbers": LazyCommand("reauto.cli.numbers", "app",
                           "A campaign's caller IDs: calls, answer rate, short calls and attestation per number, "
                           "and the numbers rested for a low answer rate."),
    "calls": LazyCommand("reauto.cli.calls", "app",
                         "List stored calls, show one with its analysis and transcript, and export recorded ones "
                         "as evaluation sets for `reauto eval`."),
    "budget": LazyCommand("reauto.cli.budget", "app",
                          "Budgets per day, week or month (all campaigns or one): set them, see spend, holds and "
                          "forecast, daily history, and the itemised cost of calls."),
    "models": LazyCommand("reauto.cli.models", "app",
                          "The models the configured providers need: where each is looked for and whether it is "
                          "there; pull faster-whisper models, Piper voices and Ollama models; verify them against "
                          "their checksums."),
    "config": LazyCommand("reauto.cli.config_cmd", "app",
                          "Show or check the settings resolved from reauto.toml and REAUTO_* variables."),
    "export": LazyCommand("reauto.cli.export", "app",
                          "Push each finished call and each text to a CRM (followupboss, hubspot, salesforce), a "
                          "signed webhook, or a csv/jsonl file, exactly once per target. Safe from cron: two runs "
                          "never overlap and a record that keeps failing waits in the dead-letter list. Exit "
                          "status: 0 done (or skipped: another export to the target is running), 1 a record "
                          "failed (the target is unavailable, or a record went to the dead-letter list), 2 bad "
                          "usage or settings."),
}


def load(name: str) -> Any:
    """The click command of ``name`` (its module imported now). Typed ``Any``: Typer builds on
    click or on its own copy of it, by version."""
    spec = COMMANDS[name]
    target: Any = getattr(importlib.import_module(spec.module), spec.attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: :data:`COMMANDS` beside the commands registered on it, each loaded on use."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in COMMANDS if name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        if self._listing:  # the root's help: a line, not the module
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].summary)
        command = load(cmd_name)
        self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
