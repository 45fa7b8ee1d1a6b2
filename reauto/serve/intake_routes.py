"""The lead intake endpoints of ``reauto serve``: ``POST /v1/leads``, ``/v1/forms/{name}`` and
``/v1/webhooks/followupboss``.

Each authenticates first, then reads a bounded JSON (or form) body; a body that is not one is a
400 with a ``detail``, and every lead of a batch gets its own fate (a bad one never costs the
others). A campaign the server's settings name but the store lacks is the server's fault: 503,
logged once, so senders deliver again once it is fixed.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from reauto import metrics
from reauto.config import IntakeSettings
from reauto.intake.auth import Forbidden as IntakeForbidden
from reauto.intake.auth import Unauthorized, authenticate
from reauto.intake.leads import IntakeResult, UnknownCampaign, accept_leads
from reauto.leads.build import ConsentPolicy
from reauto.serve.context import Context, ServeContext
from reauto.serve.guard import BadBody, parse_json, shown
from reauto.serve.openapi import FUB_EVENT, LEADS_BODY, form_example

log = logging.getLogger(__name__)

router = APIRouter(tags=["intake"])


def refused(request: Request, body: bytes, intake: IntakeSettings) -> Response | None:
    """The 401/403 answer to a request without a valid ``[intake]`` API key or signature (None: it has one)."""
    try:
        authenticate(request.headers, body, api_keys=intake.api_keys, hmac_secret=intake.hmac_secret,
                     max_skew_s=intake.max_skew_s)
    except Unauthorized as exc:
        return JSONResponse({"detail": str(exc)}, status_code=401)
    except IntakeForbidden as exc:
        return JSONResponse({"detail": str(exc)}, status_code=403)
    return None


@router.post("/v1/leads", summary="Post new leads: stored at the head of the dial queue",
             responses={200: {"description": "every record's fate: created, already_present, rejected"},
                        400: {"description": "the body is not JSON, or not a lead, a list or {\"leads\": [...]}"},
                        401: {"description": "no API key or signature"}, 403: {"description": "wrong one"},
                        404: {"description": "no such campaign"}, 413: {"description": "body or batch too large"},
                        422: {"description": "no record was usable"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": LEADS_BODY}}})
async def intake_leads(request: Request, campaign: str, ctx: Context) -> Response:
    if ctx.intake is None or ctx.engine is None:
        return JSONResponse({"detail": "lead intake is not enabled on this server"}, status_code=404)
    body = await request.body()
    answer = refused(request, body, ctx.intake)
    if answer is not None:
        return answer
    try:
        payload = parse_json(body)
    except BadBody as exc:
        return JSONResponse({"detail": exc.detail}, status_code=400)
    records = payload.get("leads", [payload]) if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        return JSONResponse({"detail": "expected a lead object, a list of them, or {\"leads\": [...]}"},
                            status_code=400)
    if len(records) > ctx.intake.max_leads:
        return JSONResponse({"detail": f"at most {ctx.intake.max_leads} leads per request"}, status_code=413)
    policy = ConsentPolicy(written=ctx.intake.consent_written, artificial_voice=ctx.intake.consent_ai_voice)
    try:
        result = await store_intake(ctx, records, campaign, policy=policy, source="intake")
    except UnknownCampaign as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse(*fates(result))


async def store_intake(ctx: ServeContext, records: list[Any], campaign: str, *, policy: ConsentPolicy, source: str,
                       mapping: Any = None) -> IntakeResult:
    """Validate and store; wake the campaign's dialers; count. Raises UnknownCampaign."""
    assert ctx.engine is not None
    result = await accept_leads(ctx.engine, campaign, records, region=ctx.region, policy=policy, source=source,
                                mapping=mapping)
    if result.created and ctx.on_intake is not None:
        woken = ctx.on_intake(result.campaign_id)
        if inspect.isawaitable(woken):  # a wake-up bus: dialers in other processes too
            await woken
    metrics.LEADS_RECEIVED.labels(result="created").inc(len(result.created))
    metrics.LEADS_RECEIVED.labels(result="rejected").inc(len({r["index"] for r in result.rejected}))
    return result


def misconfigured(where: str, exc: UnknownCampaign) -> Response:
    """The 503 answer while the campaign that the server's settings name is not in the store (logged)."""
    log.error("%s: %s: the leads cannot be stored until it exists", where, exc)
    return JSONResponse({"detail": f"{where}: {exc}; deliver again later"}, status_code=503)


@router.post("/v1/webhooks/followupboss",
             summary="Follow Up Boss webhook (peopleCreated, peopleUpdated): new people become leads",
             responses={200: {"description": "each person's fate"}, 400: {"description": "not a JSON object"},
                        401: {"description": "no FUB-Signature"}, 403: {"description": "wrong signature"},
                        404: {"description": "not enabled"}, 413: {"description": "too many people in one event"},
                        503: {"description": "Follow Up Boss could not be read; deliver again"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": FUB_EVENT}}})
async def followupboss_webhook(request: Request, ctx: Context) -> Response:
    from reauto.intake import followupboss as fub

    if ctx.followupboss is None or ctx.engine is None:
        return JSONResponse({"detail": "Follow Up Boss intake is off ([followupboss] intake_campaign)"},
                            status_code=404)
    body = await request.body()
    settings = ctx.followupboss.settings
    try:
        fub.verify(request.headers, body, settings.system_key)
    except Unauthorized as exc:
        return JSONResponse({"detail": str(exc)}, status_code=401)
    except IntakeForbidden as exc:
        log.warning("Follow Up Boss webhook refused: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=403)
    try:
        payload = parse_json(body)
        event = fub.parse_event(payload)
    except (BadBody, fub.BadEvent) as exc:
        status = 413 if isinstance(exc, fub.BadEvent) and exc.too_large else 400
        return JSONResponse({"detail": exc.detail if isinstance(exc, BadBody) else str(exc)}, status_code=status)
    token = f"fub:{event.event_id}" if event.event_id else None
    if ctx.replay.seen(token):
        return JSONResponse({"event": event.event, "duplicate": True})
    try:
        result = await fub.handle_webhook(event, ctx.followupboss, settings, store=functools.partial(
            store_intake, ctx, policy=ConsentPolicy(), source="followupboss"))
    except fub.FollowUpBossError as exc:
        ctx.replay.forget(token or "")
        log.warning("Follow Up Boss webhook %s not processed: %s", shown(event.event_id), exc)
        return JSONResponse({"detail": str(exc)}, status_code=503)
    except UnknownCampaign as exc:
        ctx.replay.forget(token or "")
        return misconfigured("[followupboss] intake_campaign", exc)
    return JSONResponse(result.as_json())


@router.post("/v1/forms/{name}", response_class=Response,
             summary="A website form's submission (URL-encoded or JSON) with the form's token",
             responses={200: {"description": "the lead's fate (JSON)"}, 303: {"description": "to the form's redirect"},
                        400: {"description": "not a JSON object"}, 401: {"description": "no token"},
                        403: {"description": "wrong token"}, 404: {"description": "no such form"},
                        415: {"description": "neither URL-encoded nor JSON"},
                        422: {"description": "the submission is not a lead"}},
             openapi_extra=form_example(token="<the form's token>", fname="Jane", lname="Doe",
                                        **{"your-phone": "(512) 555-0123", "state": "TX", "tcpa": "on"}))
async def form_post(name: str, request: Request, ctx: Context) -> Response:
    from reauto.intake.forms import form_record, mapping_for

    form = ctx.intake.forms.get(name) if ctx.intake is not None else None
    if form is None or ctx.engine is None:
        return JSONResponse({"detail": f"no form named {name!r} ([intake.forms.{name}])"}, status_code=404)
    fields = await form_fields(request, form)
    if isinstance(fields, Response):
        return fields
    client = request.headers.get("x-forwarded-for", "").split(",")[0].strip() if ctx.settings.trust_proxy else ""
    record = form_record(name, form, fields, client_ip=client or (request.client.host if request.client else ""),
                         user_agent=request.headers.get("user-agent", ""),
                         page=request.headers.get("referer", ""))
    if record is None:  # a bot filled the honeypot: looks accepted, nothing stored
        log.info("form %s: submission dropped (honeypot filled)", shown(name))
        return form_answer(form, 200, {"created": [], "already_present": [], "rejected": [], "warnings": []})
    try:
        result = await store_intake(ctx, [record], form.campaign, policy=ConsentPolicy(), source=f"form:{name}",
                                    mapping=mapping_for(form))
    except UnknownCampaign as exc:
        return misconfigured(f"[intake.forms.{name}] campaign", exc)
    body, status = fates(result)
    return form_answer(form, status, body)


async def form_fields(request: Request, form: Any) -> dict[str, Any] | Response:
    """A form submission's fields (URL-encoded or JSON), once its token is right; else the answer."""
    from reauto.intake.forms import token_ok

    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, Any]
    if content_type == "application/json":
        try:
            fields = parse_json(body)
        except BadBody as exc:
            return form_answer(form, 400, {"detail": exc.detail})
        if not isinstance(fields, dict):
            return form_answer(form, 400, {"detail": "body is not a JSON object"})
    elif content_type in ("application/x-www-form-urlencoded", ""):
        fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    else:
        return form_answer(form, 415, {"detail": f"{shown(content_type)} is not accepted: post the form "
                                                 "URL-encoded (the browser default) or as JSON"})
    sent = dict(request.query_params)
    if isinstance(fields.get("token"), str):
        sent["token"] = fields["token"]
    allowed = token_ok(form, request.headers, sent)
    if allowed is None:
        return form_answer(form, 401, {"detail": "send the form's token as ?token= or X-Reauto-Form-Token"})
    if not allowed:
        return form_answer(form, 403, {"detail": "wrong form token"})
    return fields


def fates(result: IntakeResult) -> tuple[dict[str, Any], int]:
    """The answer to a batch: every record's fate; 422 with a ``detail`` when none was usable."""
    body = result.as_json()
    if result.created or result.already_present:
        return body, 200
    return {"detail": "no lead was usable: see rejected", **body}, 422


def form_answer(form: Any, status: int, body: dict[str, Any]) -> Response:
    """JSON for a form service; a 303 to the form's redirect for a browser (with ?error= on failure)."""
    if not form.redirect:
        return JSONResponse(body, status_code=status)
    target = form.redirect
    if status >= 400:
        reasons = [r.get("reason", "") for r in body.get("rejected", [])] or [str(body.get("detail", ""))]
        target += ("&" if "?" in target else "?") + urlencode({"error": "; ".join(reasons)[:300]})
    return Response(status_code=303, headers={"Location": target})
