"""What the reference pages say about each field of a pydantic model: walking the models,
rendering a field's type, default, limits and allowed values, and its description (from the field,
else from the comment above it in the source). :mod:`reauto.docgen` renders the pages from these.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import tokenize
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo


# --- walking a pydantic model --------------------------------------------------------------------

@dataclass(frozen=True)
class FieldDoc:
    """One documented key of a model.

    Attributes:
        path: the key's place in the tree (``("database", "url")``); a ``[]`` suffix marks a list
            item (``("questions[]", "slot")``).
        name: the key itself.
        info: pydantic's field.
        model: the model the key belongs to.
    """

    path: tuple[str, ...]
    name: str
    info: FieldInfo
    model: type[BaseModel]


@dataclass(frozen=True)
class SectionDoc:
    """A model rendered as one table: its place in the tree, its docstring and its keys."""

    path: tuple[str, ...]
    model: type[BaseModel]
    fields: tuple[FieldDoc, ...]


def _documented(info: FieldInfo) -> bool:
    """Fields excluded from dumps (``source_file``, ``source``) are set by reauto, not by users."""
    return not info.exclude


def models_in(annotation: Any) -> list[tuple[type[BaseModel], str]]:
    """The models a field holds, each with the suffix its items take in a path (``[]`` for lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, "")]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple, set, frozenset, Sequence):
        return [(m, "[]") for arg in args for m, _ in models_in(arg)]
    if origin in (dict, Mapping):
        return [(m, ".<name>") for m, _ in models_in(args[-1])] if args else []
    if origin in (Union, types.UnionType):
        return [found for arg in args for found in models_in(arg)]
    return []


def sections(model: type[BaseModel], path: tuple[str, ...] = (), *,
             list_tables: bool = True) -> list[SectionDoc]:
    """``model`` and every model nested in it (depth first, in field order), as sections.

    Args:
        model: the root model.
        path: where ``model`` sits in the tree.
        list_tables: also list a key that holds a single nested model (a table) among its
            parent's keys; the settings leave their sections out of the top-level keys.
    """
    if not model.__pydantic_complete__:  # forward references to models defined later in the module
        model.model_rebuild()
    own: list[FieldDoc] = []
    nested: list[SectionDoc] = []
    for name, info in model.model_fields.items():
        if not _documented(info):
            continue
        found = models_in(info.annotation)
        table = len(found) == 1 and found[0][1] == ""
        if list_tables or not table:
            own.append(FieldDoc((*path, name), name, info, model))
        for sub, suffix in found:
            nested += sections(sub, (*path, name + suffix), list_tables=list_tables)
    return [SectionDoc(path, model, tuple(own)), *nested]


def settings_fields() -> list[FieldDoc]:
    """Every documented key of :class:`reauto.config.Settings`, in document order."""
    from reauto.config import Settings

    return [f for section in sections(Settings, list_tables=False) for f in section.fields]


# --- rendering types, defaults and limits --------------------------------------------------------

_TYPE_NAMES: dict[Any, str] = {
    str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", PurePath: "path",
    Any: "any",
}


def type_name(annotation: Any, table: str = "table") -> str:
    """A reader's name for a type: ``list of string``, ``table of string → number`` …

    ``table`` is the word for a mapping: TOML's "table", or "mapping" in YAML.
    """
    if annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return table
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(sorted({type_name(type(a), table) for a in args}))
    if origin in (Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        rendered = " or ".join(type_name(a, table) for a in kept)
        return f"{rendered}, optional" if len(kept) < len(args) else rendered
    if origin in (list, tuple, set, frozenset, Sequence):
        return f"list of {type_name(args[0], table)}" if args else "list"
    if origin in (dict, Mapping):
        if len(args) == 2:
            return f"{table} of {type_name(args[0], table)} → {type_name(args[1], table)}"
        return table
    return getattr(annotation, "__name__", str(annotation))


def allowed_values(annotation: Any) -> list[Any]:
    """The values a ``Literal`` (also inside a list or an optional) allows; empty otherwise."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return list(args)
    return [value for arg in args for value in allowed_values(arg)]


def constraints(info: FieldInfo) -> list[str]:
    """Limits pydantic enforces on a field (``≥ 1``, ``≤ 20``, ``at least 1 item`` …)."""
    out: list[str] = []
    optional_of = set(get_args(info.annotation)) - {type(None)}
    is_text = info.annotation is str or (  # an optional string is text too
        get_origin(info.annotation) in (Union, types.UnionType) and optional_of == {str})
    for meta in info.metadata:
        for attr, template in (("gt", "> {}"), ("ge", "≥ {}"), ("lt", "< {}"), ("le", "≤ {}"),
                               ("multiple_of", "a multiple of {}")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(template.format(_number(value)))
        for attr, word in (("min_length", "at least"), ("max_length", "at most")):
            value = getattr(meta, attr, None)
            if value is not None:
                unit = "character" if is_text else "item"
                out.append(f"{word} {value} {unit}{'' if value == 1 else 's'}")
        pattern = getattr(meta, "pattern", None)
        if pattern is not None:
            out.append(f"matches `{pattern}`")
    lengths = [c for c in out if c.startswith(("at least ", "at most "))]
    if len(lengths) == 2 and lengths[0].split(" ", 2)[2] == lengths[1].split(" ", 2)[2]:
        out = [c for c in out if c not in lengths] + ["exactly " + lengths[0].split(" ", 2)[2]]
    return out


def _number(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def secret_suffixes() -> tuple[str, ...]:
    """Endings of the settings' dotted paths ``reauto config show`` masks (its own rule, read from it)."""
    from reauto.cli.config_cmd import SECRET_SUFFIXES

    return tuple(SECRET_SUFFIXES)


def is_secret(path: str) -> bool:
    """Whether the setting at a dotted ``path`` holds a credential (``reauto config show`` prints it as ``***``)."""
    return path.endswith(secret_suffixes())


def _stable(value: Any) -> Any:
    """A default as it should read on any machine: paths relative, never absolute."""
    if isinstance(value, BaseModel):
        return _stable(value.model_dump(mode="python", exclude_none=False))
    if isinstance(value, PurePath):
        return _stable_path(value)
    if isinstance(value, str) and value.startswith("/"):
        return _stable_path(PurePath(value))
    if isinstance(value, Mapping):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_stable(v) for v in value]
    return value


def _stable_path(path: PurePath) -> str:
    if not path.is_absolute():
        return path.as_posix()
    for base, label in ((Path(__file__).resolve().parents[1], ""), (Path.home(), "~/")):
        try:
            return label + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def default_of(info: FieldInfo, *, secret: bool = False) -> tuple[bool, Any]:
    """(whether the key is required, its default) with machine-dependent parts made stable."""
    if info.is_required():
        return True, None
    value = info.get_default(call_default_factory=True)
    if secret:  # shown as empty whatever a default might hold: a doc never carries a credential
        value = type(value)() if isinstance(value, (str, list, dict)) else None
    return False, _stable(value)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    """A value as written in ``reauto.toml``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (f"{k if _BARE_KEY.match(str(k)) else json.dumps(str(k))} = {toml_value(v)}"
                 for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return json.dumps(value, ensure_ascii=False, default=str)


def yaml_value(value: Any) -> str:
    """A value as written in a campaign file (JSON is valid YAML flow style)."""
    return json.dumps(value, ensure_ascii=False, default=str)


# --- descriptions --------------------------------------------------------------------------------

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """Docstring markup as Markdown: ````x```` and ``:func:`x``` become ```x```."""
    text = _ROLE.sub(lambda m: f"``{m.group(1).rsplit('.', 1)[-1]}``", text)
    return text.replace("``", "`")


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell: ``<``, ``>`` and ``|`` escaped outside code."""
    parts = text.replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def source_comments(model: type[BaseModel]) -> dict[str, str]:
    """Trailing ``# comments`` of a model's one-line field definitions, by field name.

    Used where a field has no ``description``: the comment is what the code says about it.
    """
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    lines = source.splitlines()
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line = lines[token.start[0] - 1]
        match = re.match(r"^\s+([A-Za-z_]\w*)\s*:", line)
        comment = token.string.lstrip("#").strip()
        if match is None or re.match(r"(type:|noqa|pragma)", comment) or match.group(1) not in model.model_fields:
            continue
        out[match.group(1)] = comment[:1].upper() + comment[1:] + ("" if comment.endswith(".") else ".")
    return out


def description_of(fd: FieldDoc) -> str:
    """The field's ``description``, else the comment beside its definition, else nothing."""
    if fd.info.description:
        return fd.info.description
    return source_comments(fd.model).get(fd.name, "")


def model_doc(model: type[BaseModel]) -> str:
    """A model's own docstring (not one inherited from pydantic), as Markdown."""
    doc = model.__dict__.get("__doc__")
    return rst_to_markdown(inspect.cleandoc(doc)) if doc else ""
