"""``reauto serve`` against a hostile client: control characters, chunked floods, deep JSON,
unknown calls, binary frames, odd credentials. Every answer is a 4xx with a detail, or a success."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging

import aiohttp
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from reauto.config import FollowUpBossSettings, FormSettings, IntakeSettings, TwilioSettings
from reauto.intake import followupboss as fub
from reauto.logfilter import RedactingFilter
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.guard import call_number, parse_json, BadBody
from reauto.serve.server import WebServer
from reauto.store.engine import session_factory
from reauto.store.models import Campaign, Lead
from reauto.telephony.twilio import CallRegistry

TOKEN = "test-auth-token"
PUBLIC = "https://reauto.example.com"
KEY = "intake-key-1"
FORM_TOKEN = "form-token-0123456789"
SYSTEM_KEY = "fub-system-key"
FORM = FormSettings(campaign="web", token=FORM_TOKEN, fields={"phone": "your-phone"})


class Hostile:
    """The app on a socket, with intake, a form and Follow Up Boss webhooks, and a raw client."""

    def __init__(self, engine, *, on_intake=None, fub_base="http://127.0.0.1:9"):
        fub_settings = FollowUpBossSettings(api_key="k", system="reauto", system_key=SYSTEM_KEY, base_url=fub_base,
                                            intake_campaign="web", timeout_s=0.5, retries=1)
        self.client = fub.FollowUpBoss(fub_settings)
        self.registry = CallRegistry(PUBLIC)
        self.ctx = ServeContext(
            TwilioSettings(auth_token=TOKEN, public_url=PUBLIC, max_body_bytes=4096), self.registry,
            session_factory(engine), intake=IntakeSettings(api_keys=[KEY], max_body_bytes=200_000, forms={"w": FORM}),
            engine=engine, on_intake=on_intake, followupboss=self.client, media_start_timeout_s=2.0)
        self.web = WebServer(create_app(self.ctx), port=0)

    async def __aenter__(self):
        await self.web.start()
        self.base = f"http://127.0.0.1:{self.web.port}"
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.web.close()
        await self.client.close()

    async def leads(self, body, *, key=KEY, campaign="web", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": "application/json", "Authorization": f"Bearer {key}", **(headers or {})}
        async with self.http.post(f"{self.base}/v1/leads", params={"campaign": campaign}, data=data, headers=h) as r:
            return r.status, await r.json()

    async def twilio(self, path, form):
        sig = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
        async with self.http.post(self.base + path, data=form, headers={"X-Twilio-Signature": sig}) as r:
            return r.status, await r.text()

    async def fub(self, body: bytes):
        sig = hmac.new(SYSTEM_KEY.encode(), base64.b64encode(body), hashlib.sha256).hexdigest()
        async with self.http.post(f"{self.base}/v1/webhooks/followupboss", data=body,
                                  headers={"FUB-Signature": sig, "Content-Type": "application/json"}) as r:
            return r.status, await r.json()


async def _campaign(engine, name="web"):
    async with session_factory(engine).begin() as s:
        s.add(Campaign(name=name))


async def _count(engine):
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Lead)))


def _problems(caplog):
    """Records of level ERROR or above, and any traceback a server logged."""
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.unit
def test_json_bodies_are_bounded_and_call_ids_checked():
    with pytest.raises(BadBody, match="nested deeper than 32"):
        parse_json(b"[" * 100_000)
    with pytest.raises(BadBody, match="nested deeper than 32"):
        parse_json(b"[" * 40 + b"]" * 40)
    with pytest.raises(BadBody, match="not JSON"):
        parse_json(b"\xff\xfe{")
    assert parse_json(b'{"a": NaN}')["a"] != parse_json(b'{"a": NaN}')["a"]  # kept for the lead to be rejected
    assert [call_number(x) for x in ("7", "0", "²", "٣", "99999999999", "2147483647", "-1", "7 ")] == [
        7, None, None, None, None, 2147483647, None, None]


@pytest.mark.integration
async def test_a_nul_in_one_lead_stores_both_and_says_so(pg_engine, caplog):
    await _campaign(pg_engine)
    async with Hostile(pg_engine) as srv:
        status, body = await srv.leads([{"phone": "(512) 555-0171", "notes": "a\u0000b"},
                                        {"phone": "(512) 555-0172", "first_name": "Ann"}])
        assert status == 200 and [c["index"] for c in body["created"]] == [0, 1]
        assert body["warnings"] == [{"index": 0, "field": "notes", "value": "", "reason": "control characters removed"}]
        form = {"your-phone": "(512) 555-0173", "comments": "x\x00y"}
        async with srv.http.post(f"{srv.base}/v1/forms/w", data=form, params={"token": FORM_TOKEN}) as r:
            assert r.status == 200 and len((await r.json())["created"]) == 1, await r.text()
        async with srv.http.post(f"{srv.base}/v1/forms/w", json={**form, "your-phone": ["x", {"y": 1}]},
                                 params={"token": FORM_TOKEN}) as r:
            assert r.status == 422 and (await r.json())["rejected"][0]["reason"] == "no phone number"  # a list is dropped
    assert await _count(pg_engine) == 3
    assert _problems(caplog) == []


@pytest.mark.integration
async def test_a_batch_of_500_with_one_bad_lead_stores_499_over_http(pg_engine):
    await _campaign(pg_engine)
    records = [{"phone": f"+1512555{i:04d}", "first_name": "Pat"} for i in range(500)]
    records[321]["first_name"] = float("nan")
    async with Hostile(pg_engine) as srv:
        status, body = await srv.leads(json.dumps(records).encode())  # NaN as Python writes it
    assert status == 200 and len(body["created"]) == 499
    assert body["rejected"] == [{"index": 321, "field": "first_name", "value": "NaN", "reason": "expected text, got NaN"}]
    assert await _count(pg_engine) == 499


@pytest.mark.integration
async def test_client_errors_are_4xx_with_a_detail(pg_engine, caplog):
    await _campaign(pg_engine)
    async with Hostile(pg_engine) as srv:
        status, body = await srv.leads(b"[" * 100_000)
        assert status == 400 and "nested deeper than 32 levels" in body["detail"]
        assert (await srv.fub(b"[" * 100_000))[0] == 400
        assert (await srv.leads({"phone": "5125550123"}, key="kéy"))[0] == 403  # non-ASCII credential
        assert (await srv.leads({"phone": "5125550123"}, headers={"X-Reauto-Signature": "t=²,v1=00"}, key=""))[0] \
            in (401, 403)
        assert (await srv.leads({"phone": "5125550123"}, campaign="we\x00b"))[0] == 404
        assert (await srv.leads({"leads": "x"}))[0] == 400
        async with srv.http.post(f"{srv.base}/v1/forms/w", data={"your-phone": "1"}, params={"token": "tøken"}) as r:
            assert r.status == 403
        for bad in ({"event": "peopleCreated", "resourceIds": "123"}, {"event": "peopleCreated", "resourceIds": [{}]},
                    {"event": "peopleCreated", "resourceIds": ["²"]}, {"event": ["x"]}, [1]):
            status, body = await srv.fub(json.dumps(bad).encode())
            assert status == 400 and body["detail"], bad
        assert (await srv.fub(json.dumps({"event": "peopleCreated", "resourceIds": list(range(1, 1002))}).encode())
                )[0] == 413
        for path in ("/twilio/status/²", "/twilio/status/99999999999", "/twilio/amd/-1"):
            assert (await srv.twilio(path, {"CallStatus": "ringing", "CallSid": "CA1"}))[0] == 204
        assert (await srv.twilio("/twilio/status/5", {"CallStatus": "exploded"}))[0] == 400
        async with srv.http.post(f"{srv.base}/twilio/status/5", data={"Timestamp": "Mon, 99 Foo 99999"},
                                 headers={"X-Twilio-Signature": "x", "Host": "["}) as r:
            assert r.status == 403
    assert _problems(caplog) == []


@pytest.mark.integration
async def test_chunked_bodies_are_cut_off_at_the_limit(pg_engine):
    async def chunks():
        for _ in range(10_000):  # 640 MB if the server read it all
            yield b"x" * 65536

    async with Hostile(pg_engine) as srv:
        for path, limit in (("/v1/leads?campaign=web", 200_000), ("/twilio/status/1", 4096)):
            headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            try:
                async with srv.http.post(srv.base + path, data=chunks(), headers=headers) as r:
                    assert r.status == 413 and (await r.json())["detail"] == f"body over {limit} bytes"
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                pass  # the server answered and closed while the client was still sending
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.web.port)
        writer.write(b"POST /twilio/status/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nxx")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 413")  # refused before a byte is read
        writer.close()


@pytest.mark.integration
async def test_unknown_calls_are_acknowledged_and_logged_once(pg_engine, caplog):
    caplog.set_level(logging.WARNING)
    async with Hostile(pg_engine) as srv:
        form = {"CallSid": "CA0123456789abcdef0123456789abcdef", "AnsweredBy": "human\x00", "MachineDetectionDuration": "9"}
        assert (await srv.twilio("/twilio/amd/999", form))[0] == 204
        assert (await srv.twilio("/twilio/status/999", {"CallStatus": "completed", "SequenceNumber": "\x00"}))[0] == 204
        status, twiml = await srv.twilio("/twilio/twiml/999", {"CallSid": "CA1"})
        assert status == 200 and "<Hangup/>" in twiml
    lines = [r.getMessage() for r in caplog.records if "999" in r.getMessage()]
    assert lines == ["AMD result for call 999, which the store does not have: ignored",
                     "status completed for call 999, which the store does not have: ignored",
                     "TwiML asked for call 999, which this process is not placing: hanging up"]
    assert _problems(caplog) == []


@pytest.mark.integration
async def test_a_binary_or_malformed_media_frame_closes_the_stream_without_an_error(pg_engine, caplog):
    caplog.set_level(logging.WARNING)
    async with Hostile(pg_engine) as srv:
        pending = srv.registry.open("7")
        ws_url = f"{srv.base.replace('http', 'ws')}/media/7"
        for first, code in ((b"\x00\x01binary", 1003), ("not json", 1003), ("[1, 2]", 1003),
                            ('{"event": "start", "start": "x"}', 1008),
                            ('{"event": "start", "start": {"customParameters": {"token": "tøken"}}}', 1008),
                            ('{"event": "start", "start": {"customParameters": {"token": ["x"]}}}', 1008)):
            async with srv.http.ws_connect(ws_url) as ws:
                await (ws.send_bytes(first) if isinstance(first, bytes) else ws.send_str(first))
                msg = await ws.receive(timeout=5)
                assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == code, first
        assert not pending.media.done()
    refusals = [r.getMessage() for r in caplog.records if r.name == "reauto.serve.media"]
    assert len(refusals) == 6 and "a binary frame" in refusals[0]
    assert _problems(caplog) == []


@pytest.mark.integration
async def test_an_unexpected_failure_is_one_redacted_line_and_a_500(pg_engine, caplog):
    await _campaign(pg_engine)

    def wake(_campaign_id):
        raise RuntimeError("wake-up failed for (512) 555-0188 [parameters: ('Jane', '+15125550188')]")

    async with Hostile(pg_engine, on_intake=wake) as srv:
        status, body = await srv.leads({"phone": "(512) 555-0188", "first_name": "Jane"})
        assert status == 500 and body["detail"].startswith("internal error")
        assert (await srv.leads({"phone": "(512) 555-0189"}))[0] == 500  # the server is still up
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 2 and all(r.name == "reauto.serve.guard" for r in failures)
    assert failures[0].getMessage() == "POST /v1/leads failed: RuntimeError"
    record = failures[0]
    RedactingFilter().filter(record)  # what reauto's log handler writes
    text = record.getMessage() + record.exc_text
    assert "RuntimeError" in text and "5550188" not in text and "Jane" not in text and "•••0188" in text
