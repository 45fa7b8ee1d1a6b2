"""The LLM's context window: token estimates, a budget, and a running summary of older turns.

No tokenizer of the models Ollama serves is available offline, so tokens are estimated from
the text: English runs at about four characters or three quarters of a word per token, and the
larger of the two counts is taken. The estimate is then corrected by what Ollama reports: the
final line of every reply carries ``prompt_eval_count``, the prompt's real token count, and
:meth:`TokenCounter.calibrate` moves a per-model factor toward real / estimated.

The history sent with each request stays within a token budget (``[llm] context_tokens``): the
most recent turns go as they are, older ones are folded into a short running summary (what the
lead said, what the agent asked), itself bounded. Overflow never loses a slot: what the lead
told us is always in the system prompt (``$known``), whatever the window keeps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: One turn of the conversation: ("lead" or "agent", what was said).
Turn = tuple[str, str]

#: Tokens a chat template adds around each message (role markers, separators).
MESSAGE_OVERHEAD = 4
#: Share of the budget the summary of older turns may take.
SUMMARY_SHARE = 0.25
#: Words of one folded line kept in the summary.
SUMMARY_WORDS = 16

_SENTENCES = re.compile(r"(?<=[.!?])\s+")


@dataclass
class TokenCounter:
    """Token estimates for one model, calibrated by the counts Ollama reports.

    Attributes:
        factor: real tokens per estimated token, learned from :meth:`calibrate` (1.0 at first).
        samples: how many reported counts the factor has seen.
    """

    factor: float = 1.0
    samples: int = 0
    #: Weight of each new report in the running factor.
    alpha: float = field(default=0.2, repr=False)

    @staticmethod
    def raw(text: str) -> int:
        """The uncalibrated estimate: the larger of characters / 4 and words × 4 / 3."""
        return max(math.ceil(len(text) / 4), math.ceil(len(text.split()) * 4 / 3))

    def estimate(self, text: str) -> int:
        """Estimated tokens of ``text``."""
        return math.ceil(self.raw(text) * self.factor)

    def messages(self, messages: Sequence[Mapping[str, str]]) -> int:
        """Estimated prompt tokens of a chat request."""
        return math.ceil(self._raw_messages(messages) * self.factor)

    def calibrate(self, messages: Sequence[Mapping[str, str]], reported: int | None) -> None:
        """Learn from Ollama's ``prompt_eval_count`` for ``messages``.

        Ollama counts only the tokens it evaluated, fewer when it reused a cached prefix of
        the prompt (the earlier turns of the same call): a report outside 0.5–3 times the
        estimate is not a count of the whole prompt and is ignored, as is a missing one, and
        one report moves the factor only part of the way.
        """
        raw = self._raw_messages(messages)
        if not reported or raw <= 0 or not 0.5 <= reported / raw <= 3.0:
            return
        ratio = reported / raw
        self.factor = ratio if self.samples == 0 else self.factor + self.alpha * (ratio - self.factor)
        self.samples += 1

    def _raw_messages(self, messages: Sequence[Mapping[str, str]]) -> int:
        return sum(self.raw(m.get("content", "")) + MESSAGE_OVERHEAD for m in messages)


_COUNTERS: dict[str, TokenCounter] = {}


def counter_for(model: str) -> TokenCounter:
    """The process-wide counter of ``model`` (every call calibrates the same one)."""
    return _COUNTERS.setdefault(model, TokenCounter())


@dataclass(frozen=True)
class Window:
    """What of the history is sent: a summary of the older turns and the recent ones verbatim.

    Attributes:
        summary: the older turns in a few words ("" when everything fits).
        turns: the recent turns, oldest first.
        folded: how many turns the summary stands for.
        tokens: estimated tokens of the summary and the turns (as messages).
    """

    summary: str
    turns: tuple[Turn, ...]
    folded: int = 0
    tokens: int = 0

    def messages(self) -> list[dict[str, str]]:
        """The window as chat messages (the summary as a system message)."""
        out = [{"role": "system", "content": self.summary}] if self.summary else []
        out += [{"role": "assistant" if who == "agent" else "user", "content": text} for who, text in self.turns]
        return out


def fit(history: Sequence[Turn], budget: int, counter: TokenCounter) -> Window:
    """The newest turns of ``history`` that fit in ``budget`` tokens, the older ones summarised.

    When the whole history fits it is sent as it is. Otherwise :data:`SUMMARY_SHARE` of the
    budget is kept for the summary and the rest filled with turns from the newest backwards.
    """
    costs = [counter.estimate(text) + MESSAGE_OVERHEAD for _, text in history]
    if sum(costs) <= budget:
        return Window("", tuple(history), 0, sum(costs))
    summary_budget = int(budget * SUMMARY_SHARE)
    room, start = budget - summary_budget, len(history)
    while start > 0 and costs[start - 1] <= room:
        room -= costs[start - 1]
        start -= 1
    summary = summarise(history[:start], summary_budget, counter)
    used = sum(costs[start:]) + (counter.estimate(summary) + MESSAGE_OVERHEAD if summary else 0)
    return Window(summary, tuple(history[start:]), start, used)


def summarise(turns: Sequence[Turn], budget: int, counter: TokenCounter) -> str:
    """A running summary of ``turns`` within ``budget`` tokens: the lead's words and the
    agent's questions, newest kept first when they do not all fit (extractive, no LLM call,
    so it costs no time on the call and is the same for the same history)."""
    items: list[str] = []
    for who, text in turns:
        if who == "lead":
            items.append(f'the lead said "{_clip(text)}"')
        else:
            questions = [s for s in _SENTENCES.split(text.strip()) if s.endswith("?")]
            if questions:
                items.append(f'you asked "{_clip(questions[-1])}"')
    head = "Earlier in this call (summary): "
    kept: list[str] = []
    for item in reversed(items):
        candidate = head + "; ".join([item, *kept]) + "."
        if MESSAGE_OVERHEAD + counter.estimate(candidate) > budget:
            break
        kept.insert(0, item)
    if not kept:
        return ""
    more = "…; " if len(kept) < len(items) else ""
    return head + more + "; ".join(kept) + "."


def _clip(text: str) -> str:
    words = " ".join(text.split()).split(" ")
    return " ".join(words[:SUMMARY_WORDS]) + ("…" if len(words) > SUMMARY_WORDS else "")
