"""The pieces of ``reauto eval``'s report that need no audio: stage matching, HTML, summaries."""

from pathlib import Path

import pytest

from reauto.eval.html import write_html
from reauto.eval.realtime import StageTimes, match_turns
from reauto.eval.recordings import CallProblem
from reauto.eval.runner import CallResult, EvalReport, TurnResult, latency_summary
from reauto.eval.scoring import word_errors
from reauto.eval.ttscheck import levels
from reauto.voice.latency import TurnLatency

pytestmark = pytest.mark.unit


def test_pipeline_turns_are_matched_to_the_reference_turns_they_follow():
    spans = [(0.5, 1.0), (3.0, 4.0), (8.0, 9.0)]
    # pipeline clock = recording time - 10 s
    measured = [
        TurnLatency(vad_stop=-8.85, stt_final=-8.5, agent_text=-8.84, tts_first=-8.8, first_audio=-8.79),
        TurnLatency(vad_stop=-6.5),  # a pause inside turn 2: superseded by the later stop
        TurnLatency(vad_stop=-5.8, stt_final=-5.2, agent_text=-5.19, tts_first=-5.1, first_audio=-5.09),
    ]
    out = match_turns(spans, measured, to_wav=10.0)
    assert out[0] == StageTimes(1, 150.0, 500.0, 160.0, 200.0, 210.0)
    assert out[1].vad_stop == pytest.approx(200.0) and out[1].first_audio == pytest.approx(910.0)
    assert out[2] == StageTimes(3, None, None, None, None, None)  # never answered
    summary = latency_summary(out)
    assert summary["vad_stop"]["turns"] == 2 and summary["vad_stop"]["of"] == 3
    assert summary["vad_stop"]["p95"] == pytest.approx(200.0)
    assert latency_summary([]) == {}


def test_levels_of_silence_full_scale_and_a_quiet_tone():
    import numpy as np

    assert levels(b"")[0] == float("-inf")
    loud = (np.ones(1000) * 32767).astype(np.int16).tobytes()
    level, peak, clipped = levels(loud)
    assert peak == pytest.approx(0.0, abs=0.01) and clipped == 1.0
    quiet = (np.sin(np.arange(16000) / 5) * 3277).astype(np.int16).tobytes()
    level, peak, clipped = levels(quiet)
    assert -24 < level < -22 and -21 < peak < -19 and clipped == 0.0


def _report(name: str, heard: str, outcome: str, latency: bool) -> EvalReport:
    turns = [TurnResult(1, "hello", "hello", 0.9, 0.5, 1.0, word_errors("hello", "hello"), 100.0),
             TurnResult(2, "we want to buy", heard, 0.3, 2.0, 3.0, word_errors("we want to buy", heard), 300.0)]
    call = CallResult("buyer", "demo", 4.0, turns, ["Hi", "Okay"], {"intent": "buy"}, outcome,
                      {"intent": "buy", "timeline_months": 3}, "booked")
    if latency:
        call.latency = [StageTimes(1, 100.0, 600.0, 601.0, 700.0, 710.0), StageTimes(2, 90.0, None, None, None, None)]
    return EvalReport(name, "pocketsphinx", [call], [CallProblem("broken", "lead.wav: missing")], 2.0)


def test_summary_counts_and_the_html_page(tmp_path: Path):
    a = _report("current", "we want to fly", "booked", latency=True)
    b = _report("other.toml", "we want to buy", "callback", latency=True)
    s = a.summary()
    assert s["wer"] == pytest.approx(1 / 5) and s["slots"]["timeline_months"]["right"] == 0
    assert s["slot_accuracy"] == 0.5 and s["outcome_accuracy"] == 1.0 and s["failed_calls"] == 1
    assert s["realtime_factor"] == 0.5 and s["turns_over_live_stt_timeout"] == 0
    assert a.as_dict()["calls"][0]["outcome"] == {"label": "booked", "predicted": "booked", "right": True}
    page = write_html(tmp_path / "r.html", [a, b], "reauto eval set").read_text()
    # per configuration: share right, turns by WER, latency against the budget; inline, no image
    assert page.count("<svg role=\"img\"") == 6 and "<img" not in page and "<script" not in page
    assert "Configuration: other.toml" in page and "lead.wav: missing" in page and "first_audio" in page


def _turn(n: int, ref: str, heard: str, understood: dict | None) -> TurnResult:
    return TurnResult(n, ref, heard, 0.5, n, n + 1.0, word_errors(ref, heard), 50.0, understood)


def test_worst_turns_wrong_outcomes_and_opt_outs_in_the_report_and_page(tmp_path: Path):
    ana = CallResult("ana", "demo", 9.0, [
        _turn(1, "hello", "hello", {}),
        _turn(2, "we want to buy", "we want to fly", {"intent": "buy"}),
        _turn(3, "in two months", "into mom", {"location": "mom"})],
        ["Hi", "Okay", "Sorry?"], {"intent": "buy", "location": "mom"}, "callback",
        {"intent": "buy", "timeline_months": 2}, "booked")
    tom = CallResult("tom", "demo", 5.0, [
        _turn(1, "hello", "hello", {}),
        _turn(2, "please do not call me again", "please do not call me", {}),
        _turn(3, "bye", "bye", None)],  # after the call ended
        ["Hi", "Understood. Goodbye."], {}, "dnc", {}, "dnc")
    report = EvalReport("current", "pocketsphinx", [ana, tom], [], 3.0)
    worst = report.worst_turns()
    assert [(w["call"], w["turn"], w["errors"]) for w in worst] == [("ana", 3, 3), ("ana", 2, 1), ("tom", 2, 1)]
    assert worst[0]["understood"] == {"location": "mom"} and worst[0]["heard"] == "into mom"
    assert report.worst_turns(1) == worst[:1]
    assert report.wrong_outcomes() == [{"call": "ana", "label": "booked", "predicted": "callback",
                                        "replies": ["Hi", "Okay", "Sorry?"]}]
    s = report.summary()
    assert s["opt_out"] == {"labelled": 1, "predicted": 1, "recall": 1.0, "false_opt_outs": 0,
                            "false_opt_out_calls": []}
    assert s["slot_confusion"]["intent"]["matrix"] == {"buy": {"buy": 1}}
    assert s["slot_confusion"]["timeline_months"]["missing"] == 1
    data = report.as_dict()
    assert data["worst_turns"] == worst and data["wrong_outcomes"] == report.wrong_outcomes()
    assert data["calls"][1]["turns"][2]["understood"] is None
    page = write_html(tmp_path / "r.html", [report], "set").read_text()
    assert "Failures: 1 of 2 calls" in page and "Sorry?" in page and "Worst turns" in page
    assert "<tr class='bad'><td>ana</td><td>outcome</td><td>booked</td><td>callback" in page  # red
    assert "<tr class='bad'><td>ana</td><td>50.0% (4 errors in 8 words)" in page and "<tr><td>tom</td>" in page
    assert "location mom" in page and "(call over)" in page
    assert "<td class='good'>100.0% (1 of 1)</td>" in page  # intent: one call labelled buy, predicted buy
    assert "WER" in page and "31.2% (5 errors in 16 words)" in page
    assert "100.0% (1 of 1) of the calls labelled dnc" in page
    assert "100.0% (3 errors in 3 words)" in page  # the worst turn: ana's third


def test_slots_text():
    from reauto.eval.runner import slots_text

    assert slots_text(None) == "(call over)" and slots_text({}) == "—"
    assert slots_text({"intent": "buy", "budget_usd": {"low": 300000.0, "high": 400000.0}}) == (
        "intent buy, budget_usd 300000–400000")
    assert slots_text({"budget_usd": {"low": None, "high": 1e6}, "timeline_months": 2.5}) == (
        "budget_usd –1000000, timeline_months 2.5")


def test_the_post_call_analysis_is_scored_against_its_labels():
    from reauto.dialer.postcall import analyse
    from reauto.eval.recordings import LABELLED_SLOTS, Labels
    from reauto.eval.runner import analysis_scores

    assert "sentiment" not in LABELLED_SLOTS and Labels(sentiment="negative").slots() == {}
    calls = []
    for heard, outcome, sentiment, objections in [
            ("it is too expensive for us and we are not ready", "not_interested", "negative", ["price", "timing"]),
            ("sounds great, tuesday works", "booked", "positive", []),
            ("we already have an agent", "not_interested", "neutral", ["has_agent"])]:
        turns = [TurnResult(1, heard, heard, 0.9, 0.5, 1.0, word_errors(heard, heard), 10.0)]
        call = CallResult("c", "demo", 2.0, turns, ["Hi"], {}, outcome, {}, outcome,
                          label_sentiment=sentiment, label_objections=objections)
        call.analysis = analyse([("lead", heard)], outcome=outcome, slots={})
        calls.append(call)
    scores = analysis_scores(calls)
    assert scores["sentiment_labelled"] == 3 and scores["objections_labelled"] == 3
    # "we already have an agent" + not interested leans negative: one sentiment of three is wrong
    assert scores["sentiment_accuracy"] == pytest.approx(2 / 3)
    assert scores["objection_recall"] == 1.0 and scores["objection_precision"] < 1.0  # not_interested too
    checks = calls[0].as_dict()["analysis"]["checks"]
    assert checks["sentiment"] == {"label": "negative", "predicted": "negative", "right": True}
