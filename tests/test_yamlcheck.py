"""YAML files with a key given twice are refused with the place of the repeat."""

from pathlib import Path

import pytest

from reauto.campaign import validate_campaign
from reauto.errors import UsageError
from reauto.leads.mapping import load_mapping_file

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def test_a_campaign_key_given_twice_is_an_error_at_file_line_column(tmp_path):
    good = (ROOT / "campaigns" / "austin-buyers.yaml").read_text(encoding="utf-8")
    assert validate_campaign(ROOT / "campaigns" / "austin-buyers.yaml")[1] == []
    path = tmp_path / "twice.yaml"
    first = good.splitlines().index(next(ln for ln in good.splitlines() if ln.startswith("concurrency:"))) + 1
    path.write_text(good + "\nconcurrency: 3\n", encoding="utf-8")
    campaign, problems = validate_campaign(path)
    assert campaign is None
    assert [str(p) for p in problems] == [
        f"{path}:{good.count(chr(10)) + 2}:1: concurrency: duplicate key (first on line {first}); a key may appear once"]


def test_nested_and_quoted_repeats_are_found_and_types_kept_apart(tmp_path):
    path = tmp_path / "nested.yaml"
    path.write_text("name: demo\npersona:\n  business: A\n  'business': B\nquestions:\n  - {slot: a, text: x, text: y}\n"
                    "pricing: {1: one, '1': also}\nalias: &m {k: 1}\nagain: *m\n", encoding="utf-8")
    problems = validate_campaign(path)[1]
    assert [(p.line, p.column, p.field) for p in problems] == [(4, 3, "persona.business"), (6, 24, "questions.0.text")]


def test_a_mapping_file_with_a_repeated_field_is_refused(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("phone: Phone 1\nfirst_name: First\nphone: Phone 2\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"map.yaml:3:1: phone: duplicate key \(first on line 1\)"):
        load_mapping_file(path)
    path.write_bytes(b"phone: \xff\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_mapping_file(path)
