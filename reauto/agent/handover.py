"""Handing a lead to a person: when the agent may, and what it says while it does.

A transfer is offered only while the campaign's human agent is on shift (the dialer decides when
it builds the brain, :class:`TransferPlan`). It happens when the lead asks for a person, or — the
``hot`` rule — when the qualification ends with a score at or above ``hot_score`` and the lead
says yes to being connected. While the person's phone rings the agent stays on the line; if they
do not take the call the lead is offered a time to meet instead, never left on a dead line.

The whisper, the one sentence the person hears before the lead is put through, is
:func:`reauto.agent.wording.whisper`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransferPlan:
    """A transfer the call may make.

    Attributes:
        agent_name: how the agent names the person ("Dana", "one of our agents").
        on_asked: transfer a lead who asks for a person.
        hot_score: offer a transfer to a lead who qualifies at or above this score (None: never).
    """

    agent_name: str = "one of our agents"
    on_asked: bool = True
    hot_score: float | None = None


def connecting_line(plan: TransferPlan) -> str:
    return f"Of course. I'm connecting you with {plan.agent_name} now. Please stay on the line for a moment."


def offer_line(plan: TransferPlan) -> str:
    return (f"It sounds like you're ready to get moving. {plan.agent_name} is available right now. "
            "Would you like me to connect you?")


HOLD_LINE = "I'm still connecting you. It'll just be a moment."


def unavailable_line(plan: TransferPlan) -> str:
    return f"I'm sorry, {plan.agent_name} isn't able to pick up right now. "
