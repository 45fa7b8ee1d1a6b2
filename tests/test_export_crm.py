"""HubSpot and Salesforce export targets against their loopback doubles (tests/fakes)."""

from __future__ import annotations

import copy

import httpx
import pytest

from reauto.export.targets.base import PermanentExportError, TransientExportError
from reauto.export.targets.hubspot import HubSpotTarget
from reauto.export.targets.salesforce import SalesforceTarget

from .fakes.crm.hubspot import FakeHubSpot
from .fakes.crm.salesforce import FakeSalesforce

pytestmark = pytest.mark.integration

LEAD = {"id": 42, "external_id": "z-981", "first_name": "Jane", "last_name": "Doe", "phone": "+15125550123",
        "email": "jane@example.com", "state": "TX", "source": "Zillow"}
BOOKED = {
    "schema": "reauto.export/1", "kind": "call", "key": "call:17", "campaign": "austin-buyers", "lead": LEAD,
    "at": "2026-11-25T15:02:00+00:00", "disposition": "booked", "status": "completed",
    "answered_at": "2026-11-25T15:02:09+00:00", "ended_at": "2026-11-25T15:05:42+00:00", "duration_s": 213.0,
    "slots": {"intent": {"value": "buy"}, "timeline_months": {"value": 3}, "budget_usd": {"value": 400000},
              "_internal": {"value": "x"}},
    "score": 0.82,
    "summary": ("Booked (score 0.82): intent buy, timeline 3 months, budget $400,000; "
                "appointment 2026-11-27T16:00:00+00:00"),
    "transcript": [{"speaker": "agent", "text": "Hi Jane, this is Lone Star Realty calling about your search."},
                   {"speaker": "lead", "text": "Yes, we want to buy within three months."},
                   {"speaker": "agent", "text": "Does Friday at 10 AM work for a showing?"},
                   {"speaker": "lead", "text": "Friday works."}],
    "recording": "s3://calls/17.wav",
    "appointment": {"starts_at": "2026-11-27T16:00:00+00:00", "ends_at": "2026-11-27T16:30:00+00:00",
                    "timezone": "America/Chicago", "calendar": "agent-1", "meeting_link": "https://meet.example/abc"},
    "cost_usd": 0.21, "cadence_step": 1, "text": None,
}
NO_ANSWER = {**BOOKED, "key": "call:18", "at": "2026-11-26T15:00:00+00:00", "disposition": "no_answer",
             "status": "no-answer", "answered_at": None, "ended_at": "2026-11-26T15:00:30+00:00", "duration_s": None,
             "slots": {}, "score": None, "summary": "No answer", "transcript": [], "recording": None,
             "appointment": None, "cost_usd": 0.01}
TEXT_SENT = {**NO_ANSWER, "kind": "text", "key": "text:5", "disposition": "sent", "status": "sent",
             "summary": "Text (cadence text) sent", "ended_at": None, "cost_usd": None,
             "text": {"kind": "cadence", "body": "Hi Jane, Lone Star Realty here. Still looking in Austin?",
                      "reason": None}}
TEXT_SKIPPED = {**TEXT_SENT, "key": "text:6", "disposition": "skipped", "status": "skipped",
                "summary": "Text (cadence text) skipped: quiet hours",
                "text": {"kind": "cadence", "body": "Hi Jane", "reason": "quiet hours"}}


def with_lead(record: dict, **changes: object) -> dict:
    out = copy.deepcopy(record)
    out["lead"].update(changes)
    return out


# --- HubSpot ------------------------------------------------------------------------------------

@pytest.fixture
async def hubspot():
    fake = FakeHubSpot()
    await fake.start()
    yield fake
    await fake.close()


def hs_target(fake: FakeHubSpot, **options: object) -> HubSpotTarget:
    return HubSpotTarget(options.pop("token", fake.token), base_url=fake.url,  # type: ignore[arg-type]
                         **{"timeout_s": 0.5, "retries": 1, **options})  # type: ignore[arg-type]


def hs_calls(fake: FakeHubSpot, method: str, path: str) -> int:
    return sum(1 for r in fake.requests if r["method"] == method and r["path"] == path)


async def test_hubspot_booked_call_creates_contact_note_and_meeting(hubspot):
    target = hs_target(hubspot)
    try:
        note_id = await target.send(BOOKED, "call:17")
    finally:
        await target.close()
    [contact] = hubspot.contacts.values()
    assert {k: contact["properties"].get(k) for k in ("firstname", "lastname", "phone", "email", "state")} == {
        "firstname": "Jane", "lastname": "Doe", "phone": "+15125550123", "email": "jane@example.com", "state": "TX"}
    note = hubspot.notes[note_id]
    body = note["properties"]["hs_note_body"]
    assert note["properties"]["hs_timestamp"] == "2026-11-25T15:02:00.000Z"
    assert "Booked (score 0.82)" in body and "timeline months: 3" in body and "budget usd: 400000" in body
    assert "_internal" not in body and "Recording: s3://calls/17.wav" in body
    assert "Lead: Yes, we want to buy within three months." in body and "reauto:call:17" in body
    assert note["associations"] == [("contacts", contact["id"], 202)]
    [meeting] = hubspot.meetings.values()
    assert {k: meeting["properties"][k] for k in (
        "hs_meeting_title", "hs_meeting_start_time", "hs_meeting_end_time", "hs_meeting_outcome", "hs_timestamp")} == {
        "hs_meeting_title": "Appointment with Jane Doe", "hs_meeting_start_time": "2026-11-27T16:00:00.000Z",
        "hs_meeting_end_time": "2026-11-27T16:30:00.000Z", "hs_meeting_outcome": "SCHEDULED",
        "hs_timestamp": "2026-11-27T16:00:00.000Z"}
    assert "https://meet.example/abc" in meeting["properties"]["hs_meeting_body"]
    assert meeting["associations"] == [("contacts", contact["id"], 200)]
    create = next(r for r in hubspot.requests if r["path"] == "/crm/v3/objects/contacts" and r["method"] == "POST")
    assert set(create["body"]["properties"]) == {"firstname", "lastname", "phone", "email", "state"}


async def test_hubspot_second_record_updates_the_contact_and_adds_a_note(hubspot):
    target = hs_target(hubspot)
    try:
        first = await target.send(BOOKED, "call:17")
        second = await target.send(with_lead(NO_ANSWER, state="OK"), "call:18")
    finally:
        await target.close()
    assert len(hubspot.contacts) == 1 and hs_calls(hubspot, "POST", "/crm/v3/objects/contacts") == 1
    [contact] = hubspot.contacts.values()
    assert contact["properties"]["state"] == "OK"
    assert hs_calls(hubspot, "PATCH", f"/crm/v3/objects/contacts/{contact['id']}") == 1
    assert first != second and set(hubspot.notes) == {first, second}
    assert "No answer" in hubspot.notes[second]["properties"]["hs_note_body"]
    assert len(hubspot.meetings) == 1  # a no-answer call books nothing


async def test_hubspot_sending_the_same_record_twice_creates_nothing_new(hubspot):
    target = hs_target(hubspot)
    try:
        first = await target.send(BOOKED, "reauto:hubspot:call:17")  # the runner's keys
        again = await target.send(BOOKED, "reauto:hubspot:call:17")
        other = await target.send(NO_ANSWER, "reauto:hubspot:call:1")  # a prefix of the first key
    finally:
        await target.close()
    assert again == first and other != first
    assert "reauto:hubspot:call:17 " in hubspot.notes[first]["properties"]["hs_note_body"]
    assert "reauto:reauto:" not in hubspot.notes[first]["properties"]["hs_note_body"]
    assert len(hubspot.contacts) == 1 and len(hubspot.notes) == 2 and len(hubspot.meetings) == 1
    assert hs_calls(hubspot, "POST", "/crm/v3/objects/notes") == 2
    assert hs_calls(hubspot, "POST", "/crm/v3/objects/meetings") == 1
    assert not [r for r in hubspot.requests if r["method"] == "PATCH"]  # the contact had nothing new


async def test_hubspot_search_hits_are_checked_before_they_count(hubspot):
    hubspot.word_tokens = True  # if HubSpot splits "reauto:x:call:1" at the colons, call:17's note matches it
    booked = {**BOOKED, "transcript": [*BOOKED["transcript"], {"speaker": "lead", "text": "Just 1 question."}]}
    target = hs_target(hubspot)
    try:
        first = await target.send(booked, "reauto:hubspot:call:17")
        other = await target.send(NO_ANSWER, "reauto:hubspot:call:1")
    finally:
        await target.close()
    search = [r for r in hubspot.requests if r["path"] == "/crm/v3/objects/notes/search"][-1]
    assert search["body"]["filterGroups"][0]["filters"][0] == {
        "propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": "reauto:hubspot:call:1"}
    assert other != first and len(hubspot.notes) == 2


async def test_hubspot_texts_make_a_note_only_when_sent(hubspot):
    target = hs_target(hubspot)
    try:
        note_id = await target.send(TEXT_SENT, "text:5")
        contact_id = await target.send(TEXT_SKIPPED, "text:6")
    finally:
        await target.close()
    assert list(hubspot.notes) == [note_id] and list(hubspot.contacts) == [contact_id]
    body = hubspot.notes[note_id]["properties"]["hs_note_body"]
    assert "Text sent: Hi Jane, Lone Star Realty here. Still looking in Austin?" in body
    assert not hubspot.meetings


async def test_hubspot_contact_created_elsewhere_but_not_yet_searchable_is_updated(hubspot):
    existing = hubspot.add("contacts", {"email": "jane@example.com", "firstname": "J."})
    hubspot.unindexed.add(existing)  # HubSpot's search index trails its writes
    target = hs_target(hubspot)
    try:
        await target.send(TEXT_SKIPPED, "text:6")
    finally:
        await target.close()
    assert list(hubspot.contacts) == [existing]
    assert hubspot.contacts[existing]["properties"]["phone"] == "+15125550123"
    assert hubspot.contacts[existing]["properties"]["firstname"] == "Jane"


async def test_hubspot_rate_limit_is_retried(hubspot):
    hubspot.failures = [429]
    target = hs_target(hubspot)
    try:
        await target.send(TEXT_SENT, "text:5")
    finally:
        await target.close()
    assert len(hubspot.notes) == 1 and hubspot.requests[0]["path"] == hubspot.requests[1]["path"]


async def test_hubspot_server_errors_on_every_attempt_are_transient(hubspot):
    hubspot.failures = [500] * 10
    target = hs_target(hubspot)
    try:
        with pytest.raises(TransientExportError, match="HTTP 500"):
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()
    assert len(hubspot.requests) == 2 and not hubspot.contacts


async def test_hubspot_bad_token_is_permanent_and_names_the_setting(hubspot):
    target = hs_target(hubspot, token="pat-na1-wrong")
    try:
        with pytest.raises(PermanentExportError, match=r"\[export\.hubspot\] token") as failure:
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()
    assert "INVALID_AUTHENTICATION" in str(failure.value) and len(hubspot.requests) == 1


async def test_hubspot_timeout_is_transient(hubspot):
    hubspot.delay_s = 0.8
    target = hs_target(hubspot, retries=0, timeout_s=0.3)
    try:
        with pytest.raises(TransientExportError, match="timed out"):
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()


async def test_hubspot_double_rejects_what_hubspot_rejects(hubspot):
    headers = {"Authorization": f"Bearer {hubspot.token}"}
    async with httpx.AsyncClient(base_url=hubspot.url, headers=headers) as http:
        invented = await http.post("/crm/v3/objects/contacts", json={"properties": {"reauto_lead_id": "42"}})
        assert invented.status_code == 400 and "PROPERTY_DOESNT_EXIST" in invented.json()["message"]
        contact = (await http.post("/crm/v3/objects/contacts", json={"properties": {"lastname": "Doe"}})).json()
        wrong_type = await http.post("/crm/v3/objects/notes", json={
            "properties": {"hs_timestamp": "2026-11-25T15:02:00Z", "hs_note_body": "x"},
            "associations": [{"to": {"id": contact["id"]},
                              "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 200}]}]})
        assert wrong_type.status_code == 400 and wrong_type.json()["category"] == "VALIDATION_ERROR"
        no_timestamp = await http.post("/crm/v3/objects/notes", json={"properties": {"hs_note_body": "x"}})
        assert no_timestamp.status_code == 400
        assert (await http.post("/crm/v3/objects/notes", json={})).status_code == 400


# --- Salesforce ---------------------------------------------------------------------------------

@pytest.fixture
async def salesforce():
    fake = FakeSalesforce()
    await fake.start()
    yield fake
    await fake.close()


def sf_target(fake: FakeSalesforce, **options: object) -> SalesforceTarget:
    return SalesforceTarget(fake.url, options.pop("token", fake.token),  # type: ignore[arg-type]
                            **{"timeout_s": 0.5, "retries": 1, **options})  # type: ignore[arg-type]


def sf_count(fake: FakeSalesforce, method: str, suffix: str) -> int:
    return sum(1 for r in fake.requests if r["method"] == method and r["path"].endswith(suffix))


async def test_salesforce_booked_call_upserts_the_lead_and_logs_task_and_event(salesforce):
    target = sf_target(salesforce)
    try:
        task_id = await target.send(with_lead(BOOKED, last_name=None), "call:17")
    finally:
        await target.close()
    [(lead_id, lead)] = salesforce.leads.items()
    assert lead_id.startswith("00Q") and len(lead_id) == 18
    assert {k: lead.get(k) for k in ("FirstName", "LastName", "Company", "Phone", "Email", "State", "LeadSource",
                                     "Reauto_Lead_Id__c")} == {
        "FirstName": "Jane", "LastName": "Unknown", "Company": "austin-buyers", "Phone": "+15125550123",
        "Email": "jane@example.com", "State": "TX", "LeadSource": "reauto", "Reauto_Lead_Id__c": "42"}
    upsert = next(r for r in salesforce.requests if r["method"] == "PATCH")
    assert upsert["path"] == "/services/data/v60.0/sobjects/Lead/Reauto_Lead_Id__c/42"
    task = salesforce.tasks[task_id]
    assert {k: task[k] for k in ("WhoId", "Subject", "Status", "TaskSubtype", "CallType", "CallDurationInSeconds",
                                 "CallDisposition", "CallObject", "ActivityDate")} == {
        "WhoId": lead_id, "Subject": "Call: booked", "Status": "Completed", "TaskSubtype": "Call",
        "CallType": "Outbound", "CallDurationInSeconds": 213, "CallDisposition": "booked",
        "CallObject": "reauto:call:17", "ActivityDate": "2026-11-25"}
    assert task["Description"].startswith("Booked (score 0.82)")
    assert "- budget usd: 400000" in task["Description"] and "_internal" not in task["Description"]
    assert "Agent: Does Friday at 10 AM work for a showing?" in task["Description"]
    [event] = salesforce.events.values()
    assert {k: event[k] for k in ("WhoId", "Subject", "StartDateTime", "EndDateTime", "Location")} == {
        "WhoId": lead_id, "Subject": "Appointment with Jane [reauto:call:17]",
        "StartDateTime": "2026-11-27T16:00:00.000Z", "EndDateTime": "2026-11-27T16:30:00.000Z",
        "Location": "https://meet.example/abc"}


async def test_salesforce_tokens_come_from_the_client_credentials_flow_and_are_renewed_on_401(salesforce):
    target = sf_target(salesforce, token="", client_id=salesforce.client_id, client_secret=salesforce.client_secret)
    await target.send(BOOKED, "call:17")
    assert (target.token_fetches, salesforce.tokens_issued) == (1, 1)  # fetched before the first request
    salesforce.expire()  # the org's session timeout passes
    await target.send(NO_ANSWER, "call:18")
    assert target.token_fetches == 2 and len(salesforce.tasks) == 2  # renewed once, the request sent again
    token_posts = [r for r in salesforce.requests if r["path"] == "/services/oauth2/token"]
    assert token_posts[0]["body"]["grant_type"] == "client_credentials"
    await target.close()
    wrong = sf_target(salesforce, token="", client_id="someone", client_secret="else")
    with pytest.raises(PermanentExportError, match="invalid_client"):
        await wrong.send(BOOKED, "call:17")
    await wrong.close()
    with pytest.raises(PermanentExportError, match="client_id"):
        SalesforceTarget(salesforce.url, "")
    fixed = sf_target(salesforce, token="a-fixed-expired-token")  # no credentials: a 401 stays permanent
    with pytest.raises(PermanentExportError, match="INVALID_SESSION_ID"):
        await fixed.send(BOOKED, "call:17")
    await fixed.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["200-with-body", "204-no-body"])
async def test_salesforce_second_record_updates_the_same_lead(salesforce, legacy):
    salesforce.legacy_upsert = legacy
    target = sf_target(salesforce)
    try:
        first = await target.send(BOOKED, "call:17")
        second = await target.send(with_lead(NO_ANSWER, email="jane.doe@example.com"), "call:18")
    finally:
        await target.close()
    [(lead_id, lead)] = salesforce.leads.items()
    assert lead["Email"] == "jane.doe@example.com" and lead["LastName"] == "Doe"
    assert first != second and {t["WhoId"] for t in salesforce.tasks.values()} == {lead_id}
    assert salesforce.tasks[second]["Subject"] == "Call: no answer"
    assert salesforce.tasks[second]["CallDurationInSeconds"] == 0
    assert sf_count(salesforce, "GET", "/Lead/Reauto_Lead_Id__c/42") == (1 if legacy else 0)
    assert len(salesforce.events) == 1


async def test_salesforce_sending_the_same_record_twice_creates_nothing_new(salesforce):
    target = sf_target(salesforce)
    try:
        first = await target.send(BOOKED, "reauto:salesforce:call:17")
        again = await target.send(BOOKED, "reauto:salesforce:call:17")
        other = await target.send(NO_ANSWER, "reauto:salesforce:call:1")
    finally:
        await target.close()
    assert again == first and other != first
    assert len(salesforce.leads) == 1 and len(salesforce.tasks) == 2 and len(salesforce.events) == 1
    assert sf_count(salesforce, "POST", "/sobjects/Task") == 2 and sf_count(salesforce, "POST", "/sobjects/Event") == 1
    queries = [r["query"]["q"] for r in salesforce.requests if r["path"].endswith("/query")]
    assert "SELECT Id FROM Task WHERE CallObject = 'reauto:salesforce:call:17'" in queries
    assert any("Subject LIKE '%[reauto:salesforce:call:17]%'" in q for q in queries)
    assert salesforce.tasks[first]["CallObject"] == "reauto:salesforce:call:17"


async def test_salesforce_texts_make_a_task_only_when_sent(salesforce):
    target = sf_target(salesforce)
    try:
        task_id = await target.send(TEXT_SENT, "text:5")
        lead_id = await target.send(TEXT_SKIPPED, "text:6")
    finally:
        await target.close()
    assert list(salesforce.tasks) == [task_id] and list(salesforce.leads) == [lead_id]
    task = salesforce.tasks[task_id]
    assert (task["TaskSubtype"], task["Subject"], task["Status"]) == ("Task", "Text sent", "Completed")
    assert "CallType" not in task
    assert task["Description"].startswith("Text sent: Hi Jane, Lone Star Realty here.")


@pytest.mark.parametrize("status", [429, 503, 403])
async def test_salesforce_rate_limits_and_unavailability_are_retried_or_transient(salesforce, status):
    salesforce.failures = [status]
    target = sf_target(salesforce)
    try:
        if status == 403:  # REQUEST_LIMIT_EXCEEDED: the org's allowance, not worth an immediate retry
            with pytest.raises(TransientExportError, match="REQUEST_LIMIT_EXCEEDED"):
                await target.send(TEXT_SENT, "text:5")
        else:
            await target.send(TEXT_SENT, "text:5")
            assert len(salesforce.tasks) == 1
    finally:
        await target.close()


async def test_salesforce_server_errors_on_every_attempt_are_transient(salesforce):
    salesforce.failures = [500] * 10
    target = sf_target(salesforce)
    try:
        with pytest.raises(TransientExportError, match="HTTP 500"):
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()
    assert len(salesforce.requests) == 2 and not salesforce.leads


async def test_salesforce_bad_token_is_permanent_and_names_the_setting(salesforce):
    target = sf_target(salesforce, token="expired")
    try:
        with pytest.raises(PermanentExportError, match=r"\[export\.salesforce\] token") as failure:
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()
    assert "INVALID_SESSION_ID: Session expired or invalid" in str(failure.value)


async def test_salesforce_missing_external_id_field_is_permanent(salesforce):
    target = sf_target(salesforce, external_id_field="Lead_Key__c")
    try:
        with pytest.raises(PermanentExportError, match="NOT_FOUND: Provided external ID field does not exist"):
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()


async def test_salesforce_timeout_is_transient(salesforce):
    salesforce.delay_s = 0.8
    target = sf_target(salesforce, retries=0, timeout_s=0.3)
    try:
        with pytest.raises(TransientExportError, match="timed out"):
            await target.send(BOOKED, "call:17")
    finally:
        await target.close()


async def test_salesforce_double_rejects_what_salesforce_rejects(salesforce):
    headers = {"Authorization": f"Bearer {salesforce.token}"}
    async with httpx.AsyncClient(base_url=salesforce.url + "/services/data/v60.0", headers=headers) as http:
        no_company = await http.patch("/sobjects/Lead/Reauto_Lead_Id__c/7", json={"LastName": "Doe"})
        assert no_company.status_code == 400 and no_company.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
        long_text = await http.get("/query", params={"q": "SELECT Id FROM Task WHERE Description LIKE '%x%'"})
        assert long_text.status_code == 400 and "can not be filtered" in long_text.json()[0]["message"]
        bad_subtype = await http.post("/sobjects/Task", json={"Subject": "x", "TaskSubtype": "Text"})
        assert bad_subtype.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert (await http.post("/sobjects/Tsk", json={})).status_code == 404
        orphan = await http.post("/sobjects/Task", json={"Subject": "x", "WhoId": "00QHs0000999999AAA"})
        assert orphan.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
        empty = await http.get("/query", params={"q": "SELECT Id FROM Event WHERE Subject LIKE '%[x]%'"})
        assert empty.json() == {"totalSize": 0, "done": True, "records": []}
