"""``reauto models``' three actions: see what the providers need, pull it, verify it.

Each works on the :class:`~reauto.modelfiles.catalog.Need` list of the settings. Progress goes to
a :class:`Meter`, so the CLI draws bars and tests count bytes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reauto import modelstore
from reauto.modelfiles import catalog
from reauto.modelfiles.catalog import Need
from reauto.modelfiles.hub import HubClient, ModelSourceError, Snapshot
from reauto.modelfiles.ollama import OllamaModels, tagged

if TYPE_CHECKING:
    import httpx

    from reauto.config import ModelsSettings


class Meter(Protocol):
    """Where progress goes: one task per file or model."""

    def start(self, label: str, total: int) -> int:
        """A new task of ``total`` units (0: unknown); its id."""

    def update(self, task: int, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        """Move a task on."""


class Silent:
    """A meter that draws nothing."""

    def start(self, label: str, total: int) -> int:
        return 0

    def update(self, task: int, *, advance: int = 0, completed: int | None = None, total: int | None = None) -> None:
        return None


@dataclass(frozen=True)
class Status:
    """A need and what was found: ``state`` is present, missing, bundled, cloud, unreachable,
    corrupt or pulled; ``detail`` says where or why."""

    need: Need
    state: str
    where: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("present", "bundled", "pulled", "cloud")

    def row(self) -> dict[str, str]:
        n = self.need
        return {"family": n.family, "provider": n.provider, "model": n.model, "setting": n.setting,
                "state": self.state, "where": self.where, "detail": self.detail}


class Models:
    """The actions on one settings' needs.

    Args:
        settings: ``[models]``: the Hub to pull from, Piper's revision, timeouts, retries.
        transport: an httpx transport for every source (tests).
    """

    def __init__(self, settings: ModelsSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport

    async def inspect(self, needs: list[Need], *, checksums: bool = False) -> list[Status]:
        """What is there for each need; ``checksums`` reads pulled files again against their manifest."""
        held = await self._held({n.host for n in needs if n.source == "ollama"})
        return [self._status(n, held, checksums) for n in needs]

    async def pull(self, needs: list[Need], meter: Meter) -> list[Status]:
        """Pull each pullable need that is missing (or corrupt); others are reported as they are.

        A failed pull is reported as ``missing`` with the reason; the others still run.
        """
        out = []
        for status in await self.inspect(needs, checksums=True):
            need = status.need
            if status.ok or not need.pullable:
                out.append(status)
                continue
            try:
                where = await self._pull(need, meter)
            except (ModelSourceError, ValueError) as exc:
                out.append(Status(need, "missing", status.where, str(exc)))
                continue
            out.append(Status(need, "pulled", where))
        return out

    async def _pull(self, need: Need, meter: Meter) -> str:
        cfg = self.settings
        if need.source == "ollama":
            client = OllamaModels(need.host, timeout_s=cfg.timeout_s, retries=cfg.retries, transport=self._transport)
            task = meter.start(f"{need.model} on {need.host}", 0)
            try:
                await client.pull(need.model, lambda done, total: meter.update(task, completed=done, total=total))
            finally:
                await client.close()
            return need.host
        hub = HubClient(cfg.hub_url, timeout_s=cfg.timeout_s, retries=cfg.retries, transport=self._transport)
        try:
            if need.source == "whisper":
                folder = modelstore.whisper_folder(need.model)
                snap = await hub.snapshot(catalog.whisper_repo(need.model), "main", catalog.WHISPER_FILES)
                await _fetch_all(hub, snap, folder, folder / modelstore.MANIFEST, meter)
                return str(folder)
            path = catalog.piper_repo_path(need.model)
            snap = await hub.snapshot(catalog.PIPER_REPO, cfg.piper_revision, [f"{path}.onnx", f"{path}.onnx.json"])
            target = modelstore.piper_file(need.model)
            await _fetch_all(hub, snap, target.parent, target.with_name(f"{need.model}.manifest.json"), meter,
                             flat=True)
            return str(target)
        finally:
            await hub.close()

    async def _held(self, hosts: set[str]) -> dict[str, set[str] | str]:
        """Each host's models, or why they could not be listed."""
        async def one(host: str) -> set[str] | str:
            client = OllamaModels(host, timeout_s=self.settings.timeout_s, retries=0, transport=self._transport)
            try:
                return await client.held()
            except ModelSourceError as exc:
                return str(exc)
            finally:
                await client.close()

        ordered = sorted(hosts)
        return dict(zip(ordered, await asyncio.gather(*(one(h) for h in ordered)), strict=True))

    def _status(self, need: Need, held: dict[str, set[str] | str], checksums: bool) -> Status:
        if need.source == "cloud":
            return Status(need, "cloud", "(the vendor's servers)", "needs its key, not a download")
        if need.source == "ollama":
            models = held[need.host]
            if isinstance(models, str):
                return Status(need, "unreachable", need.host, models)
            there = tagged(need.model) in models or need.model in models
            return Status(need, "present" if there else "missing", need.host)
        found = catalog.locate(need)
        if need.source == "bundled":
            return Status(need, "bundled" if found.present else "missing", found.where)
        if not found.present:
            hint = "" if need.pullable else "set the path to a model that exists; it cannot be pulled"
            return Status(need, "missing", found.where, hint)
        if checksums and found.manifest is not None and found.manifest.is_file():
            try:
                problems = modelstore.Manifest.read(found.manifest).problems()
            except ValueError as exc:
                problems = [str(exc)]
            if problems:
                return Status(need, "corrupt", found.where, "; ".join(problems))
            return Status(need, "present", found.where, "checksums match")
        return Status(need, "present", found.where, "" if found.manifest else "no manifest: not checksummed")


async def _fetch_all(hub: HubClient, snap: Snapshot, folder: Path, manifest: Path, meter: Meter, *,
                     flat: bool = False) -> None:
    """Download a snapshot's files into ``folder`` (``flat``: by base name) and write their manifest.

    Raises:
        ModelSourceError: nothing matched (wrong name or revision), or a file failed.
    """
    if not snap.files:
        raise ModelSourceError(f"{snap.repo} at {snap.commit} has no such model files")
    files: dict[str, tuple[str, int]] = {}
    for remote in snap.files:
        name = Path(remote.name).name if flat else remote.name
        task = meter.start(name, remote.size)
        sha = await hub.download(snap, remote, folder / name, lambda n, t=task: meter.update(t, advance=n))
        files[name] = (sha, (folder / name).stat().st_size)
    modelstore.Manifest(manifest, f"{hub.hub_url}/{snap.repo}", snap.commit, files).write()
