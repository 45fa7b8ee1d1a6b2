"""Telephony providers: how a call is placed and how its audio reaches the pipeline."""

from __future__ import annotations

from reauto.providers import ProviderSpec, Registry
from reauto.telephony.base import CallHandle, Telephony

REGISTRY: Registry[Telephony] = Registry(
    "telephony",
    {"sim": ProviderSpec("reauto.telephony.sim:SimTelephony"),
     "twilio": ProviderSpec("reauto.telephony.twilio:TwilioTelephony", extra="twilio")},
)

__all__ = ["REGISTRY", "CallHandle", "Telephony"]
