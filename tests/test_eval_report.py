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
    assert page.count("data:image/png;base64,") == 3  # WER histogram, slot accuracy, latency CDF
    assert "Configuration: other.toml" in page and "lead.wav: missing" in page and "first_audio" in page
