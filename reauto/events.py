"""Call and lead events: what happened, for systems that act on it (a dashboard, a CRM workflow, a pager).

Each event is written in the transaction that makes the change it reports (an outbox: an event is
never sent for a change that was rolled back, nor lost for one that was stored). The ``events``
export target (:mod:`reauto.export.targets.events`) delivers each event once to every URL of
``[export.events] urls`` as signed JSON, with retries, the dead-letter list and its replay
(``reauto export dlq list|retry --target events``), in real time from a dialer whose campaign lists
``events`` in ``export_targets``, or by ``reauto export --to events``.

:data:`TYPES` is the schema: each type, when it is written, and its ``data`` fields. The
delivered body is ``{"schema": "reauto.event/1", "id", "type", "at", "campaign", "data"}``;
``docs/events.md`` is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from reauto.store.models import Event

SCHEMA = "reauto.event/1"

#: Each event type: when it is written, and its ``data`` fields with what they hold.
TYPES: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "call.queued": ("A call is opened: about to be dialed (outbound), or a lead's call taken (inbound).", {
        "call_id": "reauto's id of the call",
        "lead_id": "reauto's id of the lead",
        "direction": "`outbound` or `inbound`",
        "caller_id": "the number the call comes from (a campaign's pool), or null for the campaign's caller ID",
    }),
    "call.answered": ("A person or an answering machine picked up.", {
        "call_id": "reauto's id of the call",
        "lead_id": "reauto's id of the lead",
        "answered_by": "`human`, `machine` or `unknown` (answering-machine detection still running)",
    }),
    "call.ended": ("The call's end is stored (also for calls nobody answered, and for calls a dialer that "
                   "stopped left open: status `interrupted`, no outcome, the lead due again).", {
        "call_id": "reauto's id of the call",
        "lead_id": "reauto's id of the lead",
        "direction": "`outbound` or `inbound`",
        "status": "the final telephony status (`completed`, `no-answer`, `busy`, `failed`, `voicemail` …)",
        "outcome": "`booked`, `callback`, `not_interested`, `dnc`, `bad_number`, `voicemail`, `no_answer`, "
                   "`transferred`; null for an interrupted call",
        "duration_s": "seconds from answer to end (null when not answered)",
        "cost_usd": "what the call cost",
        "lead_status": "the lead's status after the call (`booked`, `scheduled`, `callback`, `dnc` …)",
    }),
    "call.analyzed": ("The post-call analysis of an ended call is stored: by the rules at the call's end, and, "
                      "for a call a person answered, with the Ollama brain by the LLM again a moment later (the "
                      "latest is the call's).", {
        "call_id": "reauto's id of the call",
        "lead_id": "reauto's id of the lead",
        "summary": "two or three sentences a person reads",
        "disposition": "the call's outcome",
        "sentiment": "`positive`, `neutral` or `negative`",
        "objections": "what the lead objected to (`not_interested`, `busy`, `robot`, `recording`, `price`, "
                      "`timing` …)",
        "next_step": "what happens next, in words",
        "follow_up_at": "ISO 8601 UTC of the follow-up (the appointment, or the call back), or null",
        "by": "`rules` or `llm`: what wrote it",
    }),
    "lead.booked": ("A call ended with an appointment booked.", {
        "lead_id": "reauto's id of the lead",
        "call_id": "the call it was booked on",
        "starts_at": "ISO 8601 UTC of the appointment (null when the campaign offers fixed times without a "
                     "calendar)",
        "offer": "the time the lead accepted, as the agent said it",
    }),
    "lead.opted_out": ("A number went on the internal do-not-call list: said on a call, heard again in a "
                       "recording, or texted.", {
        "phone": "the number, E.164",
        "lead_ids": "reauto's ids of the leads with the number",
        "reason": "`asked on a call`, `opted out by text`, `opt-out heard again in the call's recording` …",
    }),
}


class UnknownEvent(ValueError):
    """An event type or field that :data:`TYPES` does not list."""


def record(s: AsyncSession, type_: str, *, campaign_id: int | None, at: datetime, **data: Any) -> None:
    """Write one event in ``s`` (the transaction of the change it reports).

    Raises:
        UnknownEvent: the type is not in :data:`TYPES`, or ``data`` has other fields than its schema.
    """
    if type_ not in TYPES:
        raise UnknownEvent(f"unknown event type {type_!r}")
    fields = TYPES[type_][1]
    if set(data) != set(fields):
        raise UnknownEvent(f"{type_}: fields {sorted(data)} differ from the schema's {sorted(fields)}")
    s.add(Event(type=type_, campaign_id=campaign_id, payload=dict(data), created_at=at))
    s.info[_WRITTEN] = True  # the listeners hear of it once the transaction commits


_WRITTEN = "reauto.events.written"
#: Told (no arguments) after each commit that stored events, in this process.
_listeners: list[Callable[[], None]] = []


def subscribe(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener()`` after each transaction of this process that stored events commits (it
    runs inside the commit: it must only schedule work, e.g. ``loop.call_soon_threadsafe``); the
    returned function unsubscribes. Events other processes write are not heard: poll for them."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


@sa_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        for listener in list(_listeners):
            listener()


@sa_event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WRITTEN, None)  # never sent: the change it reported was not stored


def body(event: Event, campaign: str | None) -> dict[str, Any]:
    """What a receiver gets for ``event``."""
    return {"schema": SCHEMA, "id": f"evt_{event.id}", "type": event.type, "at": event.created_at.isoformat(),
            "campaign": campaign, "data": dict(event.payload or {})}


def reference() -> str:
    """``docs/events.md``: the receiver's guide and every type's fields (generated)."""
    lines = ["# Call and lead events", "",
             "<!-- generated by `python -m reauto.docgen` from reauto/events.py: do not edit -->", "",
             "reauto POSTs each event once to every URL of `[export.events] urls` (add `events` to a campaign's",
             "`export_targets` to push them as they happen; `reauto export --to events` sends what is waiting).",
             "The body is JSON: `{\"schema\": \"reauto.event/1\", \"id\", \"type\", \"at\", \"campaign\", \"data\"}`.",
             "Each request carries `Idempotency-Key` (the same on every delivery of one event: deduplicate on it)",
             "and `X-Reauto-Signature: t=<unix seconds>,v1=<hex>`, HMAC-SHA256 keyed by `[export.events] secret`",
             "over `<t>.<raw body>` (verify it as the webhook export's, in docs/crm.md). A 2xx is success; 408,",
             "429 and 5xx are retried with backoff, then the event waits for the next run; after 3 failed runs,",
             "or at once on another 4xx, it goes to the dead-letter list: `reauto export dlq list --target",
             "events`, and `reauto export dlq retry --target events` sends it again. `[export.events] types`",
             "limits the types sent (empty: all).", ""]
    for name, (when, fields) in TYPES.items():
        lines += [f"## `{name}`", "", when, "", "| field | holds |", "|---|---|"]
        lines += [f"| `{field}` | {text} |" for field, text in fields.items()]
        lines.append("")
    return "\n".join(lines)
