"""``reauto db``: migrate, inspect and wait for the database."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from reauto.cli.context import settings
from reauto.cli.output import JsonOpt, console, emit, err_console, table
from reauto.store.engine import make_engine, ping, redact, wait_for

app = typer.Typer(
    help="Create and migrate the database schema, show its revision, wait for it to answer.\n\n"
    "Example: reauto db upgrade && reauto db current",
    no_args_is_help=True,
)


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision id, or head.")] = "head",
    as_json: JsonOpt = False,
) -> None:
    """Apply migrations up to REVISION (default: the newest).

    Example: REAUTO_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test reauto db upgrade
    """
    cfg = settings(ctx)
    from reauto.store import migrate  # alembic loads only for db commands

    heads = migrate.upgrade(cfg, revision)
    data = {"database": redact(cfg.database.url), "current": heads}
    emit(data, as_json, lambda d: console.print(f"{d['database']} is at {', '.join(d['current']) or 'base'}"))


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision id, -1 for one step, or base.")],
    as_json: JsonOpt = False,
) -> None:
    """Revert migrations down to REVISION (base drops every reauto table).

    Example: reauto db downgrade -1
    """
    cfg = settings(ctx)
    from reauto.store import migrate

    heads = migrate.downgrade(cfg, revision)
    data = {"database": redact(cfg.database.url), "current": heads}
    emit(data, as_json, lambda d: console.print(f"{d['database']} is at {', '.join(d['current']) or 'base'}"))


@app.command()
def current(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the revision the database is at, and whether it is the newest.

    Example: reauto db current --json
    """
    cfg = settings(ctx)
    from reauto.store import migrate

    heads = migrate.current(cfg)
    newest = [r.revision for r in migrate.history(cfg, with_state=False) if r.is_head]
    data = {
        "database": redact(cfg.database.url),
        "current": heads,
        "head": newest,
        "up_to_date": sorted(heads) == sorted(newest),
    }

    def render(d: dict) -> None:
        at = ", ".join(d["current"]) or "base (empty schema)"
        note = "up to date" if d["up_to_date"] else f"behind head {', '.join(d['head'])}: run reauto db upgrade"
        console.print(f"{d['database']}: {at} — {note}")

    emit(data, as_json, render)


@app.command()
def history(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List every migration, oldest first, marking those applied.

    Example: reauto db history
    """
    from reauto.store import migrate

    revisions = migrate.history(settings(ctx))
    emit(
        revisions,
        as_json,
        lambda revs: table(
            "migrations",
            ["revision", "parent", "applied", "head", "message"],
            [(r.revision, r.down_revision or "base", "yes" if r.applied else "no",
              "yes" if r.is_head else "", r.message) for r in revs],
        ),
    )


@app.command()
def wait(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.", min=0)] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Wait until the database answers a ping, retrying with backoff (for start-up scripts).

    Example: reauto db wait --timeout 60 && reauto db upgrade
    """
    cfg = settings(ctx)

    async def run() -> int:
        engine = make_engine(cfg.database)
        try:
            def say(attempt: int, pause: float, exc: BaseException) -> None:
                if not as_json:
                    err_console.print(f"attempt {attempt}: {exc} — retrying in {pause:.1f}s", highlight=False)

            return await wait_for(lambda: ping(engine), timeout_s=timeout, on_retry=say)
        finally:
            await engine.dispose()

    attempts = asyncio.run(run())
    data = {"database": redact(cfg.database.url), "ready": True, "attempts": attempts}
    emit(data, as_json, lambda d: console.print(f"{d['database']} is ready (attempts: {d['attempts']})"))
