"""``POST /v1/campaigns/{name}/pause`` and ``/resume``: campaign control over ``reauto serve``.

Authenticated as lead intake is (``[intake] api_keys`` bearer key or the HMAC signature); the
same effect as ``reauto campaign pause|resume`` (:mod:`reauto.dialer.control`): when a pause is
answered, no dialer of the campaign places another call; a resume wakes the serving dialers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from reauto.dialer.control import set_paused
from reauto.errors import UsageError
from reauto.serve.context import Context, ServeContext
from reauto.serve.intake_routes import refused

router = APIRouter(tags=["control"])


#: A campaign's name, as a campaign file allows it (anything else is a 422).
CampaignName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The campaign's `name:`.")]


async def control(request: Request, ctx: ServeContext, name: str, paused: bool) -> Response:
    """Pause or resume the campaign ``name`` for an authenticated request."""
    if ctx.intake is None or ctx.engine is None:
        return JSONResponse({"detail": "campaign control is not enabled on this server ([intake])"},
                            status_code=404)
    answer = refused(request, await request.body(), ctx.intake)
    if answer is not None:
        return answer
    try:
        done = await set_paused(ctx.engine, name, paused, wake=ctx.on_intake)
    except UsageError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    data = done.as_json()
    return JSONResponse({**data, "at": done.at.isoformat()})


RESPONSES = {200: {"description": "{campaign, paused, changed, at}"}, 401: {"description": "no API key or "
             "signature"}, 403: {"description": "wrong one"}, 404: {"description": "no such campaign, or control "
                                                                                    "is not enabled"}}


@router.post("/v1/campaigns/{name}/pause", responses=RESPONSES,
             summary="Pause a campaign: no dialer places another call once this answers; live calls finish")
async def pause_campaign(name: CampaignName, request: Request, ctx: Context) -> Response:
    return await control(request, ctx, name, True)


@router.post("/v1/campaigns/{name}/resume", responses=RESPONSES,
             summary="Resume a paused campaign: serving dialers are woken at once")
async def resume_campaign(name: CampaignName, request: Request, ctx: Context) -> Response:
    return await control(request, ctx, name, False)
