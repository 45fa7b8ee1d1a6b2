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
from reauto.errors import ProviderError
from reauto.httpapi import HttpApi
from reauto.intake.auth import Forbidden, Unauthorized
from reauto.intake.leads import IntakeResult

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "fub-signature"
#: The events that can bring a new person; the others are acknowledged and ignored.
PEOPLE_EVENTS = frozenset({"peopleCreated", "peopleUpdated"})
#: Most people one event may name (each is one API request to Follow Up Boss).
MAX_PEOPLE = 1000
#: Follow Up Boss person ids are positive integers (a 64-bit bound keeps the URL sane).
_MAX_ID = 2**63 - 1


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
    if not hmac.compare_digest(signature(system_key, body).encode(), given.strip().lower().encode()):
        raise Forbidden("FUB-Signature does not match the body")


class BadEvent(ValueError):
    """A webhook body that is not a Follow Up Boss event; ``too_large``: it names too many people."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


@dataclass(frozen=True)
class Event:
    """The parts of a webhook event reauto acts on.

    Attributes:
        event_id: Follow Up Boss's id of the delivery ("" when it sent none).
        event: the event's name (``peopleCreated`` …).
        person_ids: the people it names, as positive integers.
    """

    event_id: str
    event: str
    person_ids: tuple[int, ...]


def parse_event(payload: Any) -> Event:
    """Check a decoded webhook body by type: text ids and names, a list of person ids.

    Raises:
        BadEvent: not an object, a field of the wrong type, an id that is not a person id, or
            more than :data:`MAX_PEOPLE` people.
    """
    if not isinstance(payload, dict):
        raise BadEvent("body is not a JSON object")
    event_id, event = payload.get("eventId", ""), payload.get("event", "")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not isinstance(event, str):
        raise BadEvent("eventId and event must be text")
    ids = payload.get("resourceIds") or []
    if not isinstance(ids, list):
        raise BadEvent("resourceIds must be a list of person ids")
    if len(ids) > MAX_PEOPLE:
        raise BadEvent(f"at most {MAX_PEOPLE} resourceIds per event", too_large=True)
    person_ids: list[int] = []
    for raw in ids:
        number = raw if isinstance(raw, int) and not isinstance(raw, bool) else (
            int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 20 else None)
        if number is None or not 0 < number <= _MAX_ID:
            raise BadEvent(f"resourceIds: {str(raw)[:40]!r} is not a person id")
        person_ids.append(number)
    return Event(str(event_id)[:200], event[:100], tuple(dict.fromkeys(person_ids)))


class FollowUpBossError(ProviderError):
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
        """The person with all fields, or None when Follow Up Boss has no such person.

        Raises:
            FollowUpBossError: no answer, or an answer that is not a JSON object.
        """
        response = await self.api.request("GET", f"/v1/people/{int(person_id)}", params={"fields": "allFields"},
                                          ok_statuses=(404,))
        if response.status_code == 404:
            return None
        try:
            person = response.json()
        except ValueError:
            person = None
        if not isinstance(person, dict):
            raise FollowUpBossError(f"Follow Up Boss answered person {int(person_id)} with something else than "
                                    "a JSON object")
        return person


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list the API sent (anything else in it, or instead of it, is ignored)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def person_to_record(person: Mapping[str, Any], settings: FollowUpBossSettings) -> dict[str, Any]:
    """A Follow Up Boss person as an intake record (the lead file's column names).

    The values keep the types the API sent: intake checks each one like a posted lead's.
    """
    phones = sorted(_objects(person.get("phones")), key=lambda p: not p.get("isPrimary"))
    usable = [p for p in phones if str(p.get("status", "")).lower() not in ("bad", "not in service")]
    emails = sorted(_objects(person.get("emails")), key=lambda e: not e.get("isPrimary"))
    address = next(iter(_objects(person.get("addresses"))), {})
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
    tags = {str(t).strip().lower() for t in person.get("tags") or [] if isinstance(t, str)} \
        if isinstance(person.get("tags"), list) else set()
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


async def handle_webhook(event: Event | Mapping[str, Any], client: FollowUpBoss, settings: FollowUpBossSettings,
                         *, store: Store, concurrency: int = 4) -> WebhookResult:
    """Fetch the event's people and store them in ``[followupboss] intake_campaign``.

    Raises :class:`FollowUpBossError` when a person could not be fetched (the sender retries the
    delivery; people already stored are acknowledged as present the second time), and
    :class:`BadEvent` for a body that is not an event.
    """
    if not isinstance(event, Event):
        event = parse_event(event)
    result = WebhookResult(event=event.event)
    if event.event not in PEOPLE_EVENTS:
        result.ignored = f"event {event.event!r} brings no new person"
        return result
    ids = list(event.person_ids)
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
