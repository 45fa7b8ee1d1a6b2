"""The exported records: one per call and one per text, in a documented, versioned schema.

Schema ``reauto.export/1`` (every field always present; unknown values are null):

``schema``
    ``reauto.export/1``: a change that breaks readers gets a new number.
``kind``
    ``call`` or ``text``.
``key``
    ``call:<id>`` / ``text:<id>``: stable, the idempotency key's base.
``campaign``
    The campaign's name.
``lead``
    ``{id, external_id, first_name, last_name, phone, email, state, source}``.
``at``
    ISO 8601 UTC: when the call was placed / the text was sent or skipped.
``disposition``
    Calls: ``booked``, ``callback``, ``not_interested``, ``dnc``, ``voicemail``, ``no_answer``,
    ``bad_number``, ``interrupted`` (the call was cut off when its dialer stopped: what was said is
    kept, and the lead is called back to resume it) (texts: ``sent``, ``failed`` or ``skipped``).
``status``
    The call's final telephony status (``completed``, ``busy``, ``no-answer`` …) or the text's status.
``answered_at``, ``ended_at``, ``duration_s``
    Calls only (an interrupted call ends at its last turn).
``slots``, ``score``
    What the lead said (intent, timeline, budget …) and the qualification score (calls only).
``summary``
    One line a person reads in the CRM.
``transcript``
    ``[{"speaker": "agent"|"lead", "text": …}]`` (calls; empty for texts).
``recording``
    The recording's path or URL when the call was recorded, else null.
``appointment``
    ``{starts_at, ends_at, timezone, calendar, meeting_link}`` when one was booked, else the slot the
    lead chose (``{"offer": "Tuesday at 10 AM"}``) or null.
``cost_usd``
    What the call cost (texts: null).
``cadence_step``
    The step of the campaign's cadence, when the campaign has one.
``text``
    Texts only: ``{kind, body, reason}`` (kind: ``cadence``, ``after_hours``, ``confirmation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from reauto import events
from reauto.store.models import (
    Appointment,
    Call,
    CallEvent,
    CallStatus,
    Campaign,
    Event,
    ExportItem,
    Lead,
    QualificationSnapshot,
    Touch,
    Turn,
)

SCHEMA = "reauto.export/1"
#: The columns of the CSV file (nested values are JSON in their cell).
CSV_COLUMNS = (
    "schema", "kind", "key", "campaign", "lead_id", "external_id", "first_name", "last_name", "phone", "email",
    "state", "at", "disposition", "status", "answered_at", "ended_at", "duration_s", "score", "slots", "summary",
    "recording", "appointment", "cost_usd", "cadence_step", "text",
)


@dataclass(frozen=True)
class Item:
    """One record waiting for a target."""

    key: str
    record: dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _lead(lead: Lead) -> dict[str, Any]:
    return {"id": lead.id, "external_id": lead.external_id, "first_name": lead.first_name,
            "last_name": lead.last_name, "phone": lead.phone_e164, "email": lead.email, "state": lead.state,
            "source": lead.source}


def summary_line(disposition: str, slots: dict[str, Any], score: float | None, appointment: Any) -> str:
    """``Booked (score 0.82): intent buy, timeline 3 months, budget $400,000, pre-approved yes; Tuesday at 10 AM``."""
    parts = []
    for name, value in slots.items():
        if isinstance(value, dict):
            value = value.get("value")
        if value is None or name.startswith("_"):
            continue
        if name.endswith("_usd") and isinstance(value, int | float):
            value = f"${value:,.0f}"
        elif name.endswith("_months") and isinstance(value, int | float):
            value = f"{value:g} months"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{name.removesuffix('_usd').removesuffix('_months').replace('_', ' ')} {value}")
    head = disposition.replace("_", " ").capitalize() + (f" (score {score:.2f})" if score is not None else "")
    tail = ""
    if isinstance(appointment, dict):
        tail = "; appointment " + str(appointment.get("starts_at") or appointment.get("offer"))
    if disposition == "interrupted":
        tail += "; the call was cut off on our side, a call-back resumes it"
    return head + (": " + ", ".join(parts) if parts else "") + tail


async def pending(engine: AsyncEngine, target: str, *, campaign: str | None = None, since: datetime | None = None,
                  limit: int = 500) -> list[Item]:
    """Finished calls and texts not yet delivered to ``target``, oldest first (at most ``limit`` of each)."""
    async with AsyncSession(engine) as conn:
        call_filters = [Call.ended_at.is_not(None), ~exists().where(and_(
            ExportItem.target == target, ExportItem.item_key == "call:" + Call.id.cast(ExportItem.item_key.type)))]
        text_filters = [~exists().where(and_(
            ExportItem.target == target, ExportItem.item_key == "text:" + Touch.id.cast(ExportItem.item_key.type)))]
        if campaign is not None:
            call_filters.append(Campaign.name == campaign)
            text_filters.append(Campaign.name == campaign)
        if since is not None:
            call_filters.append(Call.created_at >= since)
            text_filters.append(Touch.created_at >= since)
        calls = (await conn.execute(
            select(Call, Lead, Campaign.name).join(Lead, Lead.id == Call.lead_id)
            .join(Campaign, Campaign.id == Call.campaign_id).where(*call_filters).order_by(Call.id).limit(limit)
        )).all()
        texts = (await conn.execute(
            select(Touch, Lead, Campaign.name).join(Lead, Lead.id == Touch.lead_id)
            .join(Campaign, Campaign.id == Touch.campaign_id).where(*text_filters).order_by(Touch.id).limit(limit)
        )).all()
        call_ids = [row[0].id for row in calls]
        details = await _call_details(conn, call_ids)
    items = [Item(f"call:{c.id}", call_record(c, lead, name, *details.get(c.id, ({}, None, [], None, None, None))))
             for c, lead, name in calls]
    items += [Item(f"text:{t.id}", text_record(t, lead, name)) for t, lead, name in texts]
    return sorted(items, key=lambda item: item.record["at"] or "")


async def pending_events(engine: AsyncEngine, target: str, *, campaign: str | None = None,
                         since: datetime | None = None, limit: int = 500) -> list[Item]:
    """Events (:mod:`reauto.events`) not yet delivered to ``target``, oldest first."""
    filters = [~exists().where(and_(ExportItem.target == target,
                                    ExportItem.item_key == "event:" + Event.id.cast(ExportItem.item_key.type)))]
    if campaign is not None:
        filters.append(Campaign.name == campaign)
    if since is not None:
        filters.append(Event.created_at >= since)
    async with AsyncSession(engine) as conn:
        rows = (await conn.execute(select(Event, Campaign.name).outerjoin(Campaign, Campaign.id == Event.campaign_id)
                                   .where(*filters).order_by(Event.id).limit(limit))).all()
    return [Item(f"event:{event.id}", {"kind": "event", "key": f"event:{event.id}", "campaign": name,
                                       "at": event.created_at.isoformat(), "summary": event.type,
                                       "event": events.body(event, name)}) for event, name in rows]


async def _call_details(conn: Any, call_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """Per call: (slots, score, transcript, appointment, cadence step, analysis)."""
    if not call_ids:
        return {}
    out: dict[int, list[Any]] = {i: [{}, None, [], None, None, None] for i in call_ids}
    for snap in (await conn.execute(select(QualificationSnapshot).where(
            QualificationSnapshot.call_id.in_(call_ids)).order_by(QualificationSnapshot.version))).scalars():
        out[snap.call_id][0], out[snap.call_id][1] = dict(snap.slots or {}), snap.score
    for turn in (await conn.execute(select(Turn).where(Turn.call_id.in_(call_ids)).order_by(
            Turn.call_id, Turn.seq))).scalars():
        out[turn.call_id][2].append({"speaker": turn.speaker, "text": turn.text})
    for appt in (await conn.execute(select(Appointment).where(Appointment.call_id.in_(call_ids)))).scalars():
        out[appt.call_id][3] = {"starts_at": _iso(appt.starts_at), "ends_at": _iso(appt.ends_at),
                                "timezone": appt.timezone, "calendar": appt.calendar,
                                "meeting_link": appt.meeting_link}
    for event in (await conn.execute(select(CallEvent).where(CallEvent.call_id.in_(call_ids),
                                                             CallEvent.type.in_(("dial", "analysis")))
                                     .order_by(CallEvent.id))).scalars():
        if event.type == "dial":
            out[event.call_id][4] = (event.payload or {}).get("cadence_step")
        else:
            out[event.call_id][5] = dict(event.payload or {})  # the latest analysis is the call's
    return {k: tuple(v) for k, v in out.items()}


def disposition_of(call: Call) -> str:
    """The call's disposition: its outcome; a call cut off when its dialer stopped (status
    ``interrupted``, no outcome: the conversation's end was never stored) is ``interrupted``."""
    if call.outcome is not None:
        return str(call.outcome)
    return "interrupted" if call.status == CallStatus.INTERRUPTED else "no_answer"


def call_record(call: Call, lead: Lead, campaign: str, slots: dict[str, Any], score: float | None,
                transcript: list[dict[str, str]], appointment: dict[str, Any] | None,
                cadence_step: int | None, analysis: dict[str, Any] | None = None) -> dict[str, Any]:
    disposition = disposition_of(call)
    if appointment is None and disposition == "booked":
        offer = slots.get("appointment") or slots.get("booking")
        appointment = {"offer": offer.get("value") if isinstance(offer, dict) else offer} if offer else None
    duration = ((call.ended_at - call.answered_at).total_seconds()
                if call.ended_at is not None and call.answered_at is not None else None)
    return {
        "schema": SCHEMA, "kind": "call", "key": f"call:{call.id}", "campaign": campaign, "lead": _lead(lead),
        "at": _iso(call.created_at), "disposition": disposition, "status": str(call.status),
        "answered_at": _iso(call.answered_at), "ended_at": _iso(call.ended_at),
        "duration_s": round(duration, 1) if duration is not None else None,
        "slots": slots, "score": score, "direction": call.direction, "analysis": analysis,
        "summary": ("Inbound: the lead called. " if call.direction == "inbound" else "")
        + summary_line(disposition, slots, score, appointment)
        + (f" — {analysis['summary']} Sentiment: {analysis['sentiment']}." if analysis else ""),
        "transcript": transcript, "recording": call.recording_path if call.recorded else None,
        "recording_declined_at": _iso(call.recording_declined_at),
        "appointment": appointment, "cost_usd": float(call.cost_total or 0), "cadence_step": cadence_step,
        "text": None,
    }


def text_record(touch: Touch, lead: Lead, campaign: str) -> dict[str, Any]:
    what = {"cadence": "cadence text", "after_hours": "after-hours notice", "reply": "reply from the lead",
            "opt_out_answer": "opt-out confirmation", "help_answer": "answer to HELP",
            "opt_in_answer": "re-subscription confirmation"}.get(touch.kind, touch.kind)
    summary = f"Text ({what}) {touch.status}" + (f": {touch.reason}" if touch.reason else "")
    if touch.kind == "reply" and touch.body:
        summary += f'. The lead wrote: "{touch.body[:500]}"'  # the CRM note a person reads
    return {
        "schema": SCHEMA, "kind": "text", "key": f"text:{touch.id}", "campaign": campaign, "lead": _lead(lead),
        "at": _iso(touch.created_at), "disposition": touch.status, "status": touch.status, "answered_at": None,
        "ended_at": None, "duration_s": None, "slots": {}, "score": None, "summary": summary, "transcript": [],
        "direction": "inbound" if touch.kind == "reply" else "outbound", "analysis": None,
        "recording": None, "recording_declined_at": None, "appointment": None, "cost_usd": None,
        "cadence_step": touch.step,
        "text": {"kind": touch.kind, "body": touch.body, "reason": touch.reason},
    }


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """The record as one CSV row (``CSV_COLUMNS``; nested values as JSON)."""
    import json

    lead = record["lead"]
    row = {**{k: record.get(k) for k in CSV_COLUMNS}, "lead_id": lead["id"], "external_id": lead["external_id"],
           "first_name": lead["first_name"], "last_name": lead["last_name"], "phone": lead["phone"],
           "email": lead["email"], "state": lead["state"]}
    for name in ("slots", "appointment", "text"):
        row[name] = json.dumps(row[name], sort_keys=True) if row[name] not in (None, {}) else ""
    return row
