"""``reauto eval``: replay recorded calls through the current configuration and score it."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, err_console, print_json
from reauto.config import Settings, load_settings
from reauto.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from reauto.agent.scripted.brain import ScriptedBrain
    from reauto.campaign import Campaign
    from reauto.eval.recordings import RecordedCall
    from reauto.eval.runner import EvalOptions, EvalReport


def evaluate(
    ctx: typer.Context,
    recordings: Annotated[Path, typer.Argument(help="Directory of recorded calls (one directory per call).")],
    campaign: Annotated[str | None, typer.Option(
        help="Campaign (name in campaigns_dir, or a YAML path) for calls whose call.yaml names none.")] = None,
    only: Annotated[list[str] | None, typer.Option("--call", help="Evaluate only this call (repeatable).")] = None,
    realtime: Annotated[bool, typer.Option(
        help="Also stream each lead.wav through the live pipeline at real-time pace and time every stage.")] = False,
    voice_check: Annotated[bool, typer.Option(
        help="Also synthesise the agent's replies, pass them through a phone leg and transcribe them back.")] = False,
    compare: Annotated[Path | None, typer.Option(
        help="A second settings file: run both configurations and show the differences side by side.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write an HTML report with plots to this file.")] = None,
    jobs: Annotated[int, typer.Option(help="Recogniser processes.", min=1, max=16)] = 2,
    max_wer: Annotated[float | None, typer.Option(help="Fail (exit 1) when the overall WER is above this.",
                                                  min=0)] = None,
    min_slot_accuracy: Annotated[float | None, typer.Option(
        help="Fail (exit 1) when the share of labelled slots the agent got right is below this.", min=0, max=1)] = None,
    min_outcome_accuracy: Annotated[float | None, typer.Option(
        help="Fail (exit 1) when the share of calls with the labelled outcome is below this.", min=0, max=1)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay recorded calls through the current configuration and score it.

    Each call directory holds call.yaml (reference turns and labels) and lead.wav (the lead's
    side: 8 kHz μ-law, or 16-bit PCM at 8 or 16 kHz). Reports WER per turn, call and overall,
    slot accuracy, an outcome confusion table, confidence vs error, and with --realtime the
    latency of every stage. A call that cannot be read is reported and the others still run.
    Exit status: 0 when every call was evaluated and every threshold met, 1 otherwise.

    Example: reauto eval tests/data/eval --max-wer 0.25 --min-slot-accuracy 0.8 --html report.html
    """
    from reauto.eval.recordings import load_set
    from reauto.eval.runner import EvalOptions
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    cfg = settings(ctx)
    calls, problems = load_set(recordings, only or ())
    if only:
        missing = sorted(set(only) - {c.name for c in calls} - {p.name for p in problems})
        if missing:
            raise UsageError(f"{recordings}: no call named {', '.join(missing)}")
    options = EvalOptions(realtime=realtime, voice_check=voice_check, jobs=jobs)
    configs: list[tuple[str, Settings]] = [("current", cfg)]
    if compare is not None:
        configs.append((compare.name, load_settings(compare)))
    reports = [asyncio.run(_run(label, c, calls, problems, options, recordings, campaign, progress=not as_json))
               for label, c in configs]
    if html is not None:
        from reauto.eval.html import write_html

        write_html(html, reports, f"reauto eval {recordings}", **({"max_wer": max_wer} if max_wer is not None else {}))
    misses = _threshold_misses(reports[0], max_wer, min_slot_accuracy, min_outcome_accuracy)
    if as_json:
        data: dict[str, Any] = reports[0].as_dict()
        if len(reports) > 1:
            data = {"reports": [r.as_dict() for r in reports], "differences": _differences(*reports)}
        data["threshold_misses"] = misses
        print_json(data)
    else:
        for r in reports:
            _render(r)
        if len(reports) > 1:
            _render_compare(*reports)
        if html is not None:
            console.print(f"report written to {html}", highlight=False)
    failed = bool(misses) or bool(reports[0].problems)
    for miss in misses:
        err_console.print(f"[bold red]failed:[/] {miss}", highlight=False)
    if reports[0].problems:
        err_console.print(f"[bold red]failed:[/] {len(reports[0].problems)} call(s) could not be evaluated",
                          highlight=False)
    if failed:
        raise typer.Exit(1)


async def _run(label: str, cfg: Settings, calls: list[RecordedCall], problems: list[Any], options: EvalOptions,
               root: Path, default_campaign: str | None, *, progress: bool) -> EvalReport:
    from reauto.eval.runner import Evaluator
    from reauto.tts.cache import AudioCache
    from reauto.tts.factory import create_tts

    llm = None
    if cfg.llm.brain == "ollama":
        from reauto.cli.brains import connect_llm

        llm = await connect_llm(cfg)
    campaigns = _CampaignFinder(cfg, root, default_campaign)
    extractors: dict[str, Any] = {}

    def brain_for(campaign: Campaign, call: RecordedCall) -> Any:
        scripted = scripted_brain(campaign, call)
        if llm is None:
            return scripted
        from reauto.agent.llm import LLMBrain

        if campaign.name not in extractors:
            extractors[campaign.name] = llm.extractor(campaign)
        return LLMBrain(scripted, llm.chat, llm.prompt, llm.cache, extractors[campaign.name], llm.agent_prompts,
                        campaign.llm)

    bar = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=err_console, transient=True, disable=not progress)
    with bar:
        task = bar.add_task("", total=len(calls))
        evaluator = Evaluator(cfg, campaign_for=campaigns, brain_for=brain_for,
                              tts_factory=lambda: create_tts(cfg.tts, cache=AudioCache()), options=options,
                              label=label, on_call=lambda name: bar.update(task, advance=1, description=name))
        try:
            return await evaluator.run(calls, problems)
        finally:
            from reauto.cli.brains import close_llm

            await close_llm(llm)


def scripted_brain(campaign: Campaign, call: RecordedCall) -> ScriptedBrain:
    """The scripted agent of one recorded call, on the day of the call where call.yaml gives it
    (relative answers such as "next spring" are judged from it), else today."""
    from reauto.agent.scripted.brain import ScriptedBrain
    from reauto.dialer.assembly import script_config

    first = (call.spec.lead.name or "").split(" ")[0] or None
    # min_confidence stays 0: a replay must follow the recorded conversation turn for turn
    config = script_config(campaign, first)
    if call.spec.date is not None:
        config = dataclasses.replace(config, today=call.spec.date)
    return ScriptedBrain(config, answered_by=call.spec.answered_by)


class _CampaignFinder:
    """A call's campaign: ``campaign:`` in its call.yaml, else ``--campaign``; name or path."""

    def __init__(self, cfg: Settings, root: Path, default: str | None) -> None:
        self.cfg, self.root, self.default = cfg, root, default
        self._loaded: dict[Path, Campaign] = {}

    def __call__(self, call: RecordedCall) -> Campaign:
        from reauto.campaign import load_campaign

        ref = call.spec.campaign or self.default
        if ref is None:
            raise UsageError("no campaign: name one in call.yaml (campaign:) or give --campaign")
        candidates = [call.path / ref, self.root / ref, Path(ref), self.cfg.campaigns_dir / ref,
                      self.cfg.campaigns_dir / f"{ref}.yaml"]
        path = next((p for p in candidates if p.is_file()), None) or self._by_name(ref)
        if path is None:
            raise ConfigError(f"campaign {ref!r} not found: no such file, and no campaign file in "
                              f"{self.cfg.campaigns_dir} has that name")
        key = path.resolve()
        if key not in self._loaded:
            self._loaded[key] = load_campaign(path)
        return self._loaded[key]


    def _by_name(self, name: str) -> Path | None:
        """The campaign file in campaigns_dir whose ``name:`` is ``name``."""
        import yaml

        folder = self.cfg.campaigns_dir
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []:
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if isinstance(doc, dict) and doc.get("name") == name:
                return path
        return None


def _threshold_misses(report: EvalReport, max_wer: float | None, min_slots: float | None,
                      min_outcome: float | None) -> list[str]:
    s = report.summary()
    misses = []
    if max_wer is not None and (s["wer"] is None or s["wer"] > max_wer):
        misses.append(f"WER {_pct(s['wer'])} is above --max-wer {max_wer:.1%}")
    if min_slots is not None and (s["slot_accuracy"] is None or s["slot_accuracy"] < min_slots):
        misses.append(f"slot accuracy {_pct(s['slot_accuracy'])} is below --min-slot-accuracy {min_slots:.1%}")
    if min_outcome is not None and (s["outcome_accuracy"] is None or s["outcome_accuracy"] < min_outcome):
        misses.append(f"outcome accuracy {_pct(s['outcome_accuracy'])} is below --min-outcome-accuracy "
                      f"{min_outcome:.1%}")
    return misses


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _render(report: EvalReport) -> None:
    s = report.summary()
    t = Table(title=f"{report.config}: {s['calls']} calls, STT {report.stt}", title_justify="left")
    for col, justify in (("call", "left"), ("turns", "right"), ("WER", "right"), ("slots", "right"),
                         ("outcome label → predicted", "left"), ("first audio p95", "right")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for c in report.calls:
        checks = c.slot_checks()
        right = sum(v["right"] for v in checks.values())
        mark = "" if c.label_outcome is None else (" ✓" if c.label_outcome == c.outcome else " ✗")
        firsts = [x.first_audio for x in c.latency if x.first_audio is not None]
        p95 = f"{max(firsts):.0f} ms" if firsts else "—"
        t.add_row(c.name, str(len(c.turns)), _pct(c.errors.wer), f"{right}/{len(checks)}" if checks else "—",
                  f"{c.label_outcome or '—'} → {c.outcome}{mark}", p95)
    console.print(t)
    console.print(f"WER {_pct(s['wer'])} ({s['word_errors']} errors in {s['ref_words']} words: "
                  f"{s['substitutions']} sub, {s['deletions']} del, {s['insertions']} ins); "
                  f"slot accuracy {_pct(s['slot_accuracy'])}; outcome accuracy {_pct(s['outcome_accuracy'])}; "
                  f"{s['audio_s']} s of audio in {s['elapsed_s']} s", highlight=False)
    if s["slots"]:
        console.print("slots: " + ", ".join(f"{k} {v['right']}/{v['labelled']}" for k, v in s["slots"].items()),
                      highlight=False)
    _render_slot_confusion(s["slot_confusion"])
    conf = s["outcome_confusion"]
    if conf:
        console.print(_matrix("outcome confusion (rows: label, columns: predicted)", conf))
    o = s["opt_out"]
    if o["labelled"] or o["false_opt_outs"]:
        console.print(f"opt-outs: {o['predicted']} of {o['labelled']} calls labelled dnc taken as dnc (recall "
                      f"{_pct(o['recall'])}); false opt-outs: {o['false_opt_outs']}"
                      + (f" ({', '.join(o['false_opt_out_calls'])})" if o["false_opt_outs"] else ""), highlight=False)
    console.print("confidence vs WER: " + "; ".join(f"{b['confidence']}: {b['turns']} turns, WER {_pct(b['wer'])}"
                                                    for b in s["confidence"]), highlight=False)
    if s["latency_ms"]:
        lt = Table(title="latency after the lead stopped speaking (ms)", title_justify="left")
        for col in ("stage", "turns", "p50", "p95"):
            lt.add_column(col, justify="left" if col == "stage" else "right")
        for stage, v in s["latency_ms"].items():
            lt.add_row(stage, f"{v['turns']}/{v['of']}", _ms(v["p50"]), _ms(v["p95"]))
        console.print(lt)
    if s["voice"]:
        v = s["voice"]
        console.print(f"voice check: {v['replies']} replies heard back at WER {_pct(v['wer'])}; level "
                      f"{v['level_dbfs_min']}..{v['level_dbfs_max']} dBFS, peak {v['peak_dbfs_max']} dBFS, "
                      f"clipped samples ≤ {v['clipped_share_max']:.2%}", highlight=False)
    _render_failures(report)
    for p in report.problems:
        err_console.print(f"[red]not evaluated:[/] {p.name}: {p.reason}", highlight=False)


def _matrix(title: str, table: dict[str, dict[str, int]]) -> Table:
    """A confusion table (rows: label, columns: predicted), the agreeing cells in green."""
    from reauto.eval.scoring import NONE

    predicted = sorted({p for row in table.values() for p in row}, key=lambda p: (p == NONE, p))
    t = Table(title=title, title_justify="left")
    t.add_column("label")
    for p in predicted:
        t.add_column(p, justify="right")
    for label, row in table.items():
        t.add_row(label, *(("[green]" if p == label else "[red]") + str(row[p]) if p in row else ""
                           for p in predicted))
    return t


def _render_slot_confusion(confusion: dict[str, dict[str, Any]]) -> None:
    numbers = {k: v for k, v in confusion.items() if v["kind"] == "number"}
    for slot, v in confusion.items():
        if v["kind"] == "category" and v["matrix"]:
            console.print(_matrix(f"{slot} (rows: label, columns: predicted)", v["matrix"]))
    if numbers:
        t = Table(title="numeric slots (spurious: predicted where the call has no label)", title_justify="left")
        for col in ("slot", "right", "wrong", "missing", "labelled", "spurious", "unlabelled"):
            t.add_column(col, justify="left" if col == "slot" else "right")
        for slot, v in numbers.items():
            t.add_row(slot, *(str(v[k]) for k in ("right", "wrong", "missing", "labelled", "spurious", "unlabelled")))
        console.print(t)


def _render_failures(report: EvalReport) -> None:
    from reauto.eval.runner import slots_text

    worst = report.worst_turns()
    if worst:
        t = Table(title="worst turns (most word errors first)", title_justify="left")
        for col in ("call", "turn", "reference", "heard", "understood", "errors/words"):
            t.add_column(col, justify="right" if col in {"turn", "errors/words"} else "left")
        for w in worst:
            t.add_row(*(escape(v) for v in (w["call"], str(w["turn"]), w["reference"], w["heard"],
                                             slots_text(w["understood"]), f"{w['errors']}/{w['ref_words']}")))
        console.print(t)
    for w in report.wrong_outcomes():
        console.print(f"[red]wrong outcome:[/] {escape(w['call'])}: label {w['label']}, predicted {w['predicted']}",
                      highlight=False)
        for i, reply in enumerate(w["replies"], 1):
            console.print(f"  agent {i}: {reply}", highlight=False, markup=False)


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


_COMPARED = (("wer", "WER"), ("slot_accuracy", "slot accuracy"), ("outcome_accuracy", "outcome accuracy"),
             ("realtime_factor", "time / audio"))


def _differences(a: EvalReport, b: EvalReport) -> dict[str, Any]:
    sa, sb = a.summary(), b.summary()
    metrics = {k: {a.config: sa[k], b.config: sb[k]} for k, _ in _COMPARED}
    calls_b = {c.name: c for c in b.calls}
    calls = []
    for c in a.calls:
        other = calls_b.get(c.name)
        if other is not None and (other.outcome != c.outcome or other.errors.errors != c.errors.errors
                                  or other.slots != c.slots):
            calls.append({"call": c.name, "outcome": {a.config: c.outcome, b.config: other.outcome},
                          "wer": {a.config: c.errors.wer, b.config: other.errors.wer}})
    return {"metrics": metrics, "calls": calls}


def _render_compare(a: EvalReport, b: EvalReport) -> None:
    diff = _differences(a, b)
    t = Table(title=f"{a.config} vs {b.config}", title_justify="left")
    for col in ("metric", a.config, b.config, "change"):
        t.add_column(col, justify="left" if col == "metric" else "right")
    for key, name in _COMPARED:
        va, vb = diff["metrics"][key][a.config], diff["metrics"][key][b.config]
        change = "—" if va is None or vb is None else f"{vb - va:+.3f}"
        t.add_row(name, "—" if va is None else f"{va:.3f}", "—" if vb is None else f"{vb:.3f}", change)
    console.print(t)
    for c in diff["calls"]:
        console.print(f"{c['call']}: outcome {c['outcome'][a.config]} → {c['outcome'][b.config]}, WER "
                      f"{_pct(c['wer'][a.config])} → {_pct(c['wer'][b.config])}", highlight=False)
