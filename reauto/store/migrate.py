"""Schema migrations (Alembic) driven by reauto's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError, OperationalError

from reauto.config import Settings
from reauto.errors import ConfigError, UsageError
from reauto.store.engine import explain_unreachable, make_sync_engine

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"  # shipped inside the package


@dataclass(frozen=True)
class Revision:
    """One migration script and whether the database has it applied."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool
    applied: bool


def alembic_config(settings: Settings) -> Config:
    """An Alembic config whose env.py reads the database from ``settings``."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise ConfigError(
            f"migrations not found at {MIGRATIONS_DIR}: this reauto was installed without its package "
            "data; reinstall it (pip install --force-reinstall reauto)"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> list[str]:
    """Apply migrations up to ``revision``; return the revisions current afterwards."""
    _check_revision(settings, revision)
    _guard(settings, lambda: command.upgrade(alembic_config(settings), revision))
    return current(settings)


def downgrade(settings: Settings, revision: str) -> list[str]:
    """Revert migrations down to ``revision`` (``base`` for an empty schema)."""
    _check_revision(settings, revision)
    _guard(settings, lambda: command.downgrade(alembic_config(settings), revision))
    return current(settings)


def current(settings: Settings) -> list[str]:
    """Revisions applied to the database (empty when it has none)."""

    def read() -> list[str]:
        engine = make_sync_engine(settings.database)
        try:
            with engine.connect() as conn:
                return sorted(MigrationContext.configure(conn).get_current_heads())
        finally:
            engine.dispose()

    return _guard(settings, read)


def history(settings: Settings, *, with_state: bool = True) -> list[Revision]:
    """Every migration, oldest first, marked applied when the database has it."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    applied: set[str] = set()
    if with_state:
        heads = current(settings)
        for head in heads:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    heads_all = set(script.get_heads())
    revisions = [
        Revision(
            revision=rev.revision,
            down_revision=rev.down_revision if isinstance(rev.down_revision, str) else None,
            message=(rev.doc or "").strip(),
            is_head=rev.revision in heads_all,
            applied=rev.revision in applied,
        )
        for rev in script.walk_revisions("base", "heads")
    ]
    return list(reversed(revisions))


def _check_revision(settings: Settings, revision: str) -> None:
    if revision in {"head", "heads", "base"} or revision.startswith(("+", "-")):
        return
    script = ScriptDirectory.from_config(alembic_config(settings))
    try:
        script.get_revision(revision)
    except Exception:  # alembic raises several types for unknown or ambiguous ids
        known = ", ".join(r.revision for r in script.walk_revisions()) or "none"
        raise UsageError(f"unknown revision {revision!r} (known: {known}, head, base)") from None


def _guard(settings: Settings, action: Callable[[], T]) -> T:
    try:
        return action()
    except (OperationalError, DBAPIError) as exc:
        if _is_connect_error(exc):
            raise explain_unreachable(settings.database.url, exc) from None
        raise


def _is_connect_error(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)

