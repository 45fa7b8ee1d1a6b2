"""Budget alerts: a log line, and a JSON POST to a webhook, once per budget window and level.

The webhook call (httpx, reauto's one HTTP client stack) has a timeout for the whole request,
retries with backoff and a breaker (after repeated failures it is skipped for a while, so a dead
endpoint never slows the calls down); the log line is always written.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from reauto import resilience
from reauto.breaker import Breaker
from reauto.config import BudgetSettings
from reauto.resilience import AttemptFailed, classify_exception, classify_status

log = logging.getLogger(__name__)


class Alerter:
    """Raises each (budget window, level) alert once per process.

    Args:
        settings: ``[budget]`` (levels, webhook, timeout).
        retries: webhook attempts after the first.
    """

    def __init__(self, settings: BudgetSettings, *, retries: int = 2) -> None:
        self.settings = settings
        self.retries = retries
        self.breaker = Breaker(threshold=3, reset_s=60.0, name="alert_webhook")
        self.raised: list[dict[str, Any]] = []
        self._seen: set[tuple[str, str, str, float]] = set()

    async def utilisation(self, scope: str, period: str, start: datetime, spent: Decimal, amount: Decimal) -> None:
        """Alert for every level ``spent / amount`` has reached and that was not raised yet."""
        share = float(spent / amount) if amount else 0.0
        for level in sorted(self.settings.alert_at):
            key = (scope, period, start.isoformat(), level)
            if share + 1e-9 < level or key in self._seen:
                continue
            self._seen.add(key)
            await self.raise_alert({"kind": "budget", "scope": scope, "period": period, "level": level,
                                    "spent_usd": str(spent), "budget_usd": str(amount),
                                    "utilisation": round(share, 4), "window_start": start.isoformat()})

    async def raise_alert(self, payload: dict[str, Any]) -> None:
        """Log ``payload`` and POST it to the webhook when one is set."""
        self.raised.append(payload)
        log.warning("budget alert: %s", payload)
        url = self.settings.alert_webhook
        if not url:
            return
        import httpx

        timeout_s = self.settings.alert_timeout_s

        async def attempt() -> None:
            try:
                async with asyncio.timeout(timeout_s), httpx.AsyncClient(timeout=timeout_s) as client:
                    response = await client.post(url, json=payload)
            except (httpx.HTTPError, TimeoutError) as exc:
                raise classify_exception(f"alert webhook {url} failed: {type(exc).__name__}: {exc}", exc) from exc
            if response.status_code >= 300:
                raise classify_status(f"alert webhook {url}: HTTP {response.status_code}", response.status_code,
                                      response.headers.get("Retry-After"))

        try:
            await resilience.call(attempt, policy=resilience.policy(self.retries, max_retry_after_s=5.0),
                                  breaker=self.breaker, name="alert_webhook")
        except AttemptFailed as exc:
            log.warning("%s", exc)  # alerts keep going to the log
