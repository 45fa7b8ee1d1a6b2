"""What the agent says to a lead who called the campaign's number, and where the call goes on.

A caller is not asked "is this Jane?": the number identified them (or nobody). A known lead is
greeted by name and the call continues from what the store holds: the slots of their last calls
are recapped and not asked again, an appointment they booked is confirmed, a lead whose
qualification is complete is offered times. An unknown caller hears the campaign's greeting and
the first question. A number that opted out hears that it did and how to opt back in, and the
call ends (the agent does not qualify or sell to it).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The campaign's defaults (``inbound`` in the campaign file) when a brain is built without them.
GREETING = "Thanks for calling {business}. This is {agent_name}, an AI assistant."
OPTED_OUT = ("Thanks for calling {business}. This number is on our do-not-call list, so we won't call or text "
             "you. If you'd like to hear from us again, reply START to one of our texts, or ask one of our agents "
             "to add you back with your written consent. Goodbye.")
#: A caller's "no, that's all" to "anything I can help with?" (anything else is passed on to a person).
DONE = re.compile(r"\b(no|nope|nothing|that'?s (all|it)|all good|all set|i'?m good|we'?re good|just checking|"
                  r"just wanted to (check|confirm)|that was it|not really)\b")


@dataclass(frozen=True)
class InboundLines:
    """The campaign's inbound wording (templates with ``{business}``, ``{agent_name}``, ``{first_name}``)."""

    greeting: str = GREETING
    opted_out: str = OPTED_OUT


@dataclass(frozen=True)
class CallerFacts:
    """What the store knows about a caller.

    Attributes:
        known: the number belongs to a lead of the campaign (not one created for this call).
        first_name: the lead's first name, when known.
        slots: what the lead said on earlier calls (the latest qualification).
        booked: their live appointment, in words ("Tuesday, December 8 at 10 AM"), if any.
        opted_out: the number is on the internal do-not-call list (or the lead is flagged).
    """

    known: bool = False
    first_name: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    booked: str | None = None
    opted_out: bool = False


def fill(template: str, **values: str | None) -> str:
    """``template`` with the names it uses (a missing value reads as nothing); spaces tidied."""
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    text = template.format(**{name: values.get(name) or "" for name in names})
    return re.sub(r"\s+([,.?!])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def greeting(lines: InboundLines, facts: CallerFacts, *, business: str, agent_name: str) -> str:
    """The first sentence to the caller: the campaign's greeting, with their name when known."""
    text = fill(lines.greeting, business=business, agent_name=agent_name, first_name=facts.first_name)
    if facts.known and facts.first_name and facts.first_name not in text:
        text = f"Hi {facts.first_name}! {text}"
    return text


def booked_line(booked: str, with_whom: str = "one of our agents") -> str:
    return f"I see you're booked to talk with {with_whom} {booked}. Is there anything else I can help you with?"


def follow_up_close(text: str, booked: str | None) -> tuple[str, str]:
    """The agent's last words after "anything else I can help you with?", and the call's outcome.

    "No, that's all" closes (a booked lead keeps the booking); anything else — a question, a change
    of plans — is passed on to a person, who calls back.
    """
    if DONE.search(text.lower()):
        if booked:
            return f"Great, we'll talk to you {booked}. Thanks for calling, goodbye.", "booked"
        return "Thanks for calling. One of our agents will follow up with you soon. Goodbye.", "callback"
    return ("I'll pass that on to one of our agents, who will get back to you shortly. Thanks for calling, "
            "goodbye."), "callback"
