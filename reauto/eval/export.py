"""Stored calls → the recordings directory, so real calls become evaluation sets.

Each recorded call's dual-channel WAV (left: the lead, right: the agent) is split into lead.wav
and agent.wav; its stored turns become the reference transcript and its outcome and final slots
the labels. The reference is what the call's recogniser heard and the agent concluded: review
and correct call.yaml before trusting it as ground truth. Lead turns carry no times (the VAD
finds them in lead.wav).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.audio.codec import read_wav, write_wav
from reauto.errors import UsageError
from reauto.eval.recordings import AGENT_WAV, CALL_FILE, LEAD_WAV, OUTCOMES
from reauto.store.engine import session_factory
from reauto.store.models import Call, CallStatus, Campaign, Lead, QualificationSnapshot, Turn
from reauto.audio.codec import split_channels, write_wav

HEADER = ("# Exported by `reauto calls export-recordings` from call {call_id} ({when}).\n"
          "# The reference is what the call's recogniser heard and the agent concluded:\n"
          "# listen to lead.wav and correct the turns and labels before using them as ground truth.\n")


@dataclass
class ExportReport:
    """What an export wrote and what it left out, and why."""

    written: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _labels(outcome: str | None, slots: dict[str, Any]) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    if slots.get("intent") in {"buy", "sell", "rent"}:
        labels["intent"] = slots["intent"]
    if isinstance(slots.get("timeline_months"), int | float):
        labels["timeline_months"] = slots["timeline_months"]
    budget = slots.get("budget_usd")
    if isinstance(budget, dict):
        value = budget.get("high") or budget.get("low")
        if value:
            labels["budget_usd"] = value
    elif isinstance(budget, int | float) and budget > 0:
        labels["budget_usd"] = budget
    if isinstance(slots.get("preapproved"), bool):
        labels["preapproved"] = slots["preapproved"]
    if outcome in OUTCOMES:
        labels["outcome"] = outcome
    return labels


async def export_recordings(engine: AsyncEngine, campaign: str, out: Path, *, limit: int | None = None,
                            overwrite: bool = False) -> ExportReport:
    """Write ``campaign``'s recorded calls under ``out``, one directory per call (``call-<id>``).

    Raises:
        UsageError: no campaign of that name.
    """
    report = ExportReport()
    sessions = session_factory(engine)
    async with sessions() as s:
        camp = (await s.execute(select(Campaign).where(Campaign.name == campaign))).scalar_one_or_none()
        if camp is None:
            raise UsageError(f"no campaign named {campaign!r} in the database")
        query = (select(Call, Lead).join(Lead, Lead.id == Call.lead_id)
                 .where(Call.campaign_id == camp.id, Call.recording_path.is_not(None)).order_by(Call.id))
        if limit:
            query = query.limit(limit)
        calls = (await s.execute(query)).all()
        for call, lead in calls:
            turns = list((await s.execute(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq))).scalars())
            snapshot = (await s.execute(select(QualificationSnapshot).where(QualificationSnapshot.call_id == call.id)
                                        .order_by(QualificationSnapshot.version.desc()).limit(1))).scalar_one_or_none()
            directory = out / f"call-{call.id}"
            if call.recording_declined_at is not None:  # the lead objected: their voice is not reused
                report.skipped.append({"call_id": call.id, "reason": "the lead objected to the recording"})
                continue
            if (directory / CALL_FILE).exists() and not overwrite:
                report.skipped.append({"call_id": call.id, "reason": f"{directory} exists (use --overwrite)"})
                continue
            try:
                lead_pcm, agent_pcm, rate = split_channels(Path(call.recording_path or ""))
            except UsageError as exc:
                report.skipped.append({"call_id": call.id, "reason": exc.message})
                continue
            lead_turns = [t for t in turns if t.speaker == "lead" and t.text.strip()]
            if not lead_turns:
                report.skipped.append({"call_id": call.id, "reason": "no lead turn was heard"})
                continue
            write_wav(directory / LEAD_WAV, lead_pcm, rate=rate)
            if agent_pcm:
                write_wav(directory / AGENT_WAV, agent_pcm, rate=rate)
            name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or None
            doc: dict[str, Any] = {"campaign": campaign}
            if call.created_at is not None:  # the agent judged "next spring" from this day
                doc["date"] = call.created_at.date()
            doc["lead"] = {k: v for k, v in (("name", name), ("phone", lead.phone_e164), ("state", lead.state)) if v}
            if call.status == CallStatus.VOICEMAIL:
                doc["answered_by"] = "machine"
            doc["turns"] = [{"speaker": t.speaker, "text": t.text} for t in turns if t.text.strip()]
            doc["labels"] = _labels(call.outcome.value if call.outcome else None,
                                    dict(snapshot.slots) if snapshot else {})
            when = call.created_at.isoformat(timespec="seconds") if call.created_at else "unknown time"
            (directory / CALL_FILE).write_text(HEADER.format(call_id=call.id, when=when)
                                               + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                                               encoding="utf-8")
            report.written.append(str(directory))
    return report
