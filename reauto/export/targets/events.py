"""The ``events`` target: call and lead events (:mod:`reauto.events`) POSTed to every URL of
``[export] events_urls`` as signed JSON, like the webhook target's records.

Each event is one request per URL with the same ``Idempotency-Key``; a URL that fails fails the
event (the runner retries it, then parks it in the dead-letter list), and a retry sends it to
every URL again: receivers deduplicate on the key. Types outside ``[export] events_types`` (when
set) are recorded as delivered without a request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from reauto.export.targets.base import ExportTarget, HttpApi, PermanentExportError
from reauto.intake.auth import sign


class EventsTarget(ExportTarget):
    name = "events"
    records: ClassVar[str] = "events"  # the runner reads the event outbox, not calls and texts
    durable_on_send: ClassVar[bool] = True

    def __init__(self, urls: Sequence[str], secret: str, *, types: Sequence[str] = (), timeout_s: float = 5.0,
                 retries: int = 2, transport: Any = None) -> None:
        if not urls:
            raise PermanentExportError("the events target needs [export] events_urls")
        if not secret:
            raise PermanentExportError("the events target needs [export] events_secret (receivers verify it)")
        self.secret = secret
        self.types = frozenset(types)
        self.apis: list[tuple[HttpApi, str]] = []
        for url in urls:
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            self.apis.append((HttpApi(f"{parts.scheme}://{parts.netloc}", name=f"export:events:{parts.netloc}",
                                      timeout_s=timeout_s, retries=retries, transport=transport), path))

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        event = record["event"]
        if self.types and event["type"] not in self.types:
            return "not subscribed"
        body = json.dumps(event, sort_keys=True, ensure_ascii=False).encode()
        for api, path in self.apis:
            await api.request("POST", path, content=body, headers={
                "Content-Type": "application/json", "Idempotency-Key": key,
                "X-Reauto-Signature": sign(self.secret, body)})
        return key

    async def close(self) -> None:
        for api, _ in self.apis:
            await api.close()
