import re
from pathlib import Path

import pytest

from reauto.config import Settings, load_settings, locate_key
from reauto.errors import ConfigError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reauto.toml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={})
    assert s.database.url == "sqlite:///reauto.db"
    assert s.redis.url is None
    assert s.source_file is None


def test_file_then_env_override(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///a.db"\npool_size = 5\n')
    s = load_settings(path, env={"REAUTO_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert s.database.url == "postgresql+psycopg://u@h/db"
    assert s.database.pool_size == 5
    assert s.source_file == path


def test_double_underscore_env_and_top_level(tmp_path):
    s = load_settings(
        write(tmp_path, ""),
        env={"REAUTO_DATABASE__POOL_SIZE": "3", "REAUTO_DEFAULT_REGION": "CA", "HOME": "/x"},
    )
    assert s.database.pool_size == 3
    assert s.default_region == "CA"


def test_config_env_selects_file(tmp_path):
    path = write(tmp_path, 'log_level = "DEBUG"\n')
    assert load_settings(env={"REAUTO_CONFIG": str(path)}).log_level == "DEBUG"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: settings file not found"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match=r"from \$REAUTO_CONFIG"):
        load_settings(env={"REAUTO_CONFIG": str(tmp_path / "nope.toml")})


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, '# comment\n[database]\nurl = "sqlite:///x.db"\npool_sise = 4\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value) == f"{path}:4: database.pool_sise: unknown key; did you mean pool_size?"
    assert err.value.exit_code == 2


def test_unknown_section_and_bad_value(tmp_path):
    path = write(tmp_path, "[databse]\nurl = 1\n\n[database]\npool_size = 99\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    lines = str(err.value).splitlines()
    assert f"{path}:1: databse: unknown key; did you mean database?" in lines
    assert any(ln.startswith(f"{path}:5: database.pool_size:") for ln in lines)


def test_pool_cap_is_enforced(tmp_path):
    path = write(tmp_path, "[database]\npool_size = 15\nmax_overflow = 10\n")
    with pytest.raises(ConfigError, match="at most 20"):
        load_settings(path, env={})


def test_invalid_toml_names_line_and_column(tmp_path):
    path = write(tmp_path, '[database]\nurl = "unterminated\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2:") + ".*invalid TOML"):
        load_settings(path, env={})


def test_non_utf8_and_unreadable_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'log_level = "INFO"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: settings file is not UTF-8")):
        load_settings(path, env={})
    unreadable = tmp_path / "dir.toml"
    unreadable.mkdir()
    with pytest.raises(ConfigError, match="not found"):
        load_settings(unreadable, env={})


def test_unknown_env_variable_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"REAUTO_DATABASE_URI: unknown setting \(did you mean REAUTO_DATABASE_URL"):
        load_settings(write(tmp_path, ""), env={"REAUTO_DATABASE_URI": "x"})
    with pytest.raises(ConfigError, match=r"REAUTO_NOPE__URL: unknown setting \(did you mean (REAUTO_\w+ or )?REAUTO_REDIS_URL"):
        load_settings(write(tmp_path, ""), env={"REAUTO_NOPE__URL": "x"})
    with pytest.raises(ConfigError, match=r"REAUTO_QQQ: unknown setting \(known: REAUTO_"):  # nothing close
        load_settings(write(tmp_path, ""), env={"REAUTO_QQQ": "x"})
    with pytest.raises(ConfigError, match="unknown key; did you mean keep_days"):
        load_settings(write(tmp_path, "[recording]\nkeep_day = 3\n"), env={})
    # the scripts' and the test suite's own variables are not settings
    tooling = {"REAUTO_VENV": "/opt/venv", "REAUTO_TEST_PG_ADMIN_URL": "postgresql://x", "REAUTO_TEST_REDIS_URL": "r"}
    assert load_settings(write(tmp_path, ""), env=tooling).database.url == Settings().database.url


def test_bad_env_value_names_variable(tmp_path):
    with pytest.raises(ConfigError, match="environment variable REAUTO_DATABASE_POOL_SIZE"):
        load_settings(write(tmp_path, ""), env={"REAUTO_DATABASE_POOL_SIZE": "lots"})


def test_env_json_and_empty_values(tmp_path):
    s = load_settings(write(tmp_path, ""), env={"REAUTO_REDIS_URL": ""})
    assert s.redis.url is None
    with pytest.raises(ConfigError, match="REAUTO_LOG_LEVEL"):
        load_settings(write(tmp_path, ""), env={"REAUTO_LOG_LEVEL": "[1, 2]"})
    # an unparseable JSON-looking value stays a string and is validated as one
    s = load_settings(write(tmp_path, ""), env={"REAUTO_REDIS_KEY_PREFIX": "{tenant"})
    assert s.redis.key_prefix == "{tenant"


def test_locate_key_handles_tables_and_quotes():
    text = '[a]\nx = 1\n[a.b]\n"y" = 2\n'
    assert locate_key(text, ("a", "x")) == 2
    assert locate_key(text, ("a", "b", "y")) == 4
    assert locate_key(text, ("a", "b")) == 3
    assert locate_key(text, ("z",)) is None


def test_shipped_reauto_toml_documents_every_setting():
    text = (ROOT / "reauto.toml").read_text()
    uncommented = "\n".join(ln.lstrip("# ") for ln in text.splitlines())
    for name, field in Settings.model_fields.items():
        if name == "source_file":
            continue
        sub = getattr(field.annotation, "model_fields", None)
        if sub:
            assert f"[{name}]" in text
            for key in sub:
                assert re.search(rf"^{key} = ", uncommented, re.M), f"{name}.{key} missing"
        else:
            assert re.search(rf"^{name} = ", uncommented, re.M), f"{name} missing"
    # and it parses into the defaults once uncommented
    assert load_settings(ROOT / "reauto.toml", env={}) == Settings(source_file=ROOT / "reauto.toml")
