"""``POST /v1/campaigns/{name}/pause`` and ``/resume``: campaign control over ``reauto serve``.

Authenticated as lead intake is (``[intake] api_keys`` bearer key or the HMAC signature); the
same effect as ``reauto campaign pause|resume`` (:mod:`reauto.dialer.control`): when a pause is
answered, no dialer of the campaign places another call; a resume wakes the serving dialers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response

from reauto.dialer.control import set_paused
from reauto.errors import UsageError
from reauto.serve.intake_routes import refused

if TYPE_CHECKING:
    from reauto.serve.app import ServeContext


#: A campaign's name, as a campaign file allows it (anything else is a 422).
CampaignName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The campaign's `name:`.")]


def add_control_routes(app: FastAPI, ctx: ServeContext) -> None:
    """Register the campaign control endpoints on ``app``."""

    async def control(request: Request, name: str, paused: bool) -> Response:
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

    responses = {200: {"description": "{campaign, paused, changed, at}"}, 401: {"description": "no API key or "
                 "signature"}, 403: {"description": "wrong one"}, 404: {"description": "no such campaign, or control "
                                                                                        "is not enabled"}}

    @app.post("/v1/campaigns/{name}/pause", tags=["control"], responses=responses,
              summary="Pause a campaign: no dialer places another call once this answers; live calls finish")
    async def pause_campaign(name: CampaignName, request: Request) -> Response:
        return await control(request, name, True)

    @app.post("/v1/campaigns/{name}/resume", tags=["control"], responses=responses,
              summary="Resume a paused campaign: serving dialers are woken at once")
    async def resume_campaign(name: CampaignName, request: Request) -> Response:
        return await control(request, name, False)
