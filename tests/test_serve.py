"""``reauto serve``'s app on a real socket: signatures, replays, media tokens, lifecycle, health."""

import asyncio
import json
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from reauto.breaker import Breaker
from reauto.config import TwilioSettings
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.security import ReplayGuard, signed_url, valid_signature
from reauto.serve.server import WebServer
from reauto.store.engine import ping, session_factory
from reauto.store.models import Call, CallEvent, CallStatus, Campaign, Lead
from reauto.telephony.lifecycle import advance, parse_twilio_status
from reauto.telephony.twilio import CallRegistry, mask_number

TOKEN = "test-auth-token"
PUBLIC = "https://reauto.example.com"
S = CallStatus


# --- the state machine -----------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("current,new,after", [
    (S.QUEUED, S.RINGING, S.RINGING),
    (S.RINGING, S.IN_PROGRESS, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.RINGING, S.IN_PROGRESS),      # late ringing: ignored
    (S.IN_PROGRESS, S.COMPLETED, S.COMPLETED),
    (S.COMPLETED, S.IN_PROGRESS, S.COMPLETED),      # answered after completed: terminal stays
    (S.COMPLETED, S.VOICEMAIL, S.VOICEMAIL),        # refined once a machine is known
    (S.VOICEMAIL, S.COMPLETED, S.VOICEMAIL),
    (S.QUEUED, S.NO_ANSWER, S.NO_ANSWER),
    (S.BUSY, S.COMPLETED, S.BUSY),
    (S.RINGING, S.RINGING, S.RINGING),
])
def test_lifecycle_only_moves_forward(current, new, after):
    assert advance(current, new) == after


@pytest.mark.unit
def test_twilio_statuses_map_and_unknown_ones_are_refused():
    assert parse_twilio_status("initiated") == S.QUEUED
    assert parse_twilio_status("no-answer") == S.NO_ANSWER
    with pytest.raises(ValueError, match="unknown Twilio CallStatus 'exploded'"):
        parse_twilio_status("exploded")


# --- signatures, proxies, replays ------------------------------------------------------------

@pytest.mark.unit
def test_signed_url_uses_the_public_url_or_a_trusted_proxy():
    assert signed_url("/twilio/status/7?x=1", public_url=PUBLIC, scheme="http", host="10.0.0.5:8080") == \
        f"{PUBLIC}/twilio/status/7?x=1"
    assert signed_url("/a", scheme="http", host="10.0.0.5", forwarded_proto="https",
                      forwarded_host="calls.example.com", trust_proxy=True) == "https://calls.example.com/a"
    # an untrusted proxy's headers are ignored
    assert signed_url("/a", scheme="http", host="10.0.0.5", forwarded_proto="https",
                      forwarded_host="evil.example.com") == "http://10.0.0.5/a"


@pytest.mark.unit
def test_signature_check_and_replay_guard():
    params = {"CallSid": "CA1", "CallStatus": "ringing"}
    good = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/x", params)
    assert valid_signature(TOKEN, f"{PUBLIC}/x", params, good)
    assert not valid_signature(TOKEN, f"{PUBLIC}/y", params, good)
    assert not valid_signature(TOKEN, f"{PUBLIC}/x", {**params, "CallStatus": "completed"}, good)
    assert not valid_signature(TOKEN, f"{PUBLIC}/x", params, None)
    assert not valid_signature("", f"{PUBLIC}/x", params, good)
    guard = ReplayGuard(max_age_s=60, remember=2)
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert not guard.stale(format_datetime(now - timedelta(seconds=30)), now=now.timestamp())
    assert guard.stale(format_datetime(now - timedelta(hours=2)), now=now.timestamp())
    assert guard.stale("not a date", now=now.timestamp())
    assert not guard.stale(None)
    assert not guard.seen("a") and guard.seen("a")
    assert not guard.seen("b") and not guard.seen("c") and not guard.seen("a")  # forgotten after 2
    assert mask_number("+15125550123") == "+1512•••0123"


# --- the app on a socket ---------------------------------------------------------------------

class Server:
    """The app on 127.0.0.1 plus a signing client, as Twilio would call it."""

    def __init__(self, ctx: ServeContext) -> None:
        self.ctx = ctx
        self.web = WebServer(create_app(ctx), port=0)

    async def __aenter__(self):
        await self.web.start()
        self.base = f"http://127.0.0.1:{self.web.port}"
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.web.close()

    async def post(self, path, form, *, signature="valid", headers=None):
        sig = RequestValidator(TOKEN if signature != "forged" else "wrong").compute_signature(PUBLIC + path, form)
        h = {"X-Twilio-Signature": sig} if signature != "missing" else {}
        async with self.http.post(self.base + path, data=form, headers={**h, **(headers or {})}) as r:
            return r.status, await r.text()

    async def media(self, call_ref, token, *, call_sid=None):
        ws = await self.http.ws_connect(f"{self.base.replace('http', 'ws')}/media/{call_ref}")
        await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {"accountSid": "AC1", "streamSid": "MZ1", "callSid": call_sid or "CA1", "tracks": ["inbound"],
                 "customParameters": {} if token is None else {"token": token},
                 "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}
        await ws.send_str(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": start}))
        return ws


def context(registry=None, **kw):
    settings = TwilioSettings(auth_token=TOKEN, public_url=PUBLIC, max_body_bytes=2048)
    return ServeContext(settings, registry or CallRegistry(PUBLIC), **kw)


@pytest.mark.integration
async def test_webhooks_need_a_valid_signature_for_their_own_url():
    registry = CallRegistry(PUBLIC)
    pending = registry.open("7")
    form = {"CallSid": "CA7", "CallStatus": "in-progress", "AccountSid": "AC1"}
    async with Server(context(registry)) as srv:
        status, body = await srv.post("/twilio/twiml/7", form)
        assert status == 200
        assert '<Stream url="wss://reauto.example.com/media/7">' in body
        assert f'<Parameter name="token" value="{pending.token}"/>' in body
        assert (await srv.post("/twilio/twiml/7", form, signature="forged"))[0] == 403
        assert (await srv.post("/twilio/twiml/7", form, signature="missing"))[0] == 403
        # a signature captured on one call's URL, replayed on another's
        sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/twiml/7", form)
        async with srv.http.post(srv.base + "/twilio/twiml/8", data=form, headers={"X-Twilio-Signature": sig}) as r:
            assert r.status == 403
        # ... or with other parameters
        async with srv.http.post(srv.base + "/twilio/twiml/7", data={**form, "To": "+15125550000"},
                                 headers={"X-Twilio-Signature": sig}) as r:
            assert r.status == 403
        # a callback replayed long after it was sent
        old = format_datetime(datetime.now(UTC) - timedelta(hours=3))
        assert (await srv.post("/twilio/status/7", {**form, "Timestamp": old}))[0] == 403
        # an unknown call is hung up, and bodies over the limit are refused
        assert "<Hangup/>" in (await srv.post("/twilio/twiml/99", form))[1]
        assert (await srv.post("/twilio/status/7", {**form, "Pad": "x" * 4000}))[0] == 413
        assert (await srv.post("/twilio/status/7", {**form, "CallStatus": "exploded"}))[0] == 400


@pytest.mark.integration
async def test_media_stream_needs_the_calls_token_once():
    registry = CallRegistry(PUBLIC)
    pending = registry.open("7")
    pending.sid = "CA7"
    async with Server(context(registry)) as srv:
        for token in (None, "wrong-token"):
            ws = await srv.media("7", token, call_sid="CA7")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008
        ws = await srv.media("7", pending.token, call_sid="CA7")
        channel = await asyncio.wait_for(pending.media, 5)
        assert (channel.stream_sid, channel.call_sid) == ("MZ1", "CA7")
        again = await srv.media("7", pending.token, call_sid="CA7")  # a reused token
        msg = await again.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and again.close_code == 1008
        channel.done.set()  # the dialer is done: the server closes the stream
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1000
        # a stream that never starts is closed too
        srv.ctx.media_start_timeout_s = 0.2
        silent = await srv.http.ws_connect(f"{srv.base.replace('http', 'ws')}/media/7")
        msg = await silent.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and silent.close_code == 1008


async def _call_row(sessions):
    async with sessions.begin() as s:
        camp = Campaign(name="serve")
        s.add(camp)
        await s.flush()
        lead = Lead(campaign_id=camp.id, phone_e164="+15125550100")
        s.add(lead)
        await s.flush()
        call = Call(campaign_id=camp.id, lead_id=lead.id, provider="twilio", status=CallStatus.QUEUED)
        s.add(call)
        await s.flush()
        return call.id


@pytest.mark.integration
async def test_duplicate_and_out_of_order_callbacks_leave_one_correct_record(pg_engine):
    sessions = session_factory(pg_engine)
    call_id = await _call_row(sessions)
    registry = CallRegistry(PUBLIC)
    pending = registry.open(str(call_id))
    path = f"/twilio/status/{call_id}"
    base = {"CallSid": "CA9", "AccountSid": "AC1"}
    async with Server(context(registry, sessions=sessions)) as srv:
        # completed arrives first, then the earlier statuses, each twice (one with Twilio's retry token)
        for status, seq in (("completed", "3"), ("in-progress", "2"), ("ringing", "1"), ("completed", "3")):
            assert (await srv.post(path, {**base, "CallStatus": status, "SequenceNumber": seq,
                                          "CallDuration": "42"} if status == "completed" else
                                   {**base, "CallStatus": status, "SequenceNumber": seq}))[0] == 204
            assert (await srv.post(path, {**base, "CallStatus": status, "SequenceNumber": seq},
                                   headers={"I-Twilio-Idempotency-Token": f"tok-{seq}"}))[0] == 204
        assert (await srv.post(path, {**base, "CallStatus": "ringing"},
                               headers={"I-Twilio-Idempotency-Token": "tok-1"}))[0] == 204  # seen: no effect
    async with sessions() as s:
        call = await s.get(Call, call_id)
        events = [e.type for e in (await s.execute(select(CallEvent).where(CallEvent.call_id == call_id))).scalars()]
    assert call.status == CallStatus.COMPLETED and call.provider_sid == "CA9"
    assert call.answered_at is not None and call.ended_at is not None
    assert sorted(events) == ["status:completed", "status:in-progress", "status:ringing"]
    assert pending.final.result() == "completed" and pending.duration_s == 42.0


@pytest.mark.integration
async def test_amd_callback_reaches_the_waiting_call_and_the_store(pg_engine):
    sessions = session_factory(pg_engine)
    call_id = await _call_row(sessions)
    registry = CallRegistry(PUBLIC)
    pending = registry.open(str(call_id))
    async with Server(context(registry, sessions=sessions)) as srv:
        form = {"CallSid": "CA9", "AnsweredBy": "machine_end_beep", "MachineDetectionDuration": "4100"}
        assert (await srv.post(f"/twilio/amd/{call_id}", form))[0] == 204
        assert (await srv.post(f"/twilio/amd/{call_id}", form, signature="forged"))[0] == 403
    assert pending.amd.result() == "machine" and pending.answered_by == "machine"
    async with sessions() as s:
        amd = (await s.execute(select(CallEvent).where(CallEvent.type == "amd"))).scalar_one()
    assert amd.payload == {"answered_by": "machine_end_beep", "duration_ms": "4100"}


@pytest.mark.integration
async def test_health_readiness_metrics_and_docs(pg_engine):
    breaker = Breaker(threshold=1, reset_s=60, name="twilio")

    async def redis_down():
        raise ConnectionError("redis at 127.0.0.1:1 refused")

    checks = {"database": lambda: ping(pg_engine)}
    async with Server(context(checks=checks, breakers=[breaker], live=lambda: [{"call_id": 1}])) as srv:
        async with srv.http.get(srv.base + "/healthz") as r:
            assert r.status == 200 and (await r.json()) == {"status": "ok"}
        async with srv.http.get(srv.base + "/readyz") as r:
            body = await r.json()
            assert r.status == 200 and body["checks"] == {"database": "ok", "breaker:twilio": "closed"}
        breaker.failure()
        srv.ctx.checks["redis"] = redis_down
        async with srv.http.get(srv.base + "/readyz") as r:
            body = await r.json()
            assert r.status == 503 and body["checks"]["breaker:twilio"] == "open"
            assert body["checks"]["redis"].startswith("failed: ConnectionError")
        async with srv.http.get(srv.base + "/metrics") as r:
            assert r.status == 200 and "reauto_calls_placed" in await r.text()
        async with srv.http.get(srv.base + "/live") as r:
            assert (await r.json()) == {"calls": [{"call_id": 1}]}
        async with srv.http.get(srv.base + "/openapi.json") as r:
            spec = await r.json()
        assert {"/twilio/twiml/{call_id}", "/twilio/status/{call_id}", "/twilio/amd/{call_id}", "/healthz",
                "/readyz", "/metrics"} <= set(spec["paths"])
        status_body = spec["paths"]["/twilio/status/{call_id}"]["post"]["requestBody"]
        assert status_body["content"]["application/x-www-form-urlencoded"]["example"]["CallStatus"] == "completed"
