"""A loopback Twilio: the REST Calls resource, signed webhooks and a bidirectional Media Stream.

It plays Twilio's side of an outbound call with the real wire formats, so reauto's server and the
real ``twilio`` SDK can be tested without a phone network:

* REST (``/2010-04-01/Accounts/{AccountSid}/Calls.json`` and ``/Calls/{CallSid}.json``): Basic
  auth (401 ``20003`` otherwise), form-encoded parameters as the SDK posts them, the Calls
  resource JSON, Twilio's error JSON (``{"code", "message", "more_info", "status"}``).
* Webhooks, each signed with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL and the sorted form,
  keyed with the auth token): the status callbacks of the events asked for in
  ``StatusCallbackEvent``, the ``Url`` that returns the call's TwiML, and the asynchronous
  answering-machine-detection callback.
* The Media Stream of ``<Connect><Stream>``: ``connected``, ``start``, one ``media`` message per
  20 ms of the lead's microphone, ``mark`` echoes, ``dtmf`` and ``stop``; from the server it takes
  ``media``, ``mark`` and ``clear``.

The far end is reauto's :class:`SimulatedLead` on a :class:`PhoneLine`, as in
:class:`reauto.telephony.sim.SimTelephony`; it picks up when the stream starts. Times the lead
lives on (call duration, AMD durations, media timestamps) are on its simulated clock.

Usage::

    async with TwilioDouble(personas={"+15550100": script}, speed=4) as double:
        client = Client(double.account_sid, double.auth_token)
        client.api.base_url = double.base_url
        call = client.calls.create(to="+15550100", from_="+15550199", url=webhook_url)
        result = await double.finished(call.sid)

Only loopback addresses are ever called: a webhook or stream URL elsewhere is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import random
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, NamedTuple, Self
from urllib.parse import urlencode, urlsplit

import aiohttp
import numpy as np
from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDict
from twilio.request_validator import RequestValidator
from yarl import URL

from reauto.audio.codec import ulaw_decode
from reauto.audio.line import LineStats, PhoneLine
from reauto.sim.lead import LeadReport, LeadScript, SimulatedLead
from reauto.telephony.sim import WHISPER_WORDS_PER_S, HumanAgent

API_VERSION = "2010-04-01"
#: Final statuses of a call (the resource's ``status`` and the last status callback).
FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
#: What a persona's ``answers["_unanswered"]`` may say instead of picking up.
UNANSWERED = frozenset({"no-answer", "busy", "failed"})
#: The SIP response Twilio reports with each final status.
SIP_CODES = {"completed": "200", "busy": "486", "no-answer": "487", "canceled": "487", "failed": "500"}
#: Twilio's own defaults for a call's ``Timeout`` and ``TimeLimit`` (seconds).
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_TIME_LIMIT_S = 14_400.0
#: How long Twilio waits for a webhook's answer (seconds).
WEBHOOK_TIMEOUT_S = 15.0
PACKET_MS = 20
#: Path prefix of the harness's control routes (see :class:`DoubleProcess`).
CONTROL = "/_double"


def new_sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def rfc2822(moment: datetime) -> str:
    """A time as the 2010-04-01 API writes it (``Tue, 31 Aug 2010 20:36:28 +0000``)."""
    return format_datetime(moment.replace(microsecond=0))


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """Twilio's REST error body."""
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return web.json_response(body, status=status)


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (the only place the double ever calls)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SentWebhook(NamedTuple):
    """One webhook the double sent (``status`` is the HTTP status it got back, 0 for none)."""

    kind: str  # "status", "amd" or "twiml"
    url: str
    form: dict[str, str]
    status: int


@dataclass
class DoubleCall:
    """One call placed through the double, and everything seen on it.

    Attributes:
        sid: its CallSid.
        account_sid: the account that placed it.
        params: the form the SDK posted to ``Calls.json``.
        script: the simulated lead's script.
        status: the resource's status (``queued``, ``ringing``, ``in-progress``, then a final one).
        answered_by: the AMD verdict once made.
        callbacks: every webhook sent, in the order sent.
        twiml: the TwiML the call ran (fetched from ``Url``, or the ``Twiml`` parameter).
        stream_sid: the Media Stream's SID once it started.
        custom_parameters: what ``start.customParameters`` carried.
        received: messages the server sent on the stream, counted by ``event``.
        media_bytes: the μ-law payload sizes of the server's ``media`` messages, counted.
        marks_echoed: mark names sent back, in order.
        dtmf_sent: digits sent on the stream.
        ws_close_code: the close code, when the server closed the stream.
        drop_after_marks: lose the media connection after this many echoed marks (a fault).
        dropped: the media connection was lost (the fault happened).
        report: what the simulated lead experienced (once the call is over).
        line: the simulated phone line between the stream and the lead.
        error: why the call failed, when the double knows.
    """

    sid: str
    account_sid: str
    params: MultiDict[str]
    script: LeadScript
    line: PhoneLine
    status: str = "queued"
    answered_by: str | None = None
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    start_time: datetime | None = None
    end_time: datetime | None = None
    callbacks: list[SentWebhook] = field(default_factory=list)
    twiml: str | None = None
    stream_sid: str | None = None
    custom_parameters: dict[str, str] = field(default_factory=dict)
    received: Counter[str] = field(default_factory=Counter)
    media_bytes: Counter[int] = field(default_factory=Counter)
    marks_echoed: list[str] = field(default_factory=list)
    dtmf_sent: list[str] = field(default_factory=list)
    ws_close_code: int | None = None
    drop_after_marks: int | None = None
    dropped: bool = False
    report: LeadReport | None = None
    error: str | None = None
    hangup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    speed: float = 1.0  # the simulated clock's speed (durations are on it)
    direction: str = "outbound-api"  # "inbound": the lead called the number (``params`` as Twilio's webhook)
    redirect: str | None = None  # TwiML the call was updated with while live (it replaced the running TwiML)
    redirected: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    rooms: list[str] = field(default_factory=list)  # conference rooms the call joined, in order
    said: list[str] = field(default_factory=list)  # what <Say> verbs of the TwiML spoke to the lead

    @property
    def stats(self) -> LineStats:
        """The line's counters (packets, underruns, clears)."""
        return self.line.stats

    @property
    def statuses(self) -> list[str]:
        """``CallStatus`` of each status callback sent, in the order sent."""
        return [hook.form["CallStatus"] for hook in self.callbacks if hook.kind == "status"]

    @property
    def call_duration_s(self) -> int | None:
        """``CallDuration``: whole seconds on the lead's simulated clock, once the call is over."""
        if self.status not in FINAL:
            return None
        if self.report is not None and self.redirect is None:
            return round(self.report.seconds)
        if self.start_time is not None and self.end_time is not None:  # no lead on a stream (to the end)
            return round((self.end_time - self.start_time).total_seconds() * self.speed)
        return 0

    def set_status(self, status: str) -> None:
        self.status = status
        self.date_updated = datetime.now(UTC)
        if status in FINAL:
            self.end_time = self.date_updated
            self.ended.set()

    def webhook_form(self, call_status: str) -> dict[str, str]:
        """The parameters Twilio sends with every voice webhook of this call."""
        to, from_ = self.params.get("To", ""), self.params.get("From", "")
        form = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "CallSid": self.sid,
                "CallStatus": call_status, "Called": to, "Caller": from_, "Direction": self.direction,
                "From": from_, "To": to}
        if self.direction == "inbound":  # what Twilio adds for a call to one of the account's numbers
            form.update(CallerCountry="US", CallerState="TX", CalledCountry="US", CalledState="TX")
        return form

    def resource(self) -> dict[str, Any]:
        """The Calls resource JSON."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        to, from_ = self.params.get("To", ""), self.params.get("From", "")
        duration = self.call_duration_s
        return {
            "account_sid": self.account_sid, "annotation": None, "answered_by": self.answered_by,
            "api_version": API_VERSION, "caller_name": None,
            "date_created": rfc2822(self.date_created), "date_updated": rfc2822(self.date_updated),
            "direction": self.direction, "duration": None if duration is None else str(duration),
            "end_time": self.end_time and rfc2822(self.end_time), "forwarded_from": None,
            "from": from_, "from_formatted": from_, "group_sid": None, "parent_call_sid": None,
            "phone_number_sid": None, "price": None, "price_unit": "USD", "queue_time": "0",
            "sid": self.sid, "start_time": self.start_time and rfc2822(self.start_time), "status": self.status,
            "subresource_uris": {
                name: f"{base}/{path}.json" for name, path in (
                    ("notifications", "Notifications"), ("recordings", "Recordings"),
                    ("payments", "Payments"), ("events", "Events"), ("siprec", "Siprec"),
                    ("streams", "Streams"), ("transcriptions", "Transcriptions"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"))
            },
            "to": to, "to_formatted": to, "trunk_sid": None, "uri": f"{base}.json",
        }


# --- webhooks ------------------------------------------------------------------------------
class Webhook(NamedTuple):
    """A webhook ready to send: the request as Twilio makes it, signed."""

    method: str
    url: str  # with the query string for GET
    data: dict[str, str] | None  # the form for POST
    headers: dict[str, str]


class WebhookSender:
    """Signs and sends webhooks the way Twilio does, and records them on the call."""

    def __init__(self, double: TwilioDouble) -> None:
        self._double = double

    def prepare(self, url: str, method: str, form: dict[str, str]) -> Webhook:
        """The request for ``form`` (POST body or GET query), signed per the ``signature`` knob.

        Each webhook gets its own ``I-Twilio-Idempotency-Token``; a retry of it keeps the token.
        """
        method = method.upper()
        if method == "GET":
            url, data, signed = url + ("&" if "?" in url else "?") + urlencode(form), None, {}
        else:
            data, signed = form, form
        headers = {"User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
        mode = self._double.signature
        if mode != "missing":
            token = self._double.auth_token if mode == "valid" else "forged-" + self._double.auth_token
            headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, signed)
        return Webhook(method, url, data, headers)

    async def send(self, call: DoubleCall, kind: str, url: str, method: str, form: dict[str, str], *,
                   times: int = 1) -> tuple[int, str]:
        """Send a webhook ``times`` times; returns the last HTTP status (0: no answer) and body."""
        hook = self.prepare(url, method, form)
        status, body = 0, ""
        for _ in range(times):
            status, body = await self._request(call, hook)
            call.callbacks.append(SentWebhook(kind, hook.url, dict(form), status))
        return status, body

    async def _request(self, call: DoubleCall, hook: Webhook) -> tuple[int, str]:
        if not is_loopback(hook.url):
            call.error = f"refused to call {hook.url}: the double only calls loopback addresses"
            return 0, ""
        try:
            async with self._double.session.request(
                    hook.method, URL(hook.url, encoded=True), data=hook.data, headers=hook.headers,
                    timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            call.error = f"webhook {hook.url}: {exc!r}"
            return 0, ""


class CallbackQueue:
    """Delivers one call's status and AMD callbacks in order, in the background (Twilio never
    waits for them), duplicated or held back and scrambled as the double's knobs ask."""

    def __init__(self, sender: WebhookSender, call: DoubleCall, *, duplicate: Callable[[], bool],
                 hold_status: bool) -> None:
        self._sender = sender
        self._call = call
        self._duplicate = duplicate
        self._hold_status = hold_status
        self._held: list[tuple[str, str, str, dict[str, str]]] = []
        self._queue: asyncio.Queue[tuple[str, str, str, dict[str, str]] | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._deliver(), name=f"twilio-double-callbacks-{call.sid}")

    def put(self, kind: str, url: str, method: str, form: dict[str, str]) -> None:
        if kind == "status" and self._hold_status:
            self._held.append((kind, url, method, form))
        else:
            self._queue.put_nowait((kind, url, method, form))

    async def drain(self) -> None:
        """Send what is held (the final callback first, the rest scrambled) and wait for all."""
        if self._held:
            final, rest = self._held[-1], self._held[:-1]
            random.Random(self._call.sid).shuffle(rest)
            for item in (final, *rest):
                self._queue.put_nowait(item)
            self._held.clear()
        self._queue.put_nowait(None)
        await self._worker

    def abort(self) -> None:
        self._worker.cancel()

    async def _deliver(self) -> None:
        while (item := await self._queue.get()) is not None:
            kind, url, method, form = item
            await self._sender.send(self._call, kind, url, method, form, times=2 if self._duplicate() else 1)


# --- answering-machine detection -----------------------------------------------------------
@dataclass(frozen=True)
class AmdSettings:
    """The ``MachineDetection*`` parameters of a call (Twilio's defaults)."""

    mode: str = "DetectMessageEnd"  # or "Enable"
    timeout_ms: int = 30_000
    speech_threshold_ms: int = 2_400
    speech_end_threshold_ms: int = 1_200
    silence_timeout_ms: int = 5_000

    @classmethod
    def from_params(cls, params: MultiDict[str]) -> AmdSettings | None:
        """The settings for a call that asked for asynchronous AMD, else None."""
        mode = params.get("MachineDetection")
        if mode not in {"Enable", "DetectMessageEnd"} or params.get("AsyncAmd", "").lower() != "true":
            return None

        def number(name: str, default: int, scale: int = 1) -> int:
            value = params.get(name)
            return int(float(value) * scale) if value else default

        return cls(mode=mode,
                   timeout_ms=number("MachineDetectionTimeout", cls.timeout_ms, 1000),
                   speech_threshold_ms=number("MachineDetectionSpeechThreshold", cls.speech_threshold_ms),
                   speech_end_threshold_ms=number("MachineDetectionSpeechEndThreshold",
                                                  cls.speech_end_threshold_ms),
                   silence_timeout_ms=number("MachineDetectionSilenceTimeout", cls.silence_timeout_ms))


class AmdDetector:
    """Twilio's answering-machine detection, timed on the lead's microphone packets.

    Who answered comes from the persona (a voicemail box or a person); when Twilio would tell
    comes from the audio, on the simulated clock: a person is ``human`` once the first words are
    followed by ``speech_end_threshold_ms`` of silence, or as soon as the agent speaks; a
    voicemail box is ``machine_end_beep`` once its greeting and beep are followed by that silence
    (``machine_start`` after ``speech_threshold_ms`` of greeting, with ``MachineDetection=Enable``).
    Initial silence past ``silence_timeout_ms``, or no verdict within ``timeout_ms``: ``unknown``.
    """

    #: RMS (16-bit) above which a packet counts as sound.
    VOICED_RMS = 300.0

    def __init__(self, settings: AmdSettings, *, machine: bool) -> None:
        self.settings = settings
        self.machine = machine
        self.elapsed_ms = 0
        self._onset_ms: int | None = None
        self._last_voice_ms = 0
        self.verdict: str | None = None

    def feed(self, packet: bytes, agent_speaking: bool) -> str | None:
        """Take one 20 ms packet; returns the verdict the first time one is reached."""
        if self.verdict is not None:
            return None
        self.elapsed_ms += PACKET_MS
        if self._voiced(packet):
            self._onset_ms = self.elapsed_ms if self._onset_ms is None else self._onset_ms
            self._last_voice_ms = self.elapsed_ms
        self.verdict = self._decide(agent_speaking)
        return self.verdict

    def _decide(self, agent_speaking: bool) -> str | None:
        s, now = self.settings, self.elapsed_ms
        spoke_then_quiet = self._onset_ms is not None and now - self._last_voice_ms >= s.speech_end_threshold_ms
        if self.machine:
            if s.mode == "Enable" and self._onset_ms is not None and (
                    now - self._onset_ms >= s.speech_threshold_ms or spoke_then_quiet):
                return "machine_start"
            if spoke_then_quiet:
                return "machine_end_beep"
        elif agent_speaking or spoke_then_quiet:
            return "human"
        if (self._onset_ms is None and now >= s.silence_timeout_ms) or now >= s.timeout_ms:
            return "unknown"
        return None

    def _voiced(self, packet: bytes) -> bool:
        samples = ulaw_decode(packet).astype(np.float64)
        return bool(samples.size) and float(np.sqrt(np.mean(samples * samples))) > self.VOICED_RMS


# --- the media stream ----------------------------------------------------------------------
class MediaBridge:
    """Carries one call's audio between the lead's :class:`PhoneLine` and the server's WebSocket.

    Lead → server: each 20 ms packet as a ``media`` message; the lead hanging up ends the stream.
    Server → lead: ``media`` is played, ``clear`` empties the play-out buffer, ``mark`` is echoed
    once the audio before it has played (or been cleared); a message without this stream's
    ``streamSid`` is ignored. A persona's ``_dtmf`` digits are sent after the first mark echo, once.
    """

    #: Two media messages closer than this belong to one utterance (underrun counting, as in
    #: :class:`reauto.voice.transport_sim.SimOutputTransport`).
    UTTERANCE_GAP_S = 0.1

    def __init__(self, call: DoubleCall, ws: aiohttp.ClientWebSocketResponse, *,
                 amd: AmdDetector | None, on_amd: Callable[[str, int], None]) -> None:
        self.call = call
        self.line = call.line
        self.ws = ws
        self.stream_sid = new_sid("MZ")
        self._amd = amd
        self._on_amd = on_amd
        self._sequence = 0
        self._chunk = 0
        self._lock = asyncio.Lock()
        self._last_media = 0.0
        self._dtmf_pending = call.script.answers.get("_dtmf") or ""

    async def open(self, custom_parameters: dict[str, str]) -> None:
        """Send ``connected`` and ``start``."""
        self.call.stream_sid = self.stream_sid
        self.call.custom_parameters = custom_parameters
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"}, numbered=False)
        await self._send({"event": "start", "start": {
            "accountSid": self.call.account_sid, "streamSid": self.stream_sid, "callSid": self.call.sid,
            "tracks": ["inbound"], "customParameters": custom_parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }})

    async def run(self, until: asyncio.Event) -> str:
        """Bridge until the lead hangs up (``lead``), the server closes the socket (``server``) or
        ``until`` is set (``twilio``: a REST hang-up or the time limit); returns which."""
        tasks = {asyncio.create_task(self._lead_to_server()): "lead",
                 asyncio.create_task(until.wait()): "twilio"}
        reader = asyncio.create_task(self._server_to_lead())
        tasks[reader] = "server"
        others = [task for task in tasks if task is not reader]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            reader.cancel()
            raise
        finally:
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        reason = "server" if reader in done else tasks[next(iter(done))]
        if self.call.dropped:
            reason = "dropped"  # the connection was lost: no stop message could be sent
        elif reason == "server":
            self.call.ws_close_code = self.ws.close_code
        else:
            await self._send({"event": "stop", "stop": {"accountSid": self.call.account_sid,
                                                        "callSid": self.call.sid}})
            await self.ws.close()
        await reader
        for task in done:
            task.result()  # a failure in a pump is a bug in the double: let it surface
        return reason

    async def abort(self) -> None:
        await self.ws.close()

    async def _lead_to_server(self) -> None:
        while (packet := await self.line.to_agent.get()) is not None:
            self._chunk += 1
            await self._send({"event": "media", "media": {
                "track": "inbound", "chunk": str(self._chunk),
                "timestamp": str((self._chunk - 1) * PACKET_MS),
                "payload": base64.b64encode(packet).decode("ascii"),
            }})
            if self._amd is not None and (verdict := self._amd.feed(packet, self.line.agent_audio_started.is_set())):
                self._on_amd(verdict, self._amd.elapsed_ms)
            await self._echo_marks()

    async def _server_to_lead(self) -> None:
        loop = asyncio.get_running_loop()
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                self.call.received["<binary>"] += 1
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                self.call.received["<invalid>"] += 1
                continue
            event = str(data.get("event"))
            if data.get("streamSid") != self.stream_sid:  # Twilio ignores it: count it apart
                self.call.received["<wrong streamSid>"] += 1
                continue
            self.call.received[event] += 1
            if event == "media":
                ulaw = base64.b64decode(data.get("media", {}).get("payload", ""))
                self.call.media_bytes[len(ulaw)] += 1
                now = loop.time()
                if now - self._last_media < self.UTTERANCE_GAP_S and self.line.queued_ms == 0:
                    self.line.stats.underruns += 1
                self._last_media = now
                self.line.play(ulaw)
            elif event == "mark":
                self.line.mark(str(data.get("mark", {}).get("name", "")))
            elif event == "clear":
                self.line.clear()
                self._last_media = 0.0  # emptied on purpose: the next media starts an utterance
            await self._echo_marks()

    async def _echo_marks(self) -> None:
        played = self.line.marks_played
        while len(self.call.marks_echoed) < len(played):
            name = played[len(self.call.marks_echoed)]
            self.call.marks_echoed.append(name)
            await self._send({"event": "mark", "mark": {"name": name}})
            if self.call.drop_after_marks is not None and len(self.call.marks_echoed) >= self.call.drop_after_marks:
                self.call.dropped = True
                await self.ws.close()  # no stop: the network lost the connection
                return
        if self._dtmf_pending and self.call.marks_echoed:
            digits, self._dtmf_pending = self._dtmf_pending, ""
            for digit in digits:
                self.call.dtmf_sent.append(digit)
                await self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})

    async def _send(self, message: dict[str, Any], *, numbered: bool = True) -> None:
        if numbered:
            self._sequence += 1
            message = {"event": message["event"], "sequenceNumber": str(self._sequence),
                       **{k: v for k, v in message.items() if k != "event"}, "streamSid": self.stream_sid}
        async with self._lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError):  # gone: the reader sees the socket close
                await self.ws.send_str(json.dumps(message))


def said_by(twiml: str) -> list[str]:
    """The texts of a TwiML document's ``<Say>`` verbs."""
    return [say.text or "" for say in ET.fromstring(twiml).iter("Say")]


def stream_of(twiml: str) -> tuple[str, dict[str, str]] | None:
    """The ``<Connect><Stream>`` of a TwiML document: its URL and ``<Parameter>``s, or None.

    Raises:
        ValueError: the text is not a TwiML ``<Response>``, or the stream has no URL.
    """
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise ValueError(f"invalid TwiML: {exc}") from exc
    if root.tag != "Response":
        raise ValueError(f"TwiML root is <{root.tag}>, not <Response>")
    stream = root.find("Connect/Stream")
    if stream is None:
        return None
    url = stream.get("url", "")
    if urlsplit(url).scheme not in {"ws", "wss"}:
        raise ValueError(f"<Stream url={url!r}> is not a WebSocket URL")
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return url, parameters


# --- one call ------------------------------------------------------------------------------
class CallScenario:
    """Runs one call: ring, answer (or not), fetch the TwiML, stream to the lead, hang up."""

    def __init__(self, double: TwilioDouble, call: DoubleCall) -> None:
        self.double = double
        self.call = call
        self.params = call.params
        self.callbacks = CallbackQueue(double.webhooks, call, duplicate=lambda: double.duplicate_callbacks,
                                       hold_status=double.shuffle_callbacks)
        events = call.params.getall("StatusCallbackEvent", [])
        # repeated parameters, as the SDK sends them; a space- or comma-separated list works too
        self._events = {e for value in events for e in value.replace(",", " ").split()} or {"completed"}
        self._sequence = 0
        self.person: HumanAgent | None = None  # the call reaches a person taking a transfer

    async def run(self) -> None:
        try:
            status = await (self._dial() if self.call.direction != "inbound" else self._ring_in())
        except asyncio.CancelledError:
            self.callbacks.abort()
            self.call.set_status(self.call.status if self.call.status in FINAL else "canceled")
            raise
        self.call.set_status(status)
        self._progress("completed", status)
        await self.callbacks.drain()

    def _progress(self, event: str, call_status: str) -> None:
        """Queue the status callback of ``event`` if the call asked for it."""
        url = self.params.get("StatusCallback")
        if not url or event not in self._events:
            return
        form = self.call.webhook_form(call_status)
        form.update(CallbackSource="call-progress-events", SequenceNumber=str(self._sequence),
                    Timestamp=rfc2822(datetime.now(UTC)))
        self._sequence += 1
        if event == "completed":
            form.update(CallDuration=str(self.call.call_duration_s or 0), SipResponseCode=SIP_CODES[call_status])
            if self.call.start_time is not None:  # answered: the caller ID's attestation (SHAKEN "A")
                form.update(StirStatus="A")
        self.callbacks.put("status", url, self.params.get("StatusCallbackMethod", "POST"), form)

    async def _hung_up_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.call.hangup.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _dial(self) -> str:
        call, speed = self.call, self.double.speed
        if call.hangup.is_set():
            return "canceled"
        person = self.double.people.get(self.params.get("To", ""))
        if person is not None:
            return await self._ring_person(person)
        self._progress("initiated", "initiated")
        unanswered = call.script.answers.get("_unanswered")
        if unanswered in {"busy", "failed"}:
            return unanswered
        call.set_status("ringing")
        self._progress("ringing", "ringing")
        timeout_s = float(self.params.get("Timeout") or DEFAULT_TIMEOUT_S)
        picks_up = unanswered not in UNANSWERED and self.double.ring_s <= timeout_s
        if await self._hung_up_within(min(self.double.ring_s, timeout_s) / speed):
            return "canceled"
        if not picks_up:
            return "no-answer"
        call.start_time = datetime.now(UTC)
        call.set_status("in-progress")
        self._progress("answered", "in-progress")
        return await self._connect()

    async def _ring_person(self, person: HumanAgent) -> str:
        """A person taking a transfer: busy, rings out, declines (answers and hangs up), or answers
        and runs the call's TwiML (the whisper, then the conference room)."""
        self._progress("initiated", "initiated")
        if person.answers == "busy":
            return "busy"
        self.call.set_status("ringing")
        self._progress("ringing", "ringing")
        timeout_s = float(self.params.get("Timeout") or DEFAULT_TIMEOUT_S)
        rings = timeout_s if person.answers == "no_answer" else min(person.ring_s, timeout_s)
        if await self._hung_up_within(rings / self.double.speed):
            return "canceled"
        if person.answers == "no_answer" or person.ring_s > timeout_s:
            return "no-answer"
        self.call.start_time = datetime.now(UTC)
        self.call.set_status("in-progress")
        self._progress("answered", "in-progress")
        if person.answers == "declines":
            return "completed"
        self.person = person
        return await self._connect()

    async def _ring_in(self) -> str:
        """A lead's call to the number: Twilio asks the number's webhook what to do at once."""
        self.call.start_time = datetime.now(UTC)
        self.call.set_status("in-progress")
        return await self._connect()

    async def _connect(self) -> str:
        call = self.call
        twiml = await self._twiml()
        if twiml is None:
            return "failed"
        call.twiml = twiml
        try:
            stream = stream_of(twiml)
        except ValueError as exc:
            call.error = str(exc)
            return "failed"
        if call.hangup.is_set():
            return "completed"  # hung up meanwhile
        if stream is None:
            await self._run_verbs(twiml)  # <Say>, <Dial><Conference>, <Hangup/>
            return "completed"
        url, parameters = stream
        if self.double.media_token is not None:
            parameters["token"] = self.double.media_token
        if not is_loopback(url):
            call.error = f"refused to connect to {url}: the double only calls loopback addresses"
            return "failed"
        try:
            ws = await self.double.session.ws_connect(url)
        except (aiohttp.ClientError, OSError) as exc:
            call.error = f"stream {url}: {exc!r}"
            return "failed"
        await self._stream(MediaBridge(call, ws, amd=self._amd(), on_amd=self._amd_verdict), parameters)
        if call.redirect is not None and not call.hangup.is_set():
            await self._run_verbs(call.redirect)  # updated while streaming: the new TwiML runs
        return "completed"

    async def _run_verbs(self, twiml: str) -> None:
        """Run the verbs reauto's TwiML uses without a stream: ``<Say>`` (heard, taking the time a
        voice takes), ``<Dial><Conference>`` (the call joins the room until it ends), ``<Hangup/>``."""
        for verb in ET.fromstring(twiml):
            if self.call.hangup.is_set():
                return
            if verb.tag == "Say":
                self.call.said.append(verb.text or "")
                seconds = len((verb.text or "").split()) / WHISPER_WORDS_PER_S
                if await self._hung_up_within(seconds / self.double.speed):
                    return
            elif verb.tag == "Dial" and (room := verb.find("Conference")) is not None:
                await self.double.conference(room, self)
            elif verb.tag == "Hangup":
                return

    def conference_callback(self, attrs: dict[str, str], form: dict[str, str]) -> None:
        """A conference status callback, to the URL this participant's ``<Conference>`` named."""
        url, events = attrs.get("statusCallback"), attrs.get("statusCallbackEvent", "start end").split()
        wanted = form["StatusCallbackEvent"].removeprefix("participant-").removeprefix("conference-")
        if url and wanted in events:
            self.callbacks.put("conference", url, attrs.get("statusCallbackMethod", "POST"), form)

    async def _twiml(self) -> str | None:
        """The call's TwiML: the ``Twiml`` parameter, or what ``Url`` answers (None: it failed)."""
        if self.params.get("Twiml"):
            return self.params["Twiml"]
        status, body = await self.double.webhooks.send(
            self.call, "twiml", self.params["Url"], self.params.get("Method", "POST"),
            self.call.webhook_form("in-progress"))
        if not 200 <= status < 300:
            self.call.error = self.call.error or f"Url answered HTTP {status}"
            return None
        return body

    def _amd(self) -> AmdDetector | None:
        settings = AmdSettings.from_params(self.params)
        return None if settings is None else AmdDetector(settings, machine=self.call.script.voicemail)

    def _amd_verdict(self, answered_by: str, duration_ms: int) -> None:
        self.call.answered_by = answered_by
        url = self.params.get("AsyncAmdStatusCallback")
        if url:
            form = {"AccountSid": self.call.account_sid, "AnsweredBy": answered_by, "CallSid": self.call.sid,
                    "MachineDetectionDuration": str(duration_ms)}
            self.callbacks.put("amd", url, self.params.get("AsyncAmdStatusCallbackMethod", "POST"), form)

    async def _stream(self, bridge: MediaBridge, parameters: dict[str, str]) -> None:
        call, double = self.call, self.double
        lead = SimulatedLead(call.script, call.line, max_s=double.max_call_s, calling=call.direction == "inbound")
        time_limit_s = float(self.params.get("TimeLimit") or DEFAULT_TIME_LIMIT_S)
        timer = asyncio.get_running_loop().call_later(time_limit_s / double.speed, call.hangup.set)
        lead_task: asyncio.Task[LeadReport] | None = None
        stop = asyncio.Event()  # a hang-up, or the call's TwiML replaced: the stream stops
        ends = [asyncio.create_task(e.wait()) for e in (call.hangup, call.redirected)]
        for waiting in ends:
            waiting.add_done_callback(lambda _t: stop.set())
        try:
            await bridge.open(parameters)
            lead_task = asyncio.create_task(lead.run(), name=f"twilio-double-lead-{call.sid}")
            await bridge.run(stop)
        except asyncio.CancelledError:
            if lead_task is not None:
                lead_task.cancel()
            await asyncio.shield(bridge.abort())
            raise
        finally:
            timer.cancel()
            for waiting in ends:
                waiting.cancel()
            if not call.line.hung_up.is_set():
                call.line.hang_up()
        call.report = await lead_task if lead_task is not None else None


# --- conference rooms ------------------------------------------------------------------------
class Room:
    """A conference room: its participants, its status callbacks (to each participant's URL)."""

    def __init__(self, name: str, sid: str, account_sid: str) -> None:
        self.name, self.sid, self.account_sid = name, sid, account_sid
        self.participants: dict[str, tuple[DoubleCall, CallScenario, dict[str, str]]] = {}
        self.occupied = asyncio.Event()  # two or more are in
        self.ended = asyncio.Event()
        self._sequence = 0
        self._ending: list[DoubleCall] = []

    def _form(self, event: str, call: DoubleCall | None, attrs: dict[str, str]) -> dict[str, str]:
        self._sequence += 1
        form = {"AccountSid": self.account_sid, "ConferenceSid": self.sid, "FriendlyName": self.name,
                "StatusCallbackEvent": event, "SequenceNumber": str(self._sequence),
                "Timestamp": rfc2822(datetime.now(UTC))}
        if call is not None:
            form.update(CallSid=call.sid, Muted="false", Hold="false", Coaching="false",
                        EndConferenceOnExit=attrs.get("endConferenceOnExit", "false"),
                        StartConferenceOnEnter=attrs.get("startConferenceOnEnter", "true"))
        return form

    def _tell(self, event: str, call: DoubleCall | None, attrs: dict[str, str]) -> None:
        form = self._form(event, call, attrs)
        for _call, scenario, their in self.participants.values():
            scenario.conference_callback(their, form)

    def enter(self, call: DoubleCall, scenario: CallScenario, attrs: dict[str, str]) -> None:
        first = not self.participants
        self.participants[call.sid] = (call, scenario, attrs)
        if first:
            self._tell("conference-start", None, attrs)
        self._tell("participant-join", call, attrs)
        if len(self.participants) >= 2:
            self.occupied.set()

    def leave(self, call: DoubleCall, attrs: dict[str, str]) -> None:
        if call.sid not in self.participants:
            return
        self._tell("participant-leave", call, attrs)
        del self.participants[call.sid]
        if attrs.get("endConferenceOnExit") == "true" or not self.participants:
            if not self.ended.is_set():
                self._ending = [c for c, _s, _a in self.participants.values()]
                self._tell("conference-end", None, attrs)
                self.ended.set()

    def participants_ending(self) -> list[DoubleCall]:
        """The calls still in a room that has just ended (each is hung up once)."""
        ending, self._ending = self._ending, []
        return ending


# --- the REST API --------------------------------------------------------------------------
class TwilioRestApi:
    """The REST half: Basic auth and the Calls resource (create, fetch, update)."""

    def __init__(self, double: TwilioDouble) -> None:
        self._double = double

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        base = f"/{API_VERSION}/Accounts/{{account}}/Calls"
        app.router.add_post(base + ".json", self._create)
        app.router.add_get(base + "/{sid}.json", self._fetch)
        app.router.add_post(base + "/{sid}.json", self._update)
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._message)
        # not Twilio's: the test harness's side door when the double runs in its own process
        app.router.add_post(CONTROL + "/agent-text", self._agent_text)
        app.router.add_get(CONTROL + "/calls", self._reports)
        return app

    async def _agent_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._double.agent_text(str(body["call_sid"]), str(body["text"]))
        return web.json_response({})

    async def _reports(self, _request: web.Request) -> web.Response:
        double = self._double
        return web.json_response({sid: await double.finished(sid) for sid in list(double.calls)})

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        double = self._double
        if request.path.startswith(CONTROL):
            return await handler(request)
        try:
            auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (double.account_sid, double.auth_token):
            return twilio_error(401, 20003, "Authenticate")
        if request.match_info.get("account") != double.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return await handler(request)

    async def _create(self, request: web.Request) -> web.Response:
        params = MultiDict((k, str(v)) for k, v in (await request.post()).items())
        problem = self._invalid(params)
        if problem is not None:
            return twilio_error(400, *problem)
        call = self._double.place(params)
        return web.json_response(call.resource(), status=201)

    async def _message(self, request: web.Request) -> web.Response:
        """``Messages.json``: a text is queued (the double keeps it in :attr:`TwilioDouble.messages`)."""
        form = await request.post()
        to, sender, body = str(form.get("To", "")), str(form.get("From", "")), str(form.get("Body", ""))
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl"):
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        double = self._double
        sid = f"SM{uuid.uuid4().hex}"
        message = {"sid": sid, "account_sid": double.account_sid, "to": to, "from": sender, "body": body,
                   "status": "queued", "direction": "outbound-api", "num_segments": str(1 + len(body) // 153),
                   "api_version": API_VERSION, "date_created": format_datetime(datetime.now(UTC), usegmt=True), "error_code": None,
                   "uri": f"/{API_VERSION}/Accounts/{double.account_sid}/Messages/{sid}.json"}
        double.messages.append(message)
        return web.json_response(message, status=201)

    @staticmethod
    def _invalid(params: MultiDict[str]) -> tuple[int, str] | None:
        if not params.get("To"):
            return 21201, "No 'To' number is specified"
        if not params.get("From"):
            return 21213, "No 'From' number is specified"
        if not params.get("Url") and not params.get("Twiml"):
            return 21205, "Url parameter is required. Provide a Url or Twiml for the call."
        for name in ("Url", "StatusCallback", "AsyncAmdStatusCallback"):
            url = params.get(name)
            if url and (urlsplit(url).scheme not in {"http", "https"} or not is_loopback(url)):
                return 21205, f"{name} is not a valid URL: {url} (the double calls loopback addresses only)"
        return None

    def _call(self, request: web.Request) -> DoubleCall | web.Response:
        call = self._double.calls.get(request.match_info["sid"])
        if call is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return call

    async def _fetch(self, request: web.Request) -> web.Response:
        call = self._call(request)
        return call if isinstance(call, web.Response) else web.json_response(call.resource())

    async def _update(self, request: web.Request) -> web.Response:
        call = self._call(request)
        if isinstance(call, web.Response):
            return call
        form = await request.post()
        status, twiml = form.get("Status"), form.get("Twiml")
        if twiml and not status:  # the live call runs this TwiML from now on (its stream stops)
            if call.status != "in-progress":
                return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
            call.redirect = str(twiml)
            call.redirected.set()
            return web.json_response(call.resource())
        if status in {"completed", "canceled"}:
            if call.status in FINAL:
                return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
            if status == "completed" or call.status in {"queued", "ringing"}:
                call.hangup.set()  # "canceled" leaves a call in progress alone, as on Twilio
                await asyncio.wait_for(asyncio.shield(call.ended.wait()), WEBHOOK_TIMEOUT_S)
        return web.json_response(call.resource())


# --- the double ----------------------------------------------------------------------------
class TwilioDouble:
    """Twilio's side of outbound calls on loopback, with the simulated leads as the callees.

    Args:
        account_sid: the one account it knows.
        auth_token: its auth token (Basic auth and webhook signatures).
        personas: lead scripts by the ``To`` number.
        default: the script for numbers without a persona.
        speed: clock speed of the simulated leads and of ringing (1.0 = real time).
        ring_s: how long a phone rings before the lead picks up (simulated clock).
        max_call_s: the simulated lead hangs up after this long.

    Attributes:
        calls: every call placed, by CallSid.
        signature: ``valid``, ``forged`` (signed with a wrong token) or ``missing`` (no header).
        duplicate_callbacks: send every status and AMD callback twice (a retry: same
            ``I-Twilio-Idempotency-Token``).
        shuffle_callbacks: hold a call's status callbacks and send them once it ended, the final
            one first and the rest scrambled (their ``SequenceNumber`` and ``Timestamp`` intact).
        media_token: when set, sent as ``start.customParameters["token"]`` instead of the TwiML's.
        drop_media_after_marks: a network fault: once this many of the agent's marks have been
            echoed on a call (its replies heard), the media WebSocket is closed without a ``stop``
            message, as when the connection is lost; Twilio then ends the call. Applies to the
            next call only (it is reset to None), so a call-back goes through.
    """

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "double-auth-token",
        personas: Mapping[str, LeadScript] | None = None,
        default: LeadScript | None = None,
        speed: float = 1.0,
        ring_s: float = 1.0,
        max_call_s: float = 240.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.personas = dict(personas or {})
        self.default = default or LeadScript(name="Alex Lead")
        self.speed = speed
        self.ring_s = ring_s
        self.max_call_s = max_call_s
        self.signature = "valid"
        self.duplicate_callbacks = False
        self.shuffle_callbacks = False
        self.drop_media_after_marks: int | None = None
        self.media_token: str | None = None
        self.calls: dict[str, DoubleCall] = {}
        self.people: dict[str, HumanAgent] = {}  # the people transfers reach, by number
        self.rooms: dict[str, Room] = {}  # conference rooms by name
        self.messages: list[dict[str, Any]] = []  # texts sent through Messages.json
        self.webhooks = WebhookSender(self)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._base_url = ""

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(TwilioRestApi(self).app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """Where the REST API listens (``client.api.base_url = double.base_url``)."""
        return self._base_url

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("TwilioDouble.start() was not called")
        return self._session

    async def close(self) -> None:
        """Cancel every call in flight and stop listening."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def script_for(self, number: str) -> LeadScript:
        return self.personas.get(number, self.default)

    def place(self, params: MultiDict[str]) -> DoubleCall:
        """Create a call from a validated ``Calls.json`` form and run it in the background."""
        call = DoubleCall(sid=new_sid("CA"), account_sid=self.account_sid, params=params,
                          script=self.script_for(params["To"]), line=PhoneLine(speed=self.speed),
                          drop_after_marks=self.drop_media_after_marks, speed=self.speed)
        self.drop_media_after_marks = None  # one call: the call-back goes through
        self.calls[call.sid] = call
        self._tasks[call.sid] = asyncio.create_task(CallScenario(self, call).run(),
                                                    name=f"twilio-double-call-{call.sid}")
        return call

    async def incoming_text(self, url: str, *, from_: str, to: str, body: str,
                            message_sid: str | None = None) -> tuple[int, str]:
        """A lead's text to ``to``, delivered as Twilio's inbound messaging webhook (POST, signed).

        The form carries the fields Twilio sends for an SMS; a ``<Message>`` in the TwiML answer is
        "sent" back to the lead and kept in :attr:`messages` (``via: twiml``). Returns the HTTP
        status (0: no answer) and the answer's body.
        """
        sid = message_sid or new_sid("SM")
        form = {"ToCountry": "US", "ToState": "TX", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "AUSTIN",
                "FromZip": "78701", "SmsSid": sid, "FromState": "TX", "SmsStatus": "received", "FromCity": "AUSTIN",
                "Body": body, "FromCountry": "US", "To": to, "ToZip": "78701", "NumSegments": "1",
                "MessageSid": sid, "AccountSid": self.account_sid, "From": from_, "ApiVersion": API_VERSION}
        hook = self.webhooks.prepare(url, "POST", form)
        if not is_loopback(hook.url):
            return 0, ""
        try:
            async with self.session.post(URL(hook.url, encoded=True), data=hook.data, headers=hook.headers,
                                         timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)) as response:
                status, answer = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0, ""
        if status == 200 and answer.strip():
            for message in ET.fromstring(answer).iter("Message"):
                self.messages.append({"sid": new_sid("SM"), "to": from_, "from": to, "body": message.text or "",
                                      "via": "twiml", "in_reply_to": sid})
        return status, answer

    def incoming_call(self, url: str, *, from_: str, to: str, script: LeadScript | None = None) -> DoubleCall:
        """A lead calls ``to`` from ``from_``: Twilio posts its incoming-call webhook (``url``, the
        number's voice URL, signed, ``Direction: inbound``) and runs the TwiML it gets: a
        ``<Connect><Stream>`` puts the lead (``script``, else the persona of ``from_``) on the media
        stream, where they wait for the agent to speak; ``<Say>`` is heard (kept in ``said``).
        Returns the call, running in the background."""
        params: MultiDict[str] = MultiDict(Url=url, Method="POST", From=from_, To=to)
        call = DoubleCall(sid=new_sid("CA"), account_sid=self.account_sid, params=params,
                          script=script or self.script_for(from_), line=PhoneLine(speed=self.speed),
                          direction="inbound", speed=self.speed)
        self.calls[call.sid] = call
        self._tasks[call.sid] = asyncio.create_task(CallScenario(self, call).run(),
                                                    name=f"twilio-double-incoming-{call.sid}")
        return call

    async def conference(self, noun: ET.Element, scenario: CallScenario) -> None:
        """``<Dial><Conference>``: the call joins the named room and stays until the room ends or it
        is hung up. A person (a transfer's) talks ``talk_s`` once someone else is in, then leaves;
        with ``endConferenceOnExit`` their leaving ends the room (and every call in it)."""
        call, attrs = scenario.call, dict(noun.attrib)
        name = (noun.text or "").strip()
        room = self.rooms.get(name)
        if room is None or room.ended.is_set():
            room = self.rooms[name] = Room(name, new_sid("CF"), self.account_sid)
        call.rooms.append(name)
        room.enter(call, scenario, attrs)
        try:
            if scenario.person is not None:
                others = asyncio.create_task(room.occupied.wait())
                hangup = asyncio.create_task(call.hangup.wait())
                await asyncio.wait([others, hangup, asyncio.create_task(room.ended.wait())],
                                   return_when=asyncio.FIRST_COMPLETED)
                if others.done() and not call.hangup.is_set():
                    await scenario._hung_up_within(scenario.person.talk_s / self.speed)
            else:
                await asyncio.wait([asyncio.create_task(call.hangup.wait()), asyncio.create_task(room.ended.wait())],
                                   return_when=asyncio.FIRST_COMPLETED)
        finally:
            room.leave(call, attrs)
            for other in room.participants_ending():
                other.hangup.set()  # the room ended: Twilio ends the calls in it

    def agent_text(self, call_sid: str, text: str) -> None:
        """What the agent means to say on ``call_sid`` (the simulated lead reads it)."""
        self.calls[call_sid].line.say_text(text)

    async def finished(self, call_sid: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for the call to end (its callbacks delivered); what the lead and the line saw.

        Returns the keys :meth:`reauto.telephony.sim.SimTelephony.finished` returns, plus
        ``status``, the call's final status.
        """
        await asyncio.wait_for(asyncio.shield(self._tasks[call_sid]), timeout)
        call = self.calls[call_sid]
        report = call.report or LeadReport()
        return {
            "lead_said": report.said,
            "hello_to_first_audio_ms": report.hello_to_first_audio_ms,
            "interrupted_agent": report.interrupted_agent,
            "hung_up_by": report.hung_up_by,
            "underruns": call.stats.underruns,
            "clears": call.stats.clears,
            "duration_s": report.seconds,
            "status": call.status,
        }


# --- the double in its own process -----------------------------------------------------------
class DoubleProcess:
    """The double in a separate process, so its own work (the leads' audio, JSON, base64) does not
    share reauto's event loop — as Twilio's side never does. Benchmarks use it.

    The agent-text tap and the reports go over the control routes of the double's REST server.
    """

    def __init__(self, personas: Mapping[str, LeadScript], *, speed: float = 1.0, ring_s: float = 1.0) -> None:
        self.personas = personas
        self.speed, self.ring_s = speed, ring_s
        self.account_sid, self.auth_token = "AC" + "0" * 32, "double-auth-token"
        self.base_url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._posts: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        import dataclasses
        import sys
        import tempfile

        spec = {phone: dataclasses.asdict(script) for phone, script in self.personas.items()}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakes.twilio", f.name, str(self.speed), str(self.ring_s),
            stdout=asyncio.subprocess.PIPE)
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        self.base_url = json.loads(line)["base_url"]
        self._session = aiohttp.ClientSession()
        return self

    def agent_text(self, call_sid: str, text: str) -> None:
        assert self._session is not None
        task = asyncio.get_running_loop().create_task(self._post(call_sid, text))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)

    async def _post(self, call_sid: str, text: str) -> None:
        assert self._session is not None
        async with self._session.post(self.base_url + CONTROL + "/agent-text",
                                      json={"call_sid": call_sid, "text": text}) as r:
            r.raise_for_status()

    async def reports(self) -> dict[str, dict[str, Any]]:
        """Every call's report, once all have ended."""
        assert self._session is not None
        async with self._session.get(self.base_url + CONTROL + "/calls") as r:
            return dict(await r.json())

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()


async def _serve(personas_file: str, speed: float, ring_s: float) -> None:
    with open(personas_file) as f:
        spec = json.load(f)
    personas = {phone: LeadScript(**{**fields, "answers": dict(fields["answers"])}) for phone, fields in spec.items()}
    async with TwilioDouble(personas=personas, speed=speed, ring_s=ring_s) as double:
        print(json.dumps({"base_url": double.base_url}), flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
