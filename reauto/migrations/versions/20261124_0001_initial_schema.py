"""Initial schema: campaigns, leads, DNC, consent, calls and their time series, ledger, exports.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 12:20:28.002456
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import reauto.store.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=130), nullable=False),
    sa.Column('period', sa.Enum('daily', 'weekly', 'monthly', name='budget_period', native_enum=False, length=24), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    sa.UniqueConstraint('scope', 'period', name='uq_budgets_scope_period')
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('source_path', sa.String(length=500), nullable=True),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('config_hash', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=True),
    sa.Column('idempotency_key', sa.String(length=120), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    op.create_index('ix_dead_letters_open', 'dead_letters', ['kind', 'resolved_at'], unique=False)
    op.create_table('dnc_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Enum('national', 'internal', name='dnc_source', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('added_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dnc_entries')),
    sa.UniqueConstraint('phone_e164', 'source', name='uq_dnc_phone_source')
    )
    op.create_table('export_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target', sa.String(length=40), nullable=False),
    sa.Column('started_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('watermark', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exported', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_runs'))
    )
    op.create_index('ix_export_runs_target_started', 'export_runs', ['target', 'started_at'], unique=False)
    op.create_table('leads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=True),
    sa.Column('first_name', sa.String(length=120), nullable=True),
    sa.Column('last_name', sa.String(length=120), nullable=True),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('alt_phones', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('zip', sa.String(length=10), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('tz_candidates', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=True),
    sa.Column('has_written_consent', sa.Boolean(), nullable=False),
    sa.Column('dnc', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('new', 'scheduled', 'dialing', 'in_call', 'callback', 'qualified', 'booked', 'not_interested', 'dnc', 'bad_number', 'exhausted', name='lead_status', native_enum=False, length=24), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=120), nullable=True),
    sa.Column('lease_expires_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('custom', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_leads_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
    sa.UniqueConstraint('campaign_id', 'external_id', name='uq_leads_campaign_external'),
    sa.UniqueConstraint('campaign_id', 'phone_e164', name='uq_leads_campaign_phone')
    )
    op.create_index('ix_leads_campaign_status', 'leads', ['campaign_id', 'status'], unique=False)
    op.create_index('ix_leads_dial_queue', 'leads', ['campaign_id', sa.literal_column('priority DESC'), 'next_attempt_at', 'id'], unique=False, postgresql_where=sa.text("status IN ('new', 'scheduled', 'callback') AND dnc = false"), sqlite_where=sa.text("status IN ('new', 'scheduled', 'callback') AND dnc = false"))
    op.create_index('ix_leads_lease', 'leads', ['lease_expires_at'], unique=False)
    op.create_index('ix_leads_phone', 'leads', ['phone_e164'], unique=False)
    op.create_table('calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=24), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('queued', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled', 'voicemail', 'interrupted', name='call_status', native_enum=False, length=24), nullable=False),
    sa.Column('outcome', sa.Enum('booked', 'callback', 'not_interested', 'dnc', 'voicemail', 'no_answer', 'bad_number', name='call_outcome', native_enum=False, length=24), nullable=True),
    sa.Column('prompt_variant', sa.String(length=40), nullable=True),
    sa.Column('recording_path', sa.String(length=500), nullable=True),
    sa.Column('recorded', sa.Boolean(), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('cost_total', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_calls_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_calls_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('provider_sid', name=op.f('uq_calls_provider_sid'))
    )
    op.create_index('ix_calls_campaign_created', 'calls', ['campaign_id', 'created_at'], unique=False)
    op.create_index('ix_calls_lead_created', 'calls', ['lead_id', 'created_at'], unique=False)
    op.create_table('consent_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('covers_calls', sa.Boolean(), nullable=False),
    sa.Column('covers_texts', sa.Boolean(), nullable=False),
    sa.Column('covers_artificial_voice', sa.Boolean(), nullable=False),
    sa.Column('obtained_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('method', sa.String(length=120), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('revoked_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_consent_records_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    op.create_index('ix_consent_records_lead', 'consent_records', ['lead_id'], unique=False)
    op.create_table('agent_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ts', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_agent', sa.String(length=40), nullable=True),
    sa.Column('to_agent', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_agent_transitions_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_transitions'))
    )
    op.create_index('ix_agent_transitions_call', 'agent_transitions', ['call_id', 'ts'], unique=False)
    op.create_table('appointments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('calendar', sa.String(length=120), nullable=False),
    sa.Column('starts_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('meeting_link', sa.String(length=500), nullable=True),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_appointments_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_appointments_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    op.create_index('uq_appointments_calendar_start', 'appointments', ['calendar', 'starts_at'], unique=True, postgresql_where=sa.text("status <> 'canceled'"), sqlite_where=sa.text("status <> 'canceled'"))
    op.create_table('call_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ts', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_events_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events'))
    )
    op.create_index('ix_call_events_call_ts', 'call_events', ['call_id', 'ts'], unique=False)
    op.create_index('ix_call_events_ts_brin', 'call_events', ['ts'], unique=False, postgresql_using='brin')
    op.create_table('cost_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('ts', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('component', sa.String(length=24), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('unit', sa.String(length=24), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_cost_ledger_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_cost_ledger_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_ledger'))
    )
    op.create_index('ix_cost_ledger_call', 'cost_ledger', ['call_id'], unique=False)
    op.create_index('ix_cost_ledger_ts', 'cost_ledger', ['ts'], unique=False)
    op.create_table('qualification_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('slots', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', reauto.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_qualification_snapshots_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_qualification_snapshots_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification_snapshots')),
    sa.UniqueConstraint('lead_id', 'version', name='uq_qualification_lead_version')
    )
    op.create_table('turns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('started_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', reauto.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('interrupted', sa.Boolean(), nullable=False),
    sa.Column('vad_ms', sa.Float(), nullable=True),
    sa.Column('stt_ms', sa.Float(), nullable=True),
    sa.Column('llm_ttft_ms', sa.Float(), nullable=True),
    sa.Column('tts_ttfb_ms', sa.Float(), nullable=True),
    sa.Column('first_audio_ms', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_turns_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turns')),
    sa.UniqueConstraint('call_id', 'seq', name='uq_turns_call_seq')
    )


def downgrade() -> None:
    op.drop_table('turns')
    op.drop_table('qualification_snapshots')
    op.drop_index('ix_cost_ledger_ts', table_name='cost_ledger')
    op.drop_index('ix_cost_ledger_call', table_name='cost_ledger')
    op.drop_table('cost_ledger')
    op.drop_index('ix_call_events_ts_brin', table_name='call_events', postgresql_using='brin')
    op.drop_index('ix_call_events_call_ts', table_name='call_events')
    op.drop_table('call_events')
    op.drop_index('uq_appointments_calendar_start', table_name='appointments', postgresql_where=sa.text("status <> 'canceled'"), sqlite_where=sa.text("status <> 'canceled'"))
    op.drop_table('appointments')
    op.drop_index('ix_agent_transitions_call', table_name='agent_transitions')
    op.drop_table('agent_transitions')
    op.drop_index('ix_consent_records_lead', table_name='consent_records')
    op.drop_table('consent_records')
    op.drop_index('ix_calls_lead_created', table_name='calls')
    op.drop_index('ix_calls_campaign_created', table_name='calls')
    op.drop_table('calls')
    op.drop_index('ix_leads_phone', table_name='leads')
    op.drop_index('ix_leads_lease', table_name='leads')
    op.drop_index('ix_leads_dial_queue', table_name='leads', postgresql_where=sa.text("status IN ('new', 'scheduled', 'callback') AND dnc = false"), sqlite_where=sa.text("status IN ('new', 'scheduled', 'callback') AND dnc = false"))
    op.drop_index('ix_leads_campaign_status', table_name='leads')
    op.drop_table('leads')
    op.drop_index('ix_export_runs_target_started', table_name='export_runs')
    op.drop_table('export_runs')
    op.drop_table('dnc_entries')
    op.drop_index('ix_dead_letters_open', table_name='dead_letters')
    op.drop_table('dead_letters')
    op.drop_table('campaigns')
    op.drop_table('budgets')
