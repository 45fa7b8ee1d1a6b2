"""Campaign files: ``campaigns/*.yaml`` validated into typed models, errors with file:line:column.

Every problem in a file is reported at once, each as ``file:line:column: field: expected …``,
by mapping pydantic's error locations back to the YAML nodes they came from. The sections live in
:mod:`reauto.campaign.sections` (the call) and :mod:`reauto.campaign.outreach` (texts, recording,
caller IDs, inbound, transfer), the whole file in :mod:`reauto.campaign.model`.
"""

from __future__ import annotations

from reauto.campaign.model import Campaign, validate_campaign, load_campaign, numbers_of
from reauto.campaign.outreach import SMS_FIELDS, ANSWER_FIELDS, INBOUND_FIELDS, CadenceStep, Sms, Recording, e164, Shift, Transfer, CallerIds, Inbound, Variant
from reauto.campaign.sections import PROTECTED, SLOT_TYPES, CallingWindow, Retry, Persona, Question, Slot, Booking, SimPersona
from reauto.yamlcheck import Problem

__all__ = ['ANSWER_FIELDS', 'Booking', 'CadenceStep', 'CallerIds', 'CallingWindow', 'Campaign', 'INBOUND_FIELDS', 'Inbound', 'PROTECTED', 'Persona', 'Problem', 'Question', 'Recording', 'Retry', 'SLOT_TYPES', 'SMS_FIELDS', 'Shift', 'SimPersona', 'Slot', 'Sms', 'Transfer', 'Variant', 'e164', 'load_campaign', 'numbers_of', 'validate_campaign']
