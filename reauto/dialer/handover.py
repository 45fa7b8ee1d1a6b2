"""A live call handed to a person: dial them, whisper, bridge, and tell the conversation how it went.

The brain starts a hand-over with a reply (:attr:`reauto.voice.conversation.Reply.transfer`); the
call's runner then calls :func:`hand_over` in a task of its own while the agent stays on the line
with the lead. The telephony rings the person (``[transfer] ring_timeout_s`` at most), plays them
the whisper (warm mode) and joins the legs. The result goes back into the running pipeline: a
bridged lead is the person's now (the agent's part ends: outcome ``transferred``); otherwise the
brain offers a time to meet. Every hand-over is a call event (``transfer``) with its timings, and a
metric; the person's leg is priced with the call (:func:`price_leg`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

from reauto import metrics
from reauto.costs.meter import CostMeter
from reauto.dialer.records import CallRecorder
from reauto.telephony.base import CallHandle, Telephony, TransferResult
from reauto.voice.pipeline import CallSession

log = logging.getLogger(__name__)

#: Where the hand-over's facts are kept on the call's handle (and from there in its details).
DETAILS_KEY = "transfer"


async def hand_over(*, call_id: int, handle: CallHandle, telephony: Telephony, settings: Any, caller_id: str,
                    brain: Any, session: CallSession, recorder: CallRecorder, campaign: str,
                    on_stage: Callable[[str], None] | None = None,
                    since_request_s: float | None = None) -> TransferResult:
    """Run one hand-over to ``settings.to`` (see the module); never raises.

    ``since_request_s``: how long before this the lead stopped speaking (their request), so that
    the event says how long the lead waited from asking to talking with the person
    (``request_to_bridge_s``: recognising and answering the request, then ringing, whisper, join).
    """
    loop = asyncio.get_running_loop()
    whisper = brain.whisper() if hasattr(brain, "whisper") else ""
    handle.details["transfer_started_at"] = loop.time()
    if on_stage is not None:
        on_stage("transferring")
    try:
        result = await telephony.transfer(handle, to=settings.to, caller_id=caller_id, whisper=whisper,
                                          mode=settings.mode, timeout_s=float(settings.ring_timeout_s))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed hand-over must leave the lead with the agent
        log.warning("call %s: the transfer failed: %s: %s", call_id, type(exc).__name__, exc)
        result = TransferResult("failed", settings.to, settings.mode, reason=f"{type(exc).__name__}: {exc}"[:200])
    asked = round(since_request_s, 3) if since_request_s is not None else None
    facts = {"status": result.status, "mode": result.mode, "reason": getattr(brain, "transfer_reason", None),
             "answered_s": result.answered_s, "bridged_s": result.bridged_s, "why_not": result.reason or None,
             "sid": result.sid, "request_to_start_s": asked,
             "request_to_bridge_s": round(asked + result.bridged_s, 3)
             if asked is not None and result.bridged_s is not None else None}
    handle.details[DETAILS_KEY] = facts
    if not result.bridged:  # the person's leg is over (an unanswered one is not billed)
        handle.details["transfer_ended_at"] = loop.time()
    metrics.TRANSFERS.labels(campaign=campaign, status=result.status).inc()
    if result.bridged_s is not None:
        metrics.TRANSFER_SECONDS.labels(campaign=campaign).observe(result.bridged_s)
    try:
        await recorder.event(call_id, "transfer", facts)
    except Exception as exc:  # noqa: BLE001 - the call's end stores the facts again in its details
        log.warning("call %s: the transfer event was not stored: %s", call_id, type(exc).__name__)
    if on_stage is not None:
        on_stage("with a person" if result.bridged else "talking")
    await session.transfer_result(bridged=result.bridged, reason=result.reason or result.status)
    return result


def price_leg(meter: CostMeter | None, provider: str, handle: CallHandle) -> None:
    """Price the person's leg of a hand-over (per started minute, like any call leg)."""
    seconds = handle.details.get("transfer_leg_s")
    if meter is None or not seconds:
        return
    meter.record("telephony", provider, max(1, math.ceil(float(seconds) / 60)), "minute")


def extra_leg_s(handle: CallHandle, now: float, speed: float) -> float:
    """Seconds of a second leg (the person's) at loop time ``now``, for the spend watchdog: from the
    hand-over's start to now, or to its end when the person did not take the call."""
    started = handle.details.get("transfer_started_at")
    if started is None:
        return 0.0
    return max(0.0, (float(handle.details.get("transfer_ended_at", now)) - float(started)) * speed)
