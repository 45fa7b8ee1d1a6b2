"""Texts from leads (Twilio's inbound messaging webhook): opt-outs, HELP, START and replies.

A text is read by :func:`reauto.intake.replies.read_reply` and acted on before the webhook is
answered, so that an opt-out is on the do-not-call list by the time Twilio has its answer:

* **opt-out** (any keyword, any plain-language "don't text me"): the number goes on the internal
  do-not-call list, every lead with it is flagged (no call, no text from any campaign) and every
  consent on record for them is revoked. The one confirmation the rules allow is the answer.
* **HELP**: the campaign's help text is the answer.
* **START** (or YES from a number that opted out by text): the opt-out is lifted only when it was
  made by text (an opt-out said on a call, a ``reauto dnc add`` or the national registry stay) and
  only for texts: a consent covering texts is recorded, calls need a new consent.
* **a message**: stored on the lead, exported as a text record (the CRM's note). Read as on a call:
  "wrong number" ends the lead's calls (``bad_number``), "not interested" too (``not_interested``),
  and a request for a call ("call me at 5", "can a person call me") schedules one at the time
  asked for (the calling rules still decide when it is placed).

The lead is the one with the sender's number in the campaign whose caller ID the text was sent to
(else the newest lead with that number). Each text is stored once: a delivery Twilio repeats
(same ``MessageSid``) changes nothing and is answered with nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import string
import weakref
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from reauto import events, metrics
from reauto.agent.when.answer import read_preference
from reauto.agent.when.preference import PARTS
from reauto.campaign import numbers_of
from reauto.intake.replies import MAX_CHARS, Reply, read_reply
from reauto.leads.dnc import flag_leads
from reauto.leads.normalize import InvalidPhone, parse_phone, zones_of
from reauto.store.models import DIALABLE, Campaign, ConsentRecord, DncEntry, DncSource, Lead, LeadStatus, Touch
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

#: The reason stored on an internal do-not-call entry made by a text (START lifts only these).
TEXT_OPT_OUT = "opted out by text"
OPT_OUT_ANSWER = ("{business}: you are unsubscribed and will get no more texts or calls from us. "
                  "Reply START to resubscribe to texts.")
HELP_ANSWER = "{business}: real-estate follow-up from {agent_name}. Call {callback_number}. Reply STOP to opt out."
OPT_IN_ANSWER = "{business}: you are resubscribed to texts. Reply STOP to opt out, HELP for help."
#: Statuses a reply may move a lead out of (a lead in a call keeps its status until the call ends).
_MOVABLE = (*DIALABLE, LeadStatus.NOT_INTERESTED, LeadStatus.EXHAUSTED, LeadStatus.QUALIFIED)


@dataclass(frozen=True)
class InboundText:
    """One text as Twilio posts it: ``MessageSid``, ``From``, ``To``, ``Body``."""

    sid: str
    from_: str
    to: str
    body: str

    @classmethod
    def from_form(cls, form: dict[str, str]) -> InboundText:
        return cls(form.get("MessageSid") or form.get("SmsSid") or "", form.get("From", ""), form.get("To", ""),
                   form.get("Body", ""))


@dataclass
class Handled:
    """What a text did.

    Attributes:
        reply: how it was read.
        answer: the text sent back (in the webhook's TwiML), or None.
        lead_id: the lead it was stored on (None: no lead has the number).
        campaign: the campaign it was matched to by caller ID, or None.
        listed: the number was put on the do-not-call list by this text.
        callback_at: the call it scheduled (UTC), or None.
        duplicate: a delivery already handled (nothing changed).
        action: what was done, in words (stored on the reply).
    """

    reply: Reply
    answer: str | None = None
    lead_id: int | None = None
    campaign: str | None = None
    listed: bool = False
    callback_at: datetime | None = None
    duplicate: bool = False
    action: str = ""
    lead_ids: list[int] = field(default_factory=list)


def _answer(template: str, config: dict[str, Any]) -> str:
    persona = config.get("persona") or {}
    values = {"business": persona.get("business") or "Real-estate follow-up",
              "agent_name": persona.get("agent_name") or "our agent",
              "callback_number": persona.get("callback_number") or config.get("caller_id") or "us"}
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    return template.format(**{k: values.get(k, "") for k in fields})


def lead_zone(lead: Lead) -> ZoneInfo | None:
    """The lead's time zone, as the dialer would read it (its own, else its number's first)."""
    names = [lead.timezone] if lead.timezone else list(lead.tz_candidates or []) or zones_of(lead.phone_e164)
    for name in names:
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            continue
    return None


def callback_time(text: str, now: datetime, zone: ZoneInfo | None, window_start: time = time(9)) -> datetime:
    """When a lead who texted ``text`` at ``now`` (UTC) asked to be called, in UTC.

    The day is the first one named (today if none). A time named exactly ("at 5") that has passed
    today means tomorrow; a lower bound ("after 3", "this evening") that has passed means now; a
    day named without a time means ``window_start`` that day; nothing said about time means now.
    """
    local_now = now.astimezone(zone) if zone is not None else now
    written = re.sub(r"(?i)(\d)\s*([ap])\.?\s?m\b\.?", r"\1 \2m", text.lower())  # "4pm", "4 p.m." -> "4 pm"
    pref = read_preference(written, offers=(), now=local_now)
    days = sorted(d for d in pref.days if d >= local_now.date() and d not in pref.not_days)
    day = days[0] if days else local_now.date()
    exact = pref.at is not None
    start = pref.at or pref.after or (max(PARTS[pref.part][0], window_start) if pref.part else None)
    if start is None and day > local_now.date():
        start = window_start
    if start is None:
        return now
    when = datetime.combine(day, start, tzinfo=local_now.tzinfo)
    if when <= local_now:
        when = when + timedelta(days=1) if exact else local_now
    return when.astimezone(now.tzinfo)


async def _lead_for(s: AsyncSession, phone: str, to: str) -> tuple[Lead | None, Campaign | None, list[int]]:
    """The lead the text is from (see the module), its campaign, and every lead id with the number."""
    leads = list((await s.execute(select(Lead).where(Lead.phone_e164 == phone).order_by(Lead.id.desc()))).scalars())
    if not leads:
        return None, None, []
    campaigns = {c.id: c for c in (await s.execute(
        select(Campaign).where(Campaign.id.in_({lead.campaign_id for lead in leads})))).scalars()}
    matched = [lead for lead in leads if to in numbers_of(campaigns[lead.campaign_id].config)]
    lead = (matched or leads)[0]
    return lead, campaigns[lead.campaign_id], [lead.id for lead in leads]


async def _opt_out(s: AsyncSession, phone: str, lead_ids: list[int], now: datetime,
                   campaign_id: int | None = None) -> bool:
    """List the number, flag its leads, revoke their consents; whether the listing is new."""
    entry = (await s.execute(select(DncEntry).where(DncEntry.phone_e164 == phone,
                                                    DncEntry.source == DncSource.INTERNAL)
                             .with_for_update())).scalar_one_or_none()
    listed = entry is None or entry.removed_at is not None
    if entry is None:
        s.add(DncEntry(phone_e164=phone, source=DncSource.INTERNAL, reason=TEXT_OPT_OUT, added_at=now))
    elif entry.removed_at is not None:
        entry.removed_at, entry.reason, entry.added_at = None, TEXT_OPT_OUT, now
    if listed:
        events.record(s, "lead.opted_out", campaign_id=campaign_id, at=now, phone=phone, lead_ids=sorted(lead_ids),
                      reason=TEXT_OPT_OUT)
    await s.flush()
    await flag_leads(await s.connection(), [phone])
    if lead_ids:
        await s.execute(update(ConsentRecord).where(ConsentRecord.lead_id.in_(lead_ids),
                                                    ConsentRecord.revoked_at.is_(None)).values(revoked_at=now))
    return listed


async def _opt_in(s: AsyncSession, phone: str, leads: list[Lead], sid: str, now: datetime) -> str:
    """Lift a text opt-out for texts; what was done, in words."""
    entries = list((await s.execute(select(DncEntry).where(DncEntry.phone_e164 == phone,
                                                           DncEntry.removed_at.is_(None)))).scalars())
    if any(e.source != DncSource.INTERNAL or (e.reason or "") != TEXT_OPT_OUT for e in entries):
        return "not resubscribed: the number is on a do-not-call list for another reason"
    for entry in entries:
        entry.removed_at = now
    for lead in leads:
        lead.dnc = False
        s.add(ConsentRecord(lead_id=lead.id, kind="express", covers_calls=False, covers_texts=True,
                            covers_artificial_voice=False, obtained_at=now, method="text START",
                            evidence=f"message {sid}"[:500], created_at=now))
    return "resubscribed to texts (calls need a new consent)"


def _act_on_message(lead: Lead, reply: Reply, body: str, now: datetime,
                    window_start: time) -> tuple[str, datetime | None]:
    """Move the lead as its message asks; what was done and the call scheduled."""
    if lead.dnc or lead.status not in _MOVABLE:
        return "stored", None
    if "wrong_number" in reply.intents:
        lead.status = LeadStatus.BAD_NUMBER
        return "no more calls: wrong number", None
    if "not_interested" in reply.intents and not reply.intents & {"callback_request", "human_request"}:
        lead.status = LeadStatus.NOT_INTERESTED
        return "no more calls: not interested", None
    if reply.intents & {"callback_request", "human_request"}:
        at = callback_time(body[:MAX_CHARS], now, lead_zone(lead), window_start)
        lead.status, lead.next_attempt_at = LeadStatus.CALLBACK, at
        return "call back scheduled", at
    return "stored", None


#: One writer at a time per SQLite engine, in arrival order. SQLite takes one writer at a time
#: anyway; left to its busy handler, 10 texts at once waited up to 3.9 s for the lock (its sleeps
#: grow to 100 ms and favour no one), queued here the longest wait was under 1 s
#: (``scripts/bench/sms_optout.py``). PostgreSQL needs no queue.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer(engine: AsyncEngine) -> asyncio.Lock | contextlib.nullcontext[None]:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _SQLITE_WRITERS.setdefault(engine.sync_engine, asyncio.Lock())


async def receive_text(engine: AsyncEngine, text: InboundText, *, region: str = "US",
                       clock: Any = utcnow) -> Handled:
    """Read and act on one inbound text (see the module); the answer to send back is in the result."""
    reply = read_reply(text.body)
    try:
        phone = parse_phone(text.from_, region).e164
    except InvalidPhone:  # a short code or an alphanumeric sender: nothing to list or store
        metrics.TEXTS_RECEIVED.labels(kind=reply.kind).inc()
        return Handled(reply, action="ignored: the sender is not a phone number")
    async with _writer(engine):
        out = await _handle(engine, text, reply, phone, clock())
    metrics.TEXTS_RECEIVED.labels(kind=out.reply.kind).inc()
    log.info("text %s read as %s: %s (lead %s)", text.sid[:40] or "-", out.reply.kind, out.action, out.lead_id)
    return out


async def _handle(engine: AsyncEngine, text: InboundText, reply: Reply, phone: str, now: datetime) -> Handled:
    async with AsyncSession(engine, expire_on_commit=False) as s, s.begin():
        if text.sid and await s.scalar(select(Touch.id).where(Touch.provider_sid == text.sid,
                                                              Touch.kind == "reply").limit(1)):
            return Handled(reply, duplicate=True, action="already handled")
        lead, campaign, lead_ids = await _lead_for(s, phone, text.to)
        config: dict[str, Any] = dict(campaign.config or {}) if campaign is not None else {}
        sms = config.get("sms") or {}
        if reply.yes and lead is not None and await s.scalar(select(DncEntry.id).where(
                DncEntry.phone_e164 == phone, DncEntry.removed_at.is_(None), DncEntry.reason == TEXT_OPT_OUT)):
            reply = Reply("opt_in")
        out = Handled(reply, lead_id=lead.id if lead else None, campaign=campaign.name if campaign else None,
                      lead_ids=lead_ids)
        if reply.kind == "opt_out":
            out.listed = await _opt_out(s, phone, lead_ids, now, campaign.id if campaign else None)
            out.action = "put on the do-not-call list" if out.listed else "already on the do-not-call list"
            out.answer = _answer(sms.get("opt_out_answer") or OPT_OUT_ANSWER, config)
        elif reply.kind == "help":
            out.action, out.answer = "help sent", _answer(sms.get("help_answer") or HELP_ANSWER, config)
        elif reply.kind == "opt_in":
            leads = list((await s.execute(select(Lead).where(Lead.id.in_(lead_ids)))).scalars()) if lead_ids else []
            out.action = await _opt_in(s, phone, leads, text.sid, now)
            if out.action.startswith("resubscribed"):
                out.answer = _answer(sms.get("opt_in_answer") or OPT_IN_ANSWER, config)
        elif lead is not None:
            window = (config.get("calling_window") or {}).get("start") or "09:00"
            out.action, out.callback_at = _act_on_message(lead, reply, text.body, now, time.fromisoformat(window))
        else:
            out.action = "not stored: no lead has the number"
        if lead is not None:
            read = reply.kind + (f" ({', '.join(sorted(reply.intents))})" if reply.intents else "")
            flag = "; a revocation word inside a sentence: read it" if reply.keyword_in_sentence else ""
            s.add(Touch(campaign_id=lead.campaign_id, lead_id=lead.id, channel="sms", kind="reply", status="received",
                        reason=f"read as {read}: {out.action}{flag}"[:300], body=text.body[:4000],
                        provider_sid=text.sid[:64] or None, created_at=now))
            if out.answer:
                s.add(Touch(campaign_id=lead.campaign_id, lead_id=lead.id, channel="sms", kind=f"{reply.kind}_answer",
                            status="sent", body=out.answer, created_at=now))
    return out
