"""Follow Up Boss webhooks: a person created (or updated) in the CRM becomes a lead at once.

Follow Up Boss posts ``{"eventId", "eventCreated", "event", "resourceIds", "uri"}`` and signs the
raw body: ``FUB-Signature`` is the hex HMAC-SHA256, keyed by the system's ``X-System-Key``, of the
body's base64 encoding. reauto verifies it, then fetches each person from
``GET /v1/people/{id}`` (never from the event's ``uri``: a webhook must not steer where reauto
sends its credentials) and stores them through the same validation as ``POST /v1/leads``, with
``fub:<person id>`` as the external id, so a repeated event creates nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from reauto.config import FollowUpBossSettings
from reauto.httpapi import HttpApi
from reauto.intake.auth import Forbidden, Unauthorized
from reauto.intake.leads import IntakeResult

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "fub-signature"
#: The events that can bring a new person; the others are acknowledged and ignored.
PEOPLE_EVENTS = frozenset({"peopleCreated", "peopleUpdated"})


def signature(system_key: str, body: bytes) -> str:
    """``FUB-Signature`` for ``body``: HMAC-SHA256 (hex) of its base64 encoding."""
    return hmac.new(system_key.encode(), base64.b64encode(body), hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, system_key: str) -> None:
    """Raises :class:`Unauthorized` (no signature) or :class:`Forbidden` (wrong one, or no key)."""
    given = headers.get(SIGNATURE_HEADER, "")
    if not given:
        raise Unauthorized("no FUB-Signature header")
    if not system_key:
        raise Forbidden("[followupboss] system_key is not set: webhooks cannot be verified")
    if not hmac.compare_digest(signature(system_key, body), given.strip().lower()):
        raise Forbidden("FUB-Signature does not match the body")


class FollowUpBossError(RuntimeError):
    """The Follow Up Boss API did not answer usefully (after retries, or with an open breaker)."""


class FollowUpBoss:
    """The few Follow Up Boss API calls intake needs: Basic auth with the API key, X-System headers,
    a timeout per request, retries on timeouts, 429 and 5xx (honouring Retry-After), a breaker."""

    def __init__(self, settings: FollowUpBossSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.api = HttpApi(settings.base_url, name="followupboss", timeout_s=settings.timeout_s,
                           retries=settings.retries, auth=(settings.api_key, ""), transport=transport,
                           headers={"X-System": settings.system, "X-System-Key": settings.system_key,
                                    "Accept": "application/json"},
                           breaker_threshold=settings.breaker_threshold, breaker_reset_s=settings.breaker_reset_s,
                           max_retry_after_s=5.0, transient=FollowUpBossError, permanent=FollowUpBossError)
        self.breaker = self.api.breaker

    async def close(self) -> None:
        await self.api.close()

    async def person(self, person_id: int) -> dict[str, Any] | None:
        """The person with all fields, or None when Follow Up Boss has no such person."""
        response = await self.api.request("GET", f"/v1/people/{int(person_id)}", params={"fields": "allFields"},
                                          ok_statuses=(404,))
        return None if response.status_code == 404 else dict(response.json())


def person_to_record(person: Mapping[str, Any], settings: FollowUpBossSettings) -> dict[str, Any]:
    """A Follow Up Boss person as an intake record (the lead file's column names)."""
    phones = sorted(person.get("phones") or [], key=lambda p: not p.get("isPrimary"))
    usable = [p for p in phones if str(p.get("status", "")).lower() not in ("bad", "not in service")]
    emails = sorted(person.get("emails") or [], key=lambda e: not e.get("isPrimary"))
    address = next(iter(person.get("addresses") or []), {})
    record: dict[str, Any] = {
        "external_id": f"fub:{person.get('id')}",
        "first_name": person.get("firstName") or "",
        "last_name": person.get("lastName") or "",
        "phone": (usable or phones or [{}])[0].get("value", ""),
        "email": (emails or [{}])[0].get("value", ""),
        "address": address.get("street", ""),
        "city": address.get("city", ""),
        "state": address.get("state", ""),
        "zip": address.get("code", ""),
        "source": f"followupboss:{person.get('source') or 'unknown'}"[:120],
    }
    tags = {str(t).strip().lower() for t in person.get("tags") or []}
    consent_tag = next((t for t in settings.consent_tags if t.strip().lower() in tags), None)
    if consent_tag is not None:
        record.update(consent="yes", consent_text=settings.consent_text,
                      consent_method=f"Follow Up Boss tag {consent_tag!r}")
    return {k: v for k, v in record.items() if v not in ("", None)}


@dataclass
class WebhookResult:
    """What one webhook delivery did."""

    event: str
    ignored: str = ""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    intake: IntakeResult | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event, "skipped": self.skipped}
        if self.ignored:
            out["ignored"] = self.ignored
        if self.intake is not None:
            out.update(self.intake.as_json())
        return out


#: Stores records in a campaign (validation, wake-up, metrics): ``store(records, campaign)``.
Store = Callable[[list[dict[str, Any]], str], Awaitable[IntakeResult]]


async def handle_webhook(payload: Mapping[str, Any], client: FollowUpBoss, settings: FollowUpBossSettings, *,
                         store: Store, concurrency: int = 4) -> WebhookResult:
    """Fetch the event's people and store them in ``[followupboss] intake_campaign``.

    Raises :class:`FollowUpBossError` when a person could not be fetched (the sender retries the
    delivery; people already stored are acknowledged as present the second time).
    """
    event = str(payload.get("event", ""))
    result = WebhookResult(event=event)
    if event not in PEOPLE_EVENTS:
        result.ignored = f"event {event!r} brings no new person"
        return result
    ids = [i for i in payload.get("resourceIds") or [] if str(i).isdigit()]
    gate = asyncio.Semaphore(concurrency)

    async def fetch(person_id: Any) -> dict[str, Any] | None:
        async with gate:
            return await client.person(int(person_id))

    people = await asyncio.gather(*(fetch(i) for i in ids))
    records = []
    for person_id, person in zip(ids, people, strict=True):
        if person is None:
            result.skipped.append({"person": int(person_id), "reason": "no such person in Follow Up Boss"})
        elif settings.intake_stages and person.get("stage") not in settings.intake_stages:
            result.skipped.append({"person": int(person_id),
                                   "reason": f"stage {person.get('stage')!r} is not in [followupboss] intake_stages"})
        else:
            records.append(person_to_record(person, settings))
    if records:
        result.intake = await store(records, settings.intake_campaign)
    return result
