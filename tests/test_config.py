import re
import warnings
from pathlib import Path

import pytest
from pydantic import BaseModel

from reauto.config import Settings, SettingsDeprecationWarning, load_settings, locate_key
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


def _keys_in(text: str) -> set[tuple[str, ...]]:
    """Every key the file shows (commented out or not), with the table it sits in."""
    table: tuple[str, ...] = ()
    found = set()
    for line in text.splitlines():
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            table = tuple(header.group(1).split("."))
            continue
        key = re.match(r"^(\w+) = ", line.lstrip("# "))
        if key:
            found.add((*table, key.group(1)))
    return found


def _setting_keys(model, path=()):
    for name, field in model.model_fields.items():
        if name == "source_file":
            continue
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from _setting_keys(field.annotation, (*path, name))
        else:
            yield (*path, name)


def test_shipped_reauto_toml_documents_every_setting():
    text = (ROOT / "reauto.toml").read_text()
    shown = _keys_in(text)
    for key in _setting_keys(Settings):
        assert key in shown, f"{'.'.join(key)} missing (or not in its [table])"
    assert (ROOT / "reauto" / "starter" / "reauto.toml").read_text() == text
    # and it parses into the defaults once uncommented
    assert load_settings(ROOT / "reauto.toml", env={}) == Settings(source_file=ROOT / "reauto.toml")


# --- a provider's own section ([tts.elevenlabs], [export.hubspot]) and the flat names it replaced ---------

def test_a_provider_section_loads_from_the_file_and_the_environment(tmp_path):
    path = write(tmp_path, '[tts]\npremium = "elevenlabs"\n\n[tts.elevenlabs]\nvoice_id = "v1"\napi_key = "sk_file"\n'
                           '\n[export.salesforce]\ninstance_url = "https://acme.my.salesforce.com"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingsDeprecationWarning)  # the new names warn about nothing
        s = load_settings(path, env={"REAUTO_TTS__ELEVENLABS__API_KEY": "sk_env",
                                     "REAUTO_EXPORT__HUBSPOT__TOKEN": "pat", "REAUTO_TTS__COQUI__DEVICE": "cuda:1"})
    assert s.tts.elevenlabs.voice_id == "v1" and s.tts.elevenlabs.api_key == "sk_env"  # the environment wins
    assert s.tts.elevenlabs.model == "eleven_flash_v2_5" and s.tts.coqui.device == "cuda:1"
    assert s.export.hubspot.token == "pat" and s.export.salesforce.instance_url == "https://acme.my.salesforce.com"


def test_a_flat_key_in_the_file_still_works_and_warns_naming_the_new_key(tmp_path):
    path = write(tmp_path, '[tts]\nlocal = "coqui"\ncoqui_model = "/srv/voice"\n\n[export]\nhubspot_token = "pat"\n'
                           'salesforce_external_id_field = "Ext__c"\n')
    with pytest.warns(SettingsDeprecationWarning) as caught:
        s = load_settings(path, env={})
    messages = [str(w.message) for w in caught]
    assert messages == [
        f"{path}:3: tts.coqui_model is deprecated: set model in [tts.coqui] (tts.coqui.model)",
        f"{path}:6: export.hubspot_token is deprecated: set token in [export.hubspot] (export.hubspot.token)",
        f"{path}:7: export.salesforce_external_id_field is deprecated: set external_id_field in "
        "[export.salesforce] (export.salesforce.external_id_field)",
    ]
    assert s.tts.coqui.model == "/srv/voice" and s.export.hubspot.token == "pat"
    assert s.export.salesforce.external_id_field == "Ext__c"
    assert s == load_settings(write(tmp_path, '[tts]\nlocal = "coqui"\n[tts.coqui]\nmodel = "/srv/voice"\n'
                                              '[export.hubspot]\ntoken = "pat"\n[export.salesforce]\n'
                                              'external_id_field = "Ext__c"\n'), env={}).model_copy(
        update={"source_file": path})


def test_a_flat_environment_variable_still_works_and_warns_naming_the_new_one(tmp_path):
    with pytest.warns(SettingsDeprecationWarning) as caught:
        s = load_settings(write(tmp_path, ""), env={"REAUTO_TTS_ELEVENLABS_API_KEY": "sk_1",
                                                    "REAUTO_EXPORT_HUBSPOT_TOKEN": "pat",
                                                    "REAUTO_EXPORT__SALESFORCE_TOKEN": "tok"})
    assert s.tts.elevenlabs.api_key == "sk_1" and s.export.hubspot.token == "pat" and s.export.salesforce.token == "tok"
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "environment variable REAUTO_EXPORT_HUBSPOT_TOKEN is deprecated: use REAUTO_EXPORT__HUBSPOT__TOKEN "
        "(export.hubspot.token, [export.hubspot] token)",
        "environment variable REAUTO_EXPORT__SALESFORCE_TOKEN is deprecated: use REAUTO_EXPORT__SALESFORCE__TOKEN "
        "(export.salesforce.token, [export.salesforce] token)",
        "environment variable REAUTO_TTS_ELEVENLABS_API_KEY is deprecated: use REAUTO_TTS__ELEVENLABS__API_KEY "
        "(tts.elevenlabs.api_key, [tts.elevenlabs] api_key)",
    ]


def test_the_webhook_and_events_targets_flat_keys_move_to_their_sections(tmp_path):
    path = write(tmp_path, '[export]\nwebhook_url = "https://hooks.example.com/a"\nevents_types = ["call.ended"]\n')
    with pytest.warns(SettingsDeprecationWarning) as caught:
        s = load_settings(path, env={"REAUTO_EXPORT_EVENTS_URLS": '["https://hooks.example.com/e"]',
                                     "REAUTO_EXPORT__WEBHOOK__SECRET": "s"})
    messages = "\n".join(str(w.message) for w in caught)
    assert "set url in [export.webhook]" in messages and "set types in [export.events]" in messages
    assert "use REAUTO_EXPORT__EVENTS__URLS" in messages
    assert s.export.webhook.url == "https://hooks.example.com/a" and s.export.webhook.secret == "s"
    assert s.export.events.urls == ["https://hooks.example.com/e"] and s.export.events.types == ["call.ended"]


def test_faster_whisper_and_the_local_voices_have_sections_of_their_own(tmp_path):
    path = write(tmp_path, '[stt]\nprovider = "faster-whisper"\n\n[stt.faster_whisper]\nmodel = "small.en"\n'
                           'device = "cuda"\nbatch = 16\ntrim = true\n\n[tts.piper]\nvoice = "en_US-amy-medium"\n'
                           '\n[tts.flite]\nvoice = "kal16"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingsDeprecationWarning)  # the new names warn about nothing
        s = load_settings(path, env={"REAUTO_STT__FASTER_WHISPER__DEVICE_INDEX": "1",
                                     "REAUTO_STT__FASTER_WHISPER__COMPUTE_TYPE": "float16",
                                     "REAUTO_STT__FASTER_WHISPER__BEAM_SIZE": "5",
                                     "REAUTO_TTS__ESPEAK_NG__VOICE": "en-gb"})
    w = s.stt.faster_whisper
    assert (w.model, w.device, w.device_index, w.compute_type, w.beam_size, w.batch, w.trim) == (
        "small.en", "cuda", 1, "float16", 5, 16, True)
    assert (s.tts.piper.voice, s.tts.flite.voice, s.tts.espeak_ng.voice) == ("en_US-amy-medium", "kal16", "en-gb")


@pytest.mark.parametrize(("flat", "value", "new"), [
    ("stt.whisper_model", '"small.en"', "stt.faster_whisper.model"),
    ("stt.whisper_device", '"cuda"', "stt.faster_whisper.device"),
    ("stt.whisper_device_index", "1", "stt.faster_whisper.device_index"),
    ("stt.whisper_compute_type", '"float16"', "stt.faster_whisper.compute_type"),
    ("stt.whisper_beam_size", "5", "stt.faster_whisper.beam_size"),
    ("stt.whisper_batch", "16", "stt.faster_whisper.batch"),
    ("stt.whisper_trim", "true", "stt.faster_whisper.trim"),
    ("tts.piper_voice", '"en_US-amy-medium"', "tts.piper.voice"),
    ("tts.flite_voice", '"kal16"', "tts.flite.voice"),
    ("tts.espeak_voice", '"en-gb"', "tts.espeak_ng.voice"),
])
def test_the_flat_whisper_and_voice_names_still_work_and_warn_naming_the_new_key(tmp_path, flat, value, new):
    head, key = flat.split(".")
    section, sub = new.split(".")[1:]
    path = write(tmp_path, f"[{head}]\n{key} = {value}\n")
    with pytest.warns(SettingsDeprecationWarning) as caught:
        from_file = load_settings(path, env={})
    assert [str(w.message) for w in caught] == [
        f"{path}:2: {flat} is deprecated: set {sub} in [{head}.{section}] ({new})"]
    variable = f"REAUTO_{head.upper()}_{key.upper()}"
    new_variable = f"REAUTO_{head.upper()}__{section.upper()}__{sub.upper()}"
    with pytest.warns(SettingsDeprecationWarning) as caught:
        from_env = load_settings(write(tmp_path, ""), env={variable: value.strip('"')})
    assert [str(w.message) for w in caught] == [
        f"environment variable {variable} is deprecated: use {new_variable} ({new}, [{head}.{section}] {sub})"]
    expected = load_settings(write(tmp_path, f"[{head}.{section}]\n{sub} = {value}\n"), env={})
    got = getattr(getattr(expected, head), section)
    assert getattr(getattr(from_file, head), section) == got == getattr(getattr(from_env, head), section)
    assert got != getattr(getattr(Settings(), head), section)


def test_the_catalog_spelling_of_a_section_gets_the_settings_spelling_suggested(tmp_path):
    path = write(tmp_path, '[stt.faster-whisper]\nmodel = "small.en"\n')
    with pytest.raises(ConfigError, match="did you mean faster_whisper"):
        load_settings(path, env={})


def test_an_invalid_value_names_the_variable_that_set_it(tmp_path):
    with pytest.raises(ConfigError, match=r"^environment variable REAUTO_TTS_COQUI_DEVICE: tts\.coqui\.device: "):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SettingsDeprecationWarning)
            load_settings(write(tmp_path, ""), env={"REAUTO_TTS_COQUI_DEVICE": "gpu1"})
    with pytest.raises(ConfigError, match=r"^environment variable REAUTO_TTS__COQUI__DEVICE: tts\.coqui\.device: "):
        load_settings(write(tmp_path, ""), env={"REAUTO_TTS__COQUI__DEVICE": "gpu1"})
    with pytest.raises(ConfigError, match=r"^environment variable REAUTO_DATABASE__POOL_SIZE: database\.pool_size: "):
        load_settings(write(tmp_path, ""), env={"REAUTO_DATABASE__POOL_SIZE": "x"})


def test_a_flat_and_a_nested_key_for_the_same_setting_are_an_error(tmp_path):
    path = write(tmp_path, '[tts]\nelevenlabs_api_key = "a"\n\n[tts.elevenlabs]\napi_key = "b"\n')
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}:2: tts.elevenlabs_api_key and "
                                          r"tts.elevenlabs.api_key are both set: keep tts.elevenlabs.api_key only"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SettingsDeprecationWarning)
            load_settings(path, env={})


def test_a_misspelt_key_of_a_provider_section_is_named_with_its_line(tmp_path):
    path = write(tmp_path, '[tts.elevenlabs]\nvoice_id = "v"\napi_ky = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value) == f"{path}:3: tts.elevenlabs.api_ky: unknown key; did you mean api_key?"
    with pytest.raises(ConfigError, match="REAUTO_TTS__ELEVENLABS__API_KEY"):
        load_settings(write(tmp_path, ""), env={"REAUTO_TTS__ELEVENLABS__API_KY": "x"})


@pytest.mark.parametrize(("text", "env", "expected"), [
    ('[tts]\nlocal = "festival"\n', {}, "tts.local: Value error, unknown local TTS provider 'festival' "
                                        "(known: piper, flite, espeak-ng, coqui)"),
    ("", {"REAUTO_TTS_PREMIUM": "azure"}, "unknown premium TTS provider 'azure' (known: elevenlabs, none)"),
    ('[stt]\nprovider = "vosk"\n', {}, "unknown STT provider 'vosk' (known: pocketsphinx, faster-whisper)"),
])
def test_an_unknown_provider_name_lists_the_catalog_names(tmp_path, text, env, expected):
    from reauto import providercatalog

    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), env=env)
    assert expected in str(err.value)
    family = "stt" if "STT" in expected else "tts"
    role = "local" if "local" in expected else "premium" if "premium" in expected else None
    assert all(name in str(err.value) for name in providercatalog.names(family, role))


def test_the_flat_names_read_are_those_the_provider_sections_replaced():
    from reauto.config.loader import FLAT_NAMES_REPLACED, tables_of

    sections = tables_of(Settings)
    for head, table in FLAT_NAMES_REPLACED:
        assert table in tables_of(sections[head]), f"[{head}.{table}] is gone: drop its flat names"
