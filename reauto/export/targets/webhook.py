"""The generic webhook target: each record POSTed as JSON, signed like reauto's own intake.

Headers: ``Idempotency-Key`` (the same for every delivery of a record: deduplicate on it),
``X-Reauto-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is HMAC-SHA256 keyed by
``[export.webhook] secret`` over ``<t>.<raw body>``. To verify (Python)::

    t, v1 = dict(p.split("=", 1) for p in header.split(",")).values()
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) < 300

Any 2xx is success; 408, 429 and 5xx are retried with backoff; another 4xx is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from reauto.export.targets.base import ExportTarget, HttpApi, PermanentExportError, TransientExportError
from reauto.signature import sign

if TYPE_CHECKING:
    from reauto.config import Settings


class SignedEndpoint:
    """One receiver URL: JSON bodies POSTed to it, signed with ``secret`` as the module doc says
    (the webhook target's one URL, and each of the events target's)."""

    def __init__(self, url: str, secret: str, *, name: str, timeout_s: float = 5.0, retries: int = 2,
                 transport: Any = None) -> None:
        parts = urlsplit(url)
        self.secret = secret
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.api = HttpApi(f"{parts.scheme}://{parts.netloc}", name=name, timeout_s=timeout_s,
                           retries=retries, transport=transport, transient=TransientExportError,
                           permanent=PermanentExportError)

    async def post(self, payload: Mapping[str, Any], key: str) -> None:
        """POST ``payload`` as JSON with ``key`` as its ``Idempotency-Key`` (raises as :class:`HttpApi`)."""
        body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        await self.api.request("POST", self.path, content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": key, "X-Reauto-Signature": sign(self.secret, body)})

    async def close(self) -> None:
        await self.api.close()


class WebhookTarget(ExportTarget):
    name = "webhook"
    durable_on_send: ClassVar[bool] = True

    def __init__(self, url: str, secret: str, *, timeout_s: float = 5.0, retries: int = 2, transport: Any = None) -> None:
        if not url:
            raise PermanentExportError("the webhook target needs [export.webhook] url")
        if not secret:
            raise PermanentExportError("the webhook target needs [export.webhook] secret (receivers verify it)")
        self.endpoint = SignedEndpoint(url, secret, name="export:webhook", timeout_s=timeout_s, retries=retries,
                                       transport=transport)

    @classmethod
    def from_settings(cls, cfg: Settings) -> WebhookTarget:
        e, own = cfg.export, cfg.export.webhook
        return cls(own.url, own.secret, timeout_s=e.timeout_s, retries=e.retries)

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        await self.endpoint.post(record, key)
        return key

    async def close(self) -> None:
        await self.endpoint.close()
