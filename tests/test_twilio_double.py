"""The Twilio double (tests/fakes/twilio.py) driven by the real ``twilio`` SDK and a tiny server.

The server here plays reauto's side in miniature: it checks every webhook's signature with
:class:`RequestValidator`, answers the call's ``Url`` with ``<Connect><Stream>`` TwiML, takes the
media stream and answers the simulated lead with a flite sentence and a mark.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from reauto.sim.lead import LeadScript, flite_packets
from tests.fakes.twilio import AmdDetector, AmdSettings, DoubleProcess, TwilioDouble, stream_of

pytestmark = pytest.mark.integration

LEAD = "+15550100"
VOICEMAIL = "+15550101"
NO_ANSWER = "+15550102"
BUSY = "+15550103"
DTMF = "+15550104"
CALLER = "+15550199"
EVENTS = ["initiated", "ringing", "answered", "completed"]
GOODBYE = "Hi, this is Joe from Sunrise Realty. Have a great day, goodbye."
PERSONAS = {
    LEAD: LeadScript(name="Dana Lead"),
    VOICEMAIL: LeadScript(name="Vic Voicemail", voicemail=True),
    NO_ANSWER: LeadScript(name="Nora Noanswer", answers={"_unanswered": "no-answer"}),
    BUSY: LeadScript(name="Bea Busy", answers={"_unanswered": "busy"}),
    DTMF: LeadScript(name="Tom Tones", answers={"_dtmf": "9"}),
}


@dataclass
class Seen:
    """A webhook the server received."""

    path: str
    form: dict[str, str]
    valid: bool
    headers: dict[str, str]


@dataclass
class Server:
    """reauto's side in miniature: webhook receiver and media-stream peer on loopback."""

    double: TwilioDouble
    reply: str | None = GOODBYE  # what the agent says once the lead said hello (None: silence)
    close_after_mark: bool = False  # close the socket once the reply's mark comes back
    clear_reply: bool = False  # clear the reply while it plays (a barge-in)
    twiml_status: int = 200
    bogus_stream: bool = False  # also send a media message with another streamSid
    seen: list[Seen] = field(default_factory=list)
    ws_messages: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/voice", self._voice)
        app.router.add_post("/status", self._webhook)
        app.router.add_get("/status", self._webhook)
        app.router.add_post("/amd", self._webhook)
        app.router.add_get("/media", self._media)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        await self._runner.cleanup()

    def hooks(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.ws_messages if m.get("event") == name]

    async def _record(self, request: web.Request) -> Seen:
        form = {k: str(v) for k, v in (await request.post()).items()} if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator(self.double.auth_token).validate(str(request.url), form, signature)
        seen = Seen(request.path, form or dict(request.query), valid, dict(request.headers))
        self.seen.append(seen)
        return seen

    async def _webhook(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=204)

    async def _voice(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self.twiml_status != 200:
            return web.Response(status=self.twiml_status, text="boom")
        ws_url = self.url.replace("http://", "ws://") + "/media"
        twiml = ('<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
                 f'<Stream url="{ws_url}"><Parameter name="token" value="from-twiml"/>'
                 '<Parameter name="lead" value="42"/></Stream></Connect></Response>')
        return web.Response(text=twiml, content_type="text/xml")

    async def _media(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        call_sid = stream_sid = ""
        media = 0
        async for message in ws:
            data = json.loads(message.data)
            self.ws_messages.append(data)
            event = data["event"]
            if event == "start":
                call_sid, stream_sid = data["start"]["callSid"], data["streamSid"]
            elif event == "media":
                media += 1
                if media == 75 and self.reply is not None:  # 1.5 s: the lead's "Hello?" is over
                    await self._answer(ws, call_sid, stream_sid, self.reply)
            elif event == "mark" and self.close_after_mark:
                await ws.close()
            elif event == "stop":
                break
        return ws

    async def _answer(self, ws: web.WebSocketResponse, call_sid: str, stream_sid: str, text: str) -> None:
        self.double.agent_text(call_sid, text)
        packets = await flite_packets(text, "kal16")
        if self.bogus_stream:
            await ws.send_json({"event": "media", "streamSid": "MZ" + "0" * 32, "media": {"payload": "//8="}})
        for start in range(0, len(packets), 10):  # 200 ms per message
            payload = base64.b64encode(b"".join(packets[start : start + 10])).decode()
            await ws.send_json({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})
        if self.clear_reply:
            await ws.send_json({"event": "clear", "streamSid": stream_sid})
        await ws.send_json({"event": "mark", "streamSid": stream_sid, "mark": {"name": "reply-1"}})


@pytest.fixture
async def double() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble(personas=PERSONAS, speed=4, ring_s=0.4) as fake:
        yield fake


@pytest.fixture
async def server(double: TwilioDouble) -> AsyncIterator[Server]:
    peer = Server(double)
    await peer.start()
    yield peer
    await peer.close()


def client(double: TwilioDouble, token: str | None = None) -> Client:
    sdk = Client(double.account_sid, token or double.auth_token)
    sdk.api.base_url = double.base_url
    return sdk


async def dial(double: TwilioDouble, server: Server, to: str = LEAD, **options: Any) -> str:
    """Place a call with the SDK (in a thread: it is synchronous); returns its CallSid."""
    kwargs: dict[str, Any] = {
        "to": to, "from_": CALLER, "url": server.url + "/voice",
        "status_callback": server.url + "/status", "status_callback_event": EVENTS,
        "machine_detection": "DetectMessageEnd", "async_amd": "true",
        "async_amd_status_callback": server.url + "/amd",
    }
    kwargs.update(options)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}  # None: leave the parameter out
    call = await asyncio.to_thread(client(double).calls.create, **kwargs)
    assert isinstance(call.sid, str)
    return call.sid


async def eventually(condition: Callable[[], object], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


# --- REST ----------------------------------------------------------------------------------
async def test_create_returns_the_calls_resource(double: TwilioDouble, server: Server) -> None:
    sdk = client(double)
    call = await asyncio.to_thread(sdk.calls.create, to=NO_ANSWER, from_=CALLER, url=server.url + "/voice",
                                   time_limit=60, timeout=30)
    assert call.sid is not None and call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.account_sid, call.to, call._from) == (double.account_sid, NO_ANSWER, CALLER)
    assert (call.status, call.direction, call.api_version) == ("queued", "outbound-api", "2010-04-01")
    assert call.uri == f"/2010-04-01/Accounts/{double.account_sid}/Calls/{call.sid}.json"
    assert call.date_created is not None and call.duration is None
    posted = double.calls[call.sid].params
    assert posted["To"] == NO_ANSWER and posted["TimeLimit"] == "60" and posted["Timeout"] == "30"
    await double.finished(call.sid)
    fetched = await asyncio.to_thread(sdk.calls(call.sid).fetch)
    assert fetched.status == "no-answer" and fetched.end_time is not None and fetched.duration == "0"


async def test_wrong_credentials_are_401(double: TwilioDouble, server: Server) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await asyncio.to_thread(client(double, token="wrong").calls.create, to=LEAD, from_=CALLER,
                                url=server.url + "/voice")
    assert raised.value.status == 401 and raised.value.code == 20003
    assert double.calls == {}


async def test_missing_parameters_are_400(double: TwilioDouble, server: Server) -> None:
    sdk = client(double)
    with pytest.raises(TwilioRestException) as raised:
        await asyncio.to_thread(sdk.calls.create, to="", from_=CALLER, url=server.url + "/voice")
    assert raised.value.status == 400 and raised.value.code == 21201
    with pytest.raises(TwilioRestException) as raised:
        await asyncio.to_thread(sdk.calls.create, to=LEAD, from_=CALLER)
    assert raised.value.status == 400 and raised.value.code == 21205
    with pytest.raises(TwilioRestException) as raised:  # the double calls nothing off loopback
        await asyncio.to_thread(sdk.calls.create, to=LEAD, from_=CALLER, url="https://example.com/voice")
    assert raised.value.status == 400
    assert double.calls == {}


async def test_unknown_call_is_404(double: TwilioDouble) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await asyncio.to_thread(client(double).calls("CA" + "f" * 32).fetch)
    assert raised.value.status == 404 and raised.value.code == 20404


async def test_the_async_sdk_client_works_too(double: TwilioDouble, server: Server) -> None:
    sdk = Client(double.account_sid, double.auth_token, http_client=AsyncTwilioHttpClient())
    sdk.api.base_url = double.base_url
    try:
        call = await sdk.calls.create_async(to=BUSY, from_=CALLER, url=server.url + "/voice")
        assert call.sid is not None
        assert (await double.finished(call.sid))["status"] == "busy"
        assert (await sdk.calls(call.sid).fetch_async()).status == "busy"
    finally:
        await sdk.http_client.close()


# --- a whole call ---------------------------------------------------------------------------
async def test_a_person_answers_and_hangs_up_after_goodbye(double: TwilioDouble, server: Server) -> None:
    sid = await dial(double, server)
    result = await double.finished(sid, timeout=30)
    call = double.calls[sid]

    assert result["status"] == call.status == "completed"
    assert result["lead_said"] == ["Hello?", "Okay, bye."] and result["hung_up_by"] == "lead"
    assert result["hello_to_first_audio_ms"] is not None and result["duration_s"] > 5
    assert set(result) == {"lead_said", "hello_to_first_audio_ms", "interrupted_agent", "hung_up_by",
                           "underruns", "clears", "duration_s", "status"}

    statuses = server.hooks("/status")
    assert [s.form["CallStatus"] for s in statuses] == ["initiated", "ringing", "in-progress", "completed"]
    assert call.statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert all(s.valid for s in server.seen)
    assert [s.form["SequenceNumber"] for s in statuses] == ["0", "1", "2", "3"]
    first = statuses[0].form
    assert {k: first[k] for k in ("CallSid", "AccountSid", "From", "To", "Direction", "ApiVersion",
                                  "CallbackSource")} == {
        "CallSid": sid, "AccountSid": double.account_sid, "From": CALLER, "To": LEAD,
        "Direction": "outbound-api", "ApiVersion": "2010-04-01", "CallbackSource": "call-progress-events"}
    assert first["Timestamp"].endswith("+0000")
    assert statuses[-1].form["CallDuration"] == str(round(result["duration_s"]))

    (voice,) = server.hooks("/voice")
    assert voice.form["CallStatus"] == "in-progress" and voice.form["CallSid"] == sid
    assert call.twiml is not None and "<Stream" in call.twiml
    (amd,) = server.hooks("/amd")
    assert amd.form["AnsweredBy"] == "human" == call.answered_by
    assert amd.form["CallSid"] == sid and 1_000 <= int(amd.form["MachineDetectionDuration"]) <= 3_000

    connected, start = server.ws_messages[:2]
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start["event"] == "start" and start["sequenceNumber"] == "1"
    assert start["streamSid"] == call.stream_sid and start["streamSid"].startswith("MZ")
    assert start["start"] == {
        "accountSid": double.account_sid, "streamSid": call.stream_sid, "callSid": sid, "tracks": ["inbound"],
        "customParameters": {"token": "from-twiml", "lead": "42"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}
    media = server.events("media")
    assert media[0]["media"]["chunk"] == "1" and media[1]["media"]["timestamp"] == "20"
    assert all(len(base64.b64decode(m["media"]["payload"])) == 160 for m in media)
    assert media[0]["media"]["track"] == "inbound" and media[0]["sequenceNumber"] == "2"
    numbers = [int(m["sequenceNumber"]) for m in server.ws_messages[1:]]
    assert numbers == list(range(1, len(numbers) + 1))

    reply_packets = len(await flite_packets(GOODBYE, "kal16"))
    assert call.received == {"media": -(-reply_packets // 10), "mark": 1}
    assert server.events("mark") == [{"event": "mark", "sequenceNumber": server.events("mark")[0]["sequenceNumber"],
                                      "streamSid": call.stream_sid, "mark": {"name": "reply-1"}}]
    assert call.marks_echoed == ["reply-1"]
    (stop,) = server.events("stop")
    assert stop["stop"] == {"accountSid": double.account_sid, "callSid": sid}
    assert server.ws_messages[-1] == stop and call.ws_close_code is None
    assert call.stats.packets_to_lead > 50 and call.stats.clears == 0


async def test_voicemail_is_machine_end_beep_and_the_sdk_hangs_up(double: TwilioDouble, server: Server) -> None:
    server.reply = None
    sid = await dial(double, server, to=VOICEMAIL)
    await eventually(lambda: server.hooks("/amd"))
    (amd,) = server.hooks("/amd")
    assert amd.form["AnsweredBy"] == "machine_end_beep" and amd.valid
    assert 7_000 <= int(amd.form["MachineDetectionDuration"]) <= 12_000  # greeting, beep, 1.2 s
    updated = await asyncio.to_thread(client(double).calls(sid).update, status="completed")
    assert updated.status == "completed" and updated.answered_by == "machine_end_beep"
    result = await double.finished(sid)
    assert result["hung_up_by"] == "agent" and result["status"] == "completed"
    assert server.events("stop") and double.calls[sid].ws_close_code is None
    with pytest.raises(TwilioRestException) as raised:  # it is over: nothing left to hang up
        await asyncio.to_thread(client(double).calls(sid).update, status="completed")
    assert raised.value.status == 400 and raised.value.code == 21220


async def test_no_answer_and_busy(double: TwilioDouble, server: Server) -> None:
    no_answer, busy = await dial(double, server, to=NO_ANSWER), await dial(double, server, to=BUSY)
    assert (await double.finished(no_answer))["status"] == "no-answer"
    assert (await double.finished(busy))["status"] == "busy"
    assert double.calls[no_answer].statuses == ["initiated", "ringing", "no-answer"]
    assert double.calls[busy].statuses == ["initiated", "busy"]
    assert not server.hooks("/voice") and not server.hooks("/amd")
    final = next(s.form for s in server.hooks("/status") if s.form["CallStatus"] == "no-answer")
    assert final["CallDuration"] == "0" and final["SipResponseCode"] == "487"


async def test_a_short_timeout_is_no_answer(double: TwilioDouble, server: Server) -> None:
    sid = await dial(double, server, timeout=0.2)  # the lead would pick up after 0.4 s
    assert (await double.finished(sid))["status"] == "no-answer"


async def test_hanging_up_while_ringing_cancels(double: TwilioDouble, server: Server) -> None:
    double.ring_s = 20.0
    sid = await dial(double, server)
    await eventually(lambda: double.calls[sid].status == "ringing")
    updated = await asyncio.to_thread(client(double).calls(sid).update, status="canceled")
    assert updated.status == "canceled"
    assert (await double.finished(sid))["status"] == "canceled"
    assert double.calls[sid].statuses == ["initiated", "ringing", "canceled"]


async def test_the_server_closing_the_socket_completes_the_call(double: TwilioDouble, server: Server) -> None:
    server.reply, server.close_after_mark = "Hi, this is Joe from Sunrise Realty.", True
    server.bogus_stream = True
    sid = await dial(double, server, status_callback_event=None)
    result = await double.finished(sid)
    call = double.calls[sid]
    assert result["status"] == "completed" and result["hung_up_by"] == "agent"
    assert call.ws_close_code == 1000 and call.marks_echoed == ["reply-1"]
    assert not server.events("stop") and call.received["<wrong streamSid>"] == 1
    assert call.statuses == ["completed"]  # no StatusCallbackEvent: only the final callback


async def test_clear_drops_the_reply_and_releases_its_mark(double: TwilioDouble, server: Server) -> None:
    server.clear_reply, server.close_after_mark = True, True
    sid = await dial(double, server)
    result = await double.finished(sid)
    call = double.calls[sid]
    assert result["clears"] == 1 and call.received["clear"] == 1
    assert call.marks_echoed == ["reply-1"] and call.stats.packets_to_lead < 10  # cleared at once


async def test_dtmf_follows_the_first_mark(double: TwilioDouble, server: Server) -> None:
    server.reply, server.close_after_mark = "Hi, this is Joe.", False
    sid = await dial(double, server, to=DTMF, time_limit=8)  # Twilio ends it at the time limit
    result = await double.finished(sid)
    assert result["status"] == "completed" and result["hung_up_by"] == "agent"
    assert double.calls[sid].dtmf_sent == ["9"]
    (dtmf,) = server.events("dtmf")
    assert dtmf["dtmf"] == {"track": "inbound_track", "digit": "9"}
    events = [m["event"] for m in server.ws_messages]
    assert events.index("mark") < events.index("dtmf") < events.index("stop")


async def test_inline_twiml_without_a_stream_just_completes(double: TwilioDouble, server: Server) -> None:
    twiml = "<Response><Say>Hello</Say><Hangup/></Response>"
    sid = await dial(double, server, url=None, twiml=twiml)
    result = await double.finished(sid)
    assert result["status"] == "completed" and double.calls[sid].twiml == twiml
    assert not server.hooks("/voice") and not server.ws_messages


async def test_a_failing_url_fails_the_call(double: TwilioDouble, server: Server) -> None:
    server.twiml_status = 500
    sid = await dial(double, server)
    result = await double.finished(sid)
    assert result["status"] == "failed" and result["lead_said"] == []
    assert double.calls[sid].statuses[-1] == "failed"


# --- knobs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["forged", "missing"])
async def test_bad_signatures_are_rejected(double: TwilioDouble, server: Server, mode: str) -> None:
    double.signature = mode
    sid = await dial(double, server, to=NO_ANSWER)
    await double.finished(sid)
    assert server.seen and not any(s.valid for s in server.seen)
    assert all(("X-Twilio-Signature" in s.headers) == (mode == "forged") for s in server.seen)


async def test_duplicate_callbacks_repeat_with_the_same_idempotency_token(double: TwilioDouble,
                                                                          server: Server) -> None:
    double.duplicate_callbacks = True
    sid = await dial(double, server, to=NO_ANSWER)
    await double.finished(sid)
    statuses = server.hooks("/status")
    assert [s.form["CallStatus"] for s in statuses] == ["initiated"] * 2 + ["ringing"] * 2 + ["no-answer"] * 2
    for first, again in zip(statuses[::2], statuses[1::2], strict=True):
        assert first.form == again.form and again.valid
        assert first.headers["I-Twilio-Idempotency-Token"] == again.headers["I-Twilio-Idempotency-Token"]
    assert len({s.headers["I-Twilio-Idempotency-Token"] for s in statuses}) == 3


async def test_shuffled_callbacks_arrive_after_the_end_final_first(double: TwilioDouble, server: Server) -> None:
    double.shuffle_callbacks = True
    server.reply, server.close_after_mark = "Hi, this is Joe.", True
    sid = await dial(double, server)
    await eventually(lambda: double.calls[sid].status == "in-progress")
    assert not server.hooks("/status")  # held back while the call runs
    await double.finished(sid)
    statuses = [s.form for s in server.hooks("/status")]
    assert statuses[0]["CallStatus"] == "completed" and statuses[0]["SequenceNumber"] == "3"
    assert sorted(s["CallStatus"] for s in statuses) == ["completed", "in-progress", "initiated", "ringing"]
    assert sorted(s["SequenceNumber"] for s in statuses) == ["0", "1", "2", "3"]


async def test_media_token_replaces_the_twiml_token(double: TwilioDouble, server: Server) -> None:
    double.media_token = "stolen"
    server.reply, server.close_after_mark = "Hi.", True
    sid = await dial(double, server)
    await double.finished(sid)
    assert server.events("start")[0]["start"]["customParameters"] == {"token": "stolen", "lead": "42"}


async def test_get_status_callbacks_are_signed_over_the_query(double: TwilioDouble, server: Server) -> None:
    sid = await dial(double, server, to=NO_ANSWER, status_callback_method="GET")
    await double.finished(sid)
    assert [s.form["CallStatus"] for s in server.hooks("/status")] == ["initiated", "ringing", "no-answer"]
    assert all(s.valid for s in server.hooks("/status"))


# --- pieces --------------------------------------------------------------------------------
def test_stream_of_reads_connect_stream() -> None:
    twiml = ('<Response><Connect><Stream url="ws://127.0.0.1:1/m"><Parameter name="a" value="1"/>'
             '</Stream></Connect></Response>')
    assert stream_of(twiml) == ("ws://127.0.0.1:1/m", {"a": "1"})
    assert stream_of("<Response><Hangup/></Response>") is None
    for bad in ("<Response>", "<Play>x</Play>", '<Response><Connect><Stream url="http://x"/></Connect></Response>'):
        with pytest.raises(ValueError):
            stream_of(bad)


def test_amd_gives_up_on_silence() -> None:
    silence = b"\xff" * 160
    detector = AmdDetector(AmdSettings(), machine=False)
    verdicts = [detector.feed(silence, agent_speaking=False) for _ in range(300)]
    assert verdicts[249] == "unknown" and detector.elapsed_ms == 5_000
    assert [v for v in verdicts if v] == ["unknown"]


# --- the double in its own process ---------------------------------------------------------
async def test_the_double_runs_in_its_own_process(server: Server) -> None:
    personas = {NO_ANSWER: LeadScript("Nora Away", answers={"_unanswered": "no-answer"})}
    async with DoubleProcess(personas, speed=4, ring_s=0.2) as remote:
        sdk = Client(remote.account_sid, remote.auth_token)
        sdk.api.base_url = remote.base_url
        call = await asyncio.to_thread(sdk.calls.create, to=NO_ANSWER, from_=CALLER, url=server.url + "/voice",
                                       status_callback=server.url + "/status")
        reports = await remote.reports()  # waits for every call to end
        assert reports[call.sid]["status"] == "no-answer"
        wrong = Client(remote.account_sid, "wrong")
        wrong.api.base_url = remote.base_url
        with pytest.raises(TwilioRestException) as raised:  # the control routes leave Twilio's auth alone
            await asyncio.to_thread(wrong.calls(call.sid).fetch)
        assert raised.value.status == 401
