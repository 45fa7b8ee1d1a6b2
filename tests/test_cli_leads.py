"""``reauto leads`` and ``reauto dnc`` through the CLI, on SQLite and PostgreSQL."""

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from reauto.cli import budget as budget_cli
from reauto.cli import dnc as dnc_cli
from reauto.cli import leads as leads_cli
from reauto.cli.context import AppState
from reauto.config import DatabaseSettings, Settings
from reauto.errors import DatabaseUnavailable, UsageError
from reauto.store import migrate

DATA = Path(__file__).parent / "data" / "leads"
MESSY = str(DATA / "messy.csv")
runner = CliRunner()

root = typer.Typer()
root.add_typer(leads_cli.app, name="leads")
root.add_typer(dnc_cli.app, name="dnc")
root.add_typer(budget_cli.app, name="budget")


@pytest.fixture
def sqlite_cfg(sqlite_settings: Settings) -> Settings:
    migrate.upgrade(sqlite_settings)
    return sqlite_settings


def cli(cfg: Settings, *args: str):
    return runner.invoke(root, list(args), obj=AppState(_settings=cfg))


@pytest.mark.unit
def test_every_command_has_help_ending_in_an_example():
    def walk(command, path=()):
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, path + (name,))

    for app in (leads_cli.app, dnc_cli.app):
        for path, command in walk(get_command(app)):
            lines = (command.help or "").strip().splitlines()
            assert lines and lines[-1].startswith("Example: "), path


@pytest.mark.integration
def test_load_list_show_stats_on_sqlite(sqlite_cfg, tmp_path):
    report = tmp_path / "rejects.csv"
    result = cli(sqlite_cfg, "leads", "load", MESSY, "--campaign", "spring", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "10 inserted, 0 already present, 2 duplicates in file, 9 rejected, 3 warnings" in result.output
    assert "no phone number" in result.output
    # consent records the operator has not said are written, AI-voice consent: how to say so
    assert "say so when loading it: --consent-written --consent-ai-voice" in result.output.replace("\n", " ")
    with report.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["file", "line", "field", "value", "reason"]
    assert len(rows) == 14
    assert {"file": "messy.csv", "line": "5", "field": "phone", "value": "+15128675309",
            "reason": "duplicate of line 2"} in rows
    assert rows[0]["reason"].startswith("warning: ")

    again = cli(sqlite_cfg, "leads", "load", MESSY, "-C", "spring", "--json", "--strict")
    assert again.exit_code == 1  # --strict: rejected rows
    summary = json.loads(again.output)
    assert (summary["inserted"], summary["already_present"], summary["rejected"]) == (0, 10, 9)
    assert summary["rejects"][0]["line"] == 6

    listed = json.loads(cli(sqlite_cfg, "leads", "list", "-C", "spring", "--limit", "3", "--json").output)
    assert [r["name"] for r in listed] == ["Rae Sol", "Quinn Ray", "Leo Park"]
    table = cli(sqlite_cfg, "leads", "list", "--status", "new")
    assert table.exit_code == 0 and "leads (10)" in table.output
    hank = next(r for r in json.loads(cli(sqlite_cfg, "leads", "list", "--json").output) if r["name"] == "Hank Moss")
    assert hank["timezone"] == "America/Boise/America/Los_Angeles"

    shown = cli(sqlite_cfg, "leads", "show", "(512) 867-5309", "--json")
    detail = json.loads(shown.output)[0]
    assert detail["campaign"] == "spring" and detail["consents"][0]["kind"] == "prior_express_written"
    assert "Jane" in cli(sqlite_cfg, "leads", "show", str(detail["lead"]["id"])).output

    stats = json.loads(cli(sqlite_cfg, "leads", "stats", "-C", "spring", "--json").output)
    assert stats["total"] == 10 and stats["written_consent"] == {"no": 9, "yes": 1}
    assert stats["timezone"]["(not set)"] == 1
    assert "by status" in cli(sqlite_cfg, "leads", "stats").output


@pytest.mark.integration
def test_dnc_commands_on_sqlite(sqlite_cfg, tmp_path):
    cli(sqlite_cfg, "leads", "load", MESSY, "-C", "spring")
    added = cli(sqlite_cfg, "dnc", "add", "512-867-5309", "--reason", "asked on call")
    assert added.exit_code == 0 and "1 lead(s) flagged" in added.output
    assert "was already on" in cli(sqlite_cfg, "dnc", "add", "+15128675309").output
    check = cli(sqlite_cfg, "dnc", "check", "(512) 867-5309")
    assert check.exit_code == 1 and "LISTED on the internal list" in check.output and "asked on call" in check.output
    listed = json.loads(cli(sqlite_cfg, "leads", "list", "--status", "dnc", "--json").output)
    assert [r["phone"] for r in listed] == ["+15128675309"]
    removed = cli(sqlite_cfg, "dnc", "remove", "5128675309", "--json")
    assert json.loads(removed.output)["leads"] == 1
    check = cli(sqlite_cfg, "dnc", "check", "5128675309")
    assert check.exit_code == 0 and "callable" in check.output and "was on the internal list" in check.output

    report = tmp_path / "dnc-rejects.csv"
    imported = cli(sqlite_cfg, "dnc", "import", str(DATA / "national_dnc.txt"), "--report", str(report))
    assert imported.exit_code == 0 and "3 added, 1 already listed, 2 rejected" in imported.output
    assert "contains letters" in report.read_text()
    as_json = json.loads(cli(sqlite_cfg, "dnc", "import", str(DATA / "national_dnc.csv"),
                             "--source", "national", "--json").output)
    assert as_json["added"] == 2 and as_json["rejects"][0]["line"] == 4
    assert json.loads(cli(sqlite_cfg, "dnc", "check", "5125550191", "--json").output)["callable"] is False


@pytest.mark.integration
def test_load_and_dnc_on_postgresql(pg_settings, pg_engine):
    jsonl = str(DATA / "broken.jsonl")
    result = cli(pg_settings, "leads", "load", jsonl, "-C", "web", "--json", "--consent-written")
    summary = json.loads(result.output)
    assert (summary["inserted"], summary["rejected"], summary["duplicates_in_file"]) == (3, 3, 1)
    shown = json.loads(cli(pg_settings, "leads", "show", "+13035550175", "--json").output)[0]
    assert shown["lead"]["has_written_consent"] is True
    mapped = cli(pg_settings, "leads", "load", str(DATA / "crm_export.csv"), "-C", "acme",
                 "--mapping", str(DATA / "mapping.yaml"), "--map", "source=Lead Score", "--json")
    assert json.loads(mapped.output)["inserted"] == 2
    assert cli(pg_settings, "dnc", "add", "+1 512 555 0171").exit_code == 0
    stats = json.loads(cli(pg_settings, "leads", "stats", "--json").output)
    assert stats["dnc"] == {"no": 4, "yes": 1} and stats["total"] == 5


@pytest.mark.integration
def test_progress_bars_on_a_terminal(sqlite_cfg, monkeypatch):
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(leads_cli, "console", terminal)
    monkeypatch.setattr(dnc_cli, "console", terminal)
    assert cli(sqlite_cfg, "leads", "load", MESSY, "-C", "x").exit_code == 0
    assert cli(sqlite_cfg, "dnc", "import", str(DATA / "national_dnc.txt")).exit_code == 0
    out = terminal.file.getvalue()
    assert "loading messy.csv" in out and "importing national_dnc.txt" in out and "inserted" in out


@pytest.mark.integration
def test_many_issues_are_cut_on_the_terminal(sqlite_cfg, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n" + "nope\n" * 60)
    result = cli(sqlite_cfg, "leads", "load", str(bad), "-C", "x")
    assert "… and 10 more" in result.output and "60 rejected" in result.output


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["leads", "load", MESSY, "-C", "x", "--map", "colour=Red"], "unknown lead field"),
        (["leads", "load", "missing.csv", "-C", "x"], "no such file"),
        (["leads", "list", "--status", "sleeping"], "unknown status"),
        (["leads", "list", "-C", "nope"], "no campaign named"),
        (["leads", "show", "call me"], "neither a lead id nor a phone number"),
        (["leads", "show", "42"], "no lead matches"),
        (["dnc", "add", "123"], "not a valid phone number"),
        (["dnc", "remove", "5125550100"], "not on the internal"),
    ],
)
def test_bad_input_is_a_usage_error(sqlite_cfg, args, message):
    result = cli(sqlite_cfg, *args)
    assert isinstance(result.exception, UsageError), result.output
    assert message in str(result.exception) and result.exception.exit_code == 2


@pytest.mark.integration
def test_unreachable_database_is_one_clear_error():
    cfg = Settings(database=DatabaseSettings(url="postgresql+psycopg://nobody@127.0.0.1:1/none",
                                             connect_timeout_s=1))
    result = cli(cfg, "leads", "stats")
    assert isinstance(result.exception, DatabaseUnavailable)
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in str(result.exception)


@pytest.mark.integration
def test_unreachable_budget_counters_are_one_clear_error_with_the_password_hidden(sqlite_cfg):
    from reauto.config import RedisSettings
    from reauto.errors import ReautoError

    made = cli(sqlite_cfg, "budget", "set", "--daily", "50")
    assert made.exit_code == 0, (made.output, made.exception)
    cfg = sqlite_cfg.model_copy(update={"redis": RedisSettings(url="redis://u:secret@127.0.0.1:1/0",
                                                               socket_timeout_s=1)})
    result = cli(cfg, "budget", "status")
    assert isinstance(result.exception, ReautoError) and result.exception.exit_code == 3
    message = str(result.exception)
    assert "budget counters at redis://u:***@127.0.0.1:1/0 cannot be reached" in message
    assert "secret" not in message and "[redis] url" in message


@pytest.mark.integration
def test_unmigrated_database_says_to_upgrade(sqlite_settings):
    result = cli(sqlite_settings, "leads", "stats")
    assert "has no reauto tables: run `reauto db upgrade` first" in str(result.exception)


@pytest.mark.integration
def test_unmigrated_postgresql_says_to_upgrade(tmp_path):
    from tests.conftest import create_database, drop_database

    name = f"reauto_t_empty_{tmp_path.name[-8:]}".replace("-", "_").lower()
    url = create_database(name)
    try:
        result = cli(Settings(database=DatabaseSettings(url=url)), "dnc", "check", "5125550123")
        assert isinstance(result.exception, DatabaseUnavailable)
        assert "run `reauto db upgrade` first" in str(result.exception)
    finally:
        drop_database(name)


@pytest.mark.unit
def test_a_table_leaves_out_optional_columns_in_order_until_it_fits():
    from reauto.cli.output import fitted

    columns = ["id", "campaign", "phone", "timezone"]
    rows = [["12", "campaigns/spring.yaml", "+15125550172", "America/Chicago/America/Denver"]]
    # natural widths 2, 21, 12, 30 (+3 each, +1): 78 columns
    assert fitted(columns, rows, 78, ("timezone", "campaign")) == [0, 1, 2, 3]
    assert fitted(columns, rows, 77, ("timezone", "campaign")) == [0, 1, 2]
    assert fitted(columns, rows, 40, ("timezone", "campaign")) == [0, 2]
    # nothing left to leave out: every column stays (and rich wraps the cells)
    assert fitted(columns, rows, 10, ("timezone", "campaign")) == [0, 2]
    assert fitted(columns, rows, 10) == [0, 1, 2, 3]
    assert fitted(columns, [], 10, ("nope",)) == [0, 1, 2, 3]  # headers count; unknown names are ignored


@pytest.mark.integration
def test_lists_fit_80_columns_with_every_phone_number_whole(sqlite_cfg, monkeypatch):
    from reauto.cli import output

    assert cli(sqlite_cfg, "leads", "load", MESSY, "-C", "spring").exit_code == 0
    phones = [r["phone"] for r in json.loads(cli(sqlite_cfg, "leads", "list", "--json").output)]
    for width in (80, 200):
        terminal = Console(file=io.StringIO(), width=width)
        monkeypatch.setattr(output, "console", terminal)
        assert cli(sqlite_cfg, "leads", "list").exit_code == 0
        out = terminal.file.getvalue()
        assert max(len(line) for line in out.splitlines()) <= width
        assert all(phone in out for phone in phones) and "…" not in out
        assert ("not shown at 80 columns: campaign, timezone (--json has them)" in out) == (width == 80)
