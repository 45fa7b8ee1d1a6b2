"""Where reauto keeps its state and how it survives failures: ``[database]``, ``[redis]``,
``[resilience]`` and ``[recording]``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from reauto.config.base import Section


class DatabaseSettings(Section):
    """Where calls, leads and the ledger are stored."""

    url: str = Field(
        "sqlite:///reauto.db",
        description="SQLAlchemy URL. SQLite file (embedded default) or "
        "postgresql+psycopg://user@host:5432/db.",
    )
    pool_size: int = Field(10, ge=1, le=20, description="Persistent PostgreSQL connections.")
    max_overflow: int = Field(
        10, ge=0, le=19, description="Extra connections under load; pool_size + max_overflow ≤ 20."
    )
    pool_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a new connection.")
    statement_timeout_ms: int = Field(
        5000, ge=0, description="PostgreSQL statement_timeout per connection (0 disables)."
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")

    @model_validator(mode="after")
    def _pool_cap(self) -> DatabaseSettings:
        if self.pool_size + self.max_overflow > 20:
            raise ValueError(
                f"pool_size + max_overflow must be at most 20 (got {self.pool_size} + "
                f"{self.max_overflow})"
            )
        return self


class RedisSettings(Section):
    """Sessions, response cache, concurrency and budget counters."""

    url: str | None = Field(
        None, description="redis://host:6379/0; empty keeps everything in-process (embedded)."
    )
    socket_timeout_s: float = Field(2.0, gt=0, description="Per-command timeout in seconds.")
    key_prefix: str = Field("reauto:", description="Prefix for every key reauto writes.")


class ResilienceSettings(Section):
    """``[resilience]``: the one retry policy and breaker defaults every external call uses."""

    backoff_initial_s: float = Field(0.2, gt=0, description="First wait before a retry, in seconds.")
    backoff_max_s: float = Field(5.0, gt=0, description="Longest wait between two retries, in seconds.")
    jitter_s: float = Field(0.2, ge=0, description="Random extra wait added to each retry, at most this.")
    max_retry_after_s: float = Field(
        10.0, ge=0, description="Longest Retry-After (429/503) honoured; longer ones wait this long.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open a dependency's breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")
    spool_dir: Path = Field(
        Path("spool"), description="Where call records wait while the database is down (flushed when it returns).")
    shutdown_grace_s: float = Field(
        300.0, gt=0, description="After SIGTERM, how long live calls may go on; then they end and are resumed later.")


class RecordingSettings(Section):
    """``[recording]``: where call recordings are written and how long they are kept."""

    dir: Path | None = Field(
        None, description="Where dual-channel call recordings are written (`reauto serve --campaign`, and `reauto "
                          "dial` without --recordings); empty: calls are not recorded. Only calls the compliance "
                          "gate and the campaign's recording.policy allow are recorded, each announced.")

    keep_days: int | None = Field(
        None, ge=1, le=3650, description="Days a call recording's audio is kept; `reauto calls purge-recordings` "
                                         "deletes older ones (a campaign's recording.keep_days wins). Empty: no "
                                         "limit.")
