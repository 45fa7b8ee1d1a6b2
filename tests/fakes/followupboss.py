"""A loopback Follow Up Boss: the people API and signed webhook deliveries, in FUB's wire format.

``GET /v1/people/{id}`` answers a person object (``id``, ``firstName``, ``lastName``, ``stage``,
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
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/people/{id}", self._person)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        return (request.headers.get("Authorization") == expected
                and request.headers.get("X-System") == self.system
                and request.headers.get("X-System-Key") == self.system_key)

    async def _person(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "query": dict(request.query),
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
        found = self.people.get(int(request.match_info["id"]))
        if found is None:
            return web.json_response({"errorMessage": "Person not found"}, status=404)
        return web.json_response(found)
