import json
import subprocess
import sys

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from reauto.cli.main import app, run
from reauto.cli.context import AppState
from reauto.config import Settings
from reauto.errors import ConfigError, UsageError

runner = CliRunner()
GROUPS = ["leads", "campaign", "dnc", "dial", "serve", "calls", "eval", "budget", "export", "db"]


def walk(command, path: tuple[str, ...] = ()):
    """Every command under ``command``, through click's own API (the root loads its commands
    only when asked for one)."""
    yield path, command
    if hasattr(command, "list_commands"):  # a group (Typer's click or its own copy of it)
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), path + (name,))


@pytest.mark.unit
def test_every_command_has_help_ending_in_an_example():
    missing = []
    for path, command in walk(get_command(app)):
        text = (command.help or "").strip()
        if not text or "Example:" not in text.splitlines()[-1]:
            missing.append(" ".join(("reauto",) + path))
    assert missing == []


@pytest.mark.unit
def test_help_lists_every_group():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in GROUPS + ["version", "config"]:
        assert f" {group} " in result.output


@pytest.mark.unit
def test_export_without_a_target_says_where_to():
    result = runner.invoke(app, ["export"])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
    assert "--to followupboss|hubspot|salesforce|webhook|csv|jsonl" in str(result.exception)
    unknown = runner.invoke(app, ["export", "--to", "pipedrive"])
    assert "unknown target" in str(unknown.exception)


@pytest.mark.unit
def test_version_json():
    result = runner.invoke(app, ["version", "--json"])
    assert result.exit_code == 0
    assert set(json.loads(result.output)) == {"reauto", "python"}
    assert "reauto " in runner.invoke(app, ["version"]).output
    flag = runner.invoke(app, ["--version"])
    assert flag.exit_code == 0 and flag.output.strip() == f"reauto {json.loads(result.output)['reauto']}"


@pytest.mark.unit
def test_run_turns_reauto_errors_into_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "reauto.toml"
    bad.write_text("[database]\npool_sise = 3\n")
    monkeypatch.setattr(sys, "argv", ["reauto", "--config", str(bad), "config", "check"])
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: database.pool_sise: unknown key" in err.replace("\n", "")
    assert "Traceback" not in err


@pytest.mark.unit
def test_config_show_and_check(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[database]\nurl = "postgresql+psycopg://bob:hunter2pw@db:5432/x"\n[redis]\nurl = "redis://:pw@r:6379/0"\n'
                   '[tts.elevenlabs]\napi_key = "sk_live_123"\n'
                   '[intake]\napi_keys = ["intake-k-123"]\nhmac_secret = "hm-456"\n[twilio]\nauth_token = "tw-789"\n'
                   '[intake.forms.web]\ncampaign = "demo"\ntoken = "form-token-0123456789"\n'
                   '[followupboss]\napi_key = "fub-k-1"\nsystem_key = "fub-sys-2"\n')
    shown = runner.invoke(app, ["--config", str(cfg), "config", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert "hunter2pw" not in shown.output and "pw@" not in shown.output and "sk_live" not in shown.output
    assert not any(v in shown.output for v in ("intake-k-123", "hm-456", "tw-789", "form-token", "fub-k-1",
                                               "fub-sys-2"))
    assert data["intake"]["forms"]["web"]["token"] == "***" and data["intake"]["forms"]["web"]["campaign"] == "demo"
    assert data["database"]["url"] == "postgresql+psycopg://bob:***@db:5432/x"
    plain = runner.invoke(app, ["--config", str(cfg), "config", "show"])
    assert "database.pool_size = 10" in plain.output
    checked = runner.invoke(app, ["--config", str(cfg), "config", "check"])
    assert checked.exit_code == 0 and "settings OK" in checked.output
    assert json.loads(runner.invoke(app, ["--config", str(cfg), "config", "check", "--json"]).output)["ok"]


@pytest.mark.unit
def test_config_show_hides_the_secrets_of_provider_sections_and_warns_about_flat_names(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[export]\nhubspot_token = "pat-secret-1"\n\n[export.salesforce]\ntoken = "sf-secret-2"\n'
                   'client_secret = "sf-secret-3"\nclient_id = "app-id"\n\n[export.webhook]\n'
                   'url = "https://hooks.example.com/t/hook-secret-5"\n')
    shown = runner.invoke(app, ["--config", str(cfg), "config", "show", "--json"],
                          env={"REAUTO_TTS__ELEVENLABS__API_KEY": "sk_live_4"})
    assert shown.exit_code == 0, shown.output
    assert not any(v in shown.output for v in ("pat-secret-1", "sf-secret-2", "sf-secret-3", "sk_live_4",
                                               "hook-secret-5"))
    assert "warning: " in shown.stderr and "export.hubspot_token is deprecated" in shown.stderr
    assert "(export.hubspot.token)" in shown.stderr
    data = json.loads(shown.stdout)
    assert data["export"]["hubspot"]["token"] == "***" and data["export"]["salesforce"]["client_id"] == "app-id"
    assert data["tts"]["elevenlabs"]["api_key"] == "***"
    plain = runner.invoke(app, ["--config", str(cfg), "config", "show"])
    assert "export.salesforce.token = '***'" in plain.stdout
    assert "export.salesforce.client_id = 'app-id'" in plain.stdout
    assert "tts.coqui.device = 'cpu'" in plain.stdout and "llm.models = {}" in plain.stdout


@pytest.mark.unit
def test_config_show_shows_the_whisper_and_voice_sections_unmasked_and_warns_about_their_flat_names(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text('[stt]\nprovider = "faster-whisper"\nwhisper_model = "/srv/whisper-small"\n\n'
                   '[tts.piper]\nvoice = "en_US-amy-medium"\n')
    shown = runner.invoke(app, ["--config", str(cfg), "config", "show", "--json"],
                          env={"REAUTO_TTS_ESPEAK_VOICE": "en-gb"})
    assert shown.exit_code == 0, shown.output
    assert "stt.whisper_model is deprecated: set model in [stt.faster_whisper] (stt.faster_whisper.model)" in \
        shown.stderr
    assert "REAUTO_TTS_ESPEAK_VOICE is deprecated: use REAUTO_TTS__ESPEAK_NG__VOICE" in shown.stderr
    data = json.loads(shown.stdout)
    assert data["stt"]["faster_whisper"]["model"] == "/srv/whisper-small" and "whisper_model" not in data["stt"]
    assert data["stt"]["faster_whisper"]["compute_type"] == "int8"
    assert (data["tts"]["piper"]["voice"], data["tts"]["flite"]["voice"], data["tts"]["espeak_ng"]["voice"]) == (
        "en_US-amy-medium", "slt", "en-gb")


@pytest.mark.unit
def test_config_check_fails_for_a_provider_that_cannot_start_naming_the_setting(tmp_path):
    cfg = tmp_path / "providers.toml"
    cfg.write_text('[stt]\nprovider = "faster-whisper"\n\n[tts]\nlocal = "coqui"\npremium = "elevenlabs"\n'
                   '[tts.coqui]\nmodel = "/nope/model"\n[tts.elevenlabs]\nvoice_id = "v1"\n')
    checked = runner.invoke(app, ["--config", str(cfg), "config", "check"])
    assert isinstance(checked.exception, ConfigError) and checked.exception.exit_code == 2  # as `reauto` exits
    problems = str(checked.exception).splitlines()
    assert [p.split(" ")[0] for p in problems] == ["stt.faster_whisper.model", "tts.coqui.model",
                                                   "tts.elevenlabs.api_key"]
    assert "nothing at /nope/model" in problems[1] and "(REAUTO_TTS__COQUI__MODEL)" in problems[1]
    ready = tmp_path / "ready.toml"
    ready.write_text(f'[stt]\nprovider = "faster-whisper"\n\n[stt.faster_whisper]\nmodel = "small.en"\n\n[tts]\n'
                     f'local = "coqui"\n\n[tts.coqui]\nmodel = "{tmp_path}"\n\n[models]\ndir = "{tmp_path / "models"}"\n')
    unpulled = runner.invoke(app, ["--config", str(ready), "config", "check"])
    assert "'small.en' is not pulled" in str(unpulled.exception) and "reauto models pull" in str(unpulled.exception)
    (tmp_path / "models" / "faster-whisper" / "small.en").mkdir(parents=True)
    (tmp_path / "models" / "faster-whisper" / "small.en" / "model.bin").write_bytes(b"weights")
    assert runner.invoke(app, ["--config", str(ready), "config", "check"]).exit_code == 0


@pytest.mark.integration
def test_console_script_reports_unreachable_database_in_one_line(tmp_path):
    env = {"REAUTO_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "reauto.cli.main", "db", "current"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert proc.returncode == 3
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in proc.stderr
    assert "check that the server is running" in proc.stderr
    assert len(lines) <= 3  # one message, soft-wrapped at most by the terminal width


@pytest.mark.integration
def test_reauto_serve_answers_health_and_stops_on_sigterm(tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"REAUTO_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "PATH": "/usr/bin:/bin",
           "REAUTO_TWILIO_AUTH_TOKEN": "secret-token-never-printed"}
    proc = subprocess.Popen([sys.executable, "-m", "reauto.cli.main", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            except OSError:
                time.sleep(0.2)
        assert body == b'{"status":"ok"}', proc.stderr.read() if proc.poll() is not None else "no answer"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            assert json.loads(r.read())["checks"]["database"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "secret-token-never-printed" not in err


@pytest.mark.unit
def test_reauto_serve_needs_a_public_url_for_twilio():
    result = runner.invoke(app, ["serve", "--campaign", "campaigns/austin-buyers.yaml"],
                           obj=AppState(_settings=Settings()))
    assert "needs [twilio] public_url" in str(result.exception)


@pytest.mark.unit
def test_reauto_serve_exits_as_reauto_dial_does_when_a_gate_stopped_its_campaign(monkeypatch):
    from reauto.dialer.run import DialResult, DialRun

    stop = {"reason": "budget", "message": "daily budget of $5.00 cannot cover another call",
            "line": "stopped by the budget: daily budget of $5.00 cannot cover another call", "exit_code": 5}

    async def stopped_run(self):  # the dialer's run as a budget stop ends it (tests/test_gates.py)
        assert self.options.forever is True
        return DialResult([], [], {"stopped": stop})

    monkeypatch.setattr(DialRun, "run", stopped_run)
    result = runner.invoke(app, ["serve", "--campaign", "campaigns/demo.yaml"], obj=AppState(_settings=Settings()))
    assert result.exit_code == 5 and "stopped by the budget" in result.output


@pytest.mark.unit
def test_log_level_applies_to_reauto_loggers_of_the_console_script():
    import logging

    from reauto.cli.context import configure_logging

    logger = logging.getLogger("reauto")
    before = logger.level
    try:
        configure_logging("WARNING")
        assert logger.level == logging.WARNING and logging.getLogger().handlers
    finally:
        logger.setLevel(before)
