"""The telephony interface: place a call, learn how it was answered, get its audio transport."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipecat.transports.base_transport import BaseTransport


@dataclass
class CallHandle:
    """A placed call.

    Attributes:
        sid: the provider's call id.
        answered_by: ``human``, ``machine`` or ``unknown`` (answering-machine detection).
        status: the provider's final status when the call was not answered (``no-answer``,
            ``busy``, ``failed``), else ``in-progress``.
        transport: the media transport once answered.
        far_end: provider-specific state (the simulated lead, a WebSocket …).
        on_agent_text: where the agent's reply texts go besides TTS (the simulated lead reads
            them; real calls have none).
    """

    sid: str
    answered_by: str = "unknown"
    status: str = "in-progress"
    transport: BaseTransport | None = None
    far_end: Any = None
    on_agent_text: Callable[[str], None] | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Telephony(ABC):
    """Base class of telephony providers (``sim``, ``twilio``)."""

    name: ClassVar[str]

    async def start(self) -> None:
        """Open clients and connections."""

    @abstractmethod
    async def place_call(self, *, to: str, caller_id: str, call_ref: str, **options: Any) -> CallHandle:
        """Dial ``to`` and return once the call is answered or has failed."""

    @abstractmethod
    async def hang_up(self, handle: CallHandle) -> None:
        """End the call from our side."""

    @abstractmethod
    async def send_sms(self, *, to: str, from_: str, body: str) -> str:
        """Send a text message; returns the provider's message id (raises when it was not accepted)."""

    async def finished(self, handle: CallHandle) -> dict[str, Any]:
        """Wait for the far end to be done; returns what the provider knows about the call."""
        return {}

    async def close(self) -> None:
        """Release clients and connections."""
