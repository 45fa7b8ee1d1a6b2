"""Running the ASGI app inside reauto's event loop (``reauto serve``, and ``reauto dial`` with
``telephony: twilio``), so media streams reach the dialer that placed the call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from reauto.errors import UsageError


class WebServer:
    """uvicorn on ``host:port`` as a task of the running loop (port 0: any free port)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 8080, handle_signals: bool = False) -> None:
        try:
            import uvicorn
        except ImportError:
            raise UsageError("the webhook server needs the serve extra: pip install 'reauto[serve]'") from None

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Generator[None, None, None]:
                if handle_signals:
                    with super().capture_signals():
                        yield
                else:  # the embedding command handles its own signals
                    yield

        # log_config=None: uvicorn's records go to the process's handlers (and their redacting
        # filter, reauto.logfilter) instead of a stderr handler of uvicorn's own.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                                ws_max_size=1 << 20, log_config=None)
        self._server = _Server(config)
        self.host, self.port = host, port
        self._task: asyncio.Task[None] | None = None
        self.closers: list[Callable[[], Awaitable[Any]]] = []  # what the app holds (API clients)

    async def start(self, timeout_s: float = 10.0) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="web-server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._server.started:
            if self._task.done():
                exc = self._task.exception()
                raise UsageError(f"the webhook server could not listen on {self.host}:{self.port}: {exc}")
            if loop.time() > deadline:
                raise UsageError(f"the webhook server did not start on {self.host}:{self.port}")
            await asyncio.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def wait(self) -> None:
        """Until the server stops (a signal, when it handles them)."""
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 10)
        except TimeoutError:
            self._task.cancel()
        self._task = None
        for closer in self.closers:
            await closer()
