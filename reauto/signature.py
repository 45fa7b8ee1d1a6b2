"""The HMAC-SHA256 signature of reauto's signed bodies: ``X-Reauto-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is HMAC-SHA256 keyed by the shared secret over ``<t>.<raw body>``. The intake checks it on
what is posted to it (:mod:`reauto.intake.auth`); the webhook and events export targets put it on
what they send, so a receiver checks both the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "x-reauto-signature"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Reauto-Signature`` value for ``body`` (what a sender computes)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
