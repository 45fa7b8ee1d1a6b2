"""Leads from Follow Up Boss webhooks and from website forms, through the same validation as
``POST /v1/leads``."""

import base64
import hashlib
import hmac
import json

import aiohttp
import pytest
from sqlalchemy import select

from reauto.config import FollowUpBossSettings, FormSettings, IntakeSettings, TwilioSettings, load_settings
from reauto.errors import ConfigError
from reauto.intake import followupboss as fub
from reauto.intake.auth import Forbidden, Unauthorized
from reauto.intake.forms import form_record
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.server import WebServer
from reauto.store.engine import session_factory
from reauto.store.models import Campaign, ConsentRecord, Lead
from reauto.telephony.twilio import CallRegistry

from .fakes.crm.followupboss import FakeFollowUpBoss, person, webhook

TOKEN = "form-token-0123456789"
DISCLOSURE = ("By checking this box I give my electronic signature and prior express written consent to receive "
              "calls and text messages from Lone Star Realty, including calls made with an artificial voice, at "
              "the number provided. Consent is not a condition of purchase.")
WEBSITE = FormSettings(campaign="web", token=TOKEN, consent_field="tcpa", consent_text=DISCLOSURE,
                       honeypot="website", fields={"phone": "your-phone", "first_name": "fname", "last_name": "lname"})


# --- Follow Up Boss -----------------------------------------------------------------------------

@pytest.mark.unit
def test_fub_signature_is_hmac_of_the_base64_body():
    body = b'{"event":"peopleCreated","resourceIds":[1]}'
    expected = hmac.new(b"key", base64.b64encode(body), hashlib.sha256).hexdigest()
    assert fub.signature("key", body) == expected
    fub.verify({"fub-signature": expected}, body, "key")
    fub.verify({"fub-signature": expected.upper()}, body, "key")
    with pytest.raises(Unauthorized):
        fub.verify({}, body, "key")
    with pytest.raises(Forbidden, match="does not match"):
        fub.verify({"fub-signature": expected}, body + b" ", "key")
    with pytest.raises(Forbidden, match="system_key is not set"):
        fub.verify({"fub-signature": expected}, body, "")


@pytest.mark.unit
def test_a_person_becomes_a_lead_record():
    settings = FollowUpBossSettings(consent_tags=["TCPA Opt-In"], consent_text=DISCLOSURE)
    p = person(7, "Jane", "Doe", "(512) 555-0123", tags=["buyer", "tcpa opt-in"], email="jane@example.com")
    p["phones"].insert(0, {"value": "(512) 555-0000", "type": "home", "status": "Bad", "isPrimary": 0})
    record = fub.person_to_record(p, settings)
    assert record == {"external_id": "fub:7", "first_name": "Jane", "last_name": "Doe", "phone": "(512) 555-0123",
                      "email": "jane@example.com", "address": "1 Main St", "city": "Austin", "state": "TX",
                      "zip": "78701", "source": "followupboss:Zillow", "consent": "yes", "consent_text": DISCLOSURE,
                      "consent_method": "Follow Up Boss tag 'TCPA Opt-In'"}
    assert "consent" not in fub.person_to_record(person(8, "Al", "Bo", "(512) 555-0124"), settings)


class Server:
    """reauto serve's app with intake from Follow Up Boss and a website form."""

    def __init__(self, engine, woken, fub_settings=None, forms=None):
        client = fub.FollowUpBoss(fub_settings) if fub_settings is not None else None
        intake = IntakeSettings(forms=forms or {})
        ctx = ServeContext(TwilioSettings(), CallRegistry(""), session_factory(engine), intake=intake,
                           engine=engine, on_intake=woken.append, followupboss=client)
        self.client = client
        self.web = WebServer(create_app(ctx), port=0)

    async def __aenter__(self):
        await self.web.start()
        self.http = aiohttp.ClientSession()
        self.base = f"http://127.0.0.1:{self.web.port}"
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.web.close()
        if self.client is not None:
            await self.client.close()

    async def deliver(self, body, headers):
        async with self.http.post(f"{self.base}/v1/webhooks/followupboss", data=body, headers=headers) as r:
            return r.status, await r.json()


async def leads(engine):
    async with session_factory(engine)() as s:
        return list((await s.execute(select(Lead).order_by(Lead.id))).scalars())


async def consents(engine):
    async with session_factory(engine)() as s:
        return list((await s.execute(select(ConsentRecord).order_by(ConsentRecord.id))).scalars())


@pytest.fixture
async def crm():
    fake = FakeFollowUpBoss()
    await fake.start()
    yield fake
    await fake.close()


def fub_settings(crm, **extra):
    return FollowUpBossSettings(api_key=crm.api_key, system=crm.system, system_key=crm.system_key, base_url=crm.url,
                                intake_campaign="web", consent_tags=["TCPA Opt-In"], consent_text=DISCLOSURE,
                                timeout_s=1.0, retries=1, **extra)


@pytest.mark.integration
async def test_fub_webhook_creates_verified_people_once(pg_engine, crm):
    async with session_factory(pg_engine).begin() as s:
        s.add(Campaign(name="web"))
    crm.people[1841] = person(1841, "Jane", "Doe", "(512) 555-0123", tags=["TCPA Opt-In"])
    crm.people[1842] = person(1842, "Lee", "Park", "(214) 555-0119", stage="Trash")
    woken: list[int] = []
    async with Server(pg_engine, woken, fub_settings(crm, intake_stages=["Lead"])) as api:
        body, headers = webhook(crm.system_key, "peopleCreated", [1841, 1842, 999], event_id="ev-1")
        assert (await api.deliver(body, {"Content-Type": "application/json"}))[0] == 401
        assert (await api.deliver(body, {**headers, "FUB-Signature": "0" * 64}))[0] == 403
        assert await leads(pg_engine) == [] and crm.requests == []  # nothing fetched, nothing stored
        status, answer = await api.deliver(body, headers)
        assert status == 200, answer
        assert [c["index"] for c in answer["created"]] == [0]
        assert {s["person"]: s["reason"] for s in answer["skipped"]} == {
            1842: "stage 'Trash' is not in [followupboss] intake_stages", 999: "no such person in Follow Up Boss"}
        # the same delivery again is acknowledged without effect; an update of the person too
        assert (await api.deliver(body, headers))[1].get("duplicate") is True
        body2, headers2 = webhook(crm.system_key, "peopleUpdated", [1841])
        status, again = await api.deliver(body2, headers2)
        assert status == 200 and again["created"] == [] and len(again["already_present"]) == 1
        other, other_headers = webhook(crm.system_key, "notesCreated", [5])
        assert (await api.deliver(other, other_headers))[1]["ignored"]
    [lead] = await leads(pg_engine)
    assert (lead.external_id, lead.phone_e164, lead.source, lead.priority) == (
        "fub:1841", "+15125550123", "followupboss:Zillow", 100)
    [consent] = await consents(pg_engine)
    assert consent.kind == "prior_express_written" and consent.covers_artificial_voice and consent.covers_texts
    assert "Follow Up Boss tag" in consent.method
    assert woken == [lead.campaign_id]
    sent = crm.requests[0]
    assert sent["query"] == {"fields": "allFields"} and sent["headers"]["X-System"] == "reauto"


@pytest.mark.integration
async def test_fub_down_answers_503_so_the_delivery_is_retried_and_then_processed(pg_engine, crm):
    async with session_factory(pg_engine).begin() as s:
        s.add(Campaign(name="web"))
    crm.people[5] = person(5, "Ana", "Ruiz", "(512) 555-0155")
    async with Server(pg_engine, [], fub_settings(crm)) as api:
        body, headers = webhook(crm.system_key, "peopleCreated", [5], event_id="ev-9")
        crm.failures = [503, 500]  # both attempts fail
        status, answer = await api.deliver(body, headers)
        assert status == 503 and "HTTP 500" in answer["detail"]
        assert await leads(pg_engine) == []
        crm.failures = [429]  # rate limited once (Retry-After: 0), then served
        status, answer = await api.deliver(body, headers)  # the same event delivered again
        assert status == 200 and len(answer["created"]) == 1
        crm.delay_s = 1.5  # slower than the 1 s timeout, on both attempts
        body3, headers3 = webhook(crm.system_key, "peopleCreated", [5])
        status, answer = await api.deliver(body3, headers3)
        assert status == 503 and "timed out after 1.0 s" in answer["detail"]
    assert len(await leads(pg_engine)) == 1


@pytest.mark.integration
async def test_fub_receiver_is_off_without_an_intake_campaign(pg_engine):
    async with Server(pg_engine, []) as api:
        body, headers = webhook("k", "peopleCreated", [1])
        assert (await api.deliver(body, headers))[0] == 404


# --- website forms ------------------------------------------------------------------------------

@pytest.mark.unit
def test_form_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown lead fields telephone"):
        load_settings(env={"REAUTO_INTAKE_FORMS": json.dumps(
            {"w": {"campaign": "c", "token": TOKEN, "fields": {"telephone": "x"}}})})
    with pytest.raises(ConfigError, match="consent comes from consent_field"):
        load_settings(env={"REAUTO_INTAKE_FORMS": json.dumps(
            {"w": {"campaign": "c", "token": TOKEN, "fields": {"consent": "tcpa"}}})})
    with pytest.raises(ConfigError, match="token"):
        load_settings(env={"REAUTO_INTAKE_FORMS": json.dumps({"w": {"campaign": "c", "token": "short"}})})


@pytest.mark.unit
def test_a_visitor_cannot_assert_consent_without_the_checkbox():
    record = form_record("website", WEBSITE, {"your-phone": "5125550123", "TCPA Consent": "yes", "consent": "yes",
                                              "Consent IP": "6.6.6.6", "token": TOKEN, "comments": "hi"})
    assert record == {"your-phone": "5125550123", "comments": "hi"}
    assert form_record("website", WEBSITE, {"your-phone": "5125550123", "website": "http://spam"}) is None


@pytest.mark.integration
async def test_a_form_post_becomes_a_lead_with_its_consent_evidence(pg_engine):
    async with session_factory(pg_engine).begin() as s:
        s.add(Campaign(name="web"))
    woken: list[int] = []
    thanks = WEBSITE.model_copy(update={"redirect": "https://example.com/thanks"})
    async with Server(pg_engine, woken, forms={"website": WEBSITE, "landing": thanks}) as api:
        url = f"{api.base}/v1/forms/website"
        form = {"fname": "Jane", "lname": "Doe", "your-phone": "(512) 555-0123", "state": "TX", "tcpa": "on",
                "comments": "call after 5", "bedrooms": "3"}
        async with api.http.post(url, data=form) as r:
            assert r.status == 401
        async with api.http.post(url, data=form, params={"token": "x" * 20}) as r:
            assert r.status == 403
        assert await leads(pg_engine) == []
        headers = {"Referer": "https://example.com/buy", "User-Agent": "Mozilla/5.0 test"}
        async with api.http.post(url, data=form, params={"token": TOKEN}, headers=headers) as r:
            assert r.status == 200, await r.text()
            assert len((await r.json())["created"]) == 1
        # JSON works too, with the token in a header; the honeypot drops bots silently
        async with api.http.post(url, json={**form, "your-phone": "(214) 555-0119", "website": "spam.example"},
                                 headers={"X-Reauto-Form-Token": TOKEN}) as r:
            assert r.status == 200 and (await r.json())["created"] == []
        async with api.http.post(url, data=aiohttp.FormData({"fname": "x"}, default_to_multipart=True),
                                 params={"token": TOKEN}) as r:
            assert r.status == 415
        # a browser form with a thank-you page: 303 there, with the reason when the lead is unusable
        landing = f"{api.base}/v1/forms/landing"
        async with api.http.post(landing, data={**form, "your-phone": "(512) 555-0124"}, params={"token": TOKEN},
                                 allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "https://example.com/thanks"
        async with api.http.post(landing, data={**form, "your-phone": "12"}, params={"token": TOKEN},
                                 allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("https://example.com/thanks?error=")
        async with api.http.post(f"{api.base}/v1/forms/nosuch", data=form, params={"token": TOKEN}) as r:
            assert r.status == 404
    stored = await leads(pg_engine)
    assert [(lead.first_name, lead.phone_e164, lead.source) for lead in stored] == [
        ("Jane", "+15125550123", "form:website"), ("Jane", "+15125550124", "form:landing")]
    assert stored[0].notes == "call after 5" and stored[0].custom.get("bedrooms") == "3"
    consent = (await consents(pg_engine))[0]
    assert consent.kind == "prior_express_written" and consent.covers_artificial_voice and consent.covers_texts
    assert "https://example.com/buy" in consent.evidence and "127.0.0.1" in consent.evidence
    assert consent.method == "web form website"
    assert len(woken) == 2
