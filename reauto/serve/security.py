"""Webhook security: Twilio's ``X-Twilio-Signature``, the URL it signed, replays, body sizes.

Twilio signs each webhook with HMAC-SHA1 over the full URL it requested plus the sorted POST
parameters, keyed by the account's auth token. Behind a TLS-terminating proxy the URL the app
sees (``http://10.0.0.5:8080/…``) is not the one Twilio signed (``https://reauto.example.com/…``),
so the signed URL is rebuilt from the configured public URL, or — when the proxy is trusted —
from ``X-Forwarded-Proto`` / ``X-Forwarded-Host``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit


def signed_url(path_qs: str, *, public_url: str = "", scheme: str = "http", host: str = "",
               forwarded_proto: str | None = None, forwarded_host: str | None = None,
               trust_proxy: bool = False) -> str:
    """The URL Twilio requested (and signed) for a request to ``path_qs`` on this server."""
    if public_url:
        base = urlsplit(public_url)
        scheme, host = base.scheme, base.netloc
    elif trust_proxy:
        scheme = (forwarded_proto or scheme).split(",")[0].strip()
        host = (forwarded_host or host).split(",")[0].strip()
    return f"{scheme}://{host}{path_qs}"


def valid_signature(auth_token: str, url: str, params: Mapping[str, str | list[str]], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's signature of ``url`` + ``params`` (the SDK's validator)."""
    if not signature or not auth_token:
        return False
    from twilio.request_validator import RequestValidator

    try:
        return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
    except ValueError:  # a Host header that makes no URL ("[", a bad port): nothing Twilio signed
        return False


class ReplayGuard:
    """Refuses stale webhooks and remembers the idempotency tokens of the recent ones.

    Twilio's signature carries no time, so a captured request stays valid forever: a callback
    whose ``Timestamp`` is older than ``max_age_s`` is refused, and a request whose
    ``I-Twilio-Idempotency-Token`` was already handled is acknowledged without effect.
    """

    def __init__(self, max_age_s: float = 900.0, remember: int = 10_000) -> None:
        self.max_age_s = max_age_s
        self.remember = remember
        self._seen: OrderedDict[str, float] = OrderedDict()

    def stale(self, timestamp: str | None, now: float | None = None) -> bool:
        """Whether a callback's RFC 2822 ``Timestamp`` is too old (a missing one is not)."""
        if not timestamp:
            return False
        try:
            sent = parsedate_to_datetime(timestamp).timestamp()
        except (TypeError, ValueError, OverflowError, IndexError):  # not a date Twilio would send
            return True
        return (now if now is not None else time.time()) - sent > self.max_age_s

    def seen(self, token: str | None) -> bool:
        """Whether this idempotency token was handled before (and remember it)."""
        if not token:
            return False
        if token in self._seen:
            return True
        self._seen[token] = time.monotonic()
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return False

    def forget(self, token: str) -> None:
        """A request that failed: its delivery again must be processed."""
        self._seen.pop(token, None)
