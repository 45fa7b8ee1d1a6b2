"""Lazy, name-based provider registries: config names a provider, the class loads on demand.

A registry maps a name from settings (``"pocketsphinx"``) to ``"module:Class"`` and the extra
that ships its dependencies. Importing a provider whose extra is missing raises a
:class:`ProviderUnavailable` that says exactly what to install.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reauto.errors import ReautoError

T = TypeVar("T")


class ProviderUnavailable(ReautoError):
    """A provider cannot be used here: its extra is not installed or its model is missing."""

    exit_code = 2


@dataclass(frozen=True)
class ProviderSpec:
    """Where a provider lives and what installs its dependencies."""

    target: str  # "package.module:Class"
    extra: str | None = None  # pip extra of reauto, e.g. "whisper"
    system: str | None = None  # Debian package, e.g. "flite"
    role: str | None = None  # the setting that may name it, where a family has several ("local", "premium")


class Registry(Generic[T]):
    """Names → provider classes, imported only when asked for (the lines come from :mod:`reauto.providercatalog`)."""

    def __init__(self, kind: str, specs: dict[str, ProviderSpec]) -> None:
        self.kind = kind
        self._specs = dict(specs)

    @property
    def names(self) -> list[str]:
        return sorted(self._specs)

    def load(self, name: str) -> type[T]:
        """The provider class registered as ``name``.

        Raises:
            ProviderUnavailable: unknown name, or its dependencies are not installed.
        """
        spec = self._specs.get(name)
        if spec is None:
            raise ProviderUnavailable(
                f"unknown {self.kind} provider {name!r} (known: {', '.join(self.names)})"
            )
        module_name, _, attr = spec.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = f"pip install 'reauto[{spec.extra}]'" if spec.extra else "reinstall reauto"
            raise ProviderUnavailable(
                f"{self.kind} provider {name!r} cannot be imported ({exc}): {hint}"
            ) from exc
        return getattr(module, attr)  # type: ignore[no-any-return]

    def create(self, name: str, settings: Any, *context: Any) -> T:
        """An instance of provider ``name``, built by its ``from_settings(settings, *context)``
        classmethod (``context``: what a family's providers take beside the settings, such as the
        dial run's phone lines).

        Raises:
            ProviderUnavailable: unknown name, its dependencies are not installed, or its own
                configuration (model, voice, key) is missing.
        """
        return self.load(name).from_settings(settings, *context)  # type: ignore[attr-defined,no-any-return]
