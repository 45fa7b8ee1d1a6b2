"""YAML files validated into pydantic models, every problem reported as ``file:line:column``.

pydantic's error locations (``("turns", 2, "start")``) are mapped back to the YAML nodes they
came from, so an operator sees where in the file to look, not a Python traceback. A key given
twice in one mapping is an error too (YAML loaders keep the last one silently, so the first
would be ignored without a word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a YAML file."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message}"


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key = next((k for k, v in node.value if k.value == str(part)), None)
                return key or node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _key_node(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        return next((k for k, _ in parent.value if k.value == str(loc[-1])), parent)
    return parent


def duplicate_keys(root: yaml.Node | None, file: str) -> list[Problem]:
    """Every key that repeats an earlier key of the same mapping, at the repeat's position."""
    problems: list[Problem] = []
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    visited: set[int] = set()  # an alias repeats a node (or loops back to one): each is read once
    while stack:
        node, where = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}.{i}" if where else str(i)) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                path = f"{where}.{getattr(key, 'value', '?')}" if where else str(getattr(key, "value", "?"))
                stack.append((value, path))
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                earlier = first.setdefault((key.tag, key.value), key)
                if earlier is not key:
                    problems.append(Problem(file, key.start_mark.line + 1, key.start_mark.column + 1, path,
                                            f"duplicate key (first on line {earlier.start_mark.line + 1}); "
                                            "a key may appear once"))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _expected(err: Any) -> str:
    msg = re.sub(r"^Value error, ", "", err["msg"])
    if "input" in err and err["type"] not in {"missing"} and not isinstance(err["input"], dict | list):
        return f"{msg} (got {err['input']!r})"
    return msg


def validate_yaml(path: Path | str, model: type[M], what: str) -> tuple[M | None, list[Problem]]:
    """Parse ``path`` and validate it as ``model``; the object, or every problem found.

    Args:
        path: the YAML file.
        model: the pydantic model its top-level mapping must satisfy.
        what: how the file's contents are named in messages ("campaign settings").
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, 1, "(file)", f"cannot read: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(str(path), line, col, "(yaml)", f"invalid YAML: {reason}")]
    duplicates = duplicate_keys(root, str(path))
    if duplicates:
        return None, duplicates
    if not isinstance(data, dict):
        return None, [Problem(str(path), 1, 1, "(file)", f"expected a mapping of {what}")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            node = _key_node(root, loc) if err["type"] == "extra_forbidden" else _node_at(root, loc)
            line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
            field = ".".join(str(p) for p in loc) or "(file)"
            message = "unknown key" if err["type"] == "extra_forbidden" else _expected(err)
            problems.append(Problem(str(path), line, col, field, message))
        return None, sorted(problems, key=lambda p: (p.line, p.column))
