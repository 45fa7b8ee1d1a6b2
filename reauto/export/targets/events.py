"""The ``events`` target: call and lead events (:mod:`reauto.events`) POSTed to every URL of
``[export.events] urls`` as signed JSON, like the webhook target's records.

Each event is one request per URL with the same ``Idempotency-Key``; a URL that fails fails the
event (the runner retries it, then parks it in the dead-letter list), and a retry sends it to
every URL again: receivers deduplicate on the key. Types outside ``[export.events] types`` (when
set) are recorded as delivered without a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from reauto.export.targets.base import ExportTarget, PermanentExportError
from reauto.export.targets.webhook import SignedEndpoint

if TYPE_CHECKING:
    from reauto.config import Settings


class EventsTarget(ExportTarget):
    name = "events"
    records: ClassVar[str] = "events"  # the runner reads the event outbox, not calls and texts
    durable_on_send: ClassVar[bool] = True

    def __init__(self, urls: Sequence[str], secret: str, *, types: Sequence[str] = (), timeout_s: float = 5.0,
                 retries: int = 2, transport: Any = None) -> None:
        if not urls:
            raise PermanentExportError("the events target needs [export.events] urls")
        if not secret:
            raise PermanentExportError("the events target needs [export.events] secret (receivers verify it)")
        self.types = frozenset(types)
        self.endpoints = [SignedEndpoint(url, secret, name=f"export:events:{urlsplit(url).netloc}",
                                         timeout_s=timeout_s, retries=retries, transport=transport) for url in urls]

    @classmethod
    def from_settings(cls, cfg: Settings) -> EventsTarget:
        e, own = cfg.export, cfg.export.events
        return cls(own.urls, own.secret, types=own.types, timeout_s=e.timeout_s, retries=e.retries)

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        event = record["event"]
        if self.types and event["type"] not in self.types:
            return "not subscribed"
        for endpoint in self.endpoints:
            await endpoint.post(event, key)
        return key

    async def close(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.close()
