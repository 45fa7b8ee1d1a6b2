"""Telephony providers: how a call is placed and how its audio reaches the pipeline."""

from __future__ import annotations

from reauto import providercatalog
from reauto.providers import Registry
from reauto.telephony.base import CallHandle, Telephony

REGISTRY: Registry[Telephony] = Registry(providercatalog.KINDS["telephony"], providercatalog.TELEPHONY)

__all__ = ["REGISTRY", "CallHandle", "Telephony"]
