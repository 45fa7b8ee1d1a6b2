"""Who may post leads: an API key (``Authorization: Bearer …``) or an HMAC-SHA256 signature.

The signature header is ``X-Reauto-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256 keyed by ``[intake] hmac_secret`` over ``<t>.<raw body>``. A signature older or newer
than ``max_skew_s`` is refused, so a captured request cannot be replayed later. To sign in a
shell::

    t=$(date +%s); sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
    curl -H "X-Reauto-Signature: t=$t,v1=$sig" -H 'Content-Type: application/json' -d "$body" …
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence

from reauto.signature import SIGNATURE_HEADER, sign


class Unauthorized(Exception):
    """No credentials (401)."""


class Forbidden(Exception):
    """Wrong credentials (403)."""


def authenticate(headers: Mapping[str, str], body: bytes, *, api_keys: Sequence[str], hmac_secret: str,
                 max_skew_s: float = 300.0, now: float | None = None) -> str:
    """How the request authenticated (``api_key`` or ``signature``); raises when it did not."""
    auth = headers.get("authorization", "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not auth and not signature:
        raise Unauthorized("send Authorization: Bearer <api key> or X-Reauto-Signature")
    if auth:
        scheme, _, key = auth.partition(" ")
        if scheme.lower() == "bearer" and key and any(same(key, k) for k in api_keys if k):
            return "api_key"
        if not signature:
            raise Forbidden("unknown API key")
    if not hmac_secret:
        raise Forbidden("signatures are not accepted: [intake] hmac_secret is not set")
    parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
    stamp = parts.get("t", "").strip()
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise Forbidden("malformed X-Reauto-Signature (expected t=<unix seconds>,v1=<hex>)")
    t = int(stamp)
    if abs((time.time() if now is None else now) - t) > max_skew_s:
        raise Forbidden(f"signature timestamp more than {max_skew_s:.0f} s from now")
    expected = sign(hmac_secret, body, t).split("v1=", 1)[1]
    if not same(expected, parts.get("v1", "")):
        raise Forbidden("signature does not match the body")
    return "signature"


def same(given: str, expected: str) -> bool:
    """Constant-time equality of a credential sent in a header with the configured one.

    Compared as UTF-8 bytes: ``hmac.compare_digest`` refuses text with non-ASCII characters,
    which a header can carry.
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))
