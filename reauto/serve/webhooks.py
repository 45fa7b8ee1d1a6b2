"""Twilio's signed webhooks: a request's form, checked for its ``X-Twilio-Signature`` and freshness.

Every Twilio HTTP webhook route reads its form through :func:`verified_form`; a request without
a valid signature for the URL Twilio requested, or a stale callback, raises :class:`Forbidden`,
which the app answers with a 403.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from reauto.serve.context import ServeContext
from reauto.serve.guard import clean_form, shown
from reauto.serve.security import signed_url, valid_signature

#: The media type of a TwiML answer.
TWIML = "application/xml"


class Forbidden(Exception):
    """A webhook without a valid signature."""


async def verified_form(request: Request, ctx: ServeContext) -> dict[str, str]:
    """The webhook's form, cleaned.

    Raises:
        Forbidden: the signature is missing or wrong, or the callback is stale.
    """
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = signed_url(path_qs, public_url=ctx.settings.public_url, scheme=request.url.scheme,
                     host=request.headers.get("host", ""),
                     forwarded_proto=request.headers.get("x-forwarded-proto"),
                     forwarded_host=request.headers.get("x-forwarded-host"),
                     trust_proxy=ctx.settings.trust_proxy)
    signature = request.headers.get("x-twilio-signature")
    where = shown(request.url.path)
    if not valid_signature(ctx.settings.auth_token, url, form, signature):
        raise Forbidden(f"{'missing' if not signature else 'wrong'} signature on {where}")
    if ctx.replay.stale(form.get("Timestamp")):
        raise Forbidden(f"stale callback on {where} (Timestamp {shown(form.get('Timestamp', ''))})")
    return clean_form(form)
