"""Loading the settings: ``reauto.toml`` first, then ``REAUTO_*`` environment variables.

Errors name the variable, or the file, line and key (:func:`locate_key`); a misspelt key gets
the closest known ones. A provider's key under the flat name it had before its section
(``[tts] elevenlabs_api_key``, ``REAUTO_TTS_ELEVENLABS_API_KEY``) is moved to that section
(``[tts.elevenlabs] api_key``) with a :class:`SettingsDeprecationWarning` naming the new key.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reauto import resilience
from reauto.config.settings import Settings
from reauto.errors import ConfigError
from reauto.modelstore import configure as configure_models

ENV_PREFIX = "REAUTO_"
CONFIG_ENV = "REAUTO_CONFIG"
DEFAULT_CONFIG_FILE = "reauto.toml"

#: Environment variables that steer loading itself, or the scripts around reauto, rather than a setting.
_LOADER_VARS = frozenset({CONFIG_ENV, "REAUTO_VENV"})
#: Prefix of the test suite's own variables (the database and Redis servers it uses).
_TOOLING_PREFIX = "REAUTO_TEST_"
#: The provider sections whose keys were flat keys of their parent before (``[tts] elevenlabs_api_key``),
#: with the prefix those flat keys had (``whisper_`` for ``[stt.faster_whisper]``, whose ``whisper_model``
#: is now ``model``): those names are still read, with a warning. A new provider's section has no flat names.
FLAT_NAMES_REPLACED: Mapping[tuple[str, str], str] = {
    ("tts", "coqui"): "coqui_", ("tts", "elevenlabs"): "elevenlabs_", ("tts", "piper"): "piper_",
    ("tts", "flite"): "flite_", ("tts", "espeak_ng"): "espeak_", ("stt", "faster_whisper"): "whisper_",
    ("export", "webhook"): "webhook_", ("export", "events"): "events_", ("export", "hubspot"): "hubspot_",
    ("export", "salesforce"): "salesforce_",
}


class SettingsDeprecationWarning(FutureWarning):
    """A setting given under a name that still works but will go; the message names the new key."""


def env_name(path: tuple[str, ...] | list[str]) -> str:
    """The ``REAUTO_*`` variable of the key at ``path``.

    ``REAUTO_<KEY>`` at the top, ``REAUTO_<SECTION>_<KEY>`` in a section, and
    ``REAUTO_<SECTION>__<PROVIDER>__<KEY>`` in a provider's own section (``[tts.elevenlabs]``).
    """
    joiner = "__" if len(path) > 2 else "_"
    return ENV_PREFIX + joiner.join(path).upper()


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from a TOML file and ``REAUTO_*`` variables.

    Args:
        path: settings file; ``None`` means ``$REAUTO_CONFIG`` or ``./reauto.toml`` if present.
        env: environment to read; ``None`` means ``os.environ``.

    Raises:
        ConfigError: the file cannot be read or parsed, a key or variable is unknown, or a
            value is invalid. The message names the file, line and key (or the variable).
    """
    environ = dict(os.environ if env is None else env)
    file = _choose_file(path, environ)
    data: dict[str, Any] = {}
    text = ""
    if file is not None:
        text, data = _read_toml(file)
        _unflatten(data, file, text)
    overrides = _env_overrides(environ)
    merged = _deep_merge(data, overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _explain(exc, file, text, overrides, environ) from None
    settings.source_file = file
    r = settings.resilience  # the process's one retry policy and breaker defaults
    resilience.configure(resilience.RetryPolicy(initial_s=r.backoff_initial_s, max_s=r.backoff_max_s,
                                                jitter_s=r.jitter_s, max_retry_after_s=r.max_retry_after_s),
                         breaker_threshold=r.breaker_threshold, breaker_reset_s=r.breaker_reset_s)
    configure_models(settings.models.dir)  # where providers find pulled models by name
    return settings


def _choose_file(path: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: settings file not found")
        return file
    if environ.get(CONFIG_ENV):
        file = Path(environ[CONFIG_ENV])
        if not file.is_file():
            raise ConfigError(f"{file}: settings file not found (from ${CONFIG_ENV})")
        return file
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _read_toml(file: Path) -> tuple[str, dict[str, Any]]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read settings file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}:{line}: settings file is not UTF-8") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the position in the message: "... (at line 2, column 20)".
        found = _TOML_POS.search(str(exc))
        where = f"{file}:{found.group(1)}:{found.group(2)}" if found else str(file)
        reason = _TOML_POS.sub("", str(exc)).strip()
        raise ConfigError(f"{where}: invalid TOML: {reason}") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Map ``REAUTO_*`` variables onto the settings tree; unknown names are errors."""
    sections = tables_of(Settings)
    out: dict[str, Any] = {}
    for var, value in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or var in _LOADER_VARS or var.startswith(_TOOLING_PREFIX):
            continue
        name = var[len(ENV_PREFIX) :].lower()
        target = _env_target(name, sections)
        if target is None:
            names = sorted(_env_names(sections))
            close = difflib.get_close_matches(var, names, n=3, cutoff=0.75)
            hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(names)}"
            raise ConfigError(f"environment variable {var}: unknown setting ({hint})")
        if len(target) > 2 and var != env_name(target):
            _deprecated(f"environment variable {var} is deprecated: use {env_name(target)} "
                        f"({'.'.join(target)}, [{'.'.join(target[:-1])}] {target[-1]})")
        node = out
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = _env_value(value)
    return out


def _env_target(name: str, sections: Mapping[str, Any]) -> tuple[str, ...] | None:
    if "__" in name:
        head, *rest = name.split("__")
        section = sections.get(head)
        if section is None:
            return None
        if len(rest) == 1:
            return _section_key(head, section, rest[0])
        table = tables_of(section).get(rest[0]) if len(rest) == 2 else None
        return (head, rest[0], rest[1]) if table is not None and rest[1] in table.model_fields else None
    if name in Settings.model_fields and name not in sections and name != "source_file":
        return (name,)
    for head, section in sections.items():
        if name.startswith(head + "_"):
            found = _section_key(head, section, name[len(head) + 1 :])
            if found:
                return found
    return None


def _section_key(head: str, section: type[BaseModel], key: str) -> tuple[str, ...] | None:
    """Where ``key`` of section ``head`` goes: itself, or the provider's section its flat name names."""
    if key in section.model_fields:
        return (head, key)
    flat = _flat_key(head, section, key)
    return (head, *flat) if flat else None


def tables_of(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The keys of ``model`` that hold a section of their own (``[tts] elevenlabs``), with its model."""
    return {
        name: field.annotation
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }


def _flat_key(head: str, section: type[BaseModel], key: str) -> tuple[str, str] | None:
    """A key's old flat name in section ``head`` (``elevenlabs_api_key``, ``whisper_model``) → its provider's
    section and key (``elevenlabs``, ``api_key``; ``faster_whisper``, ``model``); ``None`` for any other key."""
    if key in section.model_fields:
        return None
    for table, model in tables_of(section).items():
        prefix = FLAT_NAMES_REPLACED.get((head, table))
        if prefix and key.startswith(prefix) and key[len(prefix) :] in model.model_fields:
            return table, key[len(prefix) :]
    return None


def _unflatten(data: dict[str, Any], file: Path, text: str) -> None:
    """Move the file's flat provider keys (``[tts] elevenlabs_api_key``) into their sections, warning."""
    for head, section in tables_of(Settings).items():
        node = data.get(head)
        if not isinstance(node, dict):
            continue
        for key in list(node):
            found = _flat_key(head, section, key)
            if found is None or not isinstance(node.get(found[0], {}), dict):
                continue
            table, sub = found
            line = locate_key(text, (head, key))
            where = f"{file}:{line}" if line else str(file)
            new = f"{head}.{table}.{sub}"
            target = node.setdefault(table, {})
            if sub in target:
                raise ConfigError(f"{where}: {head}.{key} and {new} are both set: keep {new} only")
            target[sub] = node.pop(key)
            _deprecated(f"{where}: {head}.{key} is deprecated: set {sub} in [{head}.{table}] ({new})")


def _deprecated(message: str) -> None:
    warnings.warn(message, SettingsDeprecationWarning, stacklevel=4)


def _env_names(sections: Mapping[str, Any]) -> list[str]:
    names = [
        ENV_PREFIX + n.upper()
        for n in Settings.model_fields
        if n not in sections and n != "source_file"
    ]
    for head, section in sections.items():
        names += [f"{ENV_PREFIX}{head.upper()}_{f.upper()}" for f in section.model_fields]
        names += [env_name((head, table, f)) for table, model in tables_of(section).items() for f in model.model_fields]
    return names


def _env_value(value: str) -> Any:
    stripped = value.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _explain(
    exc: ValidationError, file: Path | None, text: str, overrides: Mapping[str, Any], environ: Mapping[str, str]
) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc) or "(settings)"
        if err["type"] == "extra_forbidden":
            reason = "unknown key" + _closest(loc)
        else:
            reason = err["msg"]
        if _from_env(loc, overrides):
            lines.append(f"environment variable {_variable_of(loc, environ)}: {key}: {reason}")
        elif file is not None:
            line = locate_key(text, loc)
            where = f"{file}:{line}" if line else str(file)
            lines.append(f"{where}: {key}: {reason}")
        else:
            lines.append(f"settings: {key}: {reason}")
    return ConfigError("\n".join(lines))


def _closest(loc: tuple[str, ...]) -> str:
    """ "; did you mean …?" for a misspelt key of the settings file (or nothing)."""
    model: Any = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return ""
        model = field.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=2, cutoff=0.7)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _variable_of(loc: tuple[str, ...], environ: Mapping[str, str]) -> str:
    """The variable that set the value at ``loc`` (the one given, deprecated names too)."""
    sections = tables_of(Settings)
    for var in sorted(environ):
        if var.startswith(ENV_PREFIX) and var not in _LOADER_VARS and not var.startswith(_TOOLING_PREFIX):
            target = _env_target(var[len(ENV_PREFIX) :].lower(), sections)
            if target and loc[: len(target)] == target:
                return var
    return env_name(loc)


def _from_env(loc: tuple[str, ...], overrides: Mapping[str, Any]) -> bool:
    node: Any = overrides
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(loc)


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"]+)\s*=")


def locate_key(text: str, loc: tuple[str, ...]) -> int | None:
    """Return the 1-based line of the TOML key at ``loc`` (table path + key), if present.

    The last matching line wins, like TOML itself would refuse a duplicate; a table header is
    returned when the error is about a whole table.
    """
    table: tuple[str, ...] = ()
    found: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = tuple(p.strip().strip('"') for p in header.group(1).split("."))
            if table == loc:
                found = number
            continue
        key = _KEY.match(line)
        if key and table + (key.group(1).strip('"'),) == loc[: len(table) + 1]:
            found = number
    return found
