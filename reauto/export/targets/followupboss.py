"""Follow Up Boss: the lead through ``POST /v1/events`` (never ``/v1/people``: events run the
account's lead flow and match existing people), then the call through ``POST /v1/calls`` with
Follow Up Boss's outcome vocabulary, the summary and transcript as a note (``POST /v1/notes``),
and a booked appointment through ``POST /v1/appointments``. Texts sent become notes.

Auth is Basic with the API key as user, plus ``X-System``/``X-System-Key``. Follow Up Boss has no
idempotency header: every call and note carries ``reauto:<key>``, and the person's existing calls
and notes are read first, so a record sent again creates nothing twice. A person just created
may not be reachable for a moment (the account assigns an agent first): a 404 on the person's
calls or notes is tried again a few times before it counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from reauto.config import FollowUpBossSettings, Settings
from reauto.export.targets.base import ExportTarget, HttpApi, PermanentExportError, TransientExportError

#: reauto's disposition → Follow Up Boss's call outcome.
OUTCOMES = {
    "booked": "Interested", "callback": "Interested", "not_interested": "Not Interested",
    "dnc": "Not Interested", "voicemail": "Left Message", "no_answer": "No Answer", "bad_number": "Bad Number",
    "transferred": "Talked to Lead",
}


class FollowUpBossTarget(ExportTarget):
    name = "followupboss"
    durable_on_send: ClassVar[bool] = True

    def __init__(self, settings: FollowUpBossSettings, *, transport: Any = None, settle_s: float = 1.0) -> None:
        if not settings.api_key:
            raise PermanentExportError("the followupboss target needs [followupboss] api_key")
        self.settings = settings
        self.settle_s = settle_s
        self.api = HttpApi(settings.base_url, name="export:followupboss", timeout_s=settings.timeout_s,
                           retries=settings.retries, auth=(settings.api_key, ""), transport=transport,
                           headers={"X-System": settings.system, "X-System-Key": settings.system_key},
                           breaker_threshold=settings.breaker_threshold, breaker_reset_s=settings.breaker_reset_s,
                           transient=TransientExportError, permanent=PermanentExportError)

    @classmethod
    def from_settings(cls, cfg: Settings) -> FollowUpBossTarget:
        return cls(cfg.followupboss)

    async def close(self) -> None:
        await self.api.close()

    async def send(self, record: Mapping[str, Any], key: str) -> str:
        person_id = await self._person(record)
        marker = key if key.startswith("reauto:") else f"reauto:{key}"
        if record["kind"] == "text":
            text = record.get("text") or {}
            if record["status"] != "sent":
                return str(person_id)  # the person is up to date; a text not sent is not news
            return await self._note(person_id, marker, "Text sent by reauto", f"{text.get('body')}\n\n{marker}")
        body = self._call_note(record, marker)
        call_id = await self._call(person_id, record, marker, body)
        await self._note(person_id, marker, f"reauto call: {record['disposition'].replace('_', ' ')}", body)
        appointment = record.get("appointment") or {}
        if appointment.get("starts_at"):
            await self._appointment(person_id, record, appointment, marker)
        return call_id

    async def _person(self, record: Mapping[str, Any]) -> int:
        lead = record["lead"]
        person: dict[str, Any] = {"firstName": lead.get("first_name") or "", "lastName": lead.get("last_name") or "",
                                  "phones": [{"value": lead["phone"]}], "tags": ["reauto"]}
        if lead.get("email"):
            person["emails"] = [{"value": lead["email"]}]
        event = {"source": "reauto", "system": self.settings.system, "type": "General Inquiry", "person": person,
                 "message": record["summary"], "description": f"reauto {record['kind']} {record['key']}"}
        answer = (await self.api.request("POST", "/v1/events", json=event)).json()
        person_id = answer.get("personId") or (answer.get("person") or {}).get("id") or answer.get("id")
        if not person_id:
            raise PermanentExportError(f"export:followupboss: POST /v1/events returned no person id: {answer}")
        return int(person_id)

    async def _listed(self, resource: str, person_id: int, marker: str) -> dict[str, Any] | None:
        """The person's existing call or note carrying ``marker`` (a record sent before)."""
        for attempt in range(4):
            try:
                listing = (await self.api.request("GET", f"/v1/{resource}",
                                                  params={"personId": person_id, "limit": 100})).json()
                break
            except PermanentExportError as exc:
                if "HTTP 404" not in str(exc) or attempt == 3:
                    raise
                await asyncio.sleep(self.settle_s * (attempt + 1))  # a new person is being assigned
        for item in listing.get(resource, []):
            if marker in str(item.get("note") or item.get("body") or ""):
                return dict(item)
        return None

    async def _call(self, person_id: int, record: Mapping[str, Any], marker: str, body: str) -> str:
        found = await self._listed("calls", person_id, marker)
        if found is not None:
            return str(found["id"])
        outcome = OUTCOMES.get(record["disposition"], "No Answer")
        if record["status"] == "busy":
            outcome = "Busy"
        elif record["disposition"] == "interrupted" and record.get("answered_at"):
            outcome = OUTCOMES["callback"]  # a conversation cut off is called back at once; the note says why
        call = {"personId": person_id, "phone": record["lead"]["phone"], "isIncoming": False, "outcome": outcome,
                "duration": int(record.get("duration_s") or 0), "note": body}
        if record.get("recording") and str(record["recording"]).startswith("http"):
            call["recordingUrl"] = record["recording"]
        return str((await self.api.request("POST", "/v1/calls", json=call)).json()["id"])

    async def _note(self, person_id: int, marker: str, subject: str, body: str) -> str:
        found = await self._listed("notes", person_id, marker)
        if found is not None:
            return str(found["id"])
        note = {"personId": person_id, "subject": subject, "body": body, "isHtml": False}
        return str((await self.api.request("POST", "/v1/notes", json=note)).json()["id"])

    async def _appointment(self, person_id: int, record: Mapping[str, Any], appointment: Mapping[str, Any],
                           marker: str) -> None:
        payload = {"title": f"Appointment booked by reauto ({record['campaign']})", "start": appointment["starts_at"],
                   "end": appointment.get("ends_at") or appointment["starts_at"],
                   "invitees": [{"personId": person_id}], "description": marker,
                   "location": appointment.get("meeting_link") or ""}
        try:
            await self.api.request("POST", "/v1/appointments", json=payload)
        except TransientExportError:
            raise
        except PermanentExportError as exc:  # the call and note are in: say why the appointment is not
            raise PermanentExportError(f"appointment not created: {exc}") from None

    @staticmethod
    def _call_note(record: Mapping[str, Any], marker: str) -> str:
        lines = [record["summary"]]
        for name, value in (record.get("slots") or {}).items():
            if isinstance(value, dict):
                value = value.get("value")
            if value is not None and not name.startswith("_"):
                lines.append(f"- {name}: {value}")
        transcript = record.get("transcript") or []
        if transcript:
            lines += ["", "Transcript:"] + [f"{t['speaker']}: {t['text']}" for t in transcript]
        if record.get("recording"):
            lines.append(f"Recording: {record['recording']}")
        lines += ["", marker]
        return "\n".join(lines)
