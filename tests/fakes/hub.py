"""A loopback Hugging Face Hub: the model-info API and file downloads, as the Hub serves them.

* ``GET /api/models/{org}/{name}/revision/{revision}?blobs=true`` → ``{"id", "sha", "siblings"}``;
  each sibling has ``rfilename``, ``size`` and ``blobId`` (Git's object id), and a large file
  ``lfs: {"sha256", "size", "pointerSize"}``. Unknown repository or revision: 404 with
  ``{"error": "Repository not found"}`` / ``{"error": "Invalid rev id: …"}``.
* ``GET /{org}/{name}/resolve/{revision}/{path}`` → a small file's bytes (200, ``ETag`` its
  blob id); a large file is a 302 to ``/cdn/{sha256}``, which serves it and honours ``Range``
  (206). ``X-Repo-Commit`` names the commit, as the Hub does.

Faults: ``cut_once`` sends only the first N bytes of a file's first download then drops the
connection; ``corrupt_once`` flips a byte in a file's first download.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aiohttp import web

from . import listen

LFS_SUFFIXES = (".bin", ".onnx", ".safetensors")


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeHub:
    """``repos[repo][revision] = {path: bytes}``; ``await start()``, use :attr:`url`, ``await close()``."""

    repos: dict[str, dict[str, dict[str, bytes]]] = field(default_factory=dict)
    cut_once: dict[str, int] = field(default_factory=dict)
    corrupt_once: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Range header)
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/models/{org}/{name}/revision/{revision}", self._info)
        app.router.add_get("/{org}/{name}/resolve/{revision}/{path:.+}", self._resolve)
        app.router.add_get("/cdn/{sha}", self._cdn)
        self._runner, self.url = await listen(app)
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    def commit(self, repo: str, revision: str) -> str:
        return hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()

    def _files(self, request: web.Request) -> tuple[str, str, dict[str, bytes]]:
        repo = f"{request.match_info['org']}/{request.match_info['name']}"
        revision = request.match_info["revision"]
        if repo not in self.repos:
            raise web.HTTPNotFound(text='{"error":"Repository not found"}', content_type="application/json")
        for rev, files in self.repos[repo].items():
            if revision in (rev, self.commit(repo, rev)):
                return repo, rev, files
        raise web.HTTPNotFound(text=f'{{"error":"Invalid rev id: {revision}"}}', content_type="application/json")

    async def _info(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, ""))
        repo, rev, files = self._files(request)
        siblings = []
        for path, data in files.items():
            item: dict[str, object] = {"rfilename": path, "size": len(data), "blobId": blob_id(data)}
            if path.endswith(LFS_SUFFIXES):
                item["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            siblings.append(item)
        return web.json_response({"id": repo, "sha": self.commit(repo, rev), "siblings": siblings})

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, request.headers.get("Range", "")))
        repo, rev, files = self._files(request)
        path = request.match_info["path"]
        if path not in files:
            raise web.HTTPNotFound(text='{"error":"Entry not found"}', content_type="application/json")
        data = files[path]
        headers = {"X-Repo-Commit": self.commit(repo, rev), "ETag": f'"{blob_id(data)}"'}
        if path.endswith(LFS_SUFFIXES):
            self._pending[hashlib.sha256(data).hexdigest()] = (path, data)
            raise web.HTTPFound(f"/cdn/{hashlib.sha256(data).hexdigest()}", headers=headers)
        return await self._send(request, path, data, headers)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, request.headers.get("Range", "")))
        path, data = self._pending[request.match_info["sha"]]
        return await self._send(request, path, data, {})

    async def _send(self, request: web.Request, path: str, data: bytes, headers: dict[str, str]) -> web.StreamResponse:
        start = 0
        ranged = request.headers.get("Range", "")
        if ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[6:-1])
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        body = data[start:]
        if path in self.corrupt_once:
            self.corrupt_once.discard(path)
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        status = 206 if start else 200
        if start:
            headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        response = web.StreamResponse(status=status, headers={**headers, "Content-Length": str(len(body))})
        await response.prepare(request)
        cut = self.cut_once.pop(path, None)
        if cut is not None:
            await response.write(body[:cut])
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-file
            return response
        await response.write(body)
        await response.write_eof()
        return response

    def __post_init__(self) -> None:
        self._pending: dict[str, tuple[str, bytes]] = {}
