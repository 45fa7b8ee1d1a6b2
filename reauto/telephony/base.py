"""The telephony interface: place a call, learn how it was answered, get its audio transport; take a
call a lead places."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pipecat.transports.base_transport import BaseTransport

from reauto.breaker import Breaker

if TYPE_CHECKING:
    from reauto.config import Settings


@dataclass(frozen=True)
class Lines:
    """What a dial run gives the phone lines it opens beyond the settings: the campaign's choices
    and the run's own. Each provider reads what concerns it.

    Attributes:
        amd: answering-machine detection (the campaign's ``amd``).
        on_agent_text: where the agent's reply texts go besides the voice (a live view's tap).
        calls: the run's registry of live calls that its web server shares (Twilio).
        speed: how fast simulated time runs (sim).
        personas: the simulated leads by phone number (sim: ``reauto.sim.lead.LeadScript``).
        human_agents: the simulated people transfers reach, by number (sim).
    """

    amd: bool = True
    on_agent_text: Callable[[str, str], None] | None = None
    calls: Any = None
    speed: float = 1.0
    personas: Mapping[str, Any] = field(default_factory=dict)
    human_agents: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class IncomingCall:
    """A call a lead places to one of the campaign's numbers.

    Attributes:
        sid: the provider's call id.
        caller: the number calling (``From``), as the provider gives it.
        called: the number called (``To``).
    """

    sid: str
    caller: str
    called: str


@dataclass(frozen=True)
class Pickup:
    """How an incoming call is taken: connected to the agent as call ``call_ref`` (the reauto call
    id), or ``say`` is spoken and the call ends (no agent can take it)."""

    call_ref: str | None = None
    say: str = ""


#: Decides how an incoming call is taken (the dialer serving the campaign answers it).
Answerer = Callable[[IncomingCall], Awaitable[Pickup]]


class Telephony(ABC):
    """Base class of telephony providers (``sim``, ``twilio``)."""

    name: ClassVar[str]
    #: The provider reaches reauto through the run's web server (webhooks, media streams).
    webhooks: ClassVar[bool] = False
    #: The breaker of the provider's API, shown with the run's health (None: no remote API).
    breaker: Breaker | None = None
    #: Who takes the calls leads place to the campaign's number (the dialer serving it sets this).
    answerer: Answerer | None = None

    @classmethod
    def from_settings(cls, settings: Settings, lines: Lines) -> Telephony:
        """The provider as the settings and the dial run configure it; how
        :data:`reauto.telephony.REGISTRY` builds each one.

        This default builds a provider that needs neither; every registered provider reads its own
        (``tests/test_architecture.py`` checks it).
        """
        return cls()

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

    async def answer(self, call: IncomingCall, call_ref: str) -> CallHandle:
        """Connect an incoming call the dialer took (:class:`Pickup` with ``call_ref``) to the
        agent: returns once its media flows (``transport`` set), or with a final ``status`` when
        the caller hung up first. Providers without incoming calls say ``failed``."""
        return CallHandle(sid=call.sid, status="failed")

    async def finished(self, handle: CallHandle) -> dict[str, Any]:
        """Wait for the far end to be done; returns what the provider knows about the call."""
        return {}

    async def close(self) -> None:
        """Release clients and connections."""
