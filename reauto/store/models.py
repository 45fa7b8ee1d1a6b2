"""Typed ORM models: the normalised schema of reauto.

Hot queries and the indexes that serve them:

* next lead to dial per campaign → ``ix_leads_dial_queue``, partial on dialable rows (campaign,
  priority desc, next_attempt_at, id), claimed with ``FOR UPDATE SKIP LOCKED``;
* a lead's history → ``ix_calls_lead_created``;
* a campaign's calls in a period → ``ix_calls_campaign_created``;
* a call's events → ``ix_call_events_call_ts``; time-range scans → BRIN on ``call_events.ts``
  (PostgreSQL; a plain index on SQLite).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reauto.store.types import JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Money: six decimals so per-character and per-second prices sum exactly.
Money = Numeric(14, 6)
#: Big integer ids on PostgreSQL, rowid-compatible INTEGER on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class LeadStatus(enum.StrEnum):
    NEW = "new"
    SCHEDULED = "scheduled"
    DIALING = "dialing"
    IN_CALL = "in_call"
    CALLBACK = "callback"
    QUALIFIED = "qualified"
    BOOKED = "booked"
    NOT_INTERESTED = "not_interested"
    DNC = "dnc"
    BAD_NUMBER = "bad_number"
    EXHAUSTED = "exhausted"


#: Statuses from which the dialer may pick a lead.
DIALABLE = (LeadStatus.NEW, LeadStatus.SCHEDULED, LeadStatus.CALLBACK)
#: SQL predicate of the partial dial-queue index; queries must repeat it to use the index.
DIAL_QUEUE_PREDICATE = "status IN ('new', 'scheduled', 'callback') AND dnc = false"


class CallStatus(enum.StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    VOICEMAIL = "voicemail"
    INTERRUPTED = "interrupted"


class Outcome(enum.StrEnum):
    BOOKED = "booked"
    CALLBACK = "callback"
    NOT_INTERESTED = "not_interested"
    DNC = "dnc"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BAD_NUMBER = "bad_number"
    TRANSFERRED = "transferred"  # the lead was put through to a person


class DncSource(enum.StrEnum):
    NATIONAL = "national"
    INTERNAL = "internal"


class BudgetPeriod(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    source_path: Mapped[str | None] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Lead(Base):
    __tablename__ = "leads"
    #: Not stored: the status a lead had before a dialer claimed it (a release gives it back).
    claimed_from = None
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_e164", name="uq_leads_campaign_phone"),
        UniqueConstraint("campaign_id", "external_id", name="uq_leads_campaign_external"),
        # The dial queue: only dialable rows, already in the order the dialer takes them.
        Index(
            "ix_leads_dial_queue",
            "campaign_id",
            text("priority DESC"),
            "next_attempt_at",
            "id",
            postgresql_where=text(DIAL_QUEUE_PREDICATE),
            sqlite_where=text(DIAL_QUEUE_PREDICATE),
        ),
        # When the next dialable lead falls due (the dialer naps until then): one index probe.
        Index(
            "ix_leads_due_time",
            "campaign_id",
            "next_attempt_at",
            postgresql_where=text(DIAL_QUEUE_PREDICATE),
            sqlite_where=text(DIAL_QUEUE_PREDICATE),
        ),
        Index("ix_leads_campaign_status", "campaign_id", "status"),
        Index("ix_leads_phone", "phone_e164"),
        Index("ix_leads_lease", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(120))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    phone_e164: Mapped[str] = mapped_column(String(20))
    alt_phones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tz_candidates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str | None] = mapped_column(String(120))
    has_written_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[LeadStatus] = mapped_column(_enum(LeadStatus, "lead_status"), default="new")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # the campaign cadence's next step (0: the first); unused by campaigns without a cadence
    cadence_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at insert so new leads queue in arrival order; the dialer moves it on each attempt.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DncEntry(Base):
    __tablename__ = "dnc_entries"
    __table_args__ = (UniqueConstraint("phone_e164", "source", name="uq_dnc_phone_source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    source: Mapped[DncSource] = mapped_column(_enum(DncSource, "dnc_source"))
    reason: Mapped[str | None] = mapped_column(String(300))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_lead", "lead_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # prior_express_written, express, ebr
    covers_calls: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_texts: Mapped[bool] = mapped_column(Boolean, default=False)
    covers_artificial_voice: Mapped[bool] = mapped_column(Boolean, default=False)
    obtained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    method: Mapped[str | None] = mapped_column(String(120))  # web form, paper, recorded call
    evidence: Mapped[str | None] = mapped_column(Text)  # disclosure text, URL, IP
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Touch(Base):
    """One contact attempt other than a call (a text), or a step of the cadence that was skipped."""

    __tablename__ = "touches"
    __table_args__ = (Index("ix_touches_lead_created", "lead_id", "created_at"),
                      Index("ix_touches_campaign_created", "campaign_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # sms
    kind: Mapped[str] = mapped_column(String(32))  # cadence (a cadence step), after_hours (the intake notice)
    step: Mapped[int | None] = mapped_column(Integer)  # the cadence step, when it is one
    status: Mapped[str] = mapped_column(String(16))  # sent, skipped, failed
    reason: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_campaign_created", "campaign_id", "created_at"),
        Index("ix_calls_lead_created", "lead_id", "created_at"),
        Index("ix_calls_campaign_caller_created", "campaign_id", "caller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(24))
    # "outbound": the dialer called the lead; "inbound": the lead called the campaign's number
    direction: Mapped[str] = mapped_column(String(8), default="outbound", server_default="outbound")
    # The number the call came from (a campaign's caller-ID pool; None: before pools were kept)
    caller_id: Mapped[str | None] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[CallStatus] = mapped_column(_enum(CallStatus, "call_status"), default="queued")
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome, "call_outcome"))
    prompt_variant: Mapped[str | None] = mapped_column(String(40))
    recording_path: Mapped[str | None] = mapped_column(String(500))
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    # The lead objected to the recording then (it stopped; its audio kept or discarded by policy).
    recording_declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The recording's audio was deleted then (retention, `reauto calls purge-recordings`).
    recording_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(120))
    cost_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # A person answered and the agent's first audio came later than the abandon limit after
    # their greeting (or never); None when no person answered (voicemail, no answer).
    abandoned: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallerNumber(Base):
    """A number of a campaign's caller-ID pool that was rested (its answer rate fell under its pool's)."""

    __tablename__ = "caller_numbers"
    __table_args__ = (UniqueConstraint("campaign_id", "number", name="uq_caller_numbers_campaign_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))
    rested_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rest_reason: Mapped[str | None] = mapped_column(String(200))


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (
        Index("ix_call_events_call_ts", "call_id", "ts"),
        Index("ix_call_events_ts_brin", "ts", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_turns_call_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(10))  # lead | agent
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    vad_ms: Mapped[float | None] = mapped_column(Float)
    stt_ms: Mapped[float | None] = mapped_column(Float)
    llm_ttft_ms: Mapped[float | None] = mapped_column(Float)
    tts_ttfb_ms: Mapped[float | None] = mapped_column(Float)
    first_audio_ms: Mapped[float | None] = mapped_column(Float)


class QualificationSnapshot(Base):
    __tablename__ = "qualification_snapshots"
    __table_args__ = (UniqueConstraint("lead_id", "version", name="uq_qualification_lead_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer)
    slots: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentTransition(Base):
    __tablename__ = "agent_transitions"
    __table_args__ = (Index("ix_agent_transitions_call", "call_id", "ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_agent: Mapped[str | None] = mapped_column(String(40))
    to_agent: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(200))


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # No double booking: one live appointment per calendar and start instant.
        Index(
            "uq_appointments_calendar_start",
            "calendar",
            "starts_at",
            unique=True,
            postgresql_where=text("status <> 'canceled'"),
            sqlite_where=text("status <> 'canceled'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    calendar: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="booked")
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CostEntry(Base):
    __tablename__ = "cost_ledger"
    __table_args__ = (Index("ix_cost_ledger_call", "call_id"), Index("ix_cost_ledger_ts", "ts"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    component: Mapped[str] = mapped_column(String(24))  # telephony, amd, stt, tts, llm
    provider: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(Money)
    unit: Mapped[str] = mapped_column(String(24))  # minute, second, character, token, call
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("scope", "period", name="uq_budgets_scope_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(130))  # "global" or "campaign:<name>"
    period: Mapped[BudgetPeriod] = mapped_column(_enum(BudgetPeriod, "budget_period"))
    amount: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExportRun(Base):
    __tablename__ = "export_runs"
    __table_args__ = (Index("ix_export_runs_target_started", "target", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running")


class ExportItem(Base):
    """A record delivered to an export target: each call and text goes to each target once."""

    __tablename__ = "export_items"
    __table_args__ = (UniqueConstraint("target", "item_key", name="uq_export_items_target_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(40))
    item_key: Mapped[str] = mapped_column(String(60))  # call:<id> or text:<id>
    remote_id: Mapped[str | None] = mapped_column(String(120))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("export_runs.id", ondelete="SET NULL"))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """A call or lead event (``reauto.events``), written with the change it reports; the ``events``
    export target delivers each to the configured URLs once."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_open", "kind", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # export, webhook, sms …
    target: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
