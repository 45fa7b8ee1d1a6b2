"""The CLI loads each command's module only when the command runs (reauto.cli.lazy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from reauto.cli.lazy import COMMANDS, load
from reauto.cli.main import app
from reauto.config import Settings
from reauto.store import migrate


@pytest.mark.unit
@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_summary_is_the_commands_own_help(name: str) -> None:
    help_text = (load(name).help or "").strip()
    first_paragraph = " ".join(help_text.split("\n\n")[0].split())
    assert COMMANDS[name].summary == first_paragraph


@pytest.mark.unit
def test_every_listed_command_is_found_and_runs_its_own_module() -> None:
    root = get_command(app)
    ctx = root.context_class(root)
    assert root.list_commands(ctx) == ["version", *COMMANDS]
    for name in COMMANDS:
        command = root.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.callback is not None or hasattr(command, "list_commands")


def _probe(args: list[str], after: str, *, on_exit: str = "pass", **run: object) -> str:
    """What a fresh interpreter prints after running ``reauto ARGS`` through the console-script entry
    point and then ``after`` (``on_exit``: the body of its ``except SystemExit as exc:``)."""
    script = ("import gc, sys\n"
              f"sys.argv = ['reauto', *{args!r}]\n"
              "from reauto.cli.main import run\n"
              f"try:\n    run()\nexcept SystemExit as exc:\n    {on_exit}\n" + after)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         **run)  # type: ignore[call-overload]
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.unit
@pytest.mark.parametrize("args", [["--version"], ["version"], ["--help"]])
def test_version_and_help_import_no_command_module(args: list[str]) -> None:
    out = _probe(args, "heavy = sorted(m for m in ('sqlalchemy', 'numpy', 'pipecat', 'reauto.config',"
                       " 'reauto.cli.leads', 'reauto.cli.dial') if m in sys.modules)\n"
                       "print('HEAVY', heavy)\n")
    assert "HEAVY []" in out, out[-500:]


@pytest.mark.unit
@pytest.mark.parametrize("args", [["config", "show"], ["leads", "list", "--help"], ["budget", "status", "--help"],
                                  ["calls", "list", "--help"]])
def test_commands_that_read_the_store_do_not_import_what_they_do_not_use(args: list[str]) -> None:
    out = _probe(args, "extra = sorted(m for m in ('reauto.leads.loader', 'reauto.leads.readers', 'rich.progress',"
                       " 'pipecat', 'numpy') + (('sqlalchemy',) if sys.argv[1] == 'config' else ())"
                       " if m in sys.modules)\n"
                       "print('EXTRA', extra)\n")
    assert "EXTRA []" in out, out[-500:]


@pytest.mark.unit
@pytest.mark.parametrize("args", [["leads", "list"], ["budget", "status"]])
def test_reading_the_store_without_redis_imports_no_redis_client_and_no_phone_parser(
        args: list[str], sqlite_settings: Settings, tmp_path: Path) -> None:
    migrate.upgrade(sqlite_settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REAUTO_")}
    env["REAUTO_DATABASE_URL"] = sqlite_settings.database.url  # no [redis] url: in-process counters
    out = _probe(args, "extra = sorted(m for m in ('redis', 'phonenumbers', 'reauto.leads.normalize')"
                       " if m in sys.modules)\n"
                       "print('EXTRA', extra)\n",
                 on_exit="assert not exc.code, exc.code", env=env, cwd=tmp_path)  # no reauto.toml there
    assert "EXTRA []" in out, out[-500:]


@pytest.mark.unit
@pytest.mark.parametrize("args", [["version"], ["leads", "nonesuch"]])
def test_the_entry_point_leaves_the_collector_nothing_to_scan_at_shutdown(args: list[str]) -> None:
    out = _probe(args, "print('FROZEN', gc.get_freeze_count() > 0, 'TRACKED', len(gc.get_objects()))\n",
                 on_exit="print('EXIT', exc.code)")
    assert "FROZEN True" in out, out[-500:]
    assert int(out.split("TRACKED")[1]) < 1000  # (before: every object of the loaded modules)


@pytest.mark.unit
def test_counter_errors_name_the_redis_clients_once_it_is_imported() -> None:
    from redis.exceptions import RedisError

    from reauto.costs.reservations import counter_errors

    assert counter_errors() == (OSError, TimeoutError, RedisError)


@pytest.mark.unit
def test_the_cli_batch_size_is_the_loaders() -> None:
    from reauto.cli.leads import BATCH_SIZE
    from reauto.leads.loader import DEFAULT_BATCH_SIZE

    assert BATCH_SIZE == DEFAULT_BATCH_SIZE


@pytest.mark.unit
def test_python_dash_m_reauto_is_the_same_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "reauto", "--version"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    entry = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['reauto', '--version'];"
                            " from reauto.cli.main import run; raise SystemExit(run())"],
                           capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 == entry.returncode
    assert out.stdout == entry.stdout and out.stdout.strip()
