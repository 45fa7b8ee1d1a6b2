#!/usr/bin/env python3
"""What decoding answers while they are spoken costs in understanding, on whole recorded calls.

``reauto eval`` decodes every answer whole (the segment's own cepstral mean, known at its end). A
live call cannot wait for the end: it decodes each answer while it is spoken, from a line mean
known at its start. This bench scores a set of recorded calls (``reauto eval``'s format) through
the same agent replay as ``reauto eval``, with the answers decoded as a live call's recogniser
worker decodes them, one configuration after the other:

* ``whole``: every answer decoded whole (what ``reauto eval`` measures);
* ``live``: as a live call: the call's first utterances decoded whole until one has held
  ``LINE_STATE_SPEECH_S`` of speech (a second), its mean then starting the later answers, decoded
  while spoken;
* ``live-0.3s``: as ``live`` with a threshold of 0.3 s (measured, not kept): the mean of a
  "hello?" starts the first answer.

Each answer is cut as the STT service cuts it (0.8 s of the line before the VAD's start, 0.2 s of
silence after) and fed 100 ms at a time. One in-process recogniser per mode, calls in order (a worker's
calls follow one another). Deterministic: the same numbers on every run.

Usage:
    .venv/bin/python scripts/make_eval_set.py /tmp/devset-mild --generate 120 --split dev --seed 7 --mild
    .venv/bin/python scripts/bench/stt_live.py /tmp/devset-mild --campaign campaigns/demo.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.campaign import Campaign, load_campaign  # noqa: E402
from reauto.cli.eval_cmd import scripted_brain  # noqa: E402
from reauto.config import Settings, SttSettings  # noqa: E402
from reauto.dialer.assembly import vocabulary  # noqa: E402
from reauto.dialer.results import percentile  # noqa: E402
from reauto.eval.recordings import RecordedCall, load_set  # noqa: E402
from reauto.eval.runner import EvalOptions, EvalReport, Evaluator, TurnResult  # noqa: E402
from reauto.eval.scoring import word_errors  # noqa: E402
from reauto.stt.base import STTProvider  # noqa: E402
import reauto.stt.sphinx_live as live  # noqa: E402
from reauto.stt.pocketsphinx import PocketSphinxSTT  # noqa: E402
from reauto.voice.pipeline import quiet_pipecat  # noqa: E402

#: mode → the speech a whole-decoded utterance needs to start the call's live decoding (None: whole)
MODES = {"whole": None, "live": live.LINE_STATE_SPEECH_S, "live-0.3s": 0.3}
PREROLL_S, TRAILING_S, FEED = 0.8, 0.2, 3200


class LiveEvaluator(Evaluator):
    """:class:`Evaluator` with each answer decoded as a live call's recogniser decodes it."""

    def __init__(self, *args: Any, mode: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.line: dict[str, str | None] = {}  # per call: the line mean its next answer starts from
        self.live = 0

    async def _stt_for(self, campaign: Campaign) -> STTProvider:
        stt = self._stt.get(campaign.name)
        if stt is None:
            provider = PocketSphinxSTT.from_settings(self.settings.stt)
            provider.set_vocabulary(vocabulary(campaign))
            await provider.start()
            while provider.prepare(2):  # decoders ready, as an idle worker keeps them
                pass
            stt = self._stt[campaign.name] = provider
        return stt

    async def _transcribe(self, stt: STTProvider, call: RecordedCall, i: int, span: tuple[float, float],
                          reference: str, context: str | None = None) -> TurnResult:
        assert isinstance(stt, PocketSphinxSTT)
        pcm = call.segment(max(0.0, span[0] - PREROLL_S), span[1]) + b"\x00\x00" * round(16_000 * TRAILING_S)
        t0 = time.perf_counter()
        if self.mode == "whole":
            transcript = await stt.transcribe(pcm, context=context)
        else:
            utterance = stt.begin(self.line.get(call.name), context)
            self.live += utterance._decoders is not None  # noqa: SLF001 (bench: count live answers)
            for k in range(0, len(pcm), FEED):
                utterance.feed(pcm[k : k + FEED])
            transcript = utterance.end()
            self.line[call.name] = utterance.line_state
        stt_ms = (time.perf_counter() - t0) * 1000
        return TurnResult(i + 1, reference, transcript.text, transcript.confidence, span[0], span[1],
                          word_errors(reference, transcript.text), stt_ms, alternatives=tuple(transcript.alternatives))


async def run(mode: str, calls: list[RecordedCall], campaign: Campaign, max_hmms: int) -> dict[str, Any]:
    threshold = MODES[mode]
    if threshold is not None:
        live.LINE_STATE_SPEECH_S = threshold  # read by each utterance decoded whole
    evaluator = LiveEvaluator(Settings(stt=SttSettings(max_hmms=max_hmms)), campaign_for=lambda _call: campaign, brain_for=scripted_brain,
                              options=EvalOptions(jobs=1), label=mode, mode=mode)
    started = time.perf_counter()
    results = []
    for call in calls:  # one after the other: the order a worker's calls come in
        results.append(await evaluator.evaluate(call))
    report = EvalReport(mode, "pocketsphinx", results, [], time.perf_counter() - started)
    s = report.summary()
    return {"mode": mode, "calls": s["calls"], "turns": s["turns"], "live_answers": evaluator.live,
            "wer": s["wer"], "word_errors": s["word_errors"], "ref_words": s["ref_words"],
            "slot_accuracy": s["slot_accuracy"], "outcome_accuracy": s["outcome_accuracy"],
            "opt_outs": s["opt_out"], "stt_ms_p50": percentile([t.stt_ms for c in report.calls for t in c.turns], 50),
            "stt_ms_p95": s["stt_ms_p95"], "seconds": round(time.perf_counter() - started, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", type=Path)
    parser.add_argument("--campaign", type=Path, default=Path("campaigns/demo.yaml"))
    parser.add_argument("--mode", choices=list(MODES), action="append", help="repeatable; default all")
    parser.add_argument("--max-hmms", type=int, default=SttSettings().max_hmms,
                        help="pocketsphinx's most active HMMs per frame ([stt] max_hmms)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_pipecat("ERROR")
    calls, problems = load_set(args.recordings, ())
    if problems:
        print(f"{len(problems)} calls could not be read", file=sys.stderr)
    campaign = load_campaign(args.campaign)
    rows = [await run(mode, calls, campaign, args.max_hmms) for mode in args.mode or MODES]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'mode':18} {'live':>5} {'WER':>6} {'slots':>6} {'outcome':>7} {'stt p50':>8} {'stt p95':>8}")
    for r in rows:
        print(f"{r['mode']:18} {r['live_answers']:5d} {r['wer']:6.1%} {r['slot_accuracy']:6.1%} "
              f"{r['outcome_accuracy']:7.1%} {r['stt_ms_p50']:8.0f} {r['stt_ms_p95']:8.0f}")


if __name__ == "__main__":
    asyncio.run(main())
