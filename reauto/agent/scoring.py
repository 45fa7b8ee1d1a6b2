"""A lead's qualification score: what they said, weighted by the campaign (fair housing: nothing else)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Score weights when the campaign gives none (fair housing: only what the lead said).
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "intent": 0.2, "timeline_months": 0.3, "budget_usd": 0.2, "preapproved": 0.3,
}

#: Slots that do not apply to a lead's intent: a seller or a renter needs no mortgage approval.
NOT_APPLICABLE: Mapping[str, frozenset[str]] = {"sell": frozenset({"preapproved", "financing"}),
                                                "rent": frozenset({"preapproved", "financing"})}


def score_slots(slots: Mapping[str, Any], weights: Mapping[str, float]) -> float:
    """Qualification score in 0..1 from what the lead said (documented rubric per slot); slots that
    do not apply to the lead's intent (:data:`NOT_APPLICABLE`) are left out of the weights."""
    moot = NOT_APPLICABLE.get(str(slots.get("intent", "")), frozenset())
    weights = {k: w for k, w in weights.items() if k not in moot}
    parts = {
        "intent": {"buy": 1.0, "sell": 1.0, "rent": 0.4}.get(slots.get("intent", ""), 0.0),
        "timeline_months": _timeline_points(slots.get("timeline_months")),
        "budget_usd": 1.0 if slots.get("budget_usd") else 0.0,
        "preapproved": 1.0 if slots.get("preapproved") is True else 0.0,
        "financing": 1.0 if slots.get("financing") in {"cash", "mortgage"} else 0.0,
        "location": 1.0 if slots.get("location") else 0.0,
        "property_type": 1.0 if slots.get("property_type") else 0.0,
    }
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return round(sum(parts.get(k, 0.0) * w for k, w in weights.items()) / total, 3)


def _timeline_points(months: float | None) -> float:
    if months is None:
        return 0.0
    if months <= 3:
        return 1.0
    if months <= 6:
        return 0.7
    if months <= 12:
        return 0.4
    return 0.1
