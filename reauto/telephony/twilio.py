"""Twilio telephony: place calls with the official SDK, talk over Twilio Media Streams.

A call goes like this:

1. :meth:`TwilioTelephony.place_call` creates the call (``calls.create``) with ``url`` pointing
   at reauto's TwiML webhook, a status callback for initiated/ringing/answered/completed,
   asynchronous answering-machine detection with its own callback, and a time limit.
2. When the lead answers, Twilio fetches the TwiML: ``<Connect><Stream>`` to
   ``wss://<public host>/media/<call id>`` with a one-time token as a ``<Parameter>``.
3. Twilio opens the media WebSocket; the server (:mod:`reauto.serve.app`) accepts it only with
   that call's token, once, and hands it to the waiting ``place_call``, which returns a
   :class:`CallHandle` whose transport is Pipecat's FastAPI WebSocket transport with the Twilio
   serializer — the same call pipeline as the simulated provider runs over it.
4. Answering-machine detection reports later (``human`` or ``machine_end_*``); the dialer
   switches a call that reached a machine to the campaign's voicemail.

Secrets and full phone numbers never reach the logs (:func:`mask_number`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from xml.sax.saxutils import quoteattr

from pipecat.frames.frames import Frame, OutputTransportMessageFrame, OutputTransportMessageUrgentFrame
from pipecat.serializers.twilio import TwilioFrameSerializer

from reauto import resilience
from reauto.breaker import Breaker
from reauto.config import Settings, TwilioSettings
from reauto.errors import ProviderError, UsageError
from reauto.resilience import AttemptFailed, classify_exception, classify_status
from reauto.telephony.base import Answerer, CallHandle, IncomingCall, Lines, Telephony, TransferResult

log = logging.getLogger(__name__)

#: Twilio's final call statuses (before the media stream connects, each means it never will).
FINAL = frozenset({"busy", "no-answer", "failed", "canceled", "completed"})
#: Twilio error codes of a hang-up on a call that has already ended (not in progress, not found).
ALREADY_ENDED = frozenset({21220, 20404})


def mask_number(number: str) -> str:
    """``+15125550100`` → ``+1512•••0100``: enough to tell calls apart in a log, not to dial."""
    return number if len(number) < 8 else f"{number[:5]}•••{number[-4:]}"


class TwilioMediaSerializer(TwilioFrameSerializer):
    """Pipecat's Twilio serializer, with the ``streamSid`` Twilio requires on the reply marks
    reauto sends (``ConversationProcessor`` writes them without knowing the stream)."""

    def __init__(self, stream_sid: str, call_sid: str, *, on_stop: Callable[[], None] | None = None) -> None:
        super().__init__(stream_sid, call_sid, params=TwilioFrameSerializer.InputParams(auto_hang_up=False))
        self._on_stop = on_stop

    async def deserialize(self, data: str | bytes) -> Frame | None:
        # Twilio says "stop" when the call ends; a socket that closes without it lost its
        # connection (the call was dropped, not hung up). Media payloads are base64: no quotes.
        if self._on_stop is not None and isinstance(data, str) and '"stop"' in data:
            try:
                if json.loads(data).get("event") == "stop":
                    self._on_stop()
            except (ValueError, AttributeError):
                pass
        return await super().deserialize(data)

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if (isinstance(frame, (OutputTransportMessageFrame, OutputTransportMessageUrgentFrame))
                and isinstance(frame.message, dict) and frame.message.get("event") == "mark"
                and not self.should_ignore_frame(frame)):
            return json.dumps({**frame.message, "streamSid": self._stream_sid})
        return await super().serialize(frame)


@dataclass
class MediaChannel:
    """One call's accepted media stream.

    Attributes:
        websocket: the FastAPI WebSocket (already past ``connected`` and ``start``).
        stream_sid / call_sid: from the ``start`` message.
        hung_up: set when the stream stops or the socket closes (the far end is gone).
        stopped: Twilio sent ``stop`` (the call ended); a close without it is a dropped connection.
        done: set by the dialer when the call's pipeline has ended (the server then closes).
    """

    websocket: Any
    stream_sid: str
    call_sid: str
    parameters: dict[str, str] = field(default_factory=dict)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class PendingCall:
    """What the server and the dialer share about one placed call."""

    call_ref: str
    token: str
    sid: str | None = None
    answered_by: str = "unknown"
    statuses: list[str] = field(default_factory=list)
    final: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    media: asyncio.Future[MediaChannel] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    amd: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    duration_s: float | None = None
    token_used: bool = False
    completed: asyncio.Event = field(default_factory=asyncio.Event)
    incoming: bool = False  # the lead placed the call (its status callbacks are the number's, not ours)
    answered_at: float | None = None  # loop time of the ``in-progress`` callback
    joined: asyncio.Event = field(default_factory=asyncio.Event)  # joined the conference room (a person's leg)
    person: PendingCall | None = None  # the person the lead was handed to (reauto.telephony.conference)


class CallRegistry:
    """Calls in flight on this process, by reauto call id (the ``<call id>`` in every URL)."""

    def __init__(self, public_url: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self._calls: dict[str, PendingCall] = {}
        self.answerer: Answerer | None = None  # the dialer of this process takes the calls leads place

    def expect(self, call_ref: str, sid: str) -> PendingCall:
        """An incoming call the dialer took as ``call_ref``: its entry (opened by whichever of the
        webhook and the dialer comes first)."""
        pending = self._calls.get(call_ref) or self.open(call_ref)
        pending.sid, pending.incoming = sid, True
        return pending

    def open(self, call_ref: str) -> PendingCall:
        pending = PendingCall(call_ref=call_ref, token=secrets.token_urlsafe(24))
        self._calls[call_ref] = pending
        return pending

    def get(self, call_ref: str) -> PendingCall | None:
        return self._calls.get(call_ref)

    def close(self, call_ref: str) -> None:
        self._calls.pop(call_ref, None)

    def __len__(self) -> int:
        return len(self._calls)

    def pending(self) -> list[PendingCall]:
        return list(self._calls.values())

    def by_sid(self, sid: str) -> PendingCall | None:
        return next((p for p in self._calls.values() if p.sid == sid), None)

    def media_url(self, call_ref: str) -> str:
        base = self.public_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/media/{call_ref}"

    def twiml(self, call_ref: str) -> str:
        """The TwiML that connects an answered call to its media stream (hang up when unknown)."""
        pending = self._calls.get(call_ref)
        if pending is None:
            return '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url={quoteattr(self.media_url(call_ref))}>'
            f'<Parameter name="token" value={quoteattr(pending.token)}/>'
            f'<Parameter name="call" value={quoteattr(call_ref)}/>'
            "</Stream></Connect></Response>"
        )

    def status(self, call_ref: str, status: str, *, sid: str | None = None,
               duration_s: float | None = None) -> None:
        """A status callback: ends a call that never reached the media stream."""
        pending = self._calls.get(call_ref)
        if pending is None:
            return
        if sid and pending.sid is None:
            pending.sid = sid
        pending.statuses.append(status)
        if status == "in-progress" and pending.answered_at is None:
            pending.answered_at = asyncio.get_running_loop().time()
        if duration_s is not None:
            pending.duration_s = duration_s
        if status in FINAL:
            if not pending.final.done():
                pending.final.set_result(status)
            if status == "completed":
                pending.completed.set()
                if pending.media.done() and not pending.media.cancelled():
                    pending.media.result().hung_up.set()

    def conference(self, call_ref: str, event: str, sid: str | None) -> None:
        """A conference callback of call ``call_ref``'s room: a person's leg joining is noted."""
        from reauto.telephony.conference import PERSON_LEG

        person = self._calls.get(call_ref + PERSON_LEG)
        if person is not None and event == "participant-join" and sid and sid == person.sid:
            person.joined.set()

    def answered_by(self, call_ref: str, answered_by: str) -> None:
        """The answering-machine detection result (``human``, ``machine_end_beep`` …)."""
        pending = self._calls.get(call_ref)
        if pending is None:
            return
        pending.answered_by = "machine" if answered_by.startswith(("machine", "fax")) else (
            "human" if answered_by == "human" else "unknown")
        if not pending.amd.done():
            pending.amd.set_result(pending.answered_by)

    def claim_media(self, call_ref: str, token: str | None) -> PendingCall | None:
        """The call a media stream belongs to, when ``token`` is its token and unused (once)."""
        pending = self._calls.get(call_ref)
        if pending is None or pending.token_used or not token or not secrets.compare_digest(token, pending.token):
            return None
        pending.token_used = True
        return pending


class TwilioError(ProviderError):
    """A Twilio REST request failed (after its retries, or permanently; ``retryable`` says which)."""


class TwilioTelephony(Telephony):
    """Places calls through Twilio and runs them over Media Streams.

    Args:
        settings: the ``[twilio]`` settings.
        registry: the calls the webhook server knows about (shared with :mod:`reauto.serve.app`).
        amd: run answering-machine detection on each call.
        on_agent_text: test tap: receives ``(call sid, reply text)`` for each agent reply (the
            Twilio double's simulated leads read it; a real call has no such channel).
        client: a ready ``twilio.rest.Client`` (tests); built from the settings otherwise.
    """

    name: ClassVar[str] = "twilio"
    webhooks: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, settings: Settings, lines: Lines) -> TwilioTelephony:
        """``[twilio]``, with the run's registry of live calls (shared with its web server), the
        campaign's answering-machine detection and the run's tap on the agent's texts.

        Raises:
            UsageError: ``[twilio] public_url`` is not set.
        """
        calls = lines.calls if lines.calls is not None else CallRegistry(settings.twilio.public_url)
        return cls(settings.twilio, calls, amd=lines.amd, on_agent_text=lines.on_agent_text)

    def __init__(self, settings: TwilioSettings, registry: CallRegistry, *, amd: bool = True,
                 on_agent_text: Callable[[str, str], None] | None = None, client: Any = None) -> None:
        if not settings.public_url:
            raise UsageError("telephony twilio needs [twilio] public_url (the https URL Twilio reaches reauto at)")
        self.settings = settings
        self.registry = registry
        self.amd = amd and settings.machine_detection != "none"
        self.on_agent_text = on_agent_text
        self.breaker = Breaker(settings.breaker_threshold, settings.breaker_reset_s, name="twilio")
        self._client = client

    @property
    def answerer(self) -> Answerer | None:  # type: ignore[override]
        """Who takes the calls leads place (the webhook server asks it, through the registry)."""
        return self.registry.answerer

    @answerer.setter
    def answerer(self, value: Answerer | None) -> None:
        self.registry.answerer = value

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                from twilio.http.http_client import TwilioHttpClient
                from twilio.rest import Client
            except ImportError:
                raise UsageError("telephony twilio needs the twilio extra: pip install 'reauto[twilio]'") from None
            s = self.settings
            if not s.account_sid or not s.auth_token:
                raise UsageError("telephony twilio needs [twilio] account_sid and auth_token "
                                 "(REAUTO_TWILIO_ACCOUNT_SID / REAUTO_TWILIO_AUTH_TOKEN)")
            self._client = Client(s.account_sid, s.auth_token,
                                  http_client=TwilioHttpClient(timeout=s.request_timeout_s))
            if s.api_base_url:
                self._client.api.base_url = s.api_base_url.rstrip("/")
        return self._client

    async def start(self) -> None:
        _ = self.client  # fail early on missing credentials or SDK

    async def _rest(self, what: str, fn: Callable[[], Any], *, retry_timeouts: bool) -> Any:
        """One REST request in a thread: timeout, retries on transient failures, breaker.

        ``retry_timeouts``: a request that timed out may have been acted on — creating a call
        is never retried then (that could dial the lead twice); hanging up is.
        """
        from twilio.base.exceptions import TwilioRestException

        async def attempt() -> Any:
            try:
                return await asyncio.wait_for(asyncio.to_thread(fn), self.settings.request_timeout_s + 1)
            except TwilioRestException as exc:
                raise classify_status(f"{what}: HTTP {exc.status} Twilio error {exc.code}: {exc.msg}",
                                      exc.status) from exc
            except (TimeoutError, OSError) as exc:
                raise classify_exception(f"{what}: {type(exc).__name__}: {exc}", exc,
                                         retry_timeouts=retry_timeouts) from exc

        try:
            return await resilience.call(attempt, policy=resilience.policy(self.settings.retries),
                                         breaker=self.breaker, name="twilio")
        except resilience.BreakerOpen as exc:
            raise TwilioError(f"{what}: Twilio's breaker is open (REST failing); not sent", retryable=True) from exc
        except AttemptFailed as exc:
            raise TwilioError(str(exc), retryable=exc.retryable) from exc.__cause__

    async def send_sms(self, *, to: str, from_: str, body: str) -> str:
        """A text through the Messages resource (not retried on a timeout: it may have been sent)."""
        message = await self._rest(f"texting {mask_number(to)}",
                                   lambda: self.client.messages.create(to=to, from_=from_, body=body),
                                   retry_timeouts=False)
        return str(message.sid)

    async def place_call(self, *, to: str, caller_id: str, call_ref: str, **options: Any) -> CallHandle:
        base = self.registry.public_url
        pending = self.registry.open(call_ref)
        params: dict[str, Any] = dict(
            to=to, from_=caller_id, url=f"{base}/twilio/twiml/{call_ref}", method="POST",
            status_callback=f"{base}/twilio/status/{call_ref}", status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=self.settings.ring_timeout_s, time_limit=self.settings.time_limit_s,
        )
        if self.amd:
            params.update(machine_detection=self.settings.machine_detection, async_amd="true",
                          async_amd_status_callback=f"{base}/twilio/amd/{call_ref}",
                          async_amd_status_callback_method="POST")
        try:
            call = await self._rest(f"calling {mask_number(to)}", lambda: self.client.calls.create(**params),
                                    retry_timeouts=False)
        except TwilioError:
            self.registry.close(call_ref)
            raise
        pending.sid = call.sid
        log.info("call %s placed to %s (%s)", call_ref, mask_number(to), call.sid)
        limit = self.settings.ring_timeout_s + self.settings.media_timeout_s + 5
        done, _ = await asyncio.wait([pending.media, pending.final], timeout=limit,
                                     return_when=asyncio.FIRST_COMPLETED)
        if pending.media in done:
            return self._handle(call.sid, pending)
        status = pending.final.result() if pending.final in done else "failed"
        if status == "completed":  # answered, but the media stream never connected
            status = "failed"
        if not done:
            log.warning("call %s: no media stream within %ss of dialing; hanging up", call_ref, limit)
            await self._hang_up_sid(call.sid)
        self.registry.close(call_ref)
        return CallHandle(sid=call.sid, status=status)

    @staticmethod
    def _transport(channel: MediaChannel) -> Any:
        from reauto.telephony.media_transport import MediaStreamTransport, media_params

        transport = MediaStreamTransport(channel.websocket, media_params(
            TwilioMediaSerializer(channel.stream_sid, channel.call_sid,
                                  on_stop=lambda: setattr(channel, "stopped", True))))

        @transport.event_handler("on_client_disconnected")
        async def _gone(_transport: Any, _ws: Any) -> None:
            channel.hung_up.set()

        return transport

    async def _hang_up_sid(self, sid: str) -> None:
        try:
            await self._rest("hanging up", lambda: self.client.calls(sid).update(status="completed"),
                             retry_timeouts=True)
        except TwilioError as exc:
            if getattr(exc.__cause__, "code", None) not in ALREADY_ENDED:  # ended already: nothing to do
                log.warning("could not hang up %s: %s", sid, exc)

    async def answer(self, call: IncomingCall, call_ref: str) -> CallHandle:
        """The media stream of an incoming call the webhook connected (``/twilio/voice``)."""
        pending = self.registry.expect(call_ref, call.sid)
        limit = self.settings.media_timeout_s + 5
        done, _ = await asyncio.wait([pending.media, pending.final], timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if pending.media in done:
            return self._handle(call.sid, pending)
        if not done:
            log.warning("incoming call %s: no media stream within %ss; hanging up", call_ref, limit)
            await self._hang_up_sid(call.sid)
        self.registry.close(call_ref)
        return CallHandle(sid=call.sid, status="failed" if not done else pending.final.result())

    def _handle(self, sid: str, pending: PendingCall) -> CallHandle:
        """The handle of a call whose media stream is connected."""
        channel = pending.media.result()
        handle = CallHandle(sid=sid, answered_by=pending.answered_by if not pending.incoming else "human",
                            far_end=channel, details={"stream_sid": channel.stream_sid})
        handle.transport = self._transport(channel)
        if self.on_agent_text is not None:
            tap = self.on_agent_text
            handle.on_agent_text = lambda text: tap(sid, text)
        return handle

    async def transfer(self, handle: CallHandle, *, to: str, caller_id: str, whisper: str, mode: str = "warm",
                       timeout_s: float = 20.0) -> TransferResult:
        """Hand the lead to a person through a conference room (:mod:`reauto.telephony.conference`)."""
        from reauto.telephony.conference import transfer

        return await transfer(self, handle, to=to, caller_id=caller_id, whisper=whisper, mode=mode,
                              timeout_s=timeout_s)

    async def hang_up(self, handle: CallHandle) -> None:
        pending = self.registry.by_sid(handle.sid)
        if pending is None or not pending.completed.is_set():  # not yet reported completed by Twilio
            await self._hang_up_sid(handle.sid)

    async def finished(self, handle: CallHandle, wait_s: float = 5.0) -> dict[str, Any]:
        """Twilio's view of the ended call: billed duration (from the completed callback), AMD."""
        pending = self.registry.by_sid(handle.sid)
        channel: MediaChannel | None = handle.far_end
        if channel is not None:
            channel.done.set()  # the server lets go of the socket
        if pending is None:
            return {}
        person = pending.person
        if person is not None:  # handed to a person: the call lasts until one of them hangs up
            wait_s = self.settings.time_limit_s + wait_s
        try:
            if not pending.incoming or person is not None:  # a lead's call reports to the number's callback
                await asyncio.wait_for(pending.completed.wait(), wait_s)
            if person is not None:
                await asyncio.wait_for(person.completed.wait(), 5.0)
        except TimeoutError:
            log.warning("call %s: no completed callback within %ss", pending.call_ref, wait_s)
        self.registry.close(pending.call_ref)
        if person is not None:
            self.registry.close(person.call_ref)
            handle.details["transfer_leg_s"] = person.duration_s or 0.0  # billed with the call
        details: dict[str, Any] = {"answered_by": pending.answered_by, "statuses": pending.statuses}
        if channel is not None and channel.hung_up.is_set() and not channel.stopped:
            details["media_dropped"] = True  # the media connection was lost mid-call
        if pending.duration_s is not None:
            details["duration_s"] = pending.duration_s
        return details

    def amd_result(self, handle: CallHandle) -> asyncio.Future[str] | None:
        """The pending answering-machine result of a call (None without detection)."""
        pending = self.registry.by_sid(handle.sid)
        return pending.amd if pending is not None and self.amd else None

    async def close(self) -> None:
        for pending in self.registry.pending():
            if pending.media.done() and not pending.media.cancelled():
                pending.media.result().done.set()
