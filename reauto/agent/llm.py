"""The ``ollama`` brain: the scripted flow decides, the LLM words the reply; scripted on failure.

The scripted brain keeps the conversation's state (agent, slots, score, transitions), so the
call is always where the campaign's script says it is, whatever the LLM does. For each lead turn
it plans the next line; the LLM gets the prompt template (``prompts/agent.txt``), the history
that fits the token budget (older turns summarised, :mod:`reauto.llm.context`) and the plan, and
words it more naturally, with the model configured for the plan's agent (``[llm] models``). The
planned line is spoken instead when the LLM fails, is slow (its first token is late), its
breaker is open, or its answer does not keep the plan (no markup, bounded length, a question
must stay a question). Lines that end a call (do not call, wrong number, voicemail) and the
opening (disclosures) are never reworded.

Streaming (``[llm] stream``): :meth:`LLMBrain.respond_stream` hands each sentence over as soon
as it is complete, so the first one is being synthesised while the rest is generated. Each
sentence is checked on its own; when the LLM fails or stalls after some sentences were spoken,
or its reply would end without the planned question, the turn ends with the plan's last
sentence, so the lead is never left without the question. Replies that kept the plan are
stored in the reply cache (:mod:`reauto.llm.cache`), and a cached reply is spoken without
asking the LLM.

Understanding (``[llm] extract``): while the lead is qualified, each lead turn also goes to the
extraction model (:mod:`reauto.agent.understand`). With ``always`` the request starts with the
turn, beside the wording request; the plan waits for it (at most ``extract_timeout_s``) only when
the rules could not read the answer to the question just asked, which would otherwise be asked
again. Whatever it reads later fills slots that are still empty (a budget mentioned in passing
is not asked for), and :meth:`LLMBrain.settle` waits for the last one before the call's slots are
stored. With ``missing`` the request is only made when the rules could not read the answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from reauto.agent.asks import asks_about, offers_kept, questions
from reauto.agent.extract import SlotValue
from reauto.agent.inbound import CallerFacts
from reauto.agent.prompts import PromptTemplate, load_agent_prompts
from reauto.agent.scripted.brain import MoreFacts, ScriptedBrain
from reauto.agent.sentences import SentenceSplitter, sentences
from reauto.agent.understand import Facts, SlotExtractor, slot_specs
from reauto.campaign import LlmOptions
from reauto.llm import REGISTRY as LLM_CLIENTS
from reauto.llm.cache import CacheKeys, ReplyCache, cache_keys, reply_cache_for
from reauto.llm.context import Window, counter_for, fit
from reauto.llm.ollama import ChatStats, LLMUnavailable, OllamaChat
from reauto.metrics import LLM_EXTRACTIONS, LLM_OFF_PLAN
from reauto.voice.conversation import Reply

if TYPE_CHECKING:
    from reauto.campaign import Campaign
    from reauto.config import Settings

_MARKUP = re.compile(r"[*_#`\[\]<>{}|]")
#: Agents during which lead turns are read by the LLM (qualifying; not booking or closing).
_READING = frozenset({"greeter", "qualifier"})


@dataclass(frozen=True)
class LLMParts:
    """What ``llm.brain = ollama`` needs, connected once per command and shared by every call.

    Attributes:
        chat: the Ollama client.
        prompt: the wording prompt (``prompts/agent.txt``).
        cache: the reply cache; ``None``: off.
        extract_prompt: the extraction prompt (``prompts/extract.txt``); ``None``: ``[llm] extract = off``.
        agent_prompts: the agents' own wording prompts (``prompts/agents/<agent>.txt``).
    """

    chat: OllamaChat
    prompt: PromptTemplate
    cache: ReplyCache | None = None
    extract_prompt: PromptTemplate | None = None
    agent_prompts: Mapping[str, PromptTemplate] = field(default_factory=dict)

    def extractor(self, campaign: Campaign) -> SlotExtractor | None:
        """The slot extraction for ``campaign``'s slots (``None`` when extraction is off)."""
        if self.extract_prompt is None:
            return None
        return SlotExtractor(self.chat, self.extract_prompt, slot_specs(campaign), self.cache)

    @classmethod
    async def connect(cls, cfg: Settings, on_unready: Callable[[str], None] | None = None) -> LLMParts:
        """The Ollama client, prompts (``agent.txt``, the agents' own in ``agents/``, ``extract.txt``)
        and reply cache for ``llm.brain = ollama``, with the models loaded (the main one, every
        per-agent one and the extraction one).

        Args:
            cfg: the settings (``[llm]``, ``[redis]`` for the reply cache, ``prompts_dir``).
            on_unready: told why, in one line, when Ollama does not load the models in time; the
                parts are returned all the same (every line falls back to the script until it answers).
        """
        prompt = PromptTemplate.load(cfg.prompts_dir / "agent.txt")
        extract_prompt = PromptTemplate.load(cfg.prompts_dir / "extract.txt") if cfg.llm.extract != "off" else None
        chat = cast(OllamaChat, LLM_CLIENTS.create(cfg.llm.brain, cfg.llm))
        try:
            models = sorted(set(cfg.llm.models.values()) - {cfg.llm.model})
            await asyncio.wait_for(asyncio.gather(chat.warm(), *(chat.warm(m) for m in models)),
                                   timeout=cfg.llm.timeout_s)
        except Exception as exc:  # noqa: BLE001 - the calls still run: every line falls back to the script
            if on_unready is not None:
                on_unready(f"Ollama at {', '.join(cfg.llm.hosts)} is not ready ({type(exc).__name__}: {exc}); "
                           "calls use the scripted lines until it answers")
        return cls(chat, prompt, reply_cache_for(cfg.llm, cfg.redis), extract_prompt,
                   load_agent_prompts(cfg.prompts_dir))

    async def close(self) -> None:
        """Close the client and the reply cache."""
        await self.chat.close()
        if self.cache is not None:
            await self.cache.close()


@dataclass(frozen=True)
class LLMRequest:
    """One wording request: what is sent, to which model, and where its reply is cached."""

    messages: list[dict[str, str]]
    model: str
    window: Window
    keys: CacheKeys
    prompt: PromptTemplate
    options: dict[str, Any] = field(default_factory=dict)  # the campaign's Ollama options
    keep_alive: str | None = None


class LLMBrain:
    """A :class:`~reauto.voice.conversation.Brain`: the scripted flow, worded by an LLM.

    Args:
        scripted: the scripted brain that plans every line and keeps the conversation's state.
        chat: the Ollama client (its settings: models per agent, streaming, context budget).
        prompt: the system prompt template.
        cache: the reply cache (one per process, shared by every call); ``None``: no cache.
        extractor: the LLM's slot extraction for the campaign; ``None``: the rules only.
        agent_prompts: prompts of their own for some agents (the plan's agent picks); the
            others use ``prompt``.
        campaign_llm: the campaign's ``llm`` section: its model (an agent's own model in
            ``[llm] models`` still wins), Ollama options and keep-alive for every reply.

    Attributes:
        worded: replies the LLM (or the cache) worded, the plan kept.
        cached: replies served from the cache.
        fallbacks: why planned lines were spoken instead (one entry per fallback).
        last_request: the request built for the last reworded turn (sent, or served from cache).
        last_source: where the last reply came from: ``llm``, ``cache``, ``plan`` (the
            scripted line, in whole or to finish the turn).
        read: every extraction's result, in the order they finished.
    """

    MAX_CHARS = 320

    def __init__(self, scripted: ScriptedBrain, chat: OllamaChat, prompt: PromptTemplate,
                 cache: ReplyCache | None = None, extractor: SlotExtractor | None = None,
                 agent_prompts: Mapping[str, PromptTemplate] | None = None,
                 campaign_llm: LlmOptions | None = None) -> None:
        self.scripted = scripted
        self.campaign_llm = campaign_llm or LlmOptions()
        self.chat = chat
        self.prompt = prompt
        self.agent_prompts = dict(agent_prompts or {})
        self.cache = cache
        self.extractor = extractor
        self.read: list[Facts] = []
        self._reading: set[asyncio.Task[Facts]] = set()
        self.worded = 0
        self.cached = 0
        self.fallbacks: list[str] = []
        self.last_request: LLMRequest | None = None
        self.last_source = ""

    # --- Brain protocol ---------------------------------------------------------------------
    def opening(self) -> Reply:
        return self.scripted.opening()  # disclosures are spoken word for word

    async def respond(self, text: str, confidence: float | None) -> Reply:
        plan = await self.scripted.respond(text, confidence, more=self._reader(text))
        if plan.end_call or plan.transfer or not plan.text:
            self.last_source = "plan"
            return plan
        request = self._request(plan, text)
        cached = await self._cached(request, plan)
        if cached is not None:
            return self._said(cached, plan)
        stats = ChatStats()
        try:
            worded = await self.chat.complete(request.messages, model=request.model, stats=stats,
                                              options=request.options, keep_alive=request.keep_alive)
        except LLMUnavailable as exc:
            return self._fallback(str(exc), plan)
        counter_for(request.model).calibrate(request.messages, stats.prompt_eval_count)
        spoken, why = self._check(worded, plan)
        if spoken is None:
            LLM_OFF_PLAN.labels(agent=plan.agent, reason=why).inc()
            return self._fallback(f"reply did not keep the plan ({why}): {worded[:80]!r}", plan)
        self.worded += 1
        self.last_source = "llm"
        await self._store(request, spoken)
        return self._said(spoken, plan)

    async def respond_stream(self, text: str, confidence: float | None) -> AsyncIterator[Reply]:
        """The reply to one finished lead turn, a sentence at a time.

        Every piece carries the plan's ``agent``, ``outcome`` and ``end_call``; the scripted
        history holds what has been handed over so far. Without ``[llm] stream`` the whole reply
        is one piece.
        """
        if not self.chat.settings.stream:
            yield await self.respond(text, confidence)
            return
        plan = await self.scripted.respond(text, confidence, more=self._reader(text))
        if plan.end_call or plan.transfer or not plan.text:
            self.last_source = "plan"
            yield plan
            return
        request = self._request(plan, text)
        cached = await self._cached(request, plan)
        if cached is not None:
            self._said(cached, plan)
            for sentence in sentences(cached):
                yield replace(plan, text=sentence)
            return
        spoken: list[str] = []
        async for piece in self._stream_llm(request, plan, spoken):
            yield piece
        asks = plan.text.rstrip().endswith("?")
        if spoken and (not asks or spoken[-1].endswith("?")):
            return
        if spoken:  # the LLM stopped early, or ended without the question: the plan ends the turn
            self.fallbacks.append(f"reply did not end with the planned question after {len(spoken)} sentences")
            rest = sentences(plan.text)[-1:]
        else:
            rest = sentences(plan.text)
        self.last_source = "plan"
        for sentence in rest:
            spoken.append(sentence)
            self.scripted.history[-1] = ("agent", " ".join(spoken))
            yield replace(plan, text=sentence)

    def interrupted(self, spoken: str) -> None:
        self.scripted.interrupted(spoken)

    def answers(self, text: str) -> bool:
        return self.scripted.answers(text)

    def listening_for(self) -> str | None:
        return self.scripted.listening_for()

    def hear(self, alternatives: Sequence[str]) -> None:
        self.scripted.hear(alternatives)  # the rules read the turn first

    def opt_out(self) -> Reply:
        return self.scripted.opt_out()  # the opt-out confirmation is spoken word for word

    async def transfer_failed(self, why: str) -> Reply:
        return await self.scripted.transfer_failed(why)  # the times offered are spoken as planned

    def transferred(self) -> None:
        self.scripted.transferred()

    def whisper(self) -> str:
        return self.scripted.whisper()

    @property
    def transfer_reason(self) -> str | None:
        return self.scripted.transfer_reason

    # --- results (the scripted brain's) -----------------------------------------------------
    @property
    def slots(self) -> dict[str, Any]:
        return self.scripted.slots

    @property
    def score(self) -> float:
        return self.scripted.score

    @property
    def recording_declined(self) -> bool:
        return self.scripted.recording_declined

    def snapshot(self) -> dict[str, Any]:
        return self.scripted.snapshot()  # the scripted flow is the conversation's state

    def restore(self, state: dict[str, Any]) -> None:
        self.scripted.restore(state)

    def resume(self) -> None:
        self.scripted.resume()

    async def call_in(self, facts: CallerFacts) -> None:
        await self.scripted.call_in(facts)

    async def settle(self) -> None:
        """Let extractions still running finish (at most ``extract_timeout_s``), so that what they
        read is in :attr:`slots`; the rest are cancelled."""
        if not self._reading:
            return
        done, pending = await asyncio.wait(set(self._reading), timeout=self.chat.settings.extract_timeout_s)
        for task in pending:
            task.cancel()
            LLM_EXTRACTIONS.labels(result="late").inc()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done | pending:
            self._merge(task)

    # --- understanding --------------------------------------------------------------------------
    def _reader(self, text: str) -> MoreFacts | None:
        """The LLM's reading of this lead turn, for the scripted flow (see the module doc)."""
        mode = self.chat.settings.extract
        extractor = self.extractor
        if extractor is None or mode == "off" or self.scripted.agent not in _READING:
            return None
        c = self.scripted.config
        question = next((line for who, line in reversed(self.scripted.history) if who == "agent"), "")
        task: asyncio.Task[Facts] | None = None

        def start() -> asyncio.Task[Facts]:
            nonlocal task
            if task is None:
                task = asyncio.create_task(extractor.extract(
                    text, question=question, agent_name=c.agent_name, business=c.business, today=c.today))
                self._reading.add(task)
                task.add_done_callback(self._merge)
            return task

        if mode == "always":
            start()

        async def more() -> dict[str, SlotValue]:
            try:
                facts = await asyncio.wait_for(asyncio.shield(start()), self.chat.settings.extract_timeout_s)
            except TimeoutError:
                LLM_EXTRACTIONS.labels(result="late").inc()
                return {}
            return facts.slots

        return more

    def _merge(self, task: asyncio.Task[Facts]) -> None:
        """A finished extraction: its values fill the slots still empty (once)."""
        if task not in self._reading:
            return
        self._reading.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        facts = task.result()
        self.read.append(facts)
        self.scripted.fill(facts.slots)

    # --- internals ----------------------------------------------------------------------------
    async def _stream_llm(self, request: LLMRequest, plan: Reply, spoken: list[str]) -> AsyncIterator[Reply]:
        """The LLM's sentences that keep the plan, appended to ``spoken`` as they are handed over.

        Once the planned question was asked, later sentences wait for another question: a reply
        that ends without one ends on the question. A complete reply that kept the plan is cached.
        """
        asks = plan.text.rstrip().endswith("?")
        held: list[str] = []
        stats = ChatStats()
        try:
            async with aclosing(self._sentences(request, stats)) as found:
                async for sentence in found:
                    line = self._clean(sentence)
                    if line is None or len(" ".join([*spoken, *held, line])) > self.MAX_CHARS:
                        self.fallbacks.append(f"sentence did not keep the plan: {sentence[:80]!r}")
                        LLM_OFF_PLAN.labels(agent=plan.agent, reason="form").inc()
                        return
                    if line.endswith("?") and not self._keeps_question(line, plan):
                        self.fallbacks.append(f"sentence asks something else than the plan: {sentence[:80]!r}")
                        LLM_OFF_PLAN.labels(agent=plan.agent, reason="asks something else").inc()
                        return
                    if asks and not line.endswith("?") and any(x.endswith("?") for x in spoken):
                        held.append(line)
                        continue
                    for ready in [*held, line]:
                        spoken.append(ready)
                        self.scripted.history[-1] = ("agent", " ".join(spoken))
                        self.last_source = "llm"
                        yield replace(plan, text=ready)
                    held.clear()
        except LLMUnavailable as exc:
            self.fallbacks.append(str(exc))
            return
        counter_for(request.model).calibrate(request.messages, stats.prompt_eval_count)
        if spoken and (not asks or spoken[-1].endswith("?")):
            self.worded += 1
            await self._store(request, " ".join(spoken))

    async def _sentences(self, request: LLMRequest, stats: ChatStats) -> AsyncIterator[str]:
        """The LLM's reply, a sentence at a time (text without a full stop past
        :attr:`MAX_CHARS` comes as one over-long sentence)."""
        splitter = SentenceSplitter()
        stream = self.chat.stream(request.messages, model=request.model, stats=stats,
                                  stall_s=self.chat.settings.first_token_timeout_s, options=request.options,
                                  keep_alive=request.keep_alive)
        async with aclosing(stream) as pieces:
            async for piece in pieces:
                for sentence in splitter.feed(piece):
                    yield sentence
                if len(splitter.pending) > self.MAX_CHARS:
                    yield splitter.flush()
                    return
        rest = splitter.flush()
        if rest:
            yield rest

    def _request(self, plan: Reply, said: str) -> LLMRequest:
        c, s = self.scripted.config, self.chat.settings
        known = ", ".join(f"{k} = {v}" for k, v in self.scripted.slots.items()) or "nothing yet"
        prompt = self.agent_prompts.get(plan.agent, self.prompt)
        system = prompt.render(
            agent_name=c.agent_name, business=c.business, lead_name=c.lead_first_name or "the lead",
            known=known, next_line=plan.text,
        )
        model = s.models.get(plan.agent) or self.campaign_llm.model or s.model
        window = fit(self.scripted.history[:-2], s.context_tokens, counter_for(model))
        messages = [{"role": "system", "content": system}, *window.messages(), {"role": "user", "content": said}]
        request = LLMRequest(messages, model, window, cache_keys(model, prompt.digest, messages, c.lead_first_name),
                             prompt, self.campaign_llm.options(), self.campaign_llm.keep_alive)
        self.last_request = request
        return request

    async def _cached(self, request: LLMRequest, plan: Reply) -> str | None:
        if self.cache is None:
            return None
        found = await self.cache.get(request.keys, agent=plan.agent, name=self.scripted.config.lead_first_name)
        if found is None:
            return None
        self.cached += 1
        self.worded += 1
        self.last_source = "cache"
        return found.text

    async def _store(self, request: LLMRequest, spoken: str) -> None:
        if self.cache is not None:
            await self.cache.put(request.keys, spoken, name=self.scripted.config.lead_first_name)

    def _said(self, spoken: str, plan: Reply) -> Reply:
        self.scripted.history[-1] = ("agent", spoken)
        return Reply(spoken, end_call=plan.end_call, outcome=plan.outcome, agent=plan.agent)

    def _fallback(self, why: str, plan: Reply) -> Reply:
        self.fallbacks.append(why)
        self.last_source = "plan"
        return plan

    def _clean(self, text: str) -> str | None:
        """``text`` without markup and extra spaces; ``None`` when empty or too long."""
        spoken = " ".join(_MARKUP.sub("", text).split()).strip().strip('"')
        if not spoken or len(spoken) > self.MAX_CHARS:
            return None
        return spoken

    def _check(self, worded: str, plan: Reply) -> tuple[str | None, str]:
        """The reply to speak, or ``None`` and why it does not keep the plan: its form (markup,
        length, a question left out), or what it asks (another slot than planned, an offered time
        dropped), read by :mod:`reauto.agent.asks`."""
        spoken = self._clean(worded)
        if spoken is None:
            return None, "form"
        if plan.text.rstrip().endswith("?") and not spoken.endswith("?"):
            return None, "no question"
        return (spoken, "") if self._keeps_question(spoken, plan) else (None, "asks something else")

    def _keeps_question(self, spoken: str, plan: Reply) -> bool:
        """Whether the questions of ``spoken`` ask what the plan's question asks."""
        if not questions(plan.text):
            return not questions(spoken)  # a line that asks nothing must not start a new topic
        scripted = self.scripted
        if plan.agent == "scheduler":
            return offers_kept(spoken, scripted.offered_now())
        slot = scripted.planned_slot()
        if slot is None:
            return True
        return asks_about(spoken, slot, questions(plan.text)[-1])
