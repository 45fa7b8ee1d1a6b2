"""A/B prompt variants: each lead gets one, the same on every call, in proportion to the weights.

A campaign lists ``prompt_variants`` (name, weight, prompt file). The variant of a lead is drawn
from a hash of the campaign and the lead id, so it never changes between calls, dialers or
restarts, and the leads split across variants in proportion to their weights. The call stores
its variant (``calls.prompt_variant``), so outcomes are compared per variant by
``reauto calls stats --by variant`` and ``reauto report``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reauto.errors import ConfigError

if TYPE_CHECKING:
    from reauto.agent.prompts import PromptTemplate
    from reauto.campaign import Campaign, Variant

#: The prompt file of a campaign without variants, and of variants that name none.
DEFAULT_PROMPT = "agent.txt"


def draw(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (the first 8 bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def assign(variants: Sequence[Variant], campaign: str, lead_id: int) -> str | None:
    """The variant of a lead (None when the campaign has no variants)."""
    if not variants:
        return None
    total = sum(v.weight for v in variants)
    point = draw(f"{campaign}:{lead_id}") * total
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant.name
    return variants[-1].name  # float rounding at the very top of the range


def load_prompts(campaign: Campaign, default: PromptTemplate) -> dict[str, PromptTemplate]:
    """Each variant's prompt template (files next to ``default``), loaded once per command."""
    from reauto.agent.prompts import PromptTemplate

    folder: Path = default.path.parent
    prompts: dict[str, PromptTemplate] = {}
    for variant in campaign.prompt_variants:
        name = variant.prompt or DEFAULT_PROMPT
        if name == default.path.name:
            prompts[variant.name] = default
            continue
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"campaign {campaign.name}: prompt_variants {variant.name}: prompt file {path} not found")
        prompts[variant.name] = PromptTemplate.load(path)
    return prompts
