"""Request body schemas and examples of ``reauto serve``'s OpenAPI document.

The handlers read their bodies themselves (signatures are computed over the raw bytes), so the
shapes are declared here: they document the API and drive its fuzz tests.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "maxLength": 300}
_TEXT_OR_NUMBER = {"anyOf": [{"type": "string", "maxLength": 120}, {"type": "integer"}]}

#: One lead: a lead file's columns (aliases too); anything else is kept as custom data.
LEAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "external_id": _TEXT_OR_NUMBER, "phone": _TEXT_OR_NUMBER, "first_name": _TEXT, "last_name": _TEXT,
        "full_name": _TEXT, "email": _TEXT, "address": _TEXT, "city": _TEXT, "state": _TEXT,
        "zip": _TEXT_OR_NUMBER, "source": _TEXT, "notes": {"type": "string"},
        "consent": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "boolean"}]},
        "consent_at": _TEXT, "consent_text": {"type": "string"}, "consent_method": _TEXT,
    },
    "additionalProperties": True,
}

LEADS_BODY: dict[str, Any] = {
    "schema": {"anyOf": [
        LEAD,
        {"type": "array", "items": LEAD, "minItems": 1, "maxItems": 500},
        {"type": "object", "properties": {"leads": {"type": "array", "items": LEAD, "minItems": 1, "maxItems": 500}},
         "required": ["leads"]},
    ]},
    "example": {"leads": [
        {"external_id": "web-1841", "first_name": "Jane", "last_name": "Doe", "phone": "(512) 555-0123",
         "email": "jane@example.com", "state": "TX", "consent": "yes", "consent_at": "2026-11-25T15:02:00Z"}]},
}

FUB_EVENT: dict[str, Any] = {
    "schema": {"type": "object", "properties": {
        "eventId": {"type": "string"}, "eventCreated": {"type": "string"}, "event": {"type": "string"},
        "resourceIds": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 100},
        "uri": {"type": "string"}}},
    "example": {"eventId": "0f3e5d1c-2b4a-4c6e-9a8b-7d6c5b4a3f2e", "eventCreated": "2026-11-25T15:02:00+00:00",
                "event": "peopleCreated", "resourceIds": [1841],
                "uri": "https://api.followupboss.com/v1/people?id=1841"},
}


def form_example(**fields: str) -> dict[str, Any]:
    """A URL-encoded body of string fields, with an example."""
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "additionalProperties": {"type": "string"}}, "example": fields}}}}
