"""Evaluate a set of recorded calls with the current configuration.

For each call: find the lead turns (given times, or the VAD), transcribe each with the configured
STT, replay the recognised turns in order through the agent (the first turn is the lead's
greeting, answered by the opening, as on a live call), and compare the final slots and outcome
with the labels. Optionally replay the audio in real time through the live pipeline (stage
latency) and synthesise the agent's replies and hear them back (voice check).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reauto.campaign import Campaign
from reauto.config import Settings, SttSettings
from reauto.dialer.assembly import vocabulary
from reauto.dialer.postcall import Analysis, analyse
from reauto.dialer.results import percentile
from reauto.errors import ReautoError, UsageError
from reauto.eval import realtime
from reauto.eval.recordings import LABELLED_SLOTS, CallProblem, RecordedCall
from reauto.eval.replay import UNCONCLUDED, AgentReplay, Replayer, replay_agent
from reauto.eval.scoring import (
    WordErrors,
    confidence_bins,
    confusion,
    opt_outs,
    slot_accuracy,
    slot_confusion,
    slot_matches,
    total,
    word_errors,
)
from reauto.eval.segment import align, group_turns
from reauto.eval.ttscheck import VoiceCheck, check_voice
from reauto.stt.base import STTProvider
from reauto.stt.pool import ProcessPoolSTT
from reauto.tts.base import TTSProvider
from reauto.voice.conversation import Brain
from reauto.voice.pipeline import TurnTaking
from reauto.voice.utterances import speech_spans

__all__ = ["UNCONCLUDED", "AgentReplay", "CallResult", "EvalOptions", "EvalReport", "Evaluator", "TurnResult",
           "replay_agent"]

#: Longest one offline transcription may take (live calls keep ``stt.timeout_s``).
BATCH_STT_TIMEOUT_S = 120.0
#: Turns listed as the worst (most word errors first).
WORST_TURNS = 10


@dataclass(frozen=True)
class TurnResult:
    """One lead turn: what was said, what the recogniser heard, and what the agent understood:
    the slots it filled or changed on hearing the turn (None: the call had ended before it)."""

    turn: int
    reference: str
    heard: str
    confidence: float | None
    start: float
    end: float
    errors: WordErrors
    stt_ms: float
    understood: Mapping[str, Any] | None = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()  # the recogniser's next best readings

    def as_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "reference": self.reference, "heard": self.heard,
                "understood": None if self.understood is None else dict(self.understood),
                "confidence": self.confidence, "start": round(self.start, 2), "end": round(self.end, 2),
                "ref_words": self.errors.ref_words, "errors": self.errors.errors, "wer": self.errors.wer,
                "stt_ms": round(self.stt_ms, 1)}


def slots_text(slots: Mapping[str, Any] | None) -> str:
    """Slot values in a line ("intent buy, budget_usd 300000–400000"; "(call over)" for None)."""
    if slots is None:
        return "(call over)"
    parts = []
    for name, value in slots.items():
        if isinstance(value, Mapping) and {"low", "high"} >= set(value):
            low, high = value.get("low"), value.get("high")
            value = _number(low) if low == high else f"{_number(low)}–{_number(high)}"
        parts.append(f"{name} {_number(value)}")
    return ", ".join(parts) or "—"


def _number(value: Any) -> Any:
    if value is None:
        return ""
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass
class CallResult:
    """One call's scores."""

    name: str
    campaign: str
    seconds: float
    turns: list[TurnResult]
    replies: list[str]
    slots: dict[str, Any]
    outcome: str
    labels: dict[str, Any]
    label_outcome: str | None
    latency: list[realtime.StageTimes] = field(default_factory=list)
    voice: list[VoiceCheck] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # where each lead turn was heard
    analysis: Analysis | None = None  # the post-call analysis of what was heard
    label_sentiment: str | None = None
    label_objections: list[str] | None = None

    def analysis_checks(self) -> dict[str, Any]:
        """The analysis against the call's labels (None where a label is missing)."""
        found = self.analysis
        return {"sentiment": {"label": self.label_sentiment, "predicted": found.sentiment if found else None,
                              "right": None if self.label_sentiment is None or found is None
                              else found.sentiment == self.label_sentiment},
                "objections": {"label": self.label_objections, "predicted": found.objections if found else None}}

    @property
    def errors(self) -> WordErrors:
        return total(t.errors for t in self.turns)

    def slot_checks(self) -> dict[str, dict[str, Any]]:
        return {slot: {"label": label, "predicted": self.slots.get(slot),
                       "right": slot_matches(slot, label, self.slots.get(slot))}
                for slot, label in self.labels.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "campaign": self.campaign, "seconds": round(self.seconds, 2),
            "wer": self.errors.wer, "ref_words": self.errors.ref_words, "errors": self.errors.errors,
            "turns": [t.as_dict() for t in self.turns], "replies": self.replies,
            "slots": self.slot_checks(), "predicted_slots": self.slots,
            "outcome": {"label": self.label_outcome, "predicted": self.outcome,
                        "right": None if self.label_outcome is None else self.label_outcome == self.outcome},
            "latency": [s.as_dict() for s in self.latency],
            "voice": [v.as_dict() for v in self.voice],
            "analysis": {**(self.analysis.as_json() if self.analysis else {}), "checks": self.analysis_checks()},
        }


def analysis_scores(calls: Sequence[CallResult]) -> dict[str, Any]:
    """The post-call analysis over labelled calls: sentiment accuracy, objections' precision and recall."""
    sentiments = [c.analysis_checks()["sentiment"]["right"] for c in calls if c.label_sentiment is not None]
    labelled = [(set(c.label_objections), set(c.analysis.objections if c.analysis else ()))
                for c in calls if c.label_objections is not None]
    hits = sum(len(label & found) for label, found in labelled)
    return {"sentiment_labelled": len(sentiments), "sentiment_accuracy": _ratio(sum(bool(r) for r in sentiments),
                                                                                len(sentiments)),
            "objections_labelled": len(labelled),
            "objection_recall": _ratio(hits, sum(len(label) for label, _ in labelled)),
            "objection_precision": _ratio(hits, sum(len(found) for _, found in labelled))}


@dataclass
class EvalReport:
    """Scores of one configuration over one set of calls."""

    config: str
    stt: str
    calls: list[CallResult]
    problems: list[CallProblem]
    elapsed_s: float
    live_stt_timeout_s: float = 5.0

    def summary(self) -> dict[str, Any]:
        errors = total(c.errors for c in self.calls)
        audio_s = sum(c.seconds for c in self.calls)
        tallies = slot_accuracy((c.labels, c.slots) for c in self.calls)
        labelled = [(c.label_outcome, c.outcome) for c in self.calls if c.label_outcome is not None]
        checked = [(c.labels, c.slots) for c in self.calls]
        voice = {v.text: v for c in self.calls for v in c.voice}
        turns = [t for c in self.calls for t in c.turns]
        return {
            "calls": len(self.calls), "failed_calls": len(self.problems), "turns": len(turns),
            "audio_s": round(audio_s, 1), "elapsed_s": round(self.elapsed_s, 2),
            "realtime_factor": round(self.elapsed_s / audio_s, 3) if audio_s else None,
            "wer": errors.wer, "ref_words": errors.ref_words, "word_errors": errors.errors,
            "substitutions": errors.substitutions, "deletions": errors.deletions, "insertions": errors.insertions,
            "slots": {s: {"right": t.right, "labelled": t.labelled, "accuracy": t.accuracy} for s, t in tallies.items()},
            "slot_accuracy": _ratio(sum(t.right for t in tallies.values()), sum(t.labelled for t in tallies.values())),
            "outcome_accuracy": _ratio(sum(a == b for a, b in labelled), len(labelled)),
            "slot_confusion": slot_confusion(checked, LABELLED_SLOTS),
            "outcome_confusion": confusion(labelled),
            "opt_out": opt_outs((c.name, c.label_outcome, c.outcome) for c in self.calls),
            "confidence": confidence_bins((t.confidence, t.errors) for t in turns),
            "stt_ms_p95": percentile([t.stt_ms for t in turns], 95),
            "turns_over_live_stt_timeout": sum(t.stt_ms > self.live_stt_timeout_s * 1000 for t in turns),
            "latency_ms": latency_summary([s for c in self.calls for s in c.latency]),
            "voice": _voice_summary(list(voice.values())),
            "analysis": analysis_scores(self.calls),
        }

    def worst_turns(self, n: int = WORST_TURNS) -> list[dict[str, Any]]:
        """The ``n`` turns with the most word errors (then the highest WER), with their call."""
        turns = sorted(((c, t) for c in self.calls for t in c.turns if t.errors.errors),
                       key=lambda ct: (-ct[1].errors.errors, -(ct[1].errors.wer or 0.0), ct[0].name, ct[1].turn))
        return [{"call": c.name, **{k: v for k, v in t.as_dict().items() if k not in {"start", "end", "stt_ms"}}}
                for c, t in turns[:n]]

    def wrong_outcomes(self) -> list[dict[str, Any]]:
        """The calls whose outcome differs from their label, with what the agent said."""
        return [{"call": c.name, "label": c.label_outcome, "predicted": c.outcome, "replies": c.replies}
                for c in self.calls if c.label_outcome is not None and c.label_outcome != c.outcome]

    def as_dict(self) -> dict[str, Any]:
        return {"config": self.config, "stt": self.stt, "summary": self.summary(),
                "worst_turns": self.worst_turns(), "wrong_outcomes": self.wrong_outcomes(),
                "calls": [c.as_dict() for c in self.calls],
                "problems": [{"call": p.name, "reason": p.reason} for p in self.problems]}


def _ratio(right: int, n: int) -> float | None:
    return right / n if n else None


def latency_summary(stages: Sequence[realtime.StageTimes]) -> dict[str, dict[str, float | int | None]]:
    """p50/p95 per stage over all measured turns, and how many turns reached it."""
    out: dict[str, dict[str, float | int | None]] = {}
    for stage in realtime.STAGES:
        values = [v for s in stages if (v := getattr(s, stage)) is not None]
        if stages:
            out[stage] = {"turns": len(values), "of": len(stages),
                          "p50": percentile(values, 50), "p95": percentile(values, 95)}
    return out


def _voice_summary(checks: Sequence[VoiceCheck]) -> dict[str, Any]:
    if not checks:
        return {}
    return {"replies": len(checks), "wer": total(v.errors for v in checks).wer,
            "level_dbfs_min": round(min(v.level_dbfs for v in checks), 1),
            "level_dbfs_max": round(max(v.level_dbfs for v in checks), 1),
            "peak_dbfs_max": round(max(v.peak_dbfs for v in checks), 1),
            "clipped_share_max": max(v.clipped_share for v in checks)}


@dataclass(frozen=True)
class EvalOptions:
    """What to run beyond STT and understanding."""

    realtime: bool = False
    voice_check: bool = False
    jobs: int = 2


CampaignFor = Callable[[RecordedCall], Campaign]
BrainFor = Callable[[Campaign, RecordedCall], Brain]


class Evaluator:
    """Runs one configuration over recorded calls.

    Args:
        settings: the configuration under test (STT, TTS and agent settings).
        campaign_for: the campaign of a call (raises :class:`ReautoError` when it has none).
        brain_for: a fresh agent for one call of a campaign.
        tts_factory: the TTS provider (needed for ``realtime`` and ``voice_check``).
        options: what to run.
        label: how this configuration is named in reports.
        on_call: progress hook, called with each call's name when it is done.
    """

    def __init__(self, settings: Settings, *, campaign_for: CampaignFor, brain_for: BrainFor,
                 tts_factory: Callable[[], TTSProvider] | None = None, options: EvalOptions = EvalOptions(),
                 label: str = "current", on_call: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.campaign_for = campaign_for
        self.brain_for = brain_for
        self.tts_factory = tts_factory
        self.options = options
        self.label = label
        self.on_call = on_call
        self._stt: dict[str, STTProvider] = {}
        self._tts: TTSProvider | None = None
        self._voice: dict[str, asyncio.Task[VoiceCheck]] = {}
        self._plain_stt: STTProvider | None = None
        self._plain_lock = asyncio.Lock()
        # one utterance per recogniser process at a time: a queued one must not eat its timeout
        self._stt_slots = asyncio.Semaphore(max(1, options.jobs))

    async def run(self, calls: Sequence[RecordedCall], problems: Sequence[CallProblem] = ()) -> EvalReport:
        """Evaluate ``calls``; a call that fails is added to the problems, the others go on."""
        started = time.perf_counter()
        found: list[CallProblem] = list(problems)
        results: dict[str, CallResult] = {}
        gate = asyncio.Semaphore(max(1, self.options.jobs) * 2)

        async def one(call: RecordedCall) -> None:
            async with gate:
                try:
                    results[call.name] = await self.evaluate(call)
                except ReautoError as exc:
                    found.append(CallProblem(call.name, exc.message))
                except Exception as exc:  # noqa: BLE001 (one broken call must not stop the set)
                    found.append(CallProblem(call.name, f"{type(exc).__name__}: {str(exc) or 'no details'}"))
                if self.on_call is not None and not self.options.realtime:
                    self.on_call(call.name)

        try:
            if self.options.voice_check or self.options.realtime:
                await self._start_tts()
            await asyncio.gather(*(one(c) for c in calls))
            if self.options.realtime:
                # one call at a time after the offline work, so no other work skews the timings
                for call in calls:
                    if call.name in results:
                        await self._replay(call, results[call.name], found)
        finally:
            await self.close()
        stt_name = next((getattr(s, "provider_name", s.name) for s in self._stt.values()), self.settings.stt.provider)
        ordered = [results[c.name] for c in calls if c.name in results]
        return EvalReport(self.label, stt_name, ordered, sorted(found, key=lambda p: p.name),
                          time.perf_counter() - started, live_stt_timeout_s=self.settings.stt.timeout_s)

    async def evaluate(self, call: RecordedCall) -> CallResult:
        """Score one call: its turns heard one after the other, each as the answer to what the agent
        asked just before (the recogniser's context), and fed to the agent as on a live call."""
        campaign = self.campaign_for(call)
        stt = await self._stt_for(campaign)
        spans, refs = await self._spans(call)
        replay = Replayer(self.brain_for(campaign, call))
        heard: list[TurnResult] = []
        for i, span in enumerate(spans):
            turn = await self._transcribe(stt, call, i, span, refs[i] if refs is not None else "",
                                          replay.listening_for())
            heard.append(turn)
            await replay.turn(turn.heard, turn.confidence, turn.alternatives)
        agent = await replay.finish()
        if refs is None:  # fewer utterances than turns: the reference turns grouped per utterance
            refs_all = [t.text for t in call.lead_turns]
            groups = group_turns(refs_all, [h.heard for h in heard])
            heard = [TurnResult(g[0] + 1, " ".join(refs_all[k] for k in g), h.heard, h.confidence, h.start, h.end,
                                word_errors(" ".join(refs_all[k] for k in g), h.heard), h.stt_ms)
                     for g, h in zip(groups, heard, strict=True)]
        turns = [dataclasses.replace(t, understood=u) for t, u in zip(heard, agent.understood, strict=True)]
        labels = call.spec.labels
        result = CallResult(call.name, campaign.name, call.seconds, turns, agent.replies, agent.slots,
                            agent.outcome, labels.slots(), labels.outcome, label_sentiment=labels.sentiment,
                            label_objections=labels.objections)
        result.analysis = analyse([("lead", t.heard) for t in turns], outcome=agent.outcome, slots=agent.slots)
        result.spans = spans
        if self.options.voice_check and self._tts is not None:
            result.voice = [await self._voice_of(r) for r in agent.replies if r]
        return result

    async def _replay(self, call: RecordedCall, result: CallResult, found: list[CallProblem]) -> None:
        """Stream one call through the live pipeline and keep its stage timings."""
        assert self._tts is not None
        try:
            campaign = self.campaign_for(call)
            result.latency = await realtime.replay(call, result.spans, stt=await self._stt_for(campaign),
                                                   tts=self._tts, brain=self.brain_for(campaign, call),
                                                   turn_taking=TurnTaking())
        except Exception as exc:  # noqa: BLE001 (the offline scores of the call still stand)
            found.append(CallProblem(call.name, f"real-time replay failed: {type(exc).__name__}: {exc}"))
        if self.on_call is not None:
            self.on_call(call.name)

    async def _spans(self, call: RecordedCall) -> tuple[list[tuple[float, float]], list[str] | None]:
        """Where each lead turn is in the audio, and each span's reference words.

        Given times are used as they are. Otherwise the VAD's utterances are merged down to the
        number of turns; when it finds fewer utterances than turns (a live call split one
        utterance in two), its utterances are used as they are and the references are ``None``:
        consecutive reference turns are grouped per utterance by their words once heard.
        """
        refs = [t.text for t in call.lead_turns]
        if call.timed:
            return [(t.start or 0.0, t.end or 0.0) for t in call.lead_turns], refs
        found = await asyncio.to_thread(speech_spans, call.pcm)
        if not found:
            raise UsageError("the VAD found no speech in lead.wav")
        if len(found) < len(refs):
            return found, None
        return align(found, len(refs)), refs

    async def _transcribe(self, stt: STTProvider, call: RecordedCall, i: int, span: tuple[float, float],
                          reference: str, context: str | None = None) -> TurnResult:
        async with self._stt_slots:
            t0 = time.perf_counter()
            transcript = await stt.transcribe(call.segment(*span), context=context)
            stt_ms = (time.perf_counter() - t0) * 1000
        return TurnResult(i + 1, reference, transcript.text, transcript.confidence, span[0], span[1],
                          word_errors(reference, transcript.text), stt_ms,
                          alternatives=tuple(transcript.alternatives))

    async def _stt_for(self, campaign: Campaign) -> STTProvider:
        stt = self._stt.get(campaign.name)
        if stt is None:
            stt = self._stt[campaign.name] = ProcessPoolSTT(self._batch_stt(), workers=self.options.jobs,
                                                            vocabulary=vocabulary(campaign))
            await stt.start()
        return stt

    def _batch_stt(self) -> SttSettings:
        """The STT settings with a batch job's patience: a slow turn is reported, not dropped."""
        return self.settings.stt.model_copy(update={"timeout_s": max(self.settings.stt.timeout_s, BATCH_STT_TIMEOUT_S),
                                                    "live_streams": 0})  # recordings come whole

    async def _start_tts(self) -> None:
        if self._tts is None and self.tts_factory is not None:
            self._tts = self.tts_factory()
            await self._tts.start()

    async def _voice_of(self, text: str) -> VoiceCheck:
        task = self._voice.get(text)
        if task is None:
            assert self._tts is not None
            task = self._voice[text] = asyncio.ensure_future(self._check_voice(text))
        return await task

    async def _check_voice(self, text: str) -> VoiceCheck:
        assert self._tts is not None
        async with self._plain_lock:
            if self._plain_stt is None:
                # the agent's words are not the leads' answers: hear them without the campaign bias
                self._plain_stt = ProcessPoolSTT(self._batch_stt(), workers=1)
                await self._plain_stt.start()
        return await check_voice(text, self._tts, self._plain_stt)

    async def close(self) -> None:
        """Stop the recogniser pools and the TTS."""
        for stt in self._stt.values():
            await stt.close()
        self._stt.clear()
        if self._plain_stt is not None:
            await self._plain_stt.close()
            self._plain_stt = None
        if self._tts is not None:
            await self._tts.close()
            self._tts = None
