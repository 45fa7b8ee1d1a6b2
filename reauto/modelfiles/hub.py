"""Files from a Hugging Face repository, each checked against the checksum the Hub publishes.

faster-whisper's CTranslate2 models and Piper's voices are published on the Hugging Face Hub.
Its HTTP protocol, as used here:

* ``GET {hub}/api/models/{repo}/revision/{revision}?blobs=true`` — the commit (``sha``) and
  each file (``siblings``: ``rfilename``, ``size``, ``blobId``, and for large files
  ``lfs.sha256``);
* ``GET {hub}/{repo}/resolve/{commit}/{file}`` — the file's bytes, often through a redirect to
  a CDN; ``Range: bytes=N-`` continues a download.

Each file is written to ``<name>.part``; a retried attempt continues where the last one stopped.
A large file must match the SHA-256 the Hub gives (``lfs.sha256``), a small one its Git object
id (``blobId``); a file that does not is deleted and fetched again. Only then is it renamed into
place, so a model folder never holds a half-written file under its real name.

This is written on httpx, reauto's one HTTP stack, rather than with ``huggingface_hub``, which
is not a dependency of reauto (faster-whisper brings it, but a voice or a model is often pulled
on a machine that will not run faster-whisper) and whose cache layout the providers would then
have to read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from reauto import resilience
from reauto.breaker import Breaker
from reauto.errors import ProviderError
from reauto.modelstore import git_blob_sha1
from reauto.resilience import AttemptFailed, classify_exception, classify_status

Progress = Callable[[int], None]


class ModelSourceError(ProviderError):
    """A model could not be fetched: the source refused, failed or could not be reached."""

    exit_code = 1


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repository at a commit, with the checksum the Hub publishes for it."""

    name: str
    size: int
    sha256: str | None  # large (LFS) files
    blob_id: str | None  # small files: Git's object id


@dataclass(frozen=True)
class Snapshot:
    """A repository at one commit: the files to fetch."""

    repo: str
    commit: str
    files: tuple[RemoteFile, ...]


#: What to do when the Hub cannot be reached.
HUB_REMEDY = ("pull on a machine that can reach it and copy the model folder (models.dir), or set models.hub_url "
              "to a mirror")


def offline_hint(url: str, exc: BaseException, remedy: str = HUB_REMEDY) -> str:
    """The message for a source that cannot be reached."""
    return f"cannot reach {url} ({type(exc).__name__}: {exc}). Is this machine offline? {remedy[0].upper()}{remedy[1:]}"


async def guarded(attempt: Callable[[], Any], policy: resilience.RetryPolicy, breaker: Breaker, url: str,
                  remedy: str) -> Any:
    """Run ``attempt`` under the retry policy and breaker; its last failure as a
    :class:`ModelSourceError`, which says the machine may be offline when ``url`` cannot be reached."""
    try:
        return await resilience.call(attempt, policy=policy, breaker=breaker, name=url)
    except AttemptFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout)):
            raise ModelSourceError(offline_hint(url, cause, remedy), retryable=True) from None
        raise ModelSourceError(f"{url}: {exc} (after {exc.attempts} attempts)", retryable=exc.retryable) from None


class HubClient:
    """Read a repository's file list and download its files, under reauto's retry policy.

    Args:
        hub_url: the Hub, or a mirror that speaks its protocol (``[models] hub_url``).
        timeout_s: longest wait for a connection or for the next bytes of a download.
        retries: attempts after the first, per request (a download continues where it stopped).
        transport: an httpx transport (tests).
    """

    def __init__(self, hub_url: str, *, timeout_s: float = 30.0, retries: int = 3,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.policy = resilience.policy(retries)
        self.breaker = resilience.breaker("model-hub")
        self._http = httpx.AsyncClient(base_url=self.hub_url, timeout=timeout_s, follow_redirects=True,
                                       transport=transport, headers={"User-Agent": "reauto-models"})

    async def close(self) -> None:
        await self._http.aclose()

    async def snapshot(self, repo: str, revision: str, patterns: Iterable[str]) -> Snapshot:
        """The files of ``repo`` at ``revision`` whose names match one of ``patterns``.

        Raises:
            ModelSourceError: unknown repository or revision, or the Hub cannot be reached.
        """
        path = f"/api/models/{repo}/revision/{quote(revision, safe='')}"
        body = (await self._call(lambda: self._get_json(path))).json()
        wanted = tuple(patterns)
        files = tuple(_remote(item) for item in body.get("siblings", [])
                      if any(fnmatch(str(item.get("rfilename", "")), p) for p in wanted))
        commit = str(body.get("sha") or revision)
        return Snapshot(repo, commit, files)

    async def download(self, snapshot: Snapshot, file: RemoteFile, dest: Path, progress: Progress) -> str:
        """Fetch ``file`` to ``dest`` and return its SHA-256, once it matches the Hub's checksum.

        Raises:
            ModelSourceError: the file could not be fetched whole after the retries.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        url = f"/{snapshot.repo}/resolve/{snapshot.commit}/{quote(file.name)}"

        async def attempt() -> str:
            await self._fetch(url, part, file, progress)
            return _checked(part, file)

        sha = await self._call(attempt)
        part.replace(dest)
        return sha

    async def _get_json(self, path: str) -> httpx.Response:
        try:
            response = await self._http.get(path, params={"blobs": "true"})
        except httpx.HTTPError as exc:
            raise classify_exception(f"GET {path}: {type(exc).__name__}: {exc}", exc) from exc
        if response.status_code >= 300:
            raise classify_status(f"GET {path}: HTTP {response.status_code} {response.text[:200]}",
                                  response.status_code, response.headers.get("retry-after"))
        return response

    async def _fetch(self, url: str, part: Path, file: RemoteFile, progress: Progress) -> None:
        have = part.stat().st_size if part.exists() else 0
        if have > file.size:
            part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 300 and response.status_code != 416:
                    await response.aread()
                    raise classify_status(f"GET {url}: HTTP {response.status_code} {response.text[:200]}",
                                          response.status_code, response.headers.get("retry-after"))
                if response.status_code == 416:  # the part is already whole
                    return
                resumed = response.status_code == 206
                if have and not resumed:
                    progress(-have)  # the server sent the whole file again
                with part.open("ab" if resumed else "wb") as fh:
                    async for chunk in response.aiter_bytes():  # as received: a dropped connection keeps what came
                        fh.write(chunk)
                        progress(len(chunk))
        except httpx.HTTPError as exc:
            raise classify_exception(f"GET {url}: {type(exc).__name__}: {exc}", exc) from exc

    async def _call(self, attempt: Callable[[], Any]) -> Any:
        return await guarded(attempt, self.policy, self.breaker, self.hub_url, HUB_REMEDY)

def _remote(item: dict[str, Any]) -> RemoteFile:
    lfs = item.get("lfs") or {}
    size = int(lfs.get("size") or item.get("size") or 0)
    return RemoteFile(str(item["rfilename"]), size, lfs.get("sha256"), item.get("blobId"))


def _checked(part: Path, file: RemoteFile) -> str:
    """The part's SHA-256 when it matches the Hub's checksum; otherwise it is deleted and the
    attempt fails (retried: a transfer can be corrupted on the way)."""
    data_sha = hashlib.sha256()
    size = 0
    small = bytearray()
    with part.open("rb") as fh:
        while block := fh.read(1 << 20):
            data_sha.update(block)
            size += len(block)
            if file.sha256 is None:
                small += block
    sha = data_sha.hexdigest()
    ok = size == file.size if file.size else True
    if file.sha256 is not None:
        ok = ok and sha == file.sha256
    elif file.blob_id is not None:
        ok = ok and git_blob_sha1(bytes(small)) == file.blob_id
    if not ok:
        part.unlink(missing_ok=True)
        raise AttemptFailed(f"{file.name}: checksum or size differs from the Hub's ({size} bytes)", retryable=True)
    return sha
