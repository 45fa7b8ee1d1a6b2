"""``reauto eval`` on the generated evaluation set in tests/data/eval, and on broken sets.

The set (scripts/make_eval_set.py) is seven labelled calls spoken by flite voices at different
rates and noise levels, through an 8 kHz μ-law phone line, stored as μ-law and PCM WAVs; four give
their turns' times, three leave them to the VAD. The numbers are checked against an independent
computation from the per-turn output, not against hard-coded scores.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from reauto.audio.codec import write_wav
from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import Settings, SttSettings
from reauto.errors import UsageError
from reauto.eval.recordings import load_call, load_set
from reauto.eval.scoring import slot_matches
from reauto.eval.segment import align
from reauto.stt import wer
from reauto.voice.utterances import speech_spans

from .conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "tests" / "data" / "eval"
runner = CliRunner()


def cfg(**stt):
    return Settings(campaigns_dir=ROOT / "campaigns", stt=SttSettings(**stt))


def cli(*args, settings=None):
    return runner.invoke(app, ["eval", *map(str, args)], obj=AppState(_settings=settings or cfg()))


def copy_calls(dst: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(EVAL_SET / name, dst / name)
    return dst


# --- the recordings directory ------------------------------------------------------------------
@pytest.mark.unit
def test_the_generated_set_loads_with_its_labels_and_formats():
    calls, problems = load_set(EVAL_SET)
    assert problems == []
    by_name = {c.name: c for c in calls}
    assert len(calls) == 7
    jane = by_name["buyer-jane"]
    assert jane.timed and len(jane.lead_turns) == 7 and jane.spec.labels.outcome == "booked"
    assert jane.spec.labels.slots() == {"intent": "buy", "timeline_months": 3, "budget_usd": 400000,
                                        "preapproved": True}
    assert not by_name["seller-mark"].timed  # turns left to the VAD
    assert by_name["voicemail-linda"].spec.answered_by == "machine"
    # μ-law 8 kHz, PCM 8 kHz and PCM 16 kHz all come out as 16 kHz PCM of the same length
    for call in calls:
        with open(call.path / "lead.wav", "rb") as f:
            assert f.read(4) == b"RIFF"
        assert abs(call.seconds - len(call.pcm) / 32000) < 1e-9 and call.seconds > 3


def write_call(directory: Path, doc: str | dict, wav: str | None = "ok") -> Path:
    directory.mkdir(parents=True)
    (directory / "call.yaml").write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    if wav == "ok":
        shutil.copy(EVAL_SET / "dnc-tom" / "lead.wav", directory / "lead.wav")
    elif wav == "stereo":
        write_wav(directory / "lead.wav", np.zeros(16000, dtype=np.int16).tobytes(), rate=8000, channels=2)
    elif wav == "44k":
        write_wav(directory / "lead.wav", (np.random.default_rng(1).normal(0, 900, 44100)).astype(np.int16).tobytes(),
                  rate=44100)
    return directory


GOOD = {"campaign": "demo", "turns": [{"speaker": "lead", "text": "hello", "start": 0.6, "end": 1.4}]}


@pytest.mark.unit
@pytest.mark.parametrize(("doc", "wav", "reason"), [
    (GOOD, None, "lead.wav: missing"),
    (GOOD, "stereo", "2 channels; reauto needs mono audio"),
    (GOOD, "44k", "sample rate 44100 Hz; lead.wav must be 8 kHz μ-law or 16-bit PCM at 8 or 16 kHz"),
    ("campaign: demo\nturns: [\n  - {speaker: lead\n", "ok", "call.yaml:3:3: (yaml): invalid YAML"),
    ({**GOOD, "labels": {"timeline_months": "soon"}}, "ok", "labels.timeline_months: Input should be a valid number"),
    ({**GOOD, "labels": {"preapproved": "yes"}}, "ok", "labels.preapproved: Input should be a valid boolean"),
    ({**GOOD, "labels": {"outcome": "sold"}}, "ok", "labels.outcome: Input should be 'booked'"),
    ({**GOOD, "mood": "happy"}, "ok", "mood: unknown key"),
    ({"turns": [{"speaker": "lead", "text": "hi", "start": 2.0}]}, "ok", "give both start and end"),
    ({"turns": [{"speaker": "lead", "text": "hi", "start": 0.5, "end": 1.0}, {"speaker": "lead", "text": "x"}]},
     "ok", "give start and end for every lead turn, or for none"),
    ({"turns": [{"speaker": "agent", "text": "hi"}]}, "ok", "at least one lead turn"),
    ({"turns": [{"speaker": "lead", "text": "hi", "start": 0.5, "end": 99.0}]}, "ok",
     "lead turn 1 ends at 99.00 s but lead.wav is"),
    ({**GOOD, "date": "next spring"}, "ok", "date: Input should be a valid date"),
    ("date: 2026-13-01\nturns: [{speaker: lead, text: hi}]\n", "ok", "month must be in 1..12 (dates are YYYY-MM-DD)"),
])
def test_a_broken_call_is_reported_with_its_file_and_reason(tmp_path, doc, wav, reason):
    directory = write_call(tmp_path / "broken", doc, wav)
    with pytest.raises(UsageError) as err:
        load_call(directory)
    assert reason in err.value.message
    assert str(directory) in err.value.message


@pytest.mark.unit
def test_a_yaml_problem_names_its_line(tmp_path):
    doc = "campaign: demo\nturns:\n  - {speaker: lead, text: hi, start: 0.5, end: 1.0}\nlabels:\n  budget_usd: lots\n"
    directory = write_call(tmp_path / "c", doc)
    with pytest.raises(UsageError, match=r"call.yaml:5:15: labels.budget_usd: Input should be a valid number"):
        load_call(directory)


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(p.name for p in (SHARED / "data" / "speech" / "malformed").glob("*.wav")))
def test_malformed_wavs_are_reported_not_raised(tmp_path, name):
    directory = write_call(tmp_path / "c", GOOD, wav=None)
    shutil.copy(SHARED / "data" / "speech" / "malformed" / name, directory / "lead.wav")
    calls, problems = load_set(tmp_path)
    assert calls == [] and len(problems) == 1 and problems[0].name == "c"
    assert "lead.wav" in problems[0].reason


@pytest.mark.unit
def test_an_empty_or_missing_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a directory"):
        load_set(tmp_path / "nope")
    with pytest.raises(UsageError, match="no recorded calls"):
        load_set(tmp_path)


@pytest.mark.unit
def test_vad_finds_each_utterance_and_align_merges_the_shortest_pauses():
    calls, _ = load_set(EVAL_SET, only=["buyer-jane"])
    jane = calls[0]
    spans = speech_spans(jane.pcm)
    assert len(spans) == 7
    for (a, b), turn in zip(spans, jane.lead_turns, strict=True):
        assert abs(a - turn.start) < 0.3 and abs(b - turn.end) < 0.3
    assert align([(0, 1), (1.2, 2), (4, 5)], 2) == [(0, 2), (4, 5)]
    assert align([(0, 1), (3, 4)], 2) == [(0, 1), (3, 4)]
    with pytest.raises(UsageError, match="found 2 utterance"):
        align([(0, 1), (3, 4)], 3)


# --- reauto eval end to end --------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    html = tmp_path_factory.mktemp("report") / "report.html"
    result = cli(EVAL_SET, "--json", "--html", html)
    return result, html


@pytest.mark.integration
@pytest.mark.slow
def test_eval_scores_the_whole_set_and_the_numbers_add_up(full_run):
    result, html = full_run
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    s = data["summary"]
    assert s["calls"] == 7 and s["failed_calls"] == 0 and data["problems"] == []
    ref_words = errors = 0
    for call in data["calls"]:
        call_ref = call_err = 0
        for t in call["turns"]:
            # the reported errors agree with a plain edit distance on the normalised words
            ref, hyp = wer.scoring_words(t["reference"]), wer.scoring_words(t["heard"])
            assert t["errors"] == wer.word_errors(ref, hyp) and t["ref_words"] == len(ref)
            assert t["wer"] == pytest.approx(t["errors"] / len(ref))
            call_ref, call_err = call_ref + len(ref), call_err + t["errors"]
        assert call["wer"] == pytest.approx(call_err / call_ref)
        ref_words, errors = ref_words + call_ref, errors + call_err
        for slot, check in call["slots"].items():
            assert check["right"] == slot_matches(slot, check["label"], call["predicted_slots"].get(slot))
    assert s["wer"] == pytest.approx(errors / ref_words) and s["ref_words"] == ref_words
    assert s["substitutions"] + s["deletions"] + s["insertions"] == s["word_errors"] == errors
    right = sum(c["right"] for call in data["calls"] for c in call["slots"].values())
    labelled = sum(len(call["slots"]) for call in data["calls"])
    assert s["slot_accuracy"] == pytest.approx(right / labelled)
    assert sum(n for row in s["outcome_confusion"].values() for n in row.values()) == 7
    outcomes_right = sum(call["outcome"]["right"] for call in data["calls"])
    assert s["outcome_accuracy"] == pytest.approx(outcomes_right / 7)
    assert sum(b["turns"] for b in s["confidence"]) == s["turns"] == 33
    # plausibility of the recogniser on this set (pocketsphinx through μ-law with line noise)
    assert s["wer"] < 0.6 and s["outcome_accuracy"] >= 0.5
    assert s["realtime_factor"] < 1.0  # offline scoring runs faster than the audio plays
    # the slot confusion counts each call once per slot, agreeing with the per-call checks
    for slot, table in s["slot_confusion"].items():
        checks = [call["slots"][slot] for call in data["calls"] if slot in call["slots"]]
        if table["kind"] == "number":
            assert table["labelled"] == len(checks) and table["right"] == sum(c["right"] for c in checks)
            assert table["labelled"] + table["unlabelled"] == 7
        else:
            labelled = {k: row for k, row in table["matrix"].items() if k != "(none)"}
            assert sum(n for row in labelled.values() for n in row.values()) == len(checks)
    dnc = [call for call in data["calls"] if call["outcome"]["label"] == "dnc"]
    assert s["opt_out"]["labelled"] == len(dnc) == 1
    assert s["opt_out"]["predicted"] == sum(call["outcome"]["predicted"] == "dnc" for call in dnc)
    # the worst turns are the turns with the most errors, with what the agent made of them
    turns = {(call["name"], t["turn"]): t for call in data["calls"] for t in call["turns"]}
    worst = data["worst_turns"]
    assert worst and [w["errors"] for w in worst] == sorted((w["errors"] for w in worst), reverse=True)
    assert all(w["errors"] == turns[w["call"], w["turn"]]["errors"] > 0 for w in worst)
    assert worst[0]["errors"] == max(t["errors"] for t in turns.values())
    assert all("understood" in w for w in worst)
    wrong = [call["name"] for call in data["calls"] if call["outcome"]["right"] is False]
    assert [w["call"] for w in data["wrong_outcomes"]] == wrong
    page = html.read_text()
    assert page.count("<svg role=\"img\"") == 2 and "<img" not in page and "buyer-jane" in page  # no --realtime
    assert "Worst turns" in page and "Opt-outs" in page and "intent (rows: label" in page


def _scores(data: dict) -> dict:
    """A JSON report without what depends on the machine's speed."""
    timing = {"elapsed_s", "realtime_factor", "stt_ms_p95", "turns_over_live_stt_timeout"}
    out = {**data, "summary": {k: v for k, v in data["summary"].items() if k not in timing}}
    out["calls"] = [{**c, "turns": [{k: v for k, v in t.items() if k != "stt_ms"} for t in c["turns"]]}
                    for c in data["calls"]]
    return out


@pytest.mark.integration
@pytest.mark.slow
def test_the_scores_are_the_same_whatever_the_number_of_recogniser_processes(full_run):
    result, _ = full_run  # --jobs 2: turns decoded at once, on whichever worker is free
    one = cli(EVAL_SET, "--jobs", "1", "--json")  # every turn on one decoder, in another order
    assert one.exit_code == 0, one.output
    two, single = _scores(json.loads(result.stdout)), _scores(json.loads(one.stdout))
    assert single == two
    assert len(two["calls"]) == 7 and two["summary"]["turns"] == 33


@pytest.mark.integration
@pytest.mark.slow
def test_eval_prints_a_table_and_fails_under_a_threshold(tmp_path):
    calls = copy_calls(tmp_path / "set", "buyer-ana", "renter-sam")
    ok = cli(calls, "--max-wer", "0.9", "--min-outcome-accuracy", "0.5")
    assert ok.exit_code == 0, ok.output
    assert "buyer-ana" in ok.stdout and "outcome confusion" in ok.stdout and "WER" in ok.stdout
    strict = cli(calls, "--max-wer", "0", "--min-slot-accuracy", "1.0", "--json")
    assert strict.exit_code == 1
    misses = json.loads(strict.stdout)["threshold_misses"]
    assert any("is above --max-wer 0.0%" in m for m in misses)


@pytest.mark.integration
@pytest.mark.slow
def test_a_wrong_label_is_counted_as_a_slot_error(tmp_path):
    calls = copy_calls(tmp_path / "set", "buyer-ana", "robot-priya")
    before = json.loads(cli(calls, "--json").stdout)
    doc = yaml.safe_load((calls / "buyer-ana" / "call.yaml").read_text())
    doc["labels"]["intent"] = "sell"  # the lead said "we want to buy"
    (calls / "buyer-ana" / "call.yaml").write_text(yaml.safe_dump(doc))
    after = json.loads(cli(calls, "--json").stdout)
    was, now = before["summary"]["slots"]["intent"], after["summary"]["slots"]["intent"]
    assert was["right"] == 2 and now["right"] == 1 and now["labelled"] == 2
    ana = next(c for c in after["calls"] if c["name"] == "buyer-ana")
    assert ana["slots"]["intent"] == {"label": "sell", "predicted": "buy", "right": False}


@pytest.mark.integration
@pytest.mark.slow
def test_broken_calls_are_reported_while_the_others_are_evaluated(tmp_path):
    root = copy_calls(tmp_path / "set", "dnc-tom")
    write_call(root / "no-audio", GOOD, wav=None)
    write_call(root / "stereo", GOOD, wav="stereo")
    write_call(root / "hifi", GOOD, wav="44k")
    write_call(root / "bad-yaml", "turns: [\n")
    write_call(root / "bad-label", {**GOOD, "labels": {"budget_usd": "a lot"}})
    write_call(root / "no-campaign", {"turns": GOOD["turns"]})
    result = cli(root, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [c["name"] for c in data["calls"]] == ["dnc-tom"]
    reasons = {p["call"]: p["reason"] for p in data["problems"]}
    assert set(reasons) == {"no-audio", "stereo", "hifi", "bad-yaml", "bad-label", "no-campaign"}
    assert "missing" in reasons["no-audio"] and "channels" in reasons["stereo"]
    assert "44100 Hz" in reasons["hifi"] and "invalid YAML" in reasons["bad-yaml"]
    assert "labels.budget_usd" in reasons["bad-label"] and "--campaign" in reasons["no-campaign"]
    # the table run names each broken call on stderr
    table = cli(root)
    assert table.exit_code == 1 and "not evaluated: stereo" in table.stderr


@pytest.mark.integration
@pytest.mark.slow
def test_realtime_replay_times_every_stage_and_voice_check_hears_the_agent(tmp_path):
    calls = copy_calls(tmp_path / "set", "dnc-tom")
    result = cli(calls, "--realtime", "--voice-check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (call,) = data["calls"]
    assert [t["turn"] for t in call["latency"]] == [1, 2]
    for t in call["latency"]:
        assert None not in t.values(), t
        # the VAD hears the end within half a second; audio follows the text that follows the stop
        assert -200 < t["vad_stop"] < 500
        # ordered, and within the replay's tail (how fast is a benchmark: scripts/bench/eval.py)
        assert t["vad_stop"] <= t["agent_text"] <= t["tts_first"] <= t["first_audio"] < 20_000
    assert data["summary"]["latency_ms"]["first_audio"]["turns"] == 2
    assert len(call["voice"]) == 2 and all(-40 < v["level_dbfs"] < -3 for v in call["voice"])
    assert data["summary"]["voice"]["replies"] == 2 and data["summary"]["voice"]["wer"] is not None


@pytest.mark.integration
@pytest.mark.slow
def test_compare_runs_two_configurations_side_by_side(tmp_path):
    calls = copy_calls(tmp_path / "set", "buyer-jane", "seller-mark")
    other = tmp_path / "nobias.toml"
    other.write_text(f'campaigns_dir = "{ROOT / "campaigns"}"\n[stt]\nvocabulary_bias = false\n')
    result = cli(calls, "--compare", other, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    a, b = data["reports"]
    assert (a["config"], b["config"]) == ("current", "nobias.toml")
    assert data["differences"]["metrics"]["wer"] == {"current": a["summary"]["wer"], "nobias.toml": b["summary"]["wer"]}
    assert a["summary"]["wer"] != b["summary"]["wer"]  # the campaign bias changes what is heard
    table = cli(calls, "--compare", other)
    assert "current vs nobias.toml" in table.stdout


@pytest.mark.unit
def test_eval_help_has_an_example():
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "Example: reauto eval" in result.stdout


@pytest.mark.unit
def test_unknown_call_name_is_a_usage_error():
    result = cli(EVAL_SET, "--call", "nobody")
    assert isinstance(result.exception, UsageError) and "no call named nobody" in result.exception.message


@pytest.mark.unit
def test_turns_split_on_the_live_call_are_grouped_back_by_their_words():
    from reauto.eval.segment import group_turns

    refs = ["hello", "yes", "it is mark", "we are selling our house"]
    assert group_turns(refs, ["hello", "yes it is mark", "we are selling our house"]) == [[0], [1, 2], [3]]
    assert group_turns(refs, ["hello yes", "it is mark", "we are selling our house"]) == [[0, 1], [2], [3]]
    assert group_turns(["a", "b"], ["x", "y"]) == [[0], [1]]
    with pytest.raises(ValueError):
        group_turns(["a"], ["x", "y"])


@pytest.mark.integration
@pytest.mark.slow
def test_a_recording_with_fewer_utterances_than_turns_is_still_scored(tmp_path):
    root = tmp_path / "set"
    doc = {"campaign": "demo", "lead": {"name": "Tom Becker"},
           "turns": [{"speaker": "lead", "text": "hello"},
                     {"speaker": "lead", "text": "please take me off your list"},
                     {"speaker": "agent", "text": "Sorry?"},
                     {"speaker": "lead", "text": "and do not call me again"}],
           "labels": {"outcome": "dnc"}}
    write_call(root / "split", doc)
    result = cli(root, "--json")
    assert result.exit_code == 0, result.output
    (call,) = json.loads(result.stdout)["calls"]
    assert [t["reference"] for t in call["turns"]] == [
        "hello", "please take me off your list and do not call me again"]
    assert [t["turn"] for t in call["turns"]] == [1, 2]
