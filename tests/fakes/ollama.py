"""A loopback Ollama server that speaks the native API's wire format.

``POST /api/chat`` and ``POST /api/generate``, streaming (NDJSON, one JSON object per line,
``done: false`` pieces then a final ``done: true`` line with ``done_reason`` and the usage
counters in nanoseconds) or not (one JSON object); ``GET /api/tags`` and ``/api/version``.
Errors are what Ollama sends: an HTTP status with ``{"error": "..."}``, or an ``{"error": ...}``
line in the middle of a stream. Latency, token pace, stalls and failures are configurable.
:func:`reword` is a deterministic stand-in for a model that words the agent's planned line.

Structured outputs: a request with ``format`` (a JSON schema, or ``"json"``) is answered by
``extract`` instead of ``reply``, as JSON text. Like Ollama's constrained decoding, the answer
always matches the schema: the schema must be a valid one (else HTTP 400, Ollama's answer to a
schema it cannot compile), and an object ``extract`` returns that does not match it is a bug of
the test: the request fails with HTTP 500 and the mismatch is kept in ``errors``. ``extract`` may return a string to stand for a model's raw (malformed) output.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

from . import listen


@dataclass
class FakeOllama:
    """Configure, ``await start()``, point clients at :attr:`url`, ``await close()``.

    Args:
        reply: the assistant's text, or a function of the request body that returns it.
        ttft_s: delay before the first piece (time to first token).
        token_s: delay between pieces.
        status: answer every request with this HTTP status and an error body (e.g. 500).
        stall_s: after the first piece (``stall_after`` pieces), stall this long (a hung generation).
        stall_after: how many pieces come before the stall.
        error_after: send an ``{"error": ...}`` line after this many pieces.
        models: what ``/api/tags`` lists.
        extract: the answer to a ``format`` request: an object (or a function of the request
            body returning one) sent as JSON; a string is sent as it is. Default: ``{}``.
        library: what ``/api/pull`` can fetch: model name → its layers' sizes. A pull streams
            ``pulling manifest``, per layer ``pulling <digest>`` lines with ``total`` and
            ``completed``, ``verifying sha256 digest``, ``writing manifest``, ``success``, and adds
            the model to ``models``; an unknown name is an ``{"error": …}`` line, as Ollama sends.
        pull_drop_once: the first pull stops after its first layer line (a dropped connection).
    """

    reply: str | Callable[[dict[str, Any]], str] = "Sure. When are you hoping to move?"
    extract: dict[str, Any] | str | Callable[[dict[str, Any]], dict[str, Any] | str] = field(default_factory=dict)
    ttft_s: float = 0.0
    token_s: float = 0.0
    status: int | None = None
    stall_s: float = 0.0
    stall_after: int = 1
    error_after: int | None = None
    models: tuple[str, ...] = ("llama3.2:3b",)
    library: dict[str, tuple[int, ...]] = field(default_factory=dict)
    pull_drop_once: bool = False
    pulls: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/pull", self._pull)
        app.router.add_get("/api/version", self._version)
        self._runner, self.url = await listen(app)
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    # --- handlers --------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, chat=True)

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, chat=False)

    async def _version(self, _request: web.Request) -> web.Response:
        return web.json_response({"version": "0.12.6"})

    async def _tags(self, _request: web.Request) -> web.Response:
        return web.json_response({"models": [{"name": m, "model": m, "size": 2_019_393_189} for m in self.models]})

    async def _pull(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        name = str(body.get("model") or body.get("name") or "")
        self.pulls.append(name)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)

        async def line(item: dict[str, Any]) -> None:
            await response.write(json.dumps(item).encode() + b"\n")

        await line({"status": "pulling manifest"})
        layers = self.library.get(name if ":" in name else f"{name}:latest", self.library.get(name))
        if layers is None:
            await line({"error": "pull model manifest: file does not exist"})
            return response
        for i, size in enumerate(layers):
            digest = f"sha256:{i:064x}"
            await line({"status": f"pulling {digest[7:19]}", "digest": digest, "total": size, "completed": 0})
            if self.pull_drop_once:
                self.pull_drop_once = False
                assert request.transport is not None
                request.transport.close()
                return response
            await line({"status": f"pulling {digest[7:19]}", "digest": digest, "total": size, "completed": size})
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            await line({"status": status})
        self.models = (*self.models, name)
        await response.write_eof()
        return response

    async def _answer(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if body.get("model") not in self.models:
            return web.json_response({"error": f"model '{body.get('model')}' not found"}, status=404)
        if self.status is not None:
            return web.json_response({"error": "llama runner process has terminated"}, status=self.status)
        if chat and not body.get("messages"):  # an empty chat only loads the model
            return web.json_response(self._line(body, "", chat, done=True, reason="load"))
        if body.get("format"):
            try:
                text = self._structured(body)
            except jsonschema.SchemaError as exc:
                return web.json_response({"error": f"invalid JSON schema in format: {exc.message}"}, status=400)
            except jsonschema.ValidationError as exc:
                self.errors.append(f"extract answer breaks the format schema: {exc.message}")
                return web.json_response({"error": self.errors[-1]}, status=500)
        else:
            text = self.reply(body) if callable(self.reply) else self.reply
        pieces = _tokens(text)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            started = time.perf_counter_ns()
            await asyncio.sleep(self.ttft_s)
            if not body.get("stream", True):
                await asyncio.sleep(self.token_s * len(pieces))
                return web.json_response(self._line(body, text, chat, done=True, started=started, count=len(pieces)))
            response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            await response.prepare(request)
            for i, piece in enumerate(pieces):
                if self.error_after is not None and i == self.error_after:
                    await response.write(json.dumps({"error": "an error was encountered while running the model"}).encode() + b"\n")
                    return response
                await response.write(json.dumps(self._line(body, piece, chat)).encode() + b"\n")
                if i + 1 == self.stall_after and self.stall_s:
                    await asyncio.sleep(self.stall_s)
                await asyncio.sleep(self.token_s)
            final = self._line(body, "", chat, done=True, started=started, count=len(pieces))
            await response.write(json.dumps(final).encode() + b"\n")
            await response.write_eof()
            return response
        finally:
            self.in_flight -= 1

    def _structured(self, body: dict[str, Any]) -> str:
        """The JSON answer to a ``format`` request (schema-valid, as constrained decoding makes it)."""
        schema = body["format"]
        if isinstance(schema, dict):
            jsonschema.Draft202012Validator.check_schema(schema)
        answer = self.extract(body) if callable(self.extract) else self.extract
        if isinstance(answer, str):
            return answer
        if isinstance(schema, dict):
            jsonschema.validate(answer, schema)  # a test's table that breaks the schema fails here
        return json.dumps(answer)

    @staticmethod
    def _line(body: dict[str, Any], text: str, chat: bool, *, done: bool = False, reason: str = "stop",
              started: int | None = None, count: int = 0) -> dict[str, Any]:
        line: dict[str, Any] = {"model": body["model"], "created_at": "2026-11-25T12:00:00.000000Z"}
        if chat:
            line["message"] = {"role": "assistant", "content": text}
        else:
            line["response"] = text
        line["done"] = done
        if done:
            total = time.perf_counter_ns() - (started or time.perf_counter_ns())
            prompt = sum(len(m.get("content", "").split()) for m in body.get("messages", [])) or 1
            line.update(done_reason=reason, total_duration=total, load_duration=1_000_000,
                        prompt_eval_count=prompt, prompt_eval_duration=total // 4,
                        eval_count=count, eval_duration=total - total // 4)
        return line


#: Acknowledgements :func:`reword` opens with, chosen by the lead's words.
ACKS = ("Got it", "Thanks", "Okay", "Great", "Alright", "I see")
_PLANNED = re.compile(r'^"(.+)"$', re.M)
_NAME = re.compile(r"You are speaking with ([^.]+)\.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def reword(body: dict[str, Any]) -> str:
    """What a model asked to word the planned line would say, deterministically.

    The planned line is the quoted line of the system prompt (``prompts/agent.txt``); the reply
    is an acknowledgement picked by the lead's last turn, the lead's name, and the planned
    line's last sentence. The acknowledgement depends on the lead's words, in order, but not on
    their case, spacing or punctuation, nor on which name the lead has (a model says the same to
    Jane as to Omar): the same context always gives the same reply, and a different lead turn
    or plan usually a different one, so a cache serving a wrong reply is caught.
    """
    messages = body.get("messages", [])
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    planned = _PLANNED.search(system)
    line = planned.group(1) if planned else "How can I help?"
    last = _SENTENCE_END.split(line.strip())[-1]
    name = _NAME.search(system)
    who = name.group(1) if name and name.group(1) != "the lead" else ""
    said = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    words = [w if w != who.lower() else "<name>" for w in re.findall(r"[a-z0-9']+", said.lower())]
    ack = ACKS[sum(len(w) * (i + 1) for i, w in enumerate(words)) % len(ACKS)]
    return f"{ack}, {who}. {last}" if who else f"{ack}. {last}"


def _tokens(text: str) -> list[str]:
    """Word-sized pieces with their leading spaces, as a tokenizer streams them."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words) if w or i == 0]
