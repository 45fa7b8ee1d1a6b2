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


@dataclass
class TransferResult:
    """How a hand-over of the lead to a person ended.

    Attributes:
        status: ``bridged`` (the lead and the person are talking), ``no-answer``, ``declined``,
            ``busy``, ``failed`` (the lead hung up, the provider refused) or ``unsupported``.
        to: the person's number.
        mode: ``warm`` (the person heard the whisper first) or ``cold``.
        answered_s: from the request to the person picking up (None: they did not).
        bridged_s: from the request to the lead and the person connected (None: not bridged).
        sid: the provider's id of the person's leg.
        reason: what went wrong, in words (empty when bridged).
    """

    status: str
    to: str
    mode: str = "warm"
    answered_s: float | None = None
    bridged_s: float | None = None
    sid: str | None = None
    reason: str = ""

    @property
    def bridged(self) -> bool:
        return self.status == "bridged"


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

    async def transfer(self, handle: CallHandle, *, to: str, caller_id: str, whisper: str, mode: str = "warm",
                       timeout_s: float = 20.0) -> TransferResult:
        """Call the person at ``to`` and put the lead through to them once they answer (``warm``:
        after they heard ``whisper``, which the lead never hears). Returns when the lead and the
        person are connected or the person did not take the call within ``timeout_s``; the lead
        stays on the line either way. Providers without transfers say ``unsupported``."""
        return TransferResult("unsupported", to, mode, reason=f"{self.name} telephony cannot transfer calls")

    async def finished(self, handle: CallHandle) -> dict[str, Any]:
        """Wait for the far end to be done; returns what the provider knows about the call."""
        return {}

    async def close(self) -> None:
        """Release clients and connections."""
