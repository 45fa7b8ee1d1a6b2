#!/usr/bin/env python3
"""Benchmark the call pipeline: orchestration overhead, first audio, and concurrency.

Each call is a real Pipecat pipeline (Silero VAD, Smart-Turn v3, transports, services) over a
simulated phone line, with a simulated lead speaking flite audio through 8 kHz μ-law in real time.

    # (1)+(3) zero-latency model doubles: orchestration overhead at N concurrent calls
    .venv/bin/python scripts/bench/pipeline.py doubles --calls 100
    .venv/bin/python scripts/bench/pipeline.py doubles --calls 100 --processes 2   # as 2 dialers
    # (2)+(4) the real embedded stack (pocketsphinx pool, Piper joe voice, scripted agent)
    .venv/bin/python scripts/bench/pipeline.py embedded --calls 1 2 4 8 12

Doubles: the STT double returns what the lead said (an oracle, 0 ms), the TTS double returns a
tone as long as the text would take to speak (0 ms). The agent is the scripted brain asking three
questions (``--answer-ends-turn off``: the end of each turn is Smart-Turn's alone).
Reported per run: turns measured, orchestration overhead p50/p95 (VAD stop → first audio out,
minus time inside STT, end-of-turn wait, agent and TTS), first agent audio after the lead's
"hello" p50/p95 (measured at the lead's end of the line: last packet of "hello" → first packet of
agent audio heard), audio underruns, the worst event-loop lag, and the CPU used over the run
(cores: the whole process, its event-loop thread, and other processes on the machine).
"""

from __future__ import annotations

import os

# Many calls make many small matrix products (Smart-Turn's features): parallelism comes from the
# calls, and BLAS threads that spin between products only take CPU from them. Set before numpy
# is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.agent.scripted.brain import ScriptedBrain  # noqa: E402
from reauto.agent.scripted.script import Question, ScriptConfig  # noqa: E402
from reauto.audio.line import PhoneLine  # noqa: E402
from reauto.config import SttSettings  # noqa: E402
from reauto.runtime import settled_gc  # noqa: E402
from reauto.sim.lead import LeadReport, LeadScript, SimulatedLead  # noqa: E402
from reauto.stt.base import STTProvider, Transcript  # noqa: E402
from reauto.tts.base import TTSProvider  # noqa: E402
from reauto.voice.pipeline import CallOutcome, CallSession, TurnTaking, quiet_pipecat  # noqa: E402
from reauto.voice.transport_sim import SimTransport  # noqa: E402

ANSWERS = {
    "timeline_months": "in about three months",
    "budget_usd": "around four hundred thousand",
    "preapproved": "yes we are pre approved",
}


class OracleSTT(STTProvider):
    """Zero-latency STT double: returns what the simulated lead last said."""

    name = "oracle"

    def __init__(self, report: LeadReport) -> None:
        self.report = report

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        text = self.report.said[-1] if self.report.said else ""
        return Transcript(text.lower().strip("?.!,"), 1.0, len(pcm) / 32000)


class ToneTTS(TTSProvider):
    """Zero-latency TTS double: a tone as long as the text takes to speak (60 ms a character)."""

    name = "tone"
    sample_rate = 16_000

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        n = int(self.sample_rate * 0.06 * len(text))
        t = np.arange(n) / self.sample_rate
        yield (np.sin(2 * np.pi * 220 * t) * 6000).astype(np.int16).tobytes()


def scripted_brain(name: str = "Jane") -> ScriptedBrain:
    """The scripted agent: confirms the lead, asks timeline, budget and financing, then says goodbye
    (no booking offered). It also judges whether a lead turn answers its question
    (``TurnTaking.answer_ends_turn``)."""
    return ScriptedBrain(ScriptConfig(
        agent_name="Ava", business="Acme Realty", lead_first_name=name,
        questions=[Question("timeline_months", "When are you hoping to buy?"),
                   Question("budget_usd", "What budget do you have in mind?"),
                   Question("preapproved", "Are you pre-approved for a mortgage?")]))


async def loop_lag(stop: asyncio.Event) -> float:
    worst, last = 0.0, time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.02)
        now = time.perf_counter()
        worst, last = max(worst, now - last - 0.02), now
    return worst * 1000


async def one_call(i: int, stt_factory, tts: TTSProvider, brain_factory, turn: TurnTaking,  # type: ignore[no-untyped-def]
                   ring_s: float) -> tuple[CallOutcome, LeadReport, PhoneLine]:
    brain = brain_factory(f"Lead{i}")  # every call's opening is its own (the lead's name)
    warm = getattr(tts, "warm", None)
    if warm is not None and ring_s > 0:  # as the dialer does: synthesise the opening while it rings
        warming = asyncio.create_task(warm([brain.opening().text]))
        await asyncio.sleep(ring_s)
        await warming
    line = PhoneLine()
    lead = SimulatedLead(LeadScript("Jane Doe", ANSWERS), line, max_s=90)
    session = CallSession(SimTransport(line), stt_factory(lead.report), tts, brain, turn_taking=turn,
                          on_agent_text=line.say_text, timeout_s=120)
    outcome, report = await asyncio.gather(session.run(), lead.run())
    return outcome, report, line


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def run(n: int, stt_factory, tts: TTSProvider, brain_factory, turn: TurnTaking,  # type: ignore[no-untyped-def]
              ring_s: float = 0.0) -> dict:
    stop = asyncio.Event()
    lag = asyncio.create_task(loop_lag(stop))
    started = time.perf_counter()
    cpu, loop_cpu, machine = time.process_time(), time.thread_time(), busy_cpu_s()
    results = []
    for i in range(n):  # stagger starts by 100 ms, as a dialer would
        results.append(asyncio.create_task(one_call(i, stt_factory, tts, brain_factory, turn, ring_s)))
        await asyncio.sleep(0.1)
    done = await asyncio.gather(*results)
    stop.set()
    wall = time.perf_counter() - started
    cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
    machine = busy_cpu_s() - machine if machine is not None else None
    overhead, first, hello, underruns, turns = [], [], [], 0, 0
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    for outcome, report, line in done:
        for t in outcome.latency.completed():
            turns += 1
            if t.overhead_ms is not None:
                overhead.append(t.overhead_ms)
            if t.first_audio_ms is not None and not t.greeting:
                first.append(t.first_audio_ms)
                for name, ms in stage_times(t).items():
                    stages[name].append(ms)
        if report.hello_to_first_audio_ms is not None:
            hello.append(report.hello_to_first_audio_ms)
        underruns += line.stats.underruns
    raw = {"calls": n, "turns": turns, "wall_s": wall, "overhead": overhead, "first": first, "hello": hello,
           "underruns": underruns, "loop_lag_max_ms": await lag, "cpu_s": cpu, "loop_cpu_s": loop_cpu,
           "machine_s": machine, "stages": stages}
    return summary([raw])


#: Where a turn's time goes, VAD stop → first agent audio (ms), each stage from the pipeline's marks:
#: the transcript after the VAD stop (recogniser queue + decoding beyond the audio), its decoding
#: alone, the end-of-turn wait after the transcript, the agent, TTS to its first chunk, and that
#: chunk to the wire. The first four add up to VAD stop → reply text.
STAGES = ("transcript", "decode", "end_of_turn", "agent", "tts_first_chunk", "to_wire")


def stage_times(t) -> dict[str, float]:  # type: ignore[no-untyped-def]
    def gap(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else max(0.0, (b - a) * 1000)

    heard = max(x for x in (t.vad_stop, t.stt_final) if x is not None)
    times = {"transcript": gap(t.vad_stop, t.stt_final), "decode": t.stt_ms or None,
             "end_of_turn": gap(heard, t.turn_end), "agent": gap(t.turn_end or heard, t.agent_text),
             "tts_first_chunk": gap(t.agent_text, t.tts_first), "to_wire": gap(t.tts_first, t.first_audio)}
    return {name: ms for name, ms in times.items() if ms is not None}


def summary(raws: list[dict]) -> dict:
    """One report from the runs of one or more processes (their calls at the same time)."""
    def merged(key: str) -> list[float]:
        return [v for raw in raws for v in raw[key]]

    overhead, first, hello = merged("overhead"), merged("first"), merged("hello")
    wall = max(raw["wall_s"] for raw in raws)
    calls = sum(raw["calls"] for raw in raws)
    cpu, loop_cpu = sum(raw["cpu_s"] for raw in raws), max(raw["loop_cpu_s"] for raw in raws)
    machines = [raw["machine_s"] for raw in raws if raw["machine_s"] is not None]
    machine = max(machines) if machines else None  # the whole machine, seen from each process
    return {
        "calls": calls, "processes": len(raws), "turns": sum(raw["turns"] for raw in raws), "wall_s": round(wall, 1),
        "overhead_p50_ms": pct(overhead, 50), "overhead_p95_ms": pct(overhead, 95),
        "turn_first_audio_p50_ms": pct(first, 50), "turn_first_audio_p95_ms": pct(first, 95),
        "hello_first_audio_p50_ms": pct(hello, 50), "hello_first_audio_p95_ms": pct(hello, 95),
        "hello_missing": calls - len(hello), "underruns": sum(raw["underruns"] for raw in raws),
        "loop_lag_max_ms": round(max(raw["loop_lag_max_ms"] for raw in raws), 1),
        "stages_ms": {name: {"p50": pct([v for raw in raws for v in raw.get("stages", {}).get(name, [])], 50),
                             "p95": pct([v for raw in raws for v in raw.get("stages", {}).get(name, [])], 95)}
                      for name in STAGES},
        # CPU, in cores over the run: the benchmark's processes, the busiest event-loop thread, and
        # the rest of the machine (other processes; the machine may be shared)
        "cpu_cores": round(cpu / wall, 2), "loop_thread_cores": round(loop_cpu / wall, 2),
        "others_cores": round(max(0.0, machine - cpu) / wall, 2) if machine is not None else None,
        "raw": raws,
    }


def in_processes(n: int, processes: int, argv: list[str]) -> dict:
    """``n`` doubles calls split over ``processes`` processes started together (as several
    dialers share a campaign), one report over all of them."""
    import subprocess

    shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    start_at = time.time() + 3.0  # every process imports and loads its models first
    children = [subprocess.Popen([sys.executable, __file__, "doubles", "--calls", str(share), "--start-at",
                                  str(start_at), "--raw", *argv], stdout=subprocess.PIPE, text=True)
                for share in shares]
    raws = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"a benchmark process failed (exit {child.returncode})")
        raws.append(json.loads(out)[0]["raw"][0])
    return summary(raws)


def busy_cpu_s() -> float | None:
    """CPU seconds the whole machine has spent busy (Linux), to see what else ran meanwhile."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["doubles", "embedded"])
    parser.add_argument("--calls", type=int, nargs="+", default=[10])
    parser.add_argument("--stt-workers", type=int, default=2)
    parser.add_argument("--max-hmms", type=int, default=SttSettings().max_hmms,
                        help="pocketsphinx's most active HMMs per frame in the live search ([stt] max_hmms)")
    parser.add_argument("--live-streams", type=int, default=SttSettings().live_streams,
                        help="answers each recogniser process decodes while spoken ([stt] live_streams)")
    parser.add_argument("--vocabulary", choices=["on", "off"], default="off",
                        help="embedded: bias pocketsphinx toward the answers, as `reauto dial` does with a "
                        "campaign's (two searches per utterance; default off)")
    parser.add_argument("--ring-s", type=float, default=3.0,
                        help="embedded: ringing before the lead answers, used to synthesise the opening "
                        "as `reauto dial` does (0 = no cache, no warm-up)")
    parser.add_argument("--answer-ends-turn", choices=["on", "off"], default="on",
                        help="a transcript that answers the agent's question ends the turn at once (default on)")
    parser.add_argument("--processes", type=int, default=1,
                        help="doubles: split each run's calls over this many processes, as several dialers "
                        "share a campaign (default 1)")
    parser.add_argument("--gc", choices=["settled", "default"], default="settled",
                        help="the garbage collector as `reauto dial` settles it before the first call, "
                        "or Python's default (default: settled)")
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)  # a child process: start then
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # a child process: JSON with raw
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_pipecat("ERROR")
    turn = TurnTaking(answer_ends_turn=args.answer_ends_turn == "on")
    settled = contextlib.ExitStack()  # the collector, settled once the models are loaded

    def settle() -> None:
        if args.gc == "settled" and not settled_now:
            settled.enter_context(settled_gc())  # for the rest of the process, as `reauto dial` while it dials
            settled_now.append(True)

    settled_now: list[bool] = []
    reports = []

    async def go() -> None:
        if args.mode == "doubles":
            tts: TTSProvider = ToneTTS()
            for n in args.calls:
                if args.processes > 1:
                    reports.append(in_processes(n, args.processes,
                                                ["--answer-ends-turn", args.answer_ends_turn, "--gc", args.gc]))
                else:
                    await asyncio.to_thread(turn.models)  # the shared sessions open before the clock starts
                    settle()  # as `reauto dial` does before its first call
                    if args.start_at:
                        await asyncio.sleep(max(0.0, args.start_at - time.time()))
                    reports.append(await run(n, OracleSTT, tts, scripted_brain, turn))
                if not args.raw:
                    print(json.dumps({k: v for k, v in reports[-1].items() if k != "raw"}), file=sys.stderr)
            return
        from reauto.config import TtsSettings
        from reauto.stt.pool import ProcessPoolSTT
        from reauto.tts.factory import create_tts

        from reauto.campaign import load_campaign
        from reauto.dialer.assembly import vocabulary

        # the demo campaign's vocabulary (its agent, business and offered times) beside reauto's
        # corpus of lead answers, as a dial of that campaign uses
        demo = Path(__file__).resolve().parents[2] / "campaigns" / "demo.yaml"
        phrases = vocabulary(load_campaign(demo)) if args.vocabulary == "on" else []
        stt = ProcessPoolSTT(SttSettings(live_streams=args.live_streams, max_hmms=args.max_hmms), workers=args.stt_workers, vocabulary=phrases)
        await stt.start()
        from reauto.tts.cache import AudioCache

        tts = create_tts(TtsSettings(), cache=AudioCache() if args.ring_s > 0 else None)
        await tts.start()
        await asyncio.to_thread(turn.models)
        settle()
        try:
            for n in args.calls:
                reports.append(await run(n, lambda _report: stt, tts, scripted_brain, turn, args.ring_s))
                print(json.dumps(reports[-1]), file=sys.stderr)
        finally:
            await stt.close()
            await tts.close()

    asyncio.run(go())
    if args.raw:
        print(json.dumps(reports))
        return 0
    for report in reports:
        report.pop("raw", None)
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        cols = ["calls", "processes", "turns", "overhead_p50_ms", "overhead_p95_ms", "hello_first_audio_p50_ms",
                "hello_first_audio_p95_ms", "turn_first_audio_p50_ms", "turn_first_audio_p95_ms", "underruns",
                "loop_lag_max_ms",
                "cpu_cores", "loop_thread_cores", "others_cores"]
        print(" | ".join(cols))
        for r in reports:
            print(" | ".join(f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
        print("\nwhere a turn's time goes (ms, p50 / p95): calls | " + " | ".join(STAGES))
        for r in reports:
            print(f"{r['calls']} | " + " | ".join(
                "{} / {}".format(*(f"{v:.0f}" if v is not None else "-" for v in (r["stages_ms"][n]["p50"],
                                                                                 r["stages_ms"][n]["p95"])))
                for n in STAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
