"""Salesforce: each record becomes a Lead (upserted by reauto's lead id), a Task and, for a booking, an Event.

Salesforce REST API (``{instance_url}/services/data/{api_version}``, an OAuth access token as
``Authorization: Bearer``):

* ``PATCH /sobjects/Lead/{external_id_field}/{lead id}``: upsert by an External ID field the org
  adds to Lead (default ``Reauto_Lead_Id__c``, text, unique). Body ``FirstName``, ``LastName``
  and ``Company`` (both required on create: ``Unknown`` and the campaign's name stand in),
  ``Phone``, ``Email``, ``State``, ``LeadSource`` ``reauto``. 201 with ``{"id", "success",
  "errors"}`` when created; an update answers 200 with the same body, or 204 with none, in which
  case ``GET /sobjects/Lead/{external_id_field}/{lead id}`` reads the ``Id``.
* ``POST /sobjects/Task``: ``WhoId`` (the Lead), ``Subject``, ``Status`` ``Completed``,
  ``ActivityDate``, ``Description`` (summary, slots, transcript); for a call ``TaskSubtype``
  ``Call``, ``CallType`` ``Outbound``, ``CallDurationInSeconds``, ``CallDisposition``; for a sent
  text ``TaskSubtype`` ``Task`` and ``Subject`` ``Text sent``.
* ``POST /sobjects/Event``: ``WhoId``, ``Subject``, ``StartDateTime``, ``EndDateTime``,
  ``Location``, ``Description``.

Idempotency without custom fields on activities: ``Description`` is a long text area, which SOQL
cannot filter, so a Task keeps ``reauto:<key>`` in ``CallObject`` (the 255-character call
identifier) and reauto first runs ``GET /query?q=SELECT Id FROM Task WHERE CallObject = '…'``.
An Event has no such field: its ``Subject`` ends with ``[reauto:<key>]`` and the query is
``Subject LIKE '%[reauto:<key>]%'``.

Errors arrive as ``[{"message", "errorCode", "fields"}]``; they go into the exception's message.
401 (``INVALID_SESSION_ID``) and 403 are permanent, except 403 ``REQUEST_LIMIT_EXCEEDED`` (the
org's API allowance is spent for now), which is transient.

Access tokens expire (the org's session timeout, 2 hours by default). With a connected app's
client id and secret (``[export.salesforce] client_id`` / ``client_secret``) reauto
gets its token with the OAuth 2.0 client credentials flow (``POST
{instance_url}/services/oauth2/token``, ``grant_type=client_credentials``) before the first
request and again whenever a request answers 401: that request is sent once more with the new
token. A fixed ``token`` alone cannot be renewed: a 401 then stays permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

import httpx

from reauto.export.targets.base import ExportTarget, HttpApi, PermanentExportError, TransientExportError

if TYPE_CHECKING:
    from reauto.config import Settings

TOKEN_SETTING = "[export.salesforce] token"
DESCRIPTION_MAX = 32_000
_PERMANENT_4XX = tuple(s for s in range(300, 500) if s not in (408, 429))


class SalesforceTarget(ExportTarget):
    """Leads, Tasks and Events in a Salesforce org (``reauto export --to salesforce``)."""

    name: ClassVar[str] = "salesforce"

    def __init__(self, instance_url: str, token: str = "", *, api_version: str = "v60.0",
                 external_id_field: str = "Reauto_Lead_Id__c", timeout_s: float = 5.0, retries: int = 2,
                 client_id: str = "", client_secret: str = "",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not token and not (client_id and client_secret):
            raise PermanentExportError(f"the salesforce target needs {TOKEN_SETTING}, or client_id "
                                       "and client_secret")
        self.external_id_field = external_id_field
        self._root = f"/services/data/{api_version}"
        self._token = token
        self._client = (client_id, client_secret) if client_id and client_secret else None
        self.token_fetches = 0
        self._api = HttpApi(instance_url, name="export:salesforce", timeout_s=timeout_s, retries=retries,
                            transport=transport, transient=TransientExportError, permanent=PermanentExportError)

    @classmethod
    def from_settings(cls, cfg: Settings) -> SalesforceTarget:
        e, own = cfg.export, cfg.export.salesforce
        if not own.instance_url or not (own.token or (own.client_id and own.client_secret)):
            raise PermanentExportError(
                "the salesforce target needs [export.salesforce] instance_url and client_id with "
                "client_secret (tokens renewed) or token")
        return cls(own.instance_url, own.token, api_version=own.api_version,
                   external_id_field=own.external_id_field, timeout_s=e.timeout_s, retries=e.retries,
                   client_id=own.client_id, client_secret=own.client_secret)

    async def close(self) -> None:
        await self._api.close()

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        """Upsert the Lead, then log the call or sent text; returns the Task id (else the Lead id)."""
        lead_id = await self._upsert_lead(record)
        marker = _marker(key)
        if record["kind"] == "text":
            if record["status"] != "sent":
                return lead_id
            text = record.get("text") or {}
            task = {"Subject": "Text sent", "TaskSubtype": "Task",
                    "Description": _clip(f"Text sent: {text.get('body') or ''}\n\n{_ids(record, marker)}")}
            return await self._task(lead_id, record, marker, task)
        appointment = record.get("appointment")
        if isinstance(appointment, dict) and appointment.get("starts_at"):
            await self._event(lead_id, record, appointment, marker)
        disposition = str(record.get("disposition") or "")
        task = {"Subject": f"Call: {disposition.replace('_', ' ')}", "TaskSubtype": "Call", "CallType": "Outbound",
                "CallDurationInSeconds": round(record.get("duration_s") or 0), "CallDisposition": disposition,
                "Description": _call_description(record, marker)}
        return await self._task(lead_id, record, marker, task)

    # --- Lead -----------------------------------------------------------------------------------
    async def _upsert_lead(self, record: Mapping[str, Any]) -> str:
        lead = record["lead"]
        body = {"FirstName": lead.get("first_name"), "LastName": lead.get("last_name") or "Unknown",
                "Phone": lead.get("phone"), "Email": lead.get("email"), "State": lead.get("state"),
                "Company": record.get("campaign") or "Individual", "LeadSource": "reauto"}
        body = {k: v for k, v in body.items() if v}
        path = f"{self._root}/sobjects/Lead/{self.external_id_field}/{lead['id']}"
        response = await self._call("PATCH", path, json=body)
        if response.status_code != 204:
            return str(response.json()["id"])
        return str((await self._call("GET", path)).json()["Id"])

    # --- activities -----------------------------------------------------------------------------
    async def _task(self, lead_id: str, record: Mapping[str, Any], marker: str, fields: dict[str, Any]) -> str:
        found = await self._query(f"SELECT Id FROM Task WHERE CallObject = '{_soql(marker)}'")
        if found:
            return str(found[0]["Id"])
        at = _utc(record["at"]) if record.get("at") else datetime.now(UTC)
        body = {"WhoId": lead_id, "Status": "Completed", "ActivityDate": at.date().isoformat(),
                "CallObject": marker, **fields}
        return await self._create("Task", body)

    async def _event(self, lead_id: str, record: Mapping[str, Any], appointment: Mapping[str, Any],
                     marker: str) -> str:
        tag = f"[{marker}]"
        found = await self._query(f"SELECT Id FROM Event WHERE WhoId = '{_soql(lead_id)}' "
                                  f"AND Subject LIKE '%{_like(tag)}%'")
        if found:
            return str(found[0]["Id"])
        starts = _utc(appointment["starts_at"])
        ends = _utc(appointment["ends_at"]) if appointment.get("ends_at") else starts + timedelta(minutes=30)
        lead = record["lead"]
        who = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p) or str(lead.get("phone"))
        lines = [f"Booked by reauto on a call ({record.get('campaign')})."]
        lines += [f"{label}: {appointment[field]}" for label, field in (
            ("Calendar", "calendar"), ("Time zone", "timezone"), ("Meeting link", "meeting_link"))
            if appointment.get(field)]
        body = {"WhoId": lead_id, "Subject": f"Appointment with {who} {tag}"[-255:],
                "StartDateTime": _sf_datetime(starts), "EndDateTime": _sf_datetime(ends),
                "Description": _clip("\n".join(lines) + "\n\n" + _ids(record, marker))}
        link = appointment.get("meeting_link")
        if link and len(link) <= 255:
            body["Location"] = link
        return await self._create("Event", body)

    # --- HTTP -----------------------------------------------------------------------------------
    async def _create(self, sobject: str, body: dict[str, Any]) -> str:
        return str((await self._call("POST", f"{self._root}/sobjects/{sobject}", json=body)).json()["id"])

    async def _query(self, soql: str) -> list[dict[str, Any]]:
        response = await self._call("GET", f"{self._root}/query", params={"q": soql})
        return list(response.json().get("records", []))

    async def _fetch_token(self) -> None:
        """A new access token by the client credentials flow."""
        assert self._client is not None
        client_id, client_secret = self._client
        response = await self._api.request(
            "POST", "/services/oauth2/token", ok_statuses=_PERMANENT_4XX,
            content=urlencode({"grant_type": "client_credentials", "client_id": client_id,
                               "client_secret": client_secret}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.token_fetches += 1
        body = response.json() if response.content else {}
        if response.status_code >= 300 or not body.get("access_token"):
            raise PermanentExportError(
                f"export:salesforce: no access token from the client credentials flow: HTTP {response.status_code} "
                f"{body.get('error', '')} {body.get('error_description', '')}".strip()
                + " (check [export.salesforce] client_id, client_secret and the connected app's run-as user)")
        self._token = str(body["access_token"])

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: Mapping[str, Any] | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            if not self._token:
                await self._fetch_token()
            return await self._api.request(method, path, json=json, params=params, ok_statuses=_PERMANENT_4XX,
                                           headers={"Authorization": f"Bearer {self._token}"})

        response = await send()
        if response.status_code == 401 and self._client is not None:  # the session expired: renew it once
            self._token = ""
            response = await send()
        status = response.status_code
        if status < 300:
            return response
        errors = _errors(response)
        problem = f"export:salesforce: {method} {path}: HTTP {status} {errors}"
        if status == 403 and "REQUEST_LIMIT_EXCEEDED" in errors:
            raise TransientExportError(f"{problem} (the org's API request limit; try again later)")
        if status in (401, 403):
            raise PermanentExportError(f"{problem} (check the access token and its user's permissions: "
                                       f"{TOKEN_SETTING})")
        raise PermanentExportError(problem)


def _errors(response: httpx.Response) -> str:
    """``errorCode: message`` for each entry of Salesforce's error array, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, list) and body and all(isinstance(e, dict) for e in body):
        return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body)
    return response.text[:300]


def _soql(value: str) -> str:
    """A value for a single-quoted SOQL string literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _like(value: str) -> str:
    """``value`` matched literally inside a quoted SOQL ``LIKE`` pattern (``\\%`` and ``\\_`` escape the
    wildcards)."""
    return _soql(value).replace("%", "\\%").replace("_", "\\_")


def _utc(value: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (a naive one is taken as UTC)."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _sf_datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str) -> str:
    return text if len(text) <= DESCRIPTION_MAX else text[:DESCRIPTION_MAX - 1] + "…"


def _ids(record: Mapping[str, Any], marker: str) -> str:
    return f"reauto lead {record['lead'].get('id')} · {marker}"


def _call_description(record: Mapping[str, Any], marker: str) -> str:
    """Summary, details, slots and the transcript, clipped to the field's 32,000 characters."""
    lines = [str(record.get("summary") or "")]
    if record.get("recording"):
        lines.append(f"Recording: {record['recording']}")
    for name, value in (record.get("slots") or {}).items():
        if isinstance(value, dict):
            value = value.get("value")
        if value is not None and not name.startswith("_"):
            lines.append(f"- {name.replace('_', ' ')}: {value}")
    head = "\n".join(lines) + "\n\n"
    tail = "\n\n" + _ids(record, marker)
    turns = "\n".join(f"{'Agent' if t.get('speaker') == 'agent' else 'Lead'}: {t.get('text', '')}"
                      for t in record.get("transcript") or [])
    room = DESCRIPTION_MAX - len(head) - len(tail) - len("Transcript:\n")
    if len(turns) > room:
        turns = turns[:max(room - 1, 0)] + "…"
    return head + ("Transcript:\n" + turns if turns else "").rstrip() + tail


def _marker(key: str) -> str:
    """``reauto:<key>`` (the runner's keys already start with ``reauto:``)."""
    return key if key.startswith("reauto:") else f"reauto:{key}"
