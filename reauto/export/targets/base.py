"""What every export target implements, and the HTTP client the HTTP targets share.

A target receives one record at a time (a call or a text, see :mod:`reauto.export.records`) with
an idempotency key that is the same every time that record is sent to that target, and returns
the id the far end gave it. It raises :class:`TransientExportError` for what may succeed later
(timeouts, 408, 429, 5xx, an open breaker) and :class:`PermanentExportError` for what will not
(another 4xx, a record the target cannot take); the runner retries the first kind and sends both
to the dead-letter table when they persist.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from reauto.errors import ProviderError
from reauto.httpapi import HttpApi, PermanentError, TransientError, transient_status

if TYPE_CHECKING:
    from reauto.config import Settings

__all__ = ["ExportError", "ExportTarget", "HttpApi", "PermanentExportError", "TransientExportError",
           "transient_status"]



class ExportError(ProviderError):
    """A record could not be exported."""


class TransientExportError(ExportError, TransientError):
    """May succeed if tried again later."""


class PermanentExportError(ExportError, PermanentError):
    """Will not succeed as it is (bad credentials, a rejected record)."""


class ExportTarget(ABC):
    """Base class of export targets (chosen by name: ``reauto export --to NAME``)."""

    name: ClassVar[str]
    #: A record sent is stored at the far end at once (APIs); False: only after :meth:`finish` (files).
    durable_on_send: ClassVar[bool] = True
    #: The file a run wrote (file targets, once finished); None for the others.
    output_file: Any = None

    @classmethod
    def from_settings(cls, cfg: Settings) -> ExportTarget:
        """This target configured from the settings (``[export]``, or the section of its service).

        This default builds a target that needs no settings; every registered target reads its
        own (``tests/test_architecture.py`` checks it).

        Raises:
            PermanentExportError: a setting the target needs is missing (the message names it).
        """
        return cls()

    async def start(self) -> None:
        """Open clients, files, tokens."""

    @abstractmethod
    async def send(self, record: Mapping[str, Any], key: str) -> str:
        """Deliver one record; returns the far end's id for it (or ``key`` when it has none)."""

    async def finish(self) -> None:
        """The run's records were all sent: make them durable (files are renamed into place)."""

    async def abort(self) -> None:
        """The run failed before :meth:`finish`: discard what is not durable."""

    async def close(self) -> None:
        """Release clients."""
