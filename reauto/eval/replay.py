"""The agent fed a recorded call's recognised turns, one at a time, as a live call would.

The first turn is the lead's greeting: the agent answers it with the opening. Each later turn goes
to ``respond`` until a reply ends the call. Between turns the agent says what it is listening for
(:meth:`Replayer.listening_for`: the question just asked), so that the recogniser hears the next
turn as an answer to it, as it does on a live call.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reauto.voice.conversation import Brain

#: What a finished call is stored as when the agent never concluded (as ``reauto dial`` does).
UNCONCLUDED = "callback"


@dataclass(frozen=True)
class AgentReplay:
    """What the agent made of one call's recognised turns."""

    replies: list[str]
    slots: dict[str, Any]  # final
    outcome: str
    understood: list[dict[str, Any] | None]  # per turn: slots filled or changed (None: not heard)


class Replayer:
    """One call's agent, fed one recognised turn at a time."""

    def __init__(self, brain: Brain) -> None:
        self.brain = brain
        self.replies: list[str] = []
        self.understood: list[dict[str, Any] | None] = []
        self.outcome: str | None = None
        self.ended = False

    def listening_for(self) -> str | None:
        """What the next turn answers (None before the opening and after the end)."""
        listen = getattr(self.brain, "listening_for", None)
        if not self.replies or self.ended or listen is None:
            return None
        return listen()  # type: ignore[no-any-return]

    async def turn(self, text: str, confidence: float | None, alternatives: Sequence[str] = ()) -> None:
        """The next recognised turn, with the recogniser's other readings of it (ignored once the
        call has ended)."""
        if self.ended:
            self.understood.append(None)
            return
        hear = getattr(self.brain, "hear", None)
        if hear is not None and self.replies:
            hear(alternatives)
        before = copy.deepcopy(_slots(self.brain))  # a slot's value may be changed in place
        reply = self.brain.opening() if not self.replies else await self.brain.respond(text, confidence)
        after = copy.deepcopy(_slots(self.brain))
        self.understood.append({k: v for k, v in after.items() if k not in before or before[k] != v})
        self.replies.append(reply.text)
        self.outcome = reply.outcome or self.outcome
        self.ended = reply.end_call

    async def finish(self) -> AgentReplay:
        """The replay's result (an LLM brain still reading adds its slots to the final ones only)."""
        settle = getattr(self.brain, "settle", None)
        if settle is not None:
            await settle()
        return AgentReplay(self.replies, _slots(self.brain), self.outcome or UNCONCLUDED, self.understood)


async def replay_agent(brain: Brain, heard: Sequence[str], confidences: Sequence[float | None]) -> AgentReplay:
    """Feed the recognised lead turns to the agent as a live call would (see the module doc)."""
    replay = Replayer(brain)
    for text, confidence in zip(heard, confidences, strict=True):
        await replay.turn(text, confidence)
    return await replay.finish()


def _slots(brain: Brain) -> dict[str, Any]:
    return dict(getattr(brain, "slots", {}) or {})
