"""The operations endpoints of ``reauto serve``: ``/healthz``, ``/readyz``, ``/metrics`` and ``/live``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from reauto.metrics import exposition
from reauto.serve.context import Context

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Dependencies reachable (store, Redis) and no breaker open",
            responses={503: {"description": "not ready; `checks` says why"}})
async def readyz(ctx: Context) -> Response:
    checks: dict[str, str] = {}
    for name, probe in ctx.checks.items():
        try:
            await asyncio.wait_for(probe(), 3.0)
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 (reported, not raised)
            checks[name] = f"failed: {type(exc).__name__}: {exc}"[:200]
    for breaker in ctx.breakers:
        checks[f"breaker:{breaker.name}"] = breaker.state
    ready = all(v in ("ok", "closed", "half-open") for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks, "calls_in_flight": len(ctx.registry)},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(ctx: Context) -> Response:
    return Response(exposition(ctx.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/live", summary="Calls in progress (read by `reauto top`)")
async def live(ctx: Context) -> dict[str, Any]:
    return {"calls": ctx.live() if ctx.live is not None else []}
