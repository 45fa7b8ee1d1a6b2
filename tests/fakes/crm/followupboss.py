"""A loopback Follow Up Boss: the people API and signed webhook deliveries, in FUB's wire format.

``POST /v1/events`` finds the person by phone or email or creates one (201, or 200 for an existing
person) and answers the event with its ``personId``; ``POST``/``GET /v1/calls`` and ``/v1/notes``
(``?personId=``) and ``POST /v1/appointments`` store and list what reauto exports, each checking
the fields Follow Up Boss requires. ``GET /v1/people/{id}`` answers a person object (``id``, ``firstName``, ``lastName``, ``stage``,
``source``, ``tags``, ``phones``/``emails`` as ``[{"value", "type", "status", "isPrimary"}]``,
``addresses`` as ``[{"type", "street", "city", "state", "code", "country"}]``) or 404 with
``{"errorMessage": ...}``. Like the real API it wants HTTP Basic auth with the API key as user
and an ``X-System``/``X-System-Key`` pair (401 otherwise). Failures (429 with Retry-After, 5xx,
slow answers) can be queued. :func:`webhook` builds a delivery signed the way FUB signs them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .. import listen


def webhook(system_key: str, event: str, person_ids: list[int], *, event_id: str | None = None,
            ) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery: the JSON body and its headers (``FUB-Signature``)."""
    body = json.dumps({
        "eventId": event_id or str(uuid.uuid4()), "eventCreated": "2026-11-25T15:02:00+00:00", "event": event,
        "resourceIds": person_ids,
        "uri": "https://api.followupboss.com/v1/people?id=" + ",".join(map(str, person_ids)),
    }).encode()
    sig = hmac.new(system_key.encode(), base64.b64encode(body), hashlib.sha256).hexdigest()
    return body, {"FUB-Signature": sig, "Content-Type": "application/json"}


def person(person_id: int, first: str, last: str, phone: str, *, state: str = "TX", stage: str = "Lead",
           tags: list[str] | None = None, email: str = "", source: str = "Zillow") -> dict[str, Any]:
    return {
        "id": person_id, "created": "2026-11-25T15:01:58Z", "updated": "2026-11-25T15:01:58Z",
        "createdVia": "API", "name": f"{first} {last}", "firstName": first, "lastName": last, "stage": stage,
        "stageId": 2, "source": source, "sourceUrl": "", "contacted": 0, "price": 0, "assignedUserId": 1,
        "tags": tags or [],
        "phones": [{"value": phone, "type": "mobile", "status": "Valid", "isPrimary": 1}],
        "emails": [{"value": email, "type": "home", "status": "Valid", "isPrimary": 1}] if email else [],
        "addresses": [{"type": "home", "street": "1 Main St", "city": "Austin", "state": state, "code": "78701",
                       "country": "United States"}],
    }


@dataclass
class FakeFollowUpBoss:
    """``await start()``, point reauto at :attr:`url`, add :attr:`people`, ``await close()``."""

    api_key: str = "fka_test_key"
    system: str = "reauto"
    system_key: str = "fub-system-key"
    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)  # statuses answered first, one per request
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    unassigned_for: int = 0  # a new person's calls/notes answer 404 this many times (agent assignment)
    url: str = ""

    def __post_init__(self) -> None:
        self._fresh: dict[int, int] = {}

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/people/{id}", self._person)
        app.router.add_post("/v1/events", self._event)
        for resource in ("calls", "notes"):
            app.router.add_post(f"/v1/{resource}", self._create)
            app.router.add_get(f"/v1/{resource}", self._list)
        app.router.add_post("/v1/appointments", self._appointment)
        self._runner, self.url = await listen(app)
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        return (request.headers.get("Authorization") == expected
                and request.headers.get("X-System") == self.system
                and request.headers.get("X-System-Key") == self.system_key)

    async def _guard(self, request: web.Request) -> web.Response | None:
        """Auth, queued failures and delay, as for every request."""
        self.requests.append({"path": request.path, "query": dict(request.query), "method": request.method,
                              "headers": dict(request.headers)})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not self._authorised(request):
            return web.json_response({"errorMessage": "Invalid authentication credentials"}, status=401)
        if self.failures:
            status = self.failures.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return web.json_response({"errorMessage": "Rate limit exceeded" if status == 429 else "Internal error"},
                                     status=status, headers=headers)
        return None

    async def _event(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        person = body.get("person") or {}
        if not body.get("source") or not body.get("type"):
            return web.json_response({"errorMessage": "source and type are required"}, status=400)
        phones = {p.get("value") for p in person.get("phones") or []}
        emails = {e.get("value") for e in person.get("emails") or []}
        if not phones and not emails:
            return web.json_response({"errorMessage": "person needs a phone or an email"}, status=400)
        found = next((p for p in self.people.values() if phones & {x["value"] for x in p["phones"]}
                      or emails & {x["value"] for x in p["emails"]}), None)
        status = 200
        if found is None:
            status, new_id = 201, max(self.people, default=1000) + 1
            found = person_record = {**person, "id": new_id, "phones": [dict(p) for p in person.get("phones") or []],
                                     "emails": [dict(e) for e in person.get("emails") or []]}
            self.people[new_id] = person_record
            self._fresh[new_id] = self.unassigned_for
        event = {"id": len(self.events) + 1, "personId": found["id"], "type": body["type"], "source": body["source"],
                 "message": body.get("message"), "created": "2026-11-25T15:02:00Z"}
        self.events.append(event)
        return web.json_response(event, status=status)

    def _unassigned(self, person_id: int) -> bool:
        if self._fresh.get(person_id, 0) > 0:
            self._fresh[person_id] -= 1
            return True
        return False

    async def _create(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        resource = request.path.rsplit("/", 1)[-1]
        person_id = body.get("personId")
        if person_id not in self.people:
            return web.json_response({"errorMessage": f"personId {person_id} not found"}, status=404)
        if self._unassigned(person_id):
            return web.json_response({"errorMessage": "Person not found"}, status=404)
        required = {"calls": ("phone", "outcome"), "notes": ("body",)}[resource]
        missing = [f for f in required if not body.get(f)]
        if missing or (resource == "calls" and "isIncoming" not in body):
            return web.json_response({"errorMessage": f"missing {missing or ['isIncoming']}"}, status=400)
        store = self.calls if resource == "calls" else self.notes
        item = {**body, "id": 500 + len(self.calls) + len(self.notes)}
        store.append(item)
        return web.json_response(item, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        resource = request.path.rsplit("/", 1)[-1]
        person_id = int(request.query.get("personId", "0"))
        if self._unassigned(person_id):
            return web.json_response({"errorMessage": "Person not found"}, status=404)
        items = [i for i in (self.calls if resource == "calls" else self.notes) if i["personId"] == person_id]
        return web.json_response({"_metadata": {"collection": resource, "offset": 0, "limit": 100,
                                                "total": len(items)}, resource: items})

    async def _appointment(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        body = await request.json()
        if not body.get("title") or not body.get("start") or not body.get("end"):
            return web.json_response({"errorMessage": "title, start and end are required"}, status=400)
        item = {**body, "id": 900 + len(self.appointments)}
        self.appointments.append(item)
        return web.json_response(item, status=201)

    async def _person(self, request: web.Request) -> web.Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        found = self.people.get(int(request.match_info["id"]))
        if found is None:
            return web.json_response({"errorMessage": "Person not found"}, status=404)
        return web.json_response(found)
