"""Campaign files: ``campaigns/*.yaml`` validated into typed models, errors with file:line:column.

Every problem in a file is reported at once, each as ``file:line:column: field: expected …``,
by mapping pydantic's error locations back to the YAML nodes they came from. The sections live in
:mod:`reauto.campaign.sections` (the call) and :mod:`reauto.campaign.outreach` (texts, recording,
caller IDs, inbound, transfer), the whole file in :mod:`reauto.campaign.model`.
"""

from __future__ import annotations

from reauto.campaign.model import Campaign, load_campaign, numbers_of, validate_campaign
from reauto.campaign.outreach import (
    ANSWER_FIELDS, INBOUND_FIELDS, SMS_FIELDS, CadenceStep, CallerIds, Inbound, Recording, Shift, Sms, Transfer, Variant,
    e164,
)
from reauto.campaign.sections import (
    PROTECTED, SLOT_TYPES, Booking, CallingWindow, LlmOptions, Persona, Question, Retry, Section, SimPersona, Slot,
)
from reauto.yamlcheck import Problem

__all__ = [
    "ANSWER_FIELDS", "INBOUND_FIELDS", "PROTECTED", "SLOT_TYPES", "SMS_FIELDS", "Booking", "CadenceStep", "CallerIds",
    "CallingWindow", "Campaign", "Inbound", "LlmOptions", "Persona", "Problem", "Question", "Recording", "Retry",
    "Section", "Shift", "SimPersona", "Slot", "Sms", "Transfer", "Variant", "e164", "load_campaign", "numbers_of",
    "validate_campaign",
]
