from pathlib import Path

import pytest

from reauto.campaign import load_campaign, validate_campaign
from reauto.errors import ConfigError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]


def test_demo_campaign_validates():
    c = load_campaign(ROOT / "campaigns" / "demo.yaml")
    assert c.telephony == "sim" and c.caller_id == "+15125550100"
    assert {p.name for p in c.sim_personas} >= {"Jane Doe", "Tom Becker"}
    assert c.source == ROOT / "campaigns" / "demo.yaml"


def test_every_problem_is_reported_with_its_line_and_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Demo!\ncaller_id: 123\npersona:\n  business: X\n  colour: red\n"
                   "questions: []\nscoring: {zip: 1}\n")
    campaign, problems = validate_campaign(bad)
    assert campaign is None
    got = [(p.line, p.column, p.field) for p in problems]
    assert got == [(1, 7, "name"), (2, 12, "caller_id"), (5, 3, "persona.colour"), (6, 12, "questions"),
                   (7, 10, "scoring")]
    assert "fair housing" in problems[-1].message
    with pytest.raises(ConfigError) as err:
        load_campaign(bad)
    assert str(err.value).splitlines()[2] == f"{bad}:5:3: persona.colour: unknown key"


def test_yaml_syntax_and_shape_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: demo\n  caller: [\n")
    _, problems = validate_campaign(broken)
    assert (problems[0].line, problems[0].column) == (2, 9) and "invalid YAML" in problems[0].message
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    assert "expected a mapping" in validate_campaign(listy)[1][0].message
    assert "cannot read" in validate_campaign(tmp_path / "missing.yaml")[1][0].message


def test_scoring_must_name_asked_slots_and_numbers_must_be_valid(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: c\ncaller_id: '+15125550100'\npersona: {business: X}\n"
                 "questions: [{slot: intent, text: 'Buy or sell?'}]\nscoring: {budget_usd: 1, intent: -1}\n")
    _, problems = validate_campaign(f)
    assert any("weights must be" in p.message for p in problems)
    f.write_text("name: c\ncaller_id: '+1555'\npersona: {business: X}\n"
                 "questions: [{slot: intent, text: 'Buy or sell?'}]\nscoring: {budget_usd: 1}\n")
    messages = " ".join(p.message for p in validate_campaign(f)[1])
    assert "E.164" in messages
    f.write_text("name: c\ncaller_id: '+15125550100'\npersona: {business: X}\n"
                 "questions: [{slot: intent, text: 'Buy or sell?'}]\nscoring: {budget_usd: 1}\n")
    assert "scoring names slots not asked for: budget_usd" in " ".join(p.message for p in validate_campaign(f)[1])


@pytest.mark.unit
@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "campaigns").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_campaigns_are_valid(path):
    campaign, problems = validate_campaign(path)
    assert problems == [] and campaign is not None
