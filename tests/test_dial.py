"""``reauto dial`` end to end: campaign file → gate → simulated calls over real audio → stored results.

The simulated leads speak with flite over an 8 kHz μ-law line; the agent hears them through
Silero VAD, Smart-Turn and pocketsphinx, answers with the scripted brain and Piper. Results land
in the run's PostgreSQL database.
"""

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import DatabaseSettings, Settings, SttSettings
from reauto.errors import ReautoError, UsageError
from reauto.store import migrate
from reauto.store.models import Call, CallEvent, DncEntry, Lead, LeadStatus, Turn

from .conftest import create_database, drop_database

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
# 19:30 in Austin: Texas leads are inside the campaign's 09:00–20:00 window, Florida's 20:30 is not
AT = "2026-11-24T19:30:00-06:00"


@pytest.fixture(scope="module")
def dial_cfg():
    name = f"reauto_dial_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    # what the calls end as, not how fast a busy machine decodes: beside CI's CPU burners one
    # transcription can take longer than the 5 s a live call allows, and the turn goes unheard
    cfg = Settings(database=DatabaseSettings(url=url),
                   stt=SttSettings(timeout_s=60.0))
    migrate.upgrade(cfg)
    yield cfg
    drop_database(name)


@pytest.fixture(scope="module")
def campaign_file(tmp_path_factory):
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    keep = {"Jane Doe", "Mark Rivera", "Tom Becker", "Linda Park"}
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] in keep]
    data["sim_personas"].append({"name": "Ed Listed", "phone": "+15125550199", "state": "TX"})
    path = tmp_path_factory.mktemp("campaign") / "dial-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(cfg, *args):
    return runner.invoke(app, list(args), obj=AppState(_settings=cfg))


def rows(cfg, model, *where):
    """The rows of ``model`` in a stable order: a call's turns in the order they were said, the rest
    by id (a table's stored order changes as its rows are updated, and a turn is written again as
    the call goes on)."""
    order = (Turn.call_id, Turn.seq) if model is Turn else tuple(model.__table__.primary_key.columns)
    engine = create_engine(cfg.database.url)
    with Session(engine) as s:
        out = list(s.execute(select(model).where(*where).order_by(*order)).scalars())
    engine.dispose()
    return out


def test_dial_runs_a_campaign_end_to_end(dial_cfg, campaign_file, tmp_path):
    # a number already on the internal list is never dialed
    assert cli(dial_cfg, "dnc", "add", "+1 512 555 0199", "--reason", "asked by email").exit_code == 0
    result = cli(dial_cfg, "dial", str(campaign_file), "--at", AT, "--speed", "1.5",
                 "--recordings", str(tmp_path / "rec"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    calls = {c["lead_name"]: c for c in data["calls"]}
    assert set(calls) == {"Jane Doe", "Tom Becker", "Linda Park"}

    jane = calls["Jane Doe"]
    assert jane["outcome"] == "booked", jane
    assert jane["slots"]["intent"] == "buy" and jane["slots"]["timeline_months"] == 3
    assert jane["slots"]["budget_usd"] == {"low": 400000, "high": 400000}
    assert jane["slots"]["preapproved"] is True and jane["score"] == 1.0
    assert jane["hello_to_first_audio_ms"] is not None and jane["first_audio_p50_ms"] is not None
    assert jane["recorded"] and Path(tmp_path / "rec" / f"call-{jane['call_id']}.wav").stat().st_size > 100_000

    # every answered human's opening was synthesised while the phone rang, and served from cache
    assert data["tts_cache"]["hits"] >= 2
    # the campaign's abandoned-call rate is reported: Jane and Tom answered in person, Linda's
    # voicemail does not count
    assert data["abandoned_30d"]["answered_by_a_person"] == 2 and data["abandoned_30d"]["ceiling"] == 0.03
    # after the calls, Jane's recording was heard again (Tom's ended as an opt-out already): she did
    # not opt out, and nothing is left waiting
    assert data["second_listen"] == {"heard": 1, "opt_outs_found": 0, "not_heard": 0, "waiting": 0}
    assert calls["Tom Becker"]["outcome"] == "dnc"
    assert calls["Linda Park"]["outcome"] == "voicemail"
    # every call's post-call analysis agrees with its stored outcome; the summary names what was said
    analyses = {e.call_id: e.payload for e in rows(dial_cfg, CallEvent, CallEvent.type == "analysis")}
    for stored in rows(dial_cfg, Call):
        assert analyses[stored.id]["disposition"] == stored.outcome, (stored.outcome, analyses[stored.id])
    summary = analyses[jane["call_id"]]["summary"]
    for named in ("wants to buy", "timeline 3 months", "budget $400,000", "Next: Meeting with an agent"):
        assert named in summary, summary
    assert analyses[calls["Tom Becker"]["call_id"]]["next_step"] == "None: on the do-not-call list."

    denied = {d["lead_id"]: d["reason"] for d in data["denied"]}
    leads = {f"{lead.first_name} {lead.last_name}": lead for lead in rows(dial_cfg, Lead)}
    assert "dnc" in denied[leads["Ed Listed"].id].lower()
    assert "window" in denied[leads["Mark Rivera"].id].lower()

    # what the store says afterwards
    assert leads["Jane Doe"].status == LeadStatus.BOOKED
    assert leads["Tom Becker"].status == LeadStatus.DNC and leads["Tom Becker"].dnc
    assert sorted(e.phone_e164 for e in rows(dial_cfg, DncEntry, DncEntry.removed_at.is_(None))) \
        == ["+15125550199", "+17135550165"]
    assert leads["Mark Rivera"].status == LeadStatus.SCHEDULED and leads["Mark Rivera"].next_attempt_at
    assert leads["Linda Park"].attempts == 1 and leads["Linda Park"].next_attempt_at is not None
    jane_call = rows(dial_cfg, Call, Call.id == jane["call_id"])[0]
    assert jane_call.outcome == "booked" and jane_call.recording_path
    turns = rows(dial_cfg, Turn, Turn.call_id == jane["call_id"])
    assert [t.speaker for t in turns][:2] == ["agent", "lead"]
    assert rows(dial_cfg, CallEvent, CallEvent.call_id == jane["call_id"])

    # dialing again at once places no call: nobody is due
    again = cli(dial_cfg, "dial", str(campaign_file), "--at", AT, "--json", "--fixed-concurrency")
    assert again.exit_code == 0 and json.loads(again.stdout)["calls"] == []
    assert json.loads(again.stdout)["admission"] is None  # admission control off: --concurrency holds

    # every call was heard again after the run: nothing waits for `reauto calls recheck`
    rechecked = cli(dial_cfg, "calls", "recheck", "--campaign", "demo", "--json")
    assert rechecked.exit_code == 0 and json.loads(rechecked.stdout) == [], rechecked.output
    unknown = cli(dial_cfg, "calls", "recheck", "--campaign", "no-such-campaign")
    assert unknown.exit_code != 0 and "no such campaign" in unknown.output + str(unknown.exception)

    # the stored calls are listed, and the recorded ones become an evaluation set
    listed = cli(dial_cfg, "calls", "list", "--campaign", "demo", "--json")
    assert listed.exit_code == 0, listed.output
    assert {c["id"]: c["outcome"] for c in json.loads(listed.stdout)}[jane["call_id"]] == "booked"
    exported = cli(dial_cfg, "calls", "export-recordings", "--campaign", "demo", "--out", str(tmp_path / "set"),
                   "--json")
    assert exported.exit_code == 0, exported.output
    jane_dir = tmp_path / "set" / f"call-{jane['call_id']}"
    assert str(jane_dir) in json.loads(exported.stdout)["written"]
    doc = yaml.safe_load((jane_dir / "call.yaml").read_text())
    assert doc["labels"] == {"intent": "buy", "timeline_months": 3, "budget_usd": 400000, "preapproved": True,
                             "outcome": "booked"}
    assert doc["lead"]["name"] == "Jane Doe" and doc["turns"][0]["speaker"] == "agent"
    assert (jane_dir / "agent.wav").stat().st_size > 50_000
    again = cli(dial_cfg, "calls", "export-recordings", "--campaign", "demo", "--out", str(tmp_path / "set"),
                "--json")
    assert json.loads(again.stdout)["written"] == [] and "exists" in json.loads(again.stdout)["skipped"][0]["reason"]
    # ... which `reauto eval` replays: the lead's channel is found with the VAD and heard again
    evaluated = cli(dial_cfg.model_copy(update={"campaigns_dir": campaign_file.parent}), "eval", str(tmp_path / "set"),
                    "--call", jane_dir.name, "--json")
    assert evaluated.exit_code in (0, 1), evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["problems"] == [], report["problems"]
    (call,) = report["calls"]
    assert call["outcome"]["label"] == "booked" and call["wer"] is not None and call["wer"] < 0.5, call


def test_dial_rejects_bad_arguments(dial_cfg, campaign_file, tmp_path):
    result = cli(dial_cfg, "dial", str(campaign_file), "--at", "yesterday")
    assert isinstance(result.exception, UsageError) and "ISO 8601" in str(result.exception)
    result = cli(dial_cfg, "dial", str(campaign_file), "--at", "2026-11-24T15:00:00")
    assert isinstance(result.exception, UsageError) and "UTC offset" in str(result.exception)
    twilio = tmp_path / "twilio.yaml"
    twilio.write_text(campaign_file.read_text().replace("telephony: sim", "telephony: twilio"))
    result = cli(dial_cfg, "dial", str(twilio), "--at", AT)
    assert isinstance(result.exception, UsageError) and "--at is for simulated telephony" in str(result.exception)
    result = cli(dial_cfg, "dial", str(twilio))
    assert isinstance(result.exception, UsageError) and "public_url" in str(result.exception)


def test_dial_needs_a_migrated_database(tmp_path, campaign_file):
    cfg = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'empty.db'}"))
    result = cli(cfg, "dial", str(campaign_file))
    assert isinstance(result.exception, ReautoError) and "reauto db upgrade" in str(result.exception)


def test_campaign_validate_and_show(campaign_file, tmp_path):
    ok = cli(None, "campaign", "validate", str(campaign_file), "--json")
    assert ok.exit_code == 0, ok.output
    shown = cli(None, "campaign", "show", str(campaign_file), "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["name"] == "demo"
    bad = tmp_path / "bad.yaml"
    bad.write_text(campaign_file.read_text().replace("concurrency: 4", "concurrency: lots"))
    result = cli(None, "campaign", "validate", str(bad))
    assert result.exit_code != 0 and "bad.yaml:" in result.output and "concurrency" in result.output


def test_dial_with_the_ollama_brain_words_the_scripted_lines(dial_cfg, tmp_path):
    import asyncio
    import re
    import threading

    from tests.fakes.ollama import FakeOllama

    def reword(body):
        planned = re.search(r'do exactly this, in your own words, and nothing more:\n"(.+?)"',
                            body["messages"][0]["content"], re.S).group(1)
        return "Alright, " + planned[0].lower() + planned[1:]

    def read(body):
        """A model that reads the answer to the timeline question (the rules cannot: no number), and
        writes the post-call analysis."""
        if "summary" in body["format"]["properties"]:
            transcript = body["messages"][-1]["content"]
            assert transcript.startswith("agent: Hi Jane") and "lead: " in transcript
            return {"summary": "Jane wants to buy once the kids finish school.", "sentiment": "positive",
                    "objections": [], "next_step": "Meet the agent."}
        asked = re.search(r'The assistant had just said: "(.+?)"', body["messages"][0]["content"]).group(1)
        said = body["messages"][-1]["content"]
        if "move" in asked and said.strip():
            return {"timeline_months": {"value": 5, "quote": said}}
        return {}

    fake = FakeOllama(reply=reword, ttft_s=0.05, extract=read)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(fake.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
        data["name"] = "llm-demo"
        data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] == "Jane Doe"]
        data["sim_personas"][0]["answers"]["timeline_months"] = "once the baby arrives"
        path = tmp_path / "llm.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        cfg = dial_cfg.model_copy(update={"llm": dial_cfg.llm.model_copy(
            # what is checked is the wording and the reading, not their speed: a busy machine may be slow
            update={"brain": "ollama", "hosts": [fake.url], "first_token_timeout_s": 10.0, "timeout_s": 30.0,
                    "extract_timeout_s": 10.0})})
        result = cli(cfg, "dial", str(path), "--at", AT, "--speed", "1.5", "--json")
        assert result.exit_code == 0, result.output
        call = json.loads(result.stdout)["calls"][0]
        turns = [(t.speaker, t.text) for t in rows(dial_cfg, Turn, Turn.call_id == call["call_id"])]
        # the lead's answers go through real recognition: the script may book or call back
        assert call["status"] == "completed" and call["outcome"] in {"booked", "callback"}, turns
        assert call["slots"].get("intent") == "buy", turns
        # read by the extraction request, with the campaign's slots as its format schema
        assert call["slots"].get("timeline_months") == 5, turns
        formats = [r["format"] for r in fake.requests if r.get("format")]
        assert formats and set(formats[0]["properties"]) == {"intent", "timeline_months", "budget_usd", "preapproved"}
        assert not fake.errors
        agent_lines = [text for who, text in turns if who == "agent"]
        assert agent_lines[0].startswith("Hi Jane")  # the opening is the script's, word for word
        assert sum(line.startswith("Alright, ") for line in agent_lines) >= 2, turns
        # the model was loaded at start, and woken again while the phone rang
        assert sum(r.get("messages") == [] for r in fake.requests) >= 2
        # the post-call analysis: the rules' at the call's end, then the LLM's (the latest is the call's)
        analyses = [e.payload for e in rows(dial_cfg, CallEvent, CallEvent.call_id == call["call_id"],
                                                   CallEvent.type == "analysis")]
        assert [a["by"] for a in analyses] == ["rules", "llm"], analyses
        assert analyses[1]["summary"] == "Jane wants to buy once the kids finish school."
        assert analyses[1]["disposition"] == call["outcome"] == analyses[0]["disposition"]
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_dial_never_overspends_a_budget_and_itemises_every_call(dial_cfg, campaign_file, tmp_path, redis_settings):
    """Budget $0.06/day, one minute held per call ($0.0255): two calls are dialed, the third is
    refused before dialing; a call that needs a second minute is refused the top-up and ended."""
    data = yaml.safe_load(campaign_file.read_text())
    data["name"] = "budget-demo"
    # Texan leads inside the calling window and on no DNC list (Tom asked not to be called above)
    data["sim_personas"] = [p for p in data["sim_personas"] if p["name"] in {"Jane Doe", "Linda Park"}] + [
        {"name": "Ann Extra", "phone": "+15125550181", "state": "TX", "says_dnc": True},
        {"name": "Bo Extra", "phone": "+15125550182", "state": "TX", "says_dnc": True}]
    path = tmp_path / "budget.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfg = dial_cfg.model_copy(update={"redis": redis_settings, "budget": dial_cfg.budget.model_copy(
        update={"call_estimate_min": 1.0})})
    assert cli(cfg, "budget", "set", "--daily", "0.06", "--campaign", "budget-demo").exit_code == 0
    result = cli(cfg, "dial", str(path), "--at", AT, "--speed", "1.5", "--json")
    assert result.exit_code == 5, result.output  # the budget stopped the run: not a clean exit for cron
    out = json.loads(result.stdout)
    assert out["stopped"]["reason"] == "budget" and "daily budget $0.06 is used up" in out["stopped"]["message"]
    spend = out["spend"]
    assert len(out["calls"]) == 2 and spend["refused_for_budget"] == 1 and spend["overspent_calls"] == []
    refused = [d for d in out["denied"] if d["reason"].startswith("budget")]
    assert len(refused) == 1
    assert rows(dial_cfg, Call, Call.lead_id == refused[0]["lead_id"]) == []  # refused before dialing
    assert Decimal(str(spend["total_usd"])) <= Decimal("0.06")
    assert {"kind": "breaker", "action": "dialing_stopped"}.items() <= spend["alerts"][0].items()

    # the ledger: every line is quantity × unit price, and each call's lines add up to its total
    costs = cli(cfg, "budget", "costs", "--campaign", "budget-demo", "--json")
    assert costs.exit_code == 0, costs.output
    for call in json.loads(costs.stdout):
        lines = call["lines"]
        assert {line["component"] for line in lines} >= {"telephony", "media_stream", "amd", "stt", "tts"}
        for line in lines:
            q, p, a = (Decimal(str(line[k])) for k in ("quantity", "unit_price", "amount"))
            assert a == (q * p).quantize(Decimal("0.000001"))
        assert sum(Decimal(str(line["amount"])) for line in lines) == Decimal(str(call["total_usd"]))
    status = cli(cfg, "budget", "status", "--campaign", "budget-demo", "--json")
    (budget,) = json.loads(status.stdout)
    assert Decimal(str(budget["spent_usd"])) == Decimal(str(spend["total_usd"])).quantize(Decimal("0.000001"))
    assert Decimal(str(budget["held_usd"])) == 0 and budget["utilisation"] <= 1.0
    assert cli(cfg, "budget", "status").exit_code == 0 and cli(cfg, "budget", "costs", "--campaign",
                                                               "budget-demo").exit_code == 0
    history = json.loads(cli(cfg, "budget", "history", "--campaign", "budget-demo", "--json").stdout)
    assert sum(Decimal(str(d["total_usd"])) for d in history) == Decimal(str(budget["spent_usd"]))
    assert cli(cfg, "budget", "history").exit_code == 0
    by_provider = json.loads(cli(cfg, "budget", "history", "--by", "provider", "--json").stdout)
    assert "pocketsphinx" in by_provider[-1]["components"] and "sim" in by_provider[-1]["components"]

    # the Prometheus metrics of this run agree with the store (the campaign label is this test's)
    from reauto.metrics import exposition
    from reauto.monitoring.top import parse

    samples = parse(exposition().decode())

    def metric(name, **labels):
        return sum(v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items()))

    stored = [rows(dial_cfg, Call, Call.id == c["call_id"])[0] for c in out["calls"]]
    assert metric("reauto_calls_placed_total", campaign="budget-demo") == len(stored) == 2
    for call in stored:
        assert metric("reauto_calls_completed_total", campaign="budget-demo", outcome=call.outcome.value) >= 1
    assert metric("reauto_calls_completed_total", campaign="budget-demo") == 2
    assert metric("reauto_calls_active", campaign="budget-demo") == 0
    assert metric("reauto_leads_refused_total", campaign="budget-demo", reason="budget") == 1
    assert metric("reauto_cost_dollars_total", campaign="budget-demo") == pytest.approx(
        float(sum(c.cost_total for c in stored)))
    assert metric("reauto_stage_latency_seconds_count", stage="first_audio") >= 2


def test_a_run_where_no_lead_is_in_its_calling_window_says_how_to_run_a_demo(tmp_path):
    name = f"reauto_night_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)))
    try:
        migrate.upgrade(cfg)
        result = cli(cfg, "dial", "campaigns/demo.yaml", "--at", "2026-11-24T03:00:00-06:00")
    finally:
        drop_database(name)
    assert result.exit_code == 0, result.output
    assert "no lead is inside its calling window now" in result.output and "--at" in result.output
