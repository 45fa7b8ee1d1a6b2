"""A lead's answers in words: the recap on a call that continues a cut-off one, and the whisper a
person hears before a transferred lead is put through (name, intent, timeline, budget, financing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def recap(slots: Mapping[str, Any]) -> str:
    """What the lead already said, in words (the last two answers)."""
    words = []
    for slot, value in list(slots.items())[-2:]:
        if slot == "appointment":
            continue
        if isinstance(value, dict) and "low" in value:
            value = f"about ${value['low']:,.0f}" if value["low"] == value["high"] else \
                f"between ${value['low']:,.0f} and ${value['high']:,.0f}"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        label = {"intent": "you want to", "timeline_months": "your timeline is", "budget_usd": "your budget is",
                 "preapproved": "pre-approved:"}.get(slot, slot.replace("_", " ") + ":")
        unit = " months" if slot == "timeline_months" else ""
        words.append(f"{label} {value}{unit}")
    return " and ".join(words)


def whisper(first_name: str | None, slots: Mapping[str, Any], *, reason: str) -> str:
    """The sentence the person hears before the lead is put through: terse, because the lead is
    waiting while it plays ("Nora, buying within 2 months, about $400,000, pre-approved. Asked for you.")."""
    parts = []
    intent = slots.get("intent")
    if intent:
        parts.append({"buy": "buying", "sell": "selling", "rent": "renting"}.get(str(intent), str(intent)))
    months = slots.get("timeline_months")
    if isinstance(months, (int, float)):
        parts.append(f"within {months:g} months")
    budget = slots.get("budget_usd")
    if isinstance(budget, Mapping) and "low" in budget:
        low, high = budget["low"], budget["high"]
        parts.append(f"about ${low:,.0f}" if low == high else f"${low:,.0f} to ${high:,.0f}")
    approved = slots.get("preapproved")
    if approved is not None:
        parts.append("pre-approved" if approved is True else "not pre-approved")
    financing = slots.get("financing")
    if financing:
        parts.append({"cash": "paying cash", "mortgage": "with a mortgage"}.get(str(financing), str(financing)))
    said = " ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if len(parts) > 2 else "") if parts \
        else "nothing qualified yet"
    why = "Asked for you." if reason == "asked" else "Qualified hot."
    return f"{first_name or 'A lead'}, {said}. {why}"
