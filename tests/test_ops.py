"""Deployment artefacts: scripts/ops, the systemd units, the Dockerfile and the compose files.

The backup and restore scripts run against the real PostgreSQL server, each test in a scratch
database of its own (created and dropped here). The deploy script runs with --dry-run only. The
container files are checked by reading them (Docker does not run here): every service a compose
file refers to exists, is healthy or waits for a healthy one, every local file it mounts exists,
every REAUTO_* variable is a setting reauto accepts, every reauto command line parses with
reauto's own CLI, and the Dockerfile has the stages the documentation promises.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select, text
from typer.main import get_command
from typer.testing import CliRunner

from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import CONFIG_ENV, DatabaseSettings, Settings, TwilioSettings, load_settings
from reauto.store import migrate
from reauto.store.models import Base

from .conftest import create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]
OPS = ROOT / "scripts" / "ops"
UNITS = ROOT / "deploy" / "systemd"
DOCKERFILE = ROOT / "Dockerfile"
DEV_COMPOSE = ROOT / "docker-compose.yml"
PROD_COMPOSE = ROOT / "deploy" / "compose.production.yml"
COMPOSE_FILES = [DEV_COMPOSE, PROD_COMPOSE]
SCRIPTS = ["backup", "restore", "migrate-and-seed", "deploy"]
SERVICES = ["reauto-serve.service", "reauto-dial@.service", "reauto-export@.service"]
LEAD_PHONE = "+15125550123"

runner = CliRunner()


# --- helpers -------------------------------------------------------------------------------------


def script_env(**extra: str) -> dict[str, str]:
    """The environment of a script: no REAUTO_* from the test run, reauto of this venv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REAUTO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run_script(name: str, *args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OPS / name), *args], cwd=cwd, env=script_env(**env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=180)


def reauto_cli(url: str, *args: str) -> str:
    """Run a reauto command in-process on the database at ``url``; return its output."""
    result = runner.invoke(app, list(args), obj=AppState(_settings=Settings(database=DatabaseSettings(url=url))))
    assert result.exit_code == 0, result.output
    return result.output


def stored(url: str) -> tuple[list[str], list[str]]:
    """Campaign names and lead phone numbers in the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            campaigns = conn.execute(text("SELECT name FROM campaigns ORDER BY name")).scalars().all()
            leads = conn.execute(text("SELECT phone_e164 FROM leads ORDER BY phone_e164")).scalars().all()
    finally:
        engine.dispose()
    return list(campaigns), list(leads)


def execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (alembic_version included), in primary-key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
            rows["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT * FROM alembic_version"))]
    finally:
        engine.dispose()
    return rows


def newest_revisions() -> tuple[str, str | None]:
    """The head migration and the one before it."""
    [head] = [r for r in migrate.history(Settings(), with_state=False) if r.is_head]
    return head.revision, head.down_revision


def write_leads(directory: Path) -> Path:
    leads = directory / "leads.csv"
    leads.write_text(f"first_name,last_name,phone,state\nJane,Doe,{LEAD_PHONE},TX\n", encoding="utf-8")
    return leads


def parse_command(args: list[str]) -> tuple[str, Any]:
    """Parse a reauto command line with reauto's own CLI: (the command's path, its parameters).
    An unknown command or option, or a bad value, raises."""
    command: Any = get_command(app)
    path, rest = ["reauto"], list(args)
    while hasattr(command, "list_commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"reauto {' '.join(path[1:] + [name])}: no such command"
        command, path = sub, path + [name]
    ctx = command.make_context(" ".join(path), rest)
    return " ".join(path), ctx.params


def parse_reauto(args: list[str]) -> str:
    """Parse a reauto command line with reauto's own CLI (unknown commands or options raise)."""
    return parse_command(args)[0]


def accepted_settings(env: dict[str, str], tmp_path: Path) -> Settings:
    """Load reauto's settings from an empty file and ``env``: unknown names or bad values raise."""
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    return load_settings(empty, env={k: v for k, v in env.items() if k != CONFIG_ENV})


@pytest.fixture
def scratch_pg() -> Iterator[str]:
    """A PostgreSQL database of this test alone (dropped afterwards)."""
    name = f"reauto_ops_{uuid.uuid4().hex[:10]}"
    url = create_database(name)
    try:
        yield url
    finally:
        drop_database(name)


# --- the scripts ---------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_is_executable_with_help_and_an_example(name: str) -> None:
    script = OPS / name
    assert script.stat().st_mode & stat.S_IXUSR, f"chmod +x {script}"
    assert script.read_text(encoding="utf-8").splitlines()[:1] == ["#!/usr/bin/env bash"]
    assert "set -euo pipefail" in script.read_text(encoding="utf-8")
    result = run_script(name, "--help")
    assert result.returncode == 0, result.stderr
    assert f"scripts/ops/{name}" in result.stdout and "Example:" in result.stdout
    wrong = run_script(name, "--no-such-option")
    assert wrong.returncode == 2 and "--help" in wrong.stderr


@pytest.mark.integration
def test_backup_and_restore_round_trip_migrates_an_older_backup(scratch_pg: str, tmp_path: Path) -> None:
    # a campaign and a lead loaded by the CLI, in a database one migration behind (an older reauto)
    head, previous = newest_revisions()
    reauto_cli(scratch_pg, "db", "upgrade")
    reauto_cli(scratch_pg, "leads", "load", str(write_leads(tmp_path)), "--campaign", "ops")
    if previous is not None:
        reauto_cli(scratch_pg, "db", "downgrade", previous)
    assert stored(scratch_pg) == (["ops"], [LEAD_PHONE])

    backup = run_script("backup", "--database-url", scratch_pg, cwd=tmp_path)
    assert backup.returncode == 0, backup.stderr
    path = backup.stdout.strip()
    assert re.fullmatch(r"backups/reauto-\d{8}T\d{6}Z\.dump", path), path
    dump = tmp_path / path
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # leads' personal data
    assert not list((tmp_path / "backups").glob("*.partial"))

    # the site upgrades (newer tables, some referring to the old ones), then loses its data
    reauto_cli(scratch_pg, "db", "upgrade")
    execute(scratch_pg, "TRUNCATE campaigns RESTART IDENTITY CASCADE")
    assert stored(scratch_pg) == ([], [])

    restore = run_script("restore", str(dump), "--database-url", scratch_pg, "--yes")
    assert restore.returncode == 0, restore.stderr
    assert stored(scratch_pg) == (["ops"], [LEAD_PHONE])
    # restored at the previous revision, then `reauto db upgrade` brought it to the newest
    assert "is at" in restore.stdout
    assert snapshot(scratch_pg)["alembic_version"] == [(head,)]


@pytest.mark.integration
def test_restore_without_yes_and_without_a_terminal_refuses_and_changes_nothing(
    scratch_pg: str, tmp_path: Path,
) -> None:
    reauto_cli(scratch_pg, "db", "upgrade")
    reauto_cli(scratch_pg, "leads", "load", str(write_leads(tmp_path)), "--campaign", "ops")
    dump = tmp_path / "ops.dump"
    backup = run_script("backup", "--out", str(dump), REAUTO_DATABASE_URL=scratch_pg)  # URL from the environment
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.strip() == str(dump)
    execute(scratch_pg, "TRUNCATE campaigns RESTART IDENTITY CASCADE")
    before = snapshot(scratch_pg)

    refused = run_script("restore", str(dump), "--database-url", scratch_pg)
    assert refused.returncode == 1
    assert "would restore" in refused.stderr and "--yes" in refused.stderr
    assert snapshot(scratch_pg) == before


@pytest.mark.integration
def test_a_restore_that_fails_half_way_changes_nothing(scratch_pg: str, tmp_path: Path) -> None:
    reauto_cli(scratch_pg, "db", "upgrade")
    reauto_cli(scratch_pg, "leads", "load", str(write_leads(tmp_path)), "--campaign", "ops")
    dump = tmp_path / "ops.dump"
    assert run_script("backup", "--database-url", scratch_pg, "--out", str(dump)).returncode == 0
    # the table of contents is intact (the archive is accepted), the last data block is not
    data = bytearray(dump.read_bytes())
    data[-64:] = b"\xff" * 64
    broken = tmp_path / "broken.dump"
    broken.write_bytes(bytes(data))
    execute(scratch_pg, "DELETE FROM leads")
    before = snapshot(scratch_pg)

    result = run_script("restore", str(broken), "--database-url", scratch_pg, "--yes")
    assert result.returncode == 1
    assert "restore failed: the database was left as it was" in result.stderr
    assert snapshot(scratch_pg) == before


@pytest.mark.integration
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.dump"
    bogus.write_text("not a dump", encoding="utf-8")
    result = run_script("restore", str(bogus), "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none",
                        "--yes")
    assert result.returncode == 1
    assert "not a pg_dump custom-format archive" in result.stderr
    missing = run_script("restore", str(tmp_path / "missing.dump"), "--yes")
    assert missing.returncode == 1 and "no such readable file" in missing.stderr


@pytest.mark.integration
@pytest.mark.parametrize("source", ["flag", "environment", "settings file"])
def test_backup_of_a_sqlite_database_fails_with_advice(source: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reauto.db'}"
    if source == "flag":
        result = run_script("backup", "--database-url", url, cwd=tmp_path)
    elif source == "environment":
        result = run_script("backup", cwd=tmp_path, REAUTO_DATABASE_URL=url)
    else:
        config = tmp_path / "site.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        result = run_script("backup", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0
    assert "SQLite" in result.stderr and "Copy the file" in result.stderr and ".backup" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "backups").exists()


@pytest.mark.integration
def test_backup_reports_a_failed_pg_dump_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "x.dump"
    result = run_script("backup", "--database-url", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
                        "--out", str(out))
    assert result.returncode == 1
    assert "pg_dump failed" in result.stderr and "secret" not in result.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()


@pytest.mark.integration
@pytest.mark.slow
def test_migrate_and_seed_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reauto.db'}"
    leads = write_leads(tmp_path)
    first = run_script("migrate-and-seed", str(leads), "--campaign", "demo", cwd=tmp_path, REAUTO_DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert "campaign demo (" in first.stdout and "): registered" in first.stdout
    assert "1 inserted" in first.stdout
    after_first = snapshot(url)
    assert after_first["alembic_version"] == [(newest_revisions()[0],)]
    assert {row[1] for row in after_first["campaigns"]} == {"demo", "austin-buyers"}

    second = run_script("migrate-and-seed", str(leads), "--campaign", "demo", cwd=tmp_path, REAUTO_DATABASE_URL=url)
    assert second.returncode == 0, second.stderr
    assert "registered" not in second.stdout and second.stdout.count("): unchanged") == 2
    assert "0 inserted, 1 already present" in second.stdout
    assert snapshot(url) == after_first  # updated_at included: not one row was written


@pytest.mark.integration
def test_migrate_and_seed_refuses_a_bad_campaign_before_writing(tmp_path: Path) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    shutil.copy(ROOT / "campaigns" / "demo.yaml", campaigns / "demo.yaml")
    (campaigns / "broken.yaml").write_text("name: broken\nconcurrency: lots\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'reauto.db'}"
    result = run_script("migrate-and-seed", "--campaigns-dir", str(campaigns), cwd=tmp_path,
                        REAUTO_DATABASE_URL=url)
    assert result.returncode == 2
    assert "broken.yaml:" in result.stderr
    assert snapshot(url)["campaigns"] == []
    lonely = run_script("migrate-and-seed", "leads.csv", cwd=tmp_path)
    assert lonely.returncode == 2 and "--campaign" in lonely.stderr


@pytest.mark.unit
def test_deploy_dry_run_prints_every_command_and_touches_nothing(tmp_path: Path) -> None:
    prefix = tmp_path / "opt" / "reauto"
    user = f"rt{uuid.uuid4().hex[:8]}"  # a user that does not exist here
    watched = [Path("/etc/reauto"), Path("/var/lib/reauto"), *(Path("/etc/systemd/system") / u for u in
                                                                  [*SERVICES, "reauto-export@.timer"])]
    existed = {p: p.exists() for p in watched}

    result = run_script("deploy", "--dry-run", "--prefix", str(prefix), "--user", user,
                        "--campaign", "demo", "--workers", "2", "--export", "followupboss", "--export", "csv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    def index(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, f"no line matches {pattern!r} in:\n{result.stdout}"
        return found[0]

    order = [
        index(r"^apt-get install .*postgresql-client"),
        index(rf"^useradd --system .*--home-dir /var/lib/reauto .*{user}$"),
        index(rf"^install -d -m 0750 -o {user} -g {user} /var/lib/reauto$"),
        index(rf"^rsync -a --delete .* {re.escape(str(ROOT))}/ {re.escape(str(prefix))}/$"),
        index(r"ensure_venv\\? postgres"),
        index(r"install .* /etc/reauto/reauto.toml$"),
        index(r"^install .*/dev/stdin /etc/reauto/env <<'EOF'$"),
        index(r"^ln -sfn demo.yaml /etc/reauto/campaigns/demo.2.yaml$"),
        *(index(rf"install -m 0644 -o root -g root .* /etc/systemd/system/{re.escape(u)}$")
          for u in [*SERVICES, "reauto-export@.timer"]),
        index(rf"^systemd-run --wait .*--uid={user} .*/scripts/ops/migrate-and-seed --campaigns-dir /etc/reauto/campaigns"),
        index(r"^systemctl daemon-reload$"),
        index(r"^systemctl enable reauto-serve.service reauto-dial@demo.service reauto-dial@demo.2.service$"),
        index(r"^systemctl restart reauto-serve.service reauto-dial@demo.service reauto-dial@demo.2.service$"),
        index(r"^systemctl enable --now reauto-export@followupboss.timer reauto-export@csv.timer$"),
    ]
    assert order == sorted(order)
    assert "DIAL_PORT=8081" in lines and "DIAL_PORT=8082" in lines
    assert any(f"User={user}" in line and str(prefix) in line for line in lines)  # units rendered for the site
    assert run_script("deploy", "--dry-run", "--export", "pipedrive").returncode == 2
    # nothing was created
    assert not (tmp_path / "opt").exists()
    assert {p: p.exists() for p in watched} == existed


@pytest.mark.unit
def test_deploy_secrets_template_names_real_settings(tmp_path: Path) -> None:
    result = run_script("deploy", "--dry-run")
    assert result.returncode == 0, result.stderr
    body = result.stdout.split("/etc/reauto/env <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    env = {}
    for line in body.splitlines():
        if line.lstrip("#").startswith("REAUTO_"):
            name, _, value = shlex.split(line.lstrip("#"))[0].partition("=")
            env[name] = value
    assert {"REAUTO_DATABASE_URL", "REAUTO_TWILIO_AUTH_TOKEN", "REAUTO_INTAKE_API_KEYS"} <= set(env)
    settings = accepted_settings(env, tmp_path)
    assert settings.intake.api_keys == ["a-long-random-key"]


@pytest.mark.unit
@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers must be a positive number"),
    (["--prefix", "relative/path"], "--prefix must be an absolute path"),
    (["--campaign", "no-such-campaign"], "no campaign file no-such-campaign.yaml"),
])
def test_deploy_refuses_bad_options_before_doing_anything(args: list[str], message: str) -> None:
    result = run_script("deploy", "--dry-run", *args)
    assert result.returncode != 0
    assert message in result.stderr and result.stdout == ""


# --- systemd units -------------------------------------------------------------------------------


def unit_lines(path: Path) -> list[tuple[str, str]]:
    return [(k.strip(), v.strip()) for k, _, v in (line.partition("=") for line in
            path.read_text(encoding="utf-8").splitlines()) if _ and not k.lstrip().startswith("#")]


def unit_values(path: Path, key: str) -> list[str]:
    return [v for k, v in unit_lines(path) if k == key]


@pytest.mark.unit
@pytest.mark.parametrize("name", SERVICES)
def test_units_are_hardened_and_read_the_site_settings(name: str, tmp_path: Path) -> None:
    unit = UNITS / name
    assert "-/etc/reauto/env" in unit_values(unit, "EnvironmentFile")
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("ReadWritePaths", "/var/lib/reauto"), ("User", "reauto"),
                       ("WorkingDirectory", "/var/lib/reauto")]:
        assert unit_values(unit, key) == [value], (name, key)
    environment = dict(v.split("=", 1) for v in unit_values(unit, "Environment"))
    assert environment[CONFIG_ENV] == "/etc/reauto/reauto.toml"
    accepted_settings({k: v for k, v in environment.items() if k.startswith("REAUTO_")}, tmp_path)
    # every command line is one reauto's CLI parses
    for key in ("ExecStartPre", "ExecStart"):
        for line in unit_values(unit, key):
            argv = shlex.split(line.replace("%i", "demo").replace("${DIAL_PORT}", "0"))
            assert argv[0] == "/opt/reauto/.venv/bin/reauto"
            parse_reauto(argv[1:])


@pytest.mark.unit
def test_long_running_units_restart_and_let_calls_finish() -> None:
    serve, dial = UNITS / "reauto-serve.service", UNITS / "reauto-dial@.service"
    for unit in (serve, dial):
        assert unit_values(unit, "Restart") == ["on-failure"]
        assert unit_values(unit, "KillMode") == ["mixed"]
    # the dialer finishes live calls on SIGTERM: the stop timeout outlasts the longest call
    assert int(unit_values(dial, "TimeoutStopSec")[0]) > TwilioSettings().time_limit_s
    assert parse_reauto(shlex.split(unit_values(dial, "ExecStart")[0].replace("%i", "x")
                                    .replace("${DIAL_PORT}", "0"))[1:]) == "reauto serve"
    assert "/etc/reauto/campaigns/%i.yaml" in unit_values(dial, "ExecStart")[0]
    export = UNITS / "reauto-export@.service"
    assert unit_values(export, "Type") == ["oneshot"]
    assert parse_reauto(shlex.split(unit_values(export, "ExecStart")[0].replace("%i", "csv"))[1:]) == "reauto export"
    assert unit_values(UNITS / "reauto-export@.timer", "Unit") == ["reauto-export@%i.service"]


@pytest.mark.integration
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    probe = tmp_path / "probe" / "probe.service"
    probe.parent.mkdir()
    probe.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    check = subprocess.run([analyze, "verify", str(probe)], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        pytest.skip(f"systemd-analyze verify does not work in this environment: {check.stderr.strip()[:200]}")

    # rendered as the deploy script does, with a prefix whose reauto exists here
    units = tmp_path / "units"
    units.mkdir()
    for source in UNITS.iterdir():
        body = source.read_text(encoding="utf-8").replace("/opt/reauto/.venv", sys.prefix)
        body = body.replace("/opt/reauto", str(ROOT))
        (units / source.name.replace("@.", "@demo.")).write_text(body, encoding="utf-8")
    files = sorted(str(p) for p in units.iterdir())
    result = subprocess.run([analyze, "verify", *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "reauto-" in line]
    assert complaints == []


# --- containers ----------------------------------------------------------------------------------


def load_compose(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def reauto_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if str(s.get("image", "")).startswith("reauto")}


@pytest.mark.unit
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_services_wait_for_healthy_services_that_exist(path: Path) -> None:
    services = load_compose(path)["services"]
    for name, service in services.items():
        deps = depends_on(service)
        assert set(deps) <= set(services), (name, deps)
        mode = service.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in services and mode.removeprefix("service:") in deps
        for dep, condition in deps.items():
            assert condition in {"service_healthy", "service_completed_successfully"}, (name, dep, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has no healthcheck"
            else:
                assert services[dep].get("restart") == "no", f"{dep} runs once"
        assert "healthcheck" in service or "service_healthy" in deps.values(), name


@pytest.mark.unit
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_local_files_and_build_targets_exist(path: Path) -> None:
    compose = load_compose(path)
    named = set(compose.get("volumes") or {})
    stages = dockerfile_stages()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("."):
                assert (path.parent / source).exists(), f"{path.name}: {name} mounts missing {source}"
            elif not source.startswith("/"):
                assert source in named, f"{name}: volume {source} is not declared"
        if "build" in service:
            context = path.parent / service["build"]["context"]
            assert (context / "Dockerfile").is_file()
            assert service["build"]["target"] in stages
        # env_file entries are the site's secrets: they are created on the host, never shipped
        for env_file in service.get("env_file", []):
            assert not (path.parent / env_file).exists() or env_file.endswith(".example")


@pytest.mark.unit
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_reauto_variables_and_commands_are_reauto_s(path: Path, tmp_path: Path) -> None:
    services = reauto_services(load_compose(path))
    assert services
    for name, service in services.items():
        env = {k: v for k, v in environment(service).items() if k.startswith("REAUTO_")}
        settings = accepted_settings(env, tmp_path)  # an unknown REAUTO_* name raises ConfigError
        if "REAUTO_DATABASE_URL" in env:
            assert settings.database.url.startswith("postgresql+psycopg://")
        if "REAUTO_REDIS_URL" in env:
            assert settings.redis.url == env["REAUTO_REDIS_URL"]
        command = service["command"]
        assert command[0] == "reauto"
        parse_reauto(command[1:])


@pytest.mark.unit
def test_dev_compose_runs_the_whole_stack_with_the_observability_kit() -> None:
    compose = load_compose(DEV_COMPOSE)
    services = compose["services"]
    assert {"postgres", "redis", "ollama", "reauto-serve", "reauto-dial", "prometheus", "grafana"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15" and services["redis"]["image"] == "redis:7"
    assert services["ollama"]["image"].startswith("ollama/ollama")
    mounts = [v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])]
    for kit in ("prometheus.yml", "alerts.yml", "grafana/provisioning", "grafana/dashboards"):
        assert f"./scripts/observability/{kit}" in mounts
    # the kit scrapes 127.0.0.1:8080 and :9464: the workers listen there in the shared namespace
    scrape = yaml.safe_load((ROOT / "scripts/observability/prometheus.yml").read_text(encoding="utf-8"))
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"127.0.0.1:8080", "127.0.0.1:9464"}
    assert "9464" in services["reauto-dial"]["command"]
    for name in ("reauto-dial", "prometheus", "grafana"):
        assert services[name]["network_mode"] == "service:reauto-serve"


@pytest.mark.unit
def test_production_compose_has_several_workers_restarts_and_no_published_database() -> None:
    services = load_compose(PROD_COMPOSE)["services"]
    for name in ("postgres", "redis"):
        assert "ports" not in services[name], f"{name} must not publish a port"
    workers = [s for s in reauto_services({"services": services}).values() if "--campaign" in s["command"]]
    replicas = sum(s.get("deploy", {}).get("replicas", 1) for s in workers)
    assert replicas >= 2
    urls = [environment(s)["REAUTO_TWILIO_PUBLIC_URL"] for s in workers]
    assert len(set(urls)) == len(urls)  # Twilio reaches the worker that placed the call
    for service in workers:
        assert service["stop_grace_period"].endswith("m") and int(service["stop_grace_period"][:-1]) * 60 > \
            TwilioSettings().time_limit_s
    for name, service in services.items():
        assert service.get("restart") in {"unless-stopped", "always", "no"}, name
    for service in reauto_services({"services": services}).values():
        assert service["env_file"], "secrets come from an env_file"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            joined.append(current.strip())
            current = ""
    return [(i.split(None, 1)[0].upper(), i.split(None, 1)[1] if " " in i else "") for i in joined]


def dockerfile_stages() -> dict[str, dict[str, Any]]:
    """Stage name → its base image (ARG defaults resolved) and instructions, in file order."""
    args: dict[str, str] = {}
    stages: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for instruction, rest in dockerfile_instructions():
        if instruction == "ARG" and current is None and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value
        elif instruction == "FROM":
            found = re.fullmatch(r"(\S+) AS (\S+)", rest, flags=re.IGNORECASE)
            assert found, f"every stage is named: FROM {rest}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], found.group(1))
            current = stages[found.group(2)] = {"base": base, "steps": []}
        elif current is not None:
            current["steps"].append((instruction, rest))
    return stages


def steps(stage: dict[str, Any], instruction: str) -> list[str]:
    return [rest for name, rest in stage["steps"] if name == instruction]


@pytest.mark.unit
def test_dockerfile_stages_runtime_and_gpu(tmp_path: Path) -> None:
    stages = dockerfile_stages()
    assert list(stages) == ["builder", "gpu-builder", "gpu", "runtime"]  # runtime last: the default target
    assert stages["runtime"]["base"].startswith("python:3.11-slim")
    assert stages["gpu"]["base"].startswith("nvidia/cuda:") and "runtime" in stages["gpu"]["base"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any("faster-whisper" in dep for dep in extras["whisper"])
    assert any(re.search(r"\[[^]]*\bwhisper\b[^]]*\bgpu\b[^]]*\]", run) for run in steps(stages["gpu-builder"], "RUN"))
    assert any("nvidia-ml-py" in dep for dep in extras["gpu"])  # the GPU image reports its GPUs on /metrics
    for name, builder in (("runtime", "builder"), ("gpu", "gpu-builder")):
        stage = stages[name]
        [user] = steps(stage, "USER")
        assert user not in {"root", "0"} and not user.startswith("0:")
        [health] = steps(stage, "HEALTHCHECK")
        assert "/healthz" in health
        assert steps(stage, "CMD") == ['["reauto", "serve"]']
        packages = " ".join(steps(stage, "RUN"))
        for package in ("flite", "sox", "espeak-ng", "libpq5"):
            assert re.search(rf"\b{package}\b", packages), (name, package)
        assert any(f"--from={builder}" in copy for copy in steps(stage, "COPY"))
        env = dict(re.findall(r"(\w+)=(\S+)", " ".join(steps(stage, "ENV"))))
        accepted_settings({k: v for k, v in env.items() if k.startswith("REAUTO_")}, tmp_path)
    # what the builder copies exists and is not excluded from the build context
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    for copy in steps(stages["builder"], "COPY"):
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists() and source not in ignored, source


@pytest.mark.unit
def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed")
    result = subprocess.run([hadolint, "--failure-threshold", "error", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- documentation -------------------------------------------------------------------------------


@pytest.mark.unit
def test_operations_guide_names_files_that_exist() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for path in set(re.findall(r"`((?:scripts|deploy)/[\w./@-]+)", guide)):
        if "NAME" in path or path.endswith(".env"):  # placeholders; the site's own secret files
            continue
        assert (ROOT / path.rstrip("/")).exists(), path
    for name in SCRIPTS:
        assert f"scripts/ops/{name}" in guide
    for endpoint in ("/healthz", "/readyz", "/metrics"):
        assert endpoint in guide


@pytest.mark.unit
def test_the_cron_example_runs_real_export_commands() -> None:
    jobs = [line for line in (ROOT / "scripts" / "cron" / "export.cron").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(jobs) == 3
    for job in jobs:
        argv = shlex.split(job.split("&&", 1)[1].split(">", 1)[0])
        assert argv[0].endswith("/reauto") and parse_reauto(argv[1:]) == "reauto export"
