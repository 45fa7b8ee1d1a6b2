"""Handing a Twilio call to a person: a conference room, as Twilio documents warm transfers.

1. The person is called (``Calls.json`` with inline TwiML): in warm mode a ``<Say>`` of the
   whisper plays to them first, then ``<Dial><Conference>`` puts them in the call's room, whose
   ``statusCallback`` (``/twilio/conference/{call_id}``) reports their ``participant-join``.
2. The lead stays on the agent's media stream while the person's phone rings and the whisper plays.
3. The person joined: the lead's call is redirected (``calls(sid).update(twiml=…)``) into the same
   room; Twilio stops the media stream and the two are talking. The room ends when the person
   leaves (``endConferenceOnExit``), which ends the lead's call too.
4. The person did not join within the ring timeout (no answer, busy, declined, hung up during the
   whisper): their leg is ended and the lead, still on the stream, is offered a time instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from reauto.telephony.base import CallHandle, TransferResult

if TYPE_CHECKING:
    from reauto.telephony.twilio import PendingCall, TwilioTelephony

log = logging.getLogger(__name__)

#: The registry entry of a call's person leg is the call's own id plus this.
PERSON_LEG = "-t"
#: Conference callbacks reauto asks for.
EVENTS = "start end join leave"
#: How the person's final status reads as a transfer's (a leg answered and ended before joining: declined).
RESULTS = {"no-answer": "no-answer", "busy": "busy", "completed": "declined", "canceled": "no-answer",
           "failed": "failed"}
#: Seconds a whisper takes to say, per word (Twilio's <Say> voices speak about 2.6 words a second).
WORD_S = 1 / 2.6


def room_name(call_ref: str) -> str:
    """The conference room of call ``call_ref`` (unique per call, so per account)."""
    return f"reauto-call-{call_ref}"


def _conference(room: str, callback: str | None) -> str:
    hooks = (f" statusCallback={quoteattr(callback)} statusCallbackMethod=\"POST\" "
             f"statusCallbackEvent={quoteattr(EVENTS)}") if callback else ""
    return (f'<Dial><Conference beep="false" startConferenceOnEnter="true" endConferenceOnExit="true"{hooks}>'
            f"{escape(room)}</Conference></Dial>")


def person_twiml(room: str, whisper: str, callback: str) -> str:
    """The person's leg: the whisper (warm mode; never heard by the lead), then the room."""
    say = f"<Say>{escape(whisper)}</Say>" if whisper else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{say}{_conference(room, callback)}</Response>'


def lead_twiml(room: str) -> str:
    """The lead's call, redirected from the agent's stream into the person's room."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{_conference(room, None)}</Response>'


async def transfer(telephony: TwilioTelephony, handle: CallHandle, *, to: str, caller_id: str, whisper: str,
                   mode: str, timeout_s: float) -> TransferResult:
    """Run one hand-over of ``handle``'s lead to ``to`` (see the module)."""
    from reauto.telephony.twilio import TwilioError, mask_number

    registry = telephony.registry
    lead_leg = registry.by_sid(handle.sid)
    if lead_leg is None:
        return TransferResult("failed", to, mode, reason="the call is no longer live")
    loop = asyncio.get_running_loop()
    started = loop.time()
    person = registry.open(lead_leg.call_ref + PERSON_LEG)
    room, base = room_name(lead_leg.call_ref), registry.public_url
    said = whisper if mode == "warm" else ""
    params = dict(to=to, from_=caller_id, twiml=person_twiml(room, said, f"{base}/twilio/conference/{lead_leg.call_ref}"),
                  timeout=int(timeout_s), time_limit=telephony.settings.time_limit_s,
                  status_callback=f"{base}/twilio/status/{person.call_ref}", status_callback_method="POST",
                  status_callback_event=["initiated", "ringing", "answered", "completed"])
    try:
        leg = await telephony._rest(f"transferring to {mask_number(to)}",
                                    lambda: telephony.client.calls.create(**params), retry_timeouts=False)
    except TwilioError as exc:
        registry.close(person.call_ref)
        return TransferResult("failed", to, mode, reason=str(exc)[:200])
    person.sid = leg.sid

    def since(at: float | None = None) -> float:
        return round((at if at is not None else loop.time()) - started, 3)

    joined = await _until_joined(person, handle, timeout_s + len(said.split()) * WORD_S + 10)
    answered = since(person.answered_at) if person.answered_at is not None else None
    if joined:
        try:
            await telephony._rest("bridging", lambda: telephony.client.calls(handle.sid).update(twiml=lead_twiml(room)),
                                  retry_timeouts=True)
        except TwilioError as exc:  # the lead hung up meanwhile, or Twilio refused: end the person's leg
            await telephony._hang_up_sid(leg.sid)
            registry.close(person.call_ref)
            return TransferResult("failed", to, mode, answered_s=answered, sid=leg.sid, reason=str(exc)[:200])
        lead_leg.person = person
        return TransferResult("bridged", to, mode, answered_s=answered, bridged_s=since(), sid=leg.sid)
    lead_gone = getattr(handle.far_end, "hung_up", None)
    if not person.final.done():
        await telephony._hang_up_sid(leg.sid)  # still ringing, or the whisper still playing
    registry.close(person.call_ref)
    if lead_gone is not None and lead_gone.is_set():
        return TransferResult("failed", to, mode, answered_s=answered, sid=leg.sid,
                              reason="the lead hung up while it rang")
    final = person.final.result() if person.final.done() else "no-answer"
    status = RESULTS.get(final, "failed")
    why = {"no-answer": f"no answer in {timeout_s:g} s", "declined": "the person hung up before joining",
           "busy": "the person's line is busy"}.get(status, f"the person's leg ended {final}")
    return TransferResult(status, to, mode, answered_s=answered, sid=leg.sid, reason=why)


async def _until_joined(person: PendingCall, handle: CallHandle, limit_s: float) -> bool:
    """Wait for the person to join the room; False when their leg ended first, the lead hung up,
    or ``limit_s`` passed."""
    waits = [asyncio.ensure_future(person.joined.wait()), person.final]
    lead_gone = getattr(handle.far_end, "hung_up", None)
    if lead_gone is not None:
        waits.append(asyncio.ensure_future(lead_gone.wait()))
    try:
        await asyncio.wait(waits, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (waits[0], *waits[2:]):
            waiting.cancel()
    return person.joined.is_set()
