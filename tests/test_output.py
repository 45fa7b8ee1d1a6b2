import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel

from reauto.cli.output import fail, print_json
from reauto.errors import ReautoError, UsageError

pytestmark = pytest.mark.unit


class Color(Enum):
    RED = "red"


@dataclass
class Row:
    a: int


class Model(BaseModel):
    b: str


def test_print_json_encodes_reauto_types(capsys):
    print_json({
        "when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "day": date(2026, 1, 2), "money": Decimal("0.070000"),
        "color": Color.RED, "path": Path("/x"), "row": Row(1), "model": Model(b="z"),
    })
    data = json.loads(capsys.readouterr().out)
    assert data == {"when": "2026-01-02T03:04:00+00:00", "day": "2026-01-02", "money": "0.070000",
                    "color": "red", "path": "/x", "row": {"a": 1}, "model": {"b": "z"}}


def test_print_json_refuses_unknown_types():
    with pytest.raises(TypeError, match="cannot encode object"):
        print_json({"x": object()})


def test_fail_prints_and_returns_exit(capsys):
    exc = fail("broken", code=4)
    assert isinstance(exc, typer.Exit) and exc.exit_code == 4
    assert "error: broken" in capsys.readouterr().err


def test_errors_carry_exit_codes():
    assert ReautoError("x").exit_code == 1
    assert ReautoError("x", exit_code=9).exit_code == 9
    assert UsageError("bad").message == "bad" and UsageError("bad").exit_code == 2
