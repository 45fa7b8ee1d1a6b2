import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from reauto.cli.context import AppState
from reauto.cli.main import app
from reauto.config import DatabaseSettings, Settings
from reauto.errors import UsageError
from reauto.store import migrate
from reauto.store.engine import make_sync_engine
from reauto.store.models import Base
from tests.conftest import create_database, drop_database, RUN_ID

runner = CliRunner()


def schema_diff(settings: Settings) -> list:
    """Differences between the migrated database and the models (autogenerate's view)."""
    engine = make_sync_engine(settings.database)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def tables(settings: Settings) -> set[str]:
    engine = make_sync_engine(settings.database)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


#: The newest migration.
HEAD = "0009"


@pytest.fixture
def empty_pg():
    name = f"reauto_t_{RUN_ID}_mig"
    url = create_database(name)
    yield Settings(database=DatabaseSettings(url=url))
    drop_database(name)


@pytest.mark.integration
def test_postgres_upgrade_downgrade_upgrade_matches_models(empty_pg):
    assert migrate.current(empty_pg) == []
    assert migrate.upgrade(empty_pg) == [HEAD]
    assert schema_diff(empty_pg) == []
    assert migrate.downgrade(empty_pg, "base") == []
    assert tables(empty_pg) == set()
    assert migrate.upgrade(empty_pg) == [HEAD]
    assert schema_diff(empty_pg) == []
    assert tables(empty_pg) == set(Base.metadata.tables)


@pytest.mark.integration
def test_postgres_has_brin_and_partial_unique_indexes(pg_settings):
    engine = make_sync_engine(pg_settings.database)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('call_events', 'appointments')"
        ).all()
    engine.dispose()
    defs = dict(rows)
    assert "USING brin" in defs["ix_call_events_ts_brin"]
    assert "WHERE" in defs["uq_appointments_calendar_start"]


def _index_name(op) -> str | None:
    return op[1].name if op[0] in {"add_index", "remove_index"} else None


@pytest.mark.integration
def test_sqlite_migrations_create_the_same_schema(sqlite_settings):
    migrate.upgrade(sqlite_settings)
    # SQLite cannot reflect expression indexes (priority DESC), so compare that one by its DDL.
    diff = [op for op in schema_diff(sqlite_settings) if _index_name(op) != "ix_leads_dial_queue"]
    assert diff == []
    engine = make_sync_engine(sqlite_settings.database)
    with engine.connect() as conn:
        ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_leads_dial_queue'").scalar()
    engine.dispose()
    assert "priority DESC" in ddl and "WHERE status IN ('new', 'scheduled', 'callback') AND dnc = false" in ddl
    migrate.downgrade(sqlite_settings, "base")
    assert tables(sqlite_settings) == set()


@pytest.mark.integration
def test_history_marks_applied(sqlite_settings):
    before = migrate.history(sqlite_settings)
    assert [(r.revision, r.applied, r.is_head) for r in before] == [
        ("0001", False, False), ("0002", False, False), ("0003", False, False), ("0004", False, False),
        ("0005", False, False), ("0006", False, False), ("0007", False, False),
        ("0008", False, False),
        (HEAD, False, True)]
    migrate.upgrade(sqlite_settings)
    assert migrate.history(sqlite_settings)[0].applied


@pytest.mark.unit
def test_unknown_revision_is_a_usage_error(sqlite_settings):
    with pytest.raises(UsageError, match=f"unknown revision 'zzz'.*known: {HEAD}, 0008, 0007, 0006, 0005, 0004, 0003, 0002, 0001"):
        migrate.upgrade(sqlite_settings, "zzz")


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_db_cli_upgrade_current_history_wait(backend, sqlite_settings, empty_pg):
    settings = sqlite_settings if backend == "sqlite" else empty_pg
    obj = AppState(_settings=settings)

    def cli(*args):
        result = runner.invoke(app, list(args), obj=obj)
        assert result.exit_code == 0, result.output
        return result.output

    assert f"behind head {HEAD}" in cli("db", "current")
    assert json.loads(cli("db", "upgrade", "--json"))["current"] == [HEAD]
    current = json.loads(cli("db", "current", "--json"))
    assert current["current"] == [HEAD] and current["up_to_date"] is True
    assert "up to date" in cli("db", "current")
    assert "0001" in cli("db", "history") and HEAD in cli("db", "history")
    assert json.loads(cli("db", "history", "--json"))[0]["applied"] is True
    assert json.loads(cli("db", "wait", "--json", "--timeout", "5"))["ready"] is True
    assert "is ready" in cli("db", "wait")
    assert "is at base" in cli("db", "downgrade", "base")
    assert json.loads(cli("db", "downgrade", "base", "--json"))["current"] == []
    assert f"is at {HEAD}" in cli("db", "upgrade")


@pytest.mark.integration
def test_migrations_on_unreachable_database_say_where(monkeypatch):
    from reauto.errors import DatabaseUnavailable

    settings = Settings(database=DatabaseSettings(url="postgresql+psycopg://x@127.0.0.1:1/none", connect_timeout_s=1))
    with pytest.raises(DatabaseUnavailable, match="127.0.0.1:1"):
        migrate.upgrade(settings)
    with pytest.raises(DatabaseUnavailable, match="127.0.0.1:1"):
        migrate.current(settings)


@pytest.mark.unit
def test_missing_migrations_directory_is_explained(monkeypatch, tmp_path, sqlite_settings):
    from reauto.errors import ConfigError

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="migrations not found"):
        migrate.alembic_config(sqlite_settings)
