"""Alembic environment: the database URL comes from reauto's settings, never from alembic.ini."""

from __future__ import annotations

from alembic import context

from reauto.config import load_settings
from reauto.store.engine import make_sync_engine
from reauto.store.models import Base

config = context.config
settings = config.attributes.get("settings") or load_settings()
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_sync_engine(settings.database)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("reauto migrations run online only: use `reauto db upgrade`")
run_migrations()
