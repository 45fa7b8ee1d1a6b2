"""HubSpot: each record becomes a contact, a note on its timeline and, for a booked call, a meeting.

HubSpot CRM v3 objects API (``https://api.hubapi.com``, a private-app token as
``Authorization: Bearer``):

* ``POST /crm/v3/objects/contacts/search``: the contact whose ``phone`` equals the lead's E.164
  number, or whose ``email`` equals its email (two filter groups, OR-ed).
* ``POST /crm/v3/objects/contacts`` (``firstname``, ``lastname``, ``phone``, ``email``, ``state``)
  or ``PATCH /crm/v3/objects/contacts/{id}`` with the values reauto knows (skipped when the contact
  found already has them, to spare the account's rate limit). A create that answers
  409 ``Contact already exists. Existing ID: N`` (the search index lags behind writes) becomes a
  PATCH of contact N.
* ``POST /crm/v3/objects/notes`` (``hs_timestamp``, ``hs_note_body``) associated to the contact
  in the same request (``HUBSPOT_DEFINED`` association type 202, note to contact).
* ``POST /crm/v3/objects/meetings`` (``hs_timestamp``, ``hs_meeting_title``, ``hs_meeting_body``,
  ``hs_meeting_start_time``, ``hs_meeting_end_time``, ``hs_meeting_outcome`` ``SCHEDULED``),
  association type 200 (meeting to contact).

HubSpot has no idempotency header for these. The note and the meeting carry the marker
``reauto:<key>`` in their body; before creating either, reauto searches for it
(``POST /crm/v3/objects/{notes,meetings}/search``, ``CONTAINS_TOKEN``) and checks the bodies it
gets back, so a record sent again creates nothing new. HubSpot's search index trails writes by a
few seconds: a record re-sent within that window can still create a second note.

No custom properties are written: reauto's lead id and the marker live in the note text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from reauto.export.targets.base import ExportTarget, HttpApi, PermanentExportError, TransientExportError

if TYPE_CHECKING:
    from reauto.config import Settings

NOTE_TO_CONTACT = 202
MEETING_TO_CONTACT = 200
NOTE_BODY_MAX = 65_536
TOKEN_SETTING = "[export.hubspot] token"
_PERMANENT_4XX = tuple(s for s in range(400, 500) if s not in (408, 429))
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


class HubSpotTarget(ExportTarget):
    """Contacts, notes and meetings in a HubSpot account (``reauto export --to hubspot``)."""

    name: ClassVar[str] = "hubspot"

    def __init__(self, token: str, *, base_url: str = "https://api.hubapi.com", timeout_s: float = 5.0,
                 retries: int = 2, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._api = HttpApi(base_url, name="export:hubspot", timeout_s=timeout_s, retries=retries,
                            headers={"Authorization": f"Bearer {token}"}, transport=transport,
                            transient=TransientExportError, permanent=PermanentExportError)

    @classmethod
    def from_settings(cls, cfg: Settings) -> HubSpotTarget:
        e, own = cfg.export, cfg.export.hubspot
        if not own.token:
            raise PermanentExportError(f"the hubspot target needs {TOKEN_SETTING}")
        return cls(own.token, base_url=own.base_url, timeout_s=e.timeout_s, retries=e.retries)

    async def close(self) -> None:
        await self._api.close()

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        """Upsert the contact, then log the call or sent text; returns the note id (else the contact id)."""
        contact_id = await self._upsert_contact(record["lead"])
        marker = _marker(key)
        if record["kind"] == "text":
            if record["status"] != "sent":
                return contact_id
            return await self._note(contact_id, record, marker, _text_body(record, marker))
        appointment = record.get("appointment")
        if isinstance(appointment, dict) and appointment.get("starts_at"):
            await self._meeting(contact_id, record, appointment, marker)
        return await self._note(contact_id, record, marker, _call_body(record, marker))

    # --- contact --------------------------------------------------------------------------------
    async def _upsert_contact(self, lead: Mapping[str, Any]) -> str:
        properties = {name: str(lead[field]) for name, field in (
            ("firstname", "first_name"), ("lastname", "last_name"), ("phone", "phone"), ("email", "email"),
            ("state", "state")) if lead.get(field)}
        groups = [{"filters": [{"propertyName": name, "operator": "EQ", "value": properties[name]}]}
                  for name in ("phone", "email") if name in properties]
        found = await self._search("contacts", groups, list(properties)) if groups else []
        if found:
            contact_id = str(found[0]["id"])
            if all(found[0].get("properties", {}).get(k) == v for k, v in properties.items()):
                return contact_id  # nothing new: spare a request against the account's rate limit
        else:
            created = await self._call("POST", "/crm/v3/objects/contacts", {"properties": properties},
                                       conflict_ok=True)
            if created.status_code != 409:
                return str(created.json()["id"])
            match = _EXISTING_ID.search(_message(created))
            if match is None:
                raise PermanentExportError(f"export:hubspot: contact conflict: {_message(created)}")
            contact_id = match.group(1)
        await self._call("PATCH", f"/crm/v3/objects/contacts/{contact_id}", {"properties": properties})
        return contact_id

    # --- engagements ----------------------------------------------------------------------------
    async def _note(self, contact_id: str, record: Mapping[str, Any], marker: str, body: str) -> str:
        existing = await self._find_marked("notes", "hs_note_body", marker)
        if existing is not None:
            return existing
        payload = {"properties": {"hs_timestamp": _utc(record.get("at") or datetime.now(UTC)),
                                  "hs_note_body": body},
                   "associations": [_association(contact_id, NOTE_TO_CONTACT)]}
        return str((await self._call("POST", "/crm/v3/objects/notes", payload)).json()["id"])

    async def _meeting(self, contact_id: str, record: Mapping[str, Any], appointment: Mapping[str, Any],
                       marker: str) -> str:
        existing = await self._find_marked("meetings", "hs_meeting_body", marker)
        if existing is not None:
            return existing
        starts = datetime.fromisoformat(appointment["starts_at"])
        ends = datetime.fromisoformat(appointment["ends_at"]) if appointment.get("ends_at") else (
            starts + timedelta(minutes=30))
        lead = record["lead"]
        who = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p) or str(lead.get("phone"))
        lines = [f"Booked by reauto on a call ({record.get('campaign')})."]
        lines += [f"{label}: {appointment[field]}" for label, field in (
            ("Calendar", "calendar"), ("Time zone", "timezone"), ("Meeting link", "meeting_link"))
            if appointment.get(field)]
        lines.append(f"reauto lead {lead.get('id')} · {marker} ")
        properties = {"hs_timestamp": _utc(starts), "hs_meeting_title": f"Appointment with {who}",
                      "hs_meeting_body": _paragraphs(lines), "hs_meeting_start_time": _utc(starts),
                      "hs_meeting_end_time": _utc(ends), "hs_meeting_outcome": "SCHEDULED"}
        payload = {"properties": properties, "associations": [_association(contact_id, MEETING_TO_CONTACT)]}
        return str((await self._call("POST", "/crm/v3/objects/meetings", payload)).json()["id"])

    async def _find_marked(self, objects: str, body_property: str, marker: str) -> str | None:
        """The id of an object whose body carries ``marker`` as a whole token (search, then check)."""
        group = [{"filters": [{"propertyName": body_property, "operator": "CONTAINS_TOKEN", "value": marker}]}]
        pattern = re.compile(r"(?<![\w:])" + re.escape(_escape(marker)) + r"(?![\w:])")
        for found in await self._search(objects, group, [body_property]):
            if pattern.search(found.get("properties", {}).get(body_property) or ""):
                return str(found["id"])
        return None

    # --- HTTP -----------------------------------------------------------------------------------
    async def _search(self, objects: str, groups: list[dict[str, Any]], properties: list[str]) -> list[dict[str, Any]]:
        body = {"filterGroups": groups, "properties": properties, "limit": 10}
        return list((await self._call("POST", f"/crm/v3/objects/{objects}/search", body)).json().get("results", []))

    async def _call(self, method: str, path: str, body: Any, *, conflict_ok: bool = False) -> httpx.Response:
        response = await self._api.request(method, path, json=body, ok_statuses=_PERMANENT_4XX)
        status = response.status_code
        if status < 300 or (status == 409 and conflict_ok):
            return response
        problem = f"export:hubspot: {method} {path}: HTTP {status} {_message(response)}"
        if status in (401, 403):
            raise PermanentExportError(f"{problem} (check the private-app token and its CRM scopes: "
                                       f"{TOKEN_SETTING})")
        raise PermanentExportError(problem)


def _association(contact_id: str, type_id: int) -> dict[str, Any]:
    return {"to": {"id": contact_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def _message(response: httpx.Response) -> str:
    """HubSpot's error ``message`` (and ``category``), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, dict) or "message" not in body:
        return response.text[:300]
    return str(body["message"]) + (f" [{body['category']}]" if body.get("category") else "")


def _utc(value: str | datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as HubSpot's datetime properties take it (naive times are UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slot_text(slots: Mapping[str, Any]) -> str:
    parts = []
    for name, value in slots.items():
        if isinstance(value, dict):
            value = value.get("value")
        if value is not None and not name.startswith("_"):
            parts.append(f"{name.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _escape(text: str) -> str:
    """Text for the HTML of a note or meeting body."""
    return html.escape(text, quote=False)


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{_escape(line)}</p>" for line in lines)


def _call_body(record: Mapping[str, Any], marker: str) -> str:
    """Summary, details, slots, then as much of the transcript as fits; the marker closes the note."""
    details = [f"Campaign: {record.get('campaign')}", f"Disposition: {record.get('disposition')}"]
    if record.get("duration_s") is not None:
        details.append(f"Duration: {record['duration_s']:g} s")
    if record.get("recording"):
        details.append(f"Recording: {record['recording']}")
    head = [str(record.get("summary") or ""), " · ".join(details)]
    if record.get("slots"):
        head.append("Slots: " + _slot_text(record["slots"]))
    tail = _paragraphs([f"reauto lead {record['lead'].get('id')} · {marker} "])
    body = "<p><strong>Call summary</strong></p>" + _paragraphs(head)
    turns = [f"{'Agent' if t.get('speaker') == 'agent' else 'Lead'}: {t.get('text', '')}"
             for t in record.get("transcript") or []]
    if turns:
        room, kept = NOTE_BODY_MAX - len(body) - len(tail) - 64, []
        for turn in (_escape(t) for t in turns):
            room -= len(turn) + 4
            if room < 0:
                kept.append("…")
                break
            kept.append(turn)
        body += "<p><strong>Transcript</strong><br>" + "<br>".join(kept) + "</p>"
    return body + tail


def _text_body(record: Mapping[str, Any], marker: str) -> str:
    text = record.get("text") or {}
    return _paragraphs([f"Text sent: {text.get('body') or ''}",
                        f"reauto lead {record['lead'].get('id')} · {marker} "])


def _marker(key: str) -> str:
    """``reauto:<key>`` (the runner's keys already start with ``reauto:``)."""
    return key if key.startswith("reauto:") else f"reauto:{key}"
