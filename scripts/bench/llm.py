#!/usr/bin/env python3
"""The Ollama service against its loopback double: balancing, the reply cache, first sentence.

    .venv/bin/python scripts/bench/llm.py                 # all four, tables
    .venv/bin/python scripts/bench/llm.py --json
    .venv/bin/python scripts/bench/llm.py --only cache --conversations 200 --redis redis://127.0.0.1:6379/0

Everything runs in this process: two protocol doubles (tests/fakes/ollama.py, real NDJSON over
HTTP on 127.0.0.1) and reauto's OllamaChat (the official ``ollama`` client) on one event loop.

* *concurrency*: rounds of N chat requests arriving within 100 ms (as the turns of concurrent
  calls end) across 2 hosts with 4 slots each, the double at a fixed time to first token and
  token pace. Reported: requests per host, the most in flight on a host (the double counts),
  how many waited for a slot and how long, and the overhead per request: its time from its
  slot being free to the end of the stream, minus the double's configured latency, and minus
  the time the double reports it took (``total_duration``; its sleeps run late on a busy loop).
  Either way it includes HTTP, the JSON lines, the ``ollama`` client, the double's own server
  work and this shared event loop.
* *cache*: a replay of simulated demo-campaign conversations (``campaigns/demo.yaml``, its sim
  personas in turn, each conversation a different lead name and the answers with the surface
  variation recognisers produce: case, punctuation, spacing) through the scripted brain and
  the LLM brain with streaming and the reply cache, the double wording each planned line
  deterministically from its input (:func:`tests.fakes.ollama.reword`). Every reply served
  from the cache is checked against an uncached request of the same context to the double.
  A second run turns the semantic layer on and adds fillers ("um", "uh", "well") to some
  answers, which only the semantic layer can match.
* *first sentence*: time from ``respond_stream`` being called (the end of the lead's turn) to
  the first sentence handed over for TTS, the double at 150 ms to first token and a given
  token pace, on cache misses, and on cache hits.
* *extraction*: the same conversations with ``[llm] extract`` off, ``missing`` and ``always``,
  the personas giving some answers the rules cannot read ("when the kids finish school",
  "somewhere in the mid fours", "the bank already gave us a letter"); the double reads those as
  a model would (:data:`HARD`), through the real ``format`` request. Reported: the first
  sentence's time over all worded turns and over the turns that waited for a reading, how often
  a question was asked again, lead turns, and the share of conversations that end with every
  slot filled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reauto.agent.llm import LLMBrain  # noqa: E402
from reauto.agent.prompts import PromptTemplate  # noqa: E402
from reauto.agent.understand import SlotExtractor, slot_specs  # noqa: E402
from reauto.agent.scripted.brain import ScriptedBrain  # noqa: E402
from reauto.campaign import SimPersona, load_campaign  # noqa: E402
from reauto.config import LlmSettings  # noqa: E402
from reauto.dialer.assembly import script_config  # noqa: E402
from reauto.llm.cache import MemoryReplyCache, RedisReplyCache, ReplyCache  # noqa: E402
from reauto.llm.ollama import ChatStats, OllamaChat  # noqa: E402
from reauto.sim.lead import GOODBYE, asked_slot  # noqa: E402
from tests.fakes.ollama import FakeOllama, reword  # noqa: E402

PROMPT = ROOT / "prompts" / "agent.txt"
NAMES = ["Jane", "Mark", "Priya", "Tom", "Linda", "Carlos", "Omar", "Grace", "Diego", "Hannah", "Ravi", "Sofia",
         "Ethan", "Mei", "Lucas", "Amara", "Noah", "Ines", "Kofi", "Yuki"]
FILLERS = ("um", "uh", "well", "so")
REPLY = "Sure thing. And when are you hoping to make your move, roughly speaking?"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def r1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- (a) concurrency -------------------------------------------------------------------------
async def concurrency(requests: int, rounds: int, ttft_s: float, token_s: float, spread_s: float) -> dict[str, Any]:
    """``rounds`` × ``requests`` concurrent requests over two hosts."""
    doubles = [FakeOllama(reply=REPLY, ttft_s=ttft_s, token_s=token_s) for _ in range(2)]
    urls = [await d.start() for d in doubles]
    chat = OllamaChat(LlmSettings(hosts=urls, max_concurrency_per_host=4, queue_limit=64,
                                  first_token_timeout_s=10.0, timeout_s=20.0))
    await chat.complete([{"role": "user", "content": "warm up"}])
    for host, double in zip(chat.hosts, doubles, strict=True):
        host.served = double.max_in_flight = 0
    stats: list[ChatStats] = []
    rng = random.Random(7)
    peak = [0]

    async def one(i: int, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        s = ChatStats()
        pieces = chat.stream([{"role": "user", "content": f"request {i}"}], stats=s)
        async for _ in pieces:
            peak[0] = max(peak[0], sum(h.in_flight for h in chat.hosts))
        stats.append(s)

    started = time.perf_counter()
    for r in range(rounds):
        # a round's requests arrive within spread_s, as lead turns of concurrent calls end
        await asyncio.gather(*(one(r * requests + i, rng.uniform(0, spread_s)) for i in range(requests)))
    wall_s = time.perf_counter() - started
    configured_ms = (ttft_s + len(REPLY.split()) * token_s) * 1000  # the double sleeps after every piece
    overhead = [s.total_ms - s.queued_ms - configured_ms for s in stats if s.total_ms is not None]
    # the same against the time the double reports it took (its sleeps run late on a busy loop)
    beyond = [s.total_ms - s.queued_ms - (s.total_duration or 0) / 1e6 for s in stats if s.total_ms is not None]
    queued = [s.queued_ms for s in stats if s.queued_ms > 1.0]
    result = {
        "hosts": 2, "slots_per_host": 4, "concurrent": requests, "rounds": rounds, "requests": len(stats),
        "double_ttft_ms": ttft_s * 1000, "token_ms": token_s * 1000, "double_latency_ms": round(configured_ms, 1),
        "per_host": [h.served for h in chat.hosts], "max_in_flight": [d.max_in_flight for d in doubles],
        "queued": len(queued), "queue_wait_p50_ms": r1(pct(queued, 50)), "queue_wait_p95_ms": r1(pct(queued, 95)),
        "overhead_p50_ms": r1(pct(overhead, 50)), "overhead_p95_ms": r1(pct(overhead, 95)),
        "overhead_max_ms": r1(max(overhead)), "beyond_double_p50_ms": r1(pct(beyond, 50)),
        "beyond_double_p95_ms": r1(pct(beyond, 95)), "in_flight_peak": peak[0], "spread_ms": spread_s * 1000,
        "wall_s": round(wall_s, 2),
    }
    await chat.close()
    for d in doubles:
        await d.close()
    return result


# --- conversations -------------------------------------------------------------------------
class TextLead:
    """A sim persona answering the agent's text (what ``SimulatedLead`` says, without audio)."""

    def __init__(self, persona: SimPersona, name: str, rng: random.Random, fillers: float) -> None:
        self.persona, self.name, self.rng, self.fillers = persona, name, rng, fillers
        self.robot_asked = self.dnc_said = False

    def answer(self, agent_text: str) -> str:
        p = self.persona
        if p.says_dnc and not self.dnc_said:
            self.dnc_said = True
            return self.vary("Please do not call me again. Take me off your list.")
        if p.asks_robot and not self.robot_asked:
            self.robot_asked = True
            return self.vary("Wait, are you a robot?")
        slot = asked_slot(agent_text)
        if slot == "booking":
            return self.vary(p.answers.get("booking", "The first one works for me."))
        if slot is not None and slot in p.answers:
            return self.vary(p.answers[slot])
        if "?" in agent_text and any(w in agent_text.lower() for w in ("is this", "are you")):
            return self.vary(f"Yes, this is {self.name}.")
        return self.vary(p.answers.get("default", "Okay."))

    def vary(self, text: str) -> str:
        """What a recogniser might make of it: case, end punctuation, spacing; sometimes a filler."""
        rng = self.rng
        words = text.rstrip(".!?").split()
        if self.fillers and rng.random() < self.fillers:
            words.insert(0, rng.choice(FILLERS))
        out = " ".join(words)
        out = rng.choice([out.lower(), out[:1].upper() + out[1:], out])
        return out + rng.choice(["", ".", "?", "!", " "]) if not out.endswith("?") else out


async def conversation(brain: LLMBrain, lead: TextLead, on_turn: Any = None) -> int:
    """Play one call at the text level; returns the lead turns."""
    said = brain.opening().text
    turns = 0
    while turns < 12 and said and not any(g in said.lower() for g in GOODBYE):
        answer = lead.answer(said)
        turns += 1
        started = time.perf_counter()
        pieces, first_ms = [], None
        async for piece in brain.respond_stream(answer, 0.9):
            if first_ms is None:
                first_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
        said = " ".join(p.text for p in pieces)
        if on_turn is not None:
            await on_turn(brain, said, first_ms)
        if pieces and pieces[0].end_call:
            break
    return turns


def make_brain(campaign: Any, persona: SimPersona, name: str, chat: OllamaChat, cache: ReplyCache | None,
               prompt: PromptTemplate, extractor: SlotExtractor | None = None) -> LLMBrain:
    scripted = ScriptedBrain(script_config(campaign, name), answered_by="machine" if persona.voicemail else "human")
    return LLMBrain(scripted, chat, prompt, cache, extractor)


# --- (b) cache -------------------------------------------------------------------------------
async def cache_replay(conversations: int, *, threshold: float, fillers: float, redis: str | None,
                       seed: int) -> dict[str, Any]:
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    prompt = PromptTemplate.load(PROMPT)
    double = FakeOllama(reply=reword)
    await double.start()
    settings = LlmSettings(hosts=[double.url], cache_semantic_threshold=threshold, timeout_s=10.0,
                           first_token_timeout_s=5.0)
    chat = OllamaChat(settings)
    if redis:
        cache: ReplyCache = RedisReplyCache(redis, settings.cache_ttl_s, threshold,
                                            key_prefix=f"reauto:bench:{time.time_ns()}:")
    else:
        cache = MemoryReplyCache(settings.cache_ttl_s, threshold)
    rng = random.Random(seed)
    served = wrong = wrong_semantic = kept_plan = worded_turns = lead_turns = 0
    seen = [0]
    examples: list[dict[str, str]] = []

    async def check(brain: LLMBrain, said: str, _first_ms: float | None) -> None:
        nonlocal served, wrong, wrong_semantic, kept_plan, worded_turns
        if brain.last_source in ("llm", "cache"):
            worded_turns += 1
        if brain.last_source != "cache" or brain.last_request is None:
            return
        served += 1
        semantic = cache.semantic_hits > seen[0]
        seen[0] = cache.semantic_hits
        request = brain.last_request
        uncached = " ".join((await chat.complete(request.messages, model=request.model)).split())
        if uncached != said:
            wrong += 1
            wrong_semantic += semantic
            if len(examples) < 3:
                examples.append({"served": said, "uncached": uncached})
        if uncached.rsplit(". ", 1)[-1] == said.rsplit(". ", 1)[-1]:
            kept_plan += 1

    for i in range(conversations):
        persona = campaign.sim_personas[i % len(campaign.sim_personas)]
        name = NAMES[i % len(NAMES)]
        brain = make_brain(campaign, persona, name, chat, cache, prompt)
        lead_turns += await conversation(brain, TextLead(persona, name, rng, fillers), check)
    lookups = cache.hits + cache.semantic_hits + cache.misses
    result = {
        "backend": cache.name, "conversations": conversations, "lead_turns": lead_turns,
        "worded_turns": worded_turns, "lookups": lookups, "hits": cache.hits, "semantic_hits": cache.semantic_hits,
        "misses": cache.misses, "hit_rate": round((cache.hits + cache.semantic_hits) / lookups, 4) if lookups else None,
        "semantic_threshold": threshold, "filler_share": fillers,
        "served_from_cache": served, "wrong_replies": wrong, "wrong_semantic": wrong_semantic,
        "same_question": kept_plan,
        "precision": round((served - wrong) / served, 4) if served else None,
        "ollama_requests": len(double.requests) - served, "examples": examples,
    }
    await cache.clear()  # the run's entries go with it
    await cache.close()
    await chat.close()
    await double.close()
    return result


# --- (c) first sentence ----------------------------------------------------------------------
async def first_sentence(conversations: int, *, ttft_s: float, token_s: float, hits: bool,
                         seed: int) -> dict[str, Any]:
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    prompt = PromptTemplate.load(PROMPT)
    double = FakeOllama(reply=reword, ttft_s=ttft_s, token_s=token_s)
    await double.start()
    chat = OllamaChat(LlmSettings(hosts=[double.url], timeout_s=10.0, first_token_timeout_s=2.0))
    cache = MemoryReplyCache(86400)
    firsts: list[float] = []
    sources: dict[str, int] = {}
    people = [p for p in campaign.sim_personas if not p.voicemail and not p.says_dnc]

    async def record(brain: LLMBrain, _said: str, first_ms: float | None) -> None:
        if brain.last_source in ("llm", "cache") and first_ms is not None:
            sources[brain.last_source] = sources.get(brain.last_source, 0) + 1
            firsts.append(first_ms)

    rounds = 2 if hits else 1
    for r in range(rounds):
        firsts.clear()
        sources.clear()
        for i in range(conversations):
            persona, name = people[i % len(people)], NAMES[i % len(NAMES)]
            lead = TextLead(persona, name, random.Random(seed + i), 0.0)
            # misses: a cache of its own per conversation (looked up and stored, never hit)
            own = cache if hits else MemoryReplyCache(86400)
            await conversation(make_brain(campaign, persona, name, chat, own, prompt), lead, record)
    result = {
        "path": "cache hit" if hits else "LLM (cache miss)", "double_ttft_ms": ttft_s * 1000,
        "token_ms": token_s * 1000 if not hits else None, "turns": len(firsts), "sources": sources,
        "first_sentence_p50_ms": r1(pct(firsts, 50)), "first_sentence_p95_ms": r1(pct(firsts, 95)),
        "first_sentence_max_ms": r1(max(firsts)) if firsts else None,
        "mean_ms": r1(statistics.fmean(firsts)) if firsts else None,
    }
    await chat.close()
    await double.close()
    return result


# --- (d) extraction --------------------------------------------------------------------------
#: Answers the rules cannot read, and what a model reads in them.
HARD: dict[str, tuple[str, Any]] = {
    "timeline_months": ("when the kids finish school", 7),
    "budget_usd": ("somewhere in the mid fours", {"low": 425000, "high": 475000}),
    "preapproved": ("the bank already gave us a letter", True),
}


def read_hard(body: dict[str, Any]) -> dict[str, Any]:
    """The double's reading of a lead turn: the facts of :data:`HARD` it contains, quoted."""
    said = " ".join(body["messages"][-1]["content"].lower().strip(".!? ").split())
    return {slot: {"value": value, "quote": phrase} for slot, (phrase, value) in HARD.items() if phrase in said}


async def extraction(conversations: int, *, mode: str, ttft_s: float, token_s: float, seed: int) -> dict[str, Any]:
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    prompt = PromptTemplate.load(PROMPT)
    double = FakeOllama(reply=reword, ttft_s=ttft_s, token_s=token_s, extract=read_hard)
    await double.start()
    chat = OllamaChat(LlmSettings(hosts=[double.url], timeout_s=10.0, first_token_timeout_s=2.0, extract=mode))
    extractor = SlotExtractor(chat, PromptTemplate.load(ROOT / "prompts" / "extract.txt"), slot_specs(campaign))
    people = [p for p in campaign.sim_personas if not p.voicemail and not p.says_dnc]
    firsts: list[float] = []
    waited: list[float] = []
    asked_again = lead_turns = complete = 0
    hard_phrases = {phrase for phrase, _ in HARD.values()}

    async def record(brain: LLMBrain, _said: str, first_ms: float | None) -> None:
        if first_ms is None or brain.last_source not in ("llm", "cache"):
            return
        firsts.append(first_ms)
        last_lead = brain.scripted.history[-2][1].lower() if len(brain.scripted.history) > 1 else ""
        if any(phrase in last_lead for phrase in hard_phrases):
            waited.append(first_ms)

    for i in range(conversations):
        persona, name = people[i % len(people)], NAMES[i % len(NAMES)]
        answers = dict(persona.answers)
        for slot, (phrase, _value) in HARD.items():  # every other conversation: hard answers
            if i % 2 == 0 and slot in answers:
                answers[slot] = phrase
        hard = persona.model_copy(update={"answers": answers})
        brain = make_brain(campaign, hard, name, chat, MemoryReplyCache(86400), prompt,
                           extractor if mode != "off" else None)
        lead_turns += await conversation(brain, TextLead(hard, name, random.Random(seed + i), 0.0), record)
        await brain.settle()
        asked = {q.slot for q in campaign.questions}
        asked_again += len(set(brain.snapshot()["retried"]) & asked)  # questions the plan asked twice
        complete += asked <= set(brain.slots)
    result = {
        "mode": mode, "conversations": conversations, "lead_turns": lead_turns, "worded_turns": len(firsts),
        "asked_again": asked_again, "all_slots_filled": f"{complete}/{conversations}",
        "first_sentence_p50_ms": r1(pct(firsts, 50)), "first_sentence_p95_ms": r1(pct(firsts, 95)),
        "after_hard_answer_turns": len(waited), "after_hard_answer_p95_ms": r1(pct(waited, 95)),
        "extraction_requests": sum(1 for r in double.requests if r.get("format")),
        "wording_requests": sum(1 for r in double.requests if r.get("messages") and not r.get("format")),
    }
    await chat.close()
    await double.close()
    return result


# --- output ----------------------------------------------------------------------------------
def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join("–" if row.get(c) is None else str(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "concurrency" in args.only:
        out["concurrency"] = [await concurrency(args.concurrent, args.rounds, args.ttft_ms / 1000, t / 1000,
                                                args.spread_ms / 1000) for t in args.concurrency_token_ms]
    if "cache" in args.only:
        runs = [(0.0, 0.0), (0.0, args.fillers)] + [(t, args.fillers) for t in args.semantic_threshold]
        out["cache"] = [await cache_replay(args.conversations, threshold=t, fillers=f, redis=args.redis,
                                           seed=args.seed) for t, f in runs]
    if "first" in args.only:
        out["first_sentence"] = [
            await first_sentence(args.first_conversations, ttft_s=0.150, token_s=t / 1000, hits=False,
                                 seed=args.seed) for t in args.token_ms
        ] + [await first_sentence(args.first_conversations, ttft_s=0.150, token_s=0.0, hits=True, seed=args.seed)]
    if "extract" in args.only:
        out["extraction"] = [await extraction(args.first_conversations, mode=mode, ttft_s=0.150,
                                              token_s=args.token_ms[0] / 1000, seed=args.seed)
                             for mode in ("off", "missing", "always")]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: scripts/bench/llm.py --only cache --conversations 200")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--only", nargs="+", choices=["concurrency", "cache", "first", "extract"],
                        default=["concurrency", "cache", "first", "extract"], help="which parts to run (default: all)")
    parser.add_argument("--concurrent", type=int, default=16, help="concurrent requests per round (default 16)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of concurrent requests (default 20)")
    parser.add_argument("--ttft-ms", type=float, default=100.0, help="the double's time to first token for "
                        "the concurrency run (default 100)")
    parser.add_argument("--concurrency-token-ms", type=float, nargs="+", default=[0.0, 10.0],
                        help="the double's pace per token for the concurrency runs (default 0 10)")
    parser.add_argument("--spread-ms", type=float, default=100.0,
                        help="a round's requests arrive within this many ms (default 100)")
    parser.add_argument("--conversations", type=int, default=200, help="conversations replayed (default 200)")
    parser.add_argument("--semantic-threshold", type=float, nargs="+", default=[0.8, 0.9],
                        help="semantic-layer thresholds of the runs with fillers (default 0.8 0.9)")
    parser.add_argument("--fillers", type=float, default=0.2,
                        help="share of answers with a filler word in the runs with fillers (default 0.2)")
    parser.add_argument("--redis", help="Redis URL for the reply cache (default: in process)")
    parser.add_argument("--first-conversations", type=int, default=30,
                        help="conversations timed for the first sentence (default 30)")
    parser.add_argument("--token-ms", type=float, nargs="+", default=[10.0, 20.0],
                        help="the double's pace per token for the first-sentence runs (default 10 20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the answers' variation (default 7)")
    args = parser.parse_args(argv)
    from reauto.voice.pipeline import quiet_pipecat

    quiet_pipecat("ERROR")
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if "concurrency" in result:
        print(table(result["concurrency"], ["hosts", "concurrent", "requests", "in_flight_peak", "per_host",
                                            "max_in_flight", "queued", "queue_wait_p95_ms", "double_latency_ms",
                                            "overhead_p50_ms", "overhead_p95_ms", "beyond_double_p50_ms",
                                            "beyond_double_p95_ms"]))
        print()
    if "cache" in result:
        print(table(result["cache"], ["backend", "conversations", "lead_turns", "semantic_threshold", "filler_share",
                                      "lookups", "hits", "semantic_hits", "hit_rate", "served_from_cache",
                                      "wrong_replies", "wrong_semantic", "same_question", "ollama_requests"]))
        for row in result["cache"]:
            for example in row["examples"]:
                print(f"  served {example['served']!r} / uncached {example['uncached']!r}")
        print()
    if "first_sentence" in result:
        print(table(result["first_sentence"], ["path", "double_ttft_ms", "token_ms", "turns", "first_sentence_p50_ms",
                                               "first_sentence_p95_ms", "first_sentence_max_ms"]))
        print()
    if "extraction" in result:
        print(table(result["extraction"], ["mode", "conversations", "lead_turns", "asked_again", "all_slots_filled",
                                           "worded_turns", "first_sentence_p50_ms", "first_sentence_p95_ms",
                                           "after_hard_answer_turns", "after_hard_answer_p95_ms",
                                           "extraction_requests", "wording_requests"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
