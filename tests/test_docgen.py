"""The generated reference docs: in step with the code, complete, truthful about the environment."""

import json
import re
import shutil
from pathlib import Path
from typing import get_args

import pytest

from reauto import docgen
from reauto.config import Settings, SettingsDeprecationWarning, load_settings
from reauto.errors import ConfigError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ENV_NAME = re.compile(r"`(REAUTO_[A-Z0-9_]+)`")


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return docgen.generate()


def settings_from(tmp_path: Path, env: dict[str, str]) -> Settings:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    return load_settings(empty, env=env)


def test_committed_docs_are_the_generated_ones(rendered):
    stale = [name for name, text in rendered.items()
             if not (DOCS / name).is_file() or (DOCS / name).read_text(encoding="utf-8") != text]
    assert not stale, (f"docs/{', docs/'.join(stale)} differ from the code (settings, campaign schema or "
                       "reauto serve changed): run `python -m reauto.docgen` and commit the result")


def test_generation_is_deterministic(rendered):
    assert docgen.generate() == rendered
    assert not re.search(r"/(home|root|tmp|work)/", "".join(rendered.values()))


def test_every_setting_is_in_the_configuration_reference(rendered):
    doc = rendered["configuration.md"]
    fields = docgen.settings_fields()
    sections = {name for name, info in Settings.model_fields.items() if docgen._is_table(info.annotation)}
    assert sections and all(f"## `[{name}]`" in doc for name in sections)
    for name, info in Settings.model_fields.items():
        model = info.annotation if name in sections else None
        keys = list(model.model_fields.items()) if model else [(name, info)]
        for key, field in keys:
            if field.exclude:  # set by the loader (source_file), not a setting
                continue
            if docgen._is_table(field.annotation):  # a provider's own section ([tts.coqui]): its keys below
                assert f"## `[{name}.{key}]`" in doc, key
                continue
            assert f"| `{key}` |" in doc, key
            assert any(f.path == ((name, key) if model else (key,)) for f in fields), key
            if field.description:
                assert docgen.cell(docgen.rst_to_markdown(field.description)) in doc, key
    for field in fields:  # keys of nested tables too ([intake.forms.<name>] …)
        assert f"| `{field.name}` |" in doc, field.path


def test_env_var_names_follow_the_loader():
    assert docgen.env_var(("twilio", "auth_token")) == "REAUTO_TWILIO_AUTH_TOKEN"
    assert docgen.env_var(("default_region",)) == "REAUTO_DEFAULT_REGION"
    assert docgen.env_var(("source_file",)) is None
    assert docgen.env_var(("database", "nope")) is None
    assert docgen.env_var(("tts", "elevenlabs", "api_key")) == "REAUTO_TTS__ELEVENLABS__API_KEY"


def _sample(value):
    """A valid environment value for a setting whose default is ``value`` (and what it parses to)."""
    if isinstance(value, bool):
        return ("false" if value else "true"), not value
    if isinstance(value, (list, dict)):
        return json.dumps(value), value
    if value is None or value == "":
        return "sample-value", "sample-value"
    return str(value), value


def test_every_variable_in_the_doc_is_accepted_by_the_loader(rendered, tmp_path):
    names = set(ENV_NAME.findall(rendered["configuration.md"]))
    by_name = {docgen.env_var(f.path): f for f in docgen.settings_fields()}
    assert names >= {n for n in by_name if n}, "a setting's variable is missing from the doc"
    for name in sorted(names):
        field = by_name.get(name)
        if field is None:  # a flat name a provider's section replaced: still read, with a warning
            with pytest.warns(SettingsDeprecationWarning, match=name):
                settings_from(tmp_path, {name: "x"})
            continue
        default = Settings().model_dump(mode="python")
        for part in field.path:
            default = default[part]
        if default is None and int in get_args(field.info.annotation):
            text, expected = "42", 42  # an optional integer (seed)
        else:
            text, expected = _sample(default.as_posix() if isinstance(default, Path) else default)
        loaded = settings_from(tmp_path, {name: text}).model_dump(mode="python")
        for part in field.path:
            loaded = loaded[part]
        loaded = loaded.as_posix() if isinstance(loaded, Path) else loaded
        assert loaded == expected, (name, text, loaded)


@pytest.mark.parametrize("name,text,path,expected", [
    ("REAUTO_TWILIO_AUTH_TOKEN", "tok-123", ("twilio", "auth_token"), "tok-123"),          # secret string
    ("REAUTO_DATABASE_POOL_SIZE", "7", ("database", "pool_size"), 7),                       # integer
    ("REAUTO_STT_MIN_CONFIDENCE", "0.6", ("stt", "min_confidence"), 0.6),                   # number
    ("REAUTO_TWILIO_TRUST_PROXY", "true", ("twilio", "trust_proxy"), True),                 # boolean
    ("REAUTO_TWILIO_TRUST_PROXY", "1", ("twilio", "trust_proxy"), True),
    ("REAUTO_INTAKE_CONSENT_WRITTEN", "yes", ("intake", "consent_written"), True),
    ("REAUTO_DATABASE_ECHO", "no", ("database", "echo"), False),
    ("REAUTO_STT_PROVIDER", "faster-whisper", ("stt", "provider"), "faster-whisper"),       # Literal
    ("REAUTO_LLM_HOSTS", '["http://10.0.0.5:11434","http://10.0.0.6:11434"]', ("llm", "hosts"),
     ["http://10.0.0.5:11434", "http://10.0.0.6:11434"]),                                    # list (JSON)
    ("REAUTO_PRICING_TELEPHONY_PER_MIN", '{"twilio": 0.014}', ("pricing", "telephony_per_min"),
     {"twilio": 0.014}),                                                                     # table (JSON)
    ("REAUTO_REDIS_URL", "", ("redis", "url"), None),                                        # empty: unset
    ("REAUTO_CAMPAIGNS_DIR", "other/campaigns", ("campaigns_dir",), Path("other/campaigns")),  # top level, path
    ("REAUTO_DATABASE__URL", "sqlite:///x.db", ("database", "url"), "sqlite:///x.db"),      # double underscore
])
def test_documented_variables_are_applied(rendered, tmp_path, name, text, path, expected):
    if "__" not in name:
        assert f"`{name}`" in rendered["configuration.md"]
    value = settings_from(tmp_path, {name: text})
    for part in path:
        value = getattr(value, part)
    assert value == expected


def test_what_the_doc_says_about_the_environment_is_true(rendered, tmp_path):
    doc = rendered["configuration.md"]
    assert "is an error for any other key" in doc
    with pytest.raises(ConfigError, match="REAUTO_TWILIO_PUBLIC_URL"):
        settings_from(tmp_path, {"REAUTO_TWILIO_PUBLIC_URL": ""})
    assert "names it and lists the known ones" in doc
    with pytest.raises(ConfigError, match="REAUTO_TWILIO_TOKEN: unknown setting"):
        settings_from(tmp_path, {"REAUTO_TWILIO_TOKEN": "x"})


def test_campaign_reference_has_every_key(rendered):
    from reauto.campaign import Campaign

    doc = rendered["campaigns.md"]
    for section in docgen.sections(Campaign):
        for field in section.fields:
            assert f"| `{field.name}` |" in doc
    for nested in ("calling_window", "retry", "persona", "questions[]", "slots[]", "booking", "sim_personas[]"):
        assert f"## `{nested}`" in doc
    assert "| `amd` | boolean | `true` |" in doc  # a description from the comment beside the field
    assert "Answering-machine detection on every call" in doc


def test_openapi_has_the_served_paths_and_the_intake_example(rendered):
    spec = json.loads(rendered["openapi.json"])
    assert {"/v1/leads", "/twilio/twiml/{call_id}", "/twilio/status/{call_id}", "/twilio/amd/{call_id}",
            "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    body = spec["paths"]["/v1/leads"]["post"]["requestBody"]["content"]["application/json"]
    lead = body["example"]["leads"][0]
    assert lead["external_id"] == "web-1841" and lead["phone"] == "(512) 555-0123"
    assert rendered["openapi.json"] == json.dumps(spec, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_check_names_a_file_that_drifted_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "docs"
    assert docgen.main(["--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(docgen.DOCUMENTS)
    assert docgen.main(["--check", "--out", str(out)]) == 0
    capsys.readouterr()

    edited = out / "configuration.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nhand edit\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert docgen.main(["--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(edited) in err and "campaigns.md" not in err and "python -m reauto.docgen" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # --check wrote nothing

    (out / "openapi.json").unlink()
    assert docgen.main(["--check", "--out", str(out)]) == 1
    assert "openapi.json" in capsys.readouterr().err

    assert docgen.main(["--out", str(out)]) == 0  # regenerating mends both
    assert docgen.main(["--check", "--out", str(out)]) == 0


def test_check_against_a_copy_of_the_committed_docs(tmp_path):
    copy = tmp_path / "docs"
    copy.mkdir()
    for name in docgen.DOCUMENTS:
        if (DOCS / name).is_file():
            shutil.copy(DOCS / name, copy / name)
    (copy / "campaigns.md").write_text("# stale\n", encoding="utf-8")
    stale = docgen.check(copy)
    assert copy / "campaigns.md" in stale


def test_module_runs_as_a_script(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "docs"
    done = subprocess.run([sys.executable, "-m", "reauto.docgen", "--check", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1 and "configuration.md" in done.stderr
    assert not out.exists()
