"""Values from outside (lead files, posted JSON, webhooks) checked by type and cleaned of control
characters before they become a lead.

PostgreSQL cannot store a NUL character in text or JSON, nor a lone UTF-16 surrogate (JSON's
``"\\ud800"``), and ``NaN`` is not a JSON value: any of them in one record used to fail the
insert of a whole batch. Here each record is judged on its own: control characters are removed
(the record is kept, with a warning), a value of the wrong type rejects the record with the
field and the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

#: C0 and C1 control characters (tab, newline and carriage return are kept: multi-line
#: addresses and notes use them), DEL, and lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: Deepest nesting kept in a lead's custom data (a CRM export nests two or three levels).
MAX_DEPTH = 32


class BadValue(ValueError):
    """A value that cannot be a lead field; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_text(text: str) -> tuple[str, bool]:
    """``text`` without control characters (tab and newlines kept); and whether any were removed."""
    cleaned = _CONTROL.sub("", text)
    return cleaned, len(cleaned) != len(text)


def kind_of(value: Any) -> str:
    """What a value is, in the words a sender of JSON knows (``an object``, ``a list`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, int | float):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def scalar(value: Any, *, flag: bool = False) -> Any:
    """``value`` when it may stand in a one-value lead field: text, a finite number, or (for
    yes/no fields, ``flag``) true/false.

    Raises:
        BadValue: an object, a list, NaN or Infinity, or a boolean where text is expected.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        if flag:
            return value
        raise BadValue(f"expected text, got {kind_of(value)}")
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise BadValue(f"expected text, got {kind_of(value)}")


def scalars(value: Any) -> Any:
    """A multi-value field (phones, evidence): one scalar, or a flat list of them.

    Raises:
        BadValue: an object, a nested list, NaN or Infinity.
    """
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list):
                raise BadValue("expected text or a list of text, got a list inside the list")
            scalar(item)
        return value
    return scalar(value)


def clean_json(value: Any, depth: int = 0) -> tuple[Any, bool]:
    """A JSON value (custom data) with control characters removed from every key and string.

    Returns:
        The cleaned value and whether anything was removed.

    Raises:
        BadValue: NaN or Infinity anywhere in it, or nesting deeper than :data:`MAX_DEPTH`.
    """
    if depth > MAX_DEPTH:
        raise BadValue(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadValue(f"{kind_of(value)} is not a JSON value")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            new_key, key_changed = clean_text(str(key))
            out[new_key], item_changed = clean_json(item, depth + 1)
            changed = changed or key_changed or item_changed
        return out, changed
    if isinstance(value, list | tuple):
        items = [clean_json(item, depth + 1) for item in value]
        return [v for v, _ in items], any(c for _, c in items)
    return value, False


def json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0, ``[[]]`` is 2); iterative, so any
    depth is measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            items: Any = item.values()
        elif isinstance(item, list | tuple):
            items = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in items)
    return deepest
