"""Export targets by name: files (csv, jsonl), a signed webhook, call and lead events, and CRMs.

Built like every provider family (:mod:`reauto.providers`): a registry line names the class, which
is imported only when chosen and built by its ``from_settings``. Adding a target is its module, its
line in :mod:`reauto.providercatalog` and its settings section (``[export.<name>]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reauto import providercatalog
from reauto.errors import UsageError
from reauto.providers import ProviderUnavailable, Registry

if TYPE_CHECKING:
    from reauto.config import Settings
    from reauto.export.targets.base import ExportTarget

REGISTRY: Registry[ExportTarget] = Registry(providercatalog.KINDS["export"], providercatalog.EXPORT)

#: Every target ``reauto export --to`` and a campaign's ``export_targets`` know.
TARGETS = tuple(REGISTRY.names)


def create_target(name: str, cfg: Settings) -> ExportTarget:
    """The target called ``name``, configured from the settings (imported only when chosen).

    Raises:
        UsageError: an unknown name, or a setting the target needs is missing.
    """
    from reauto.export.targets.base import PermanentExportError

    if name not in TARGETS:
        raise UsageError(f"--to {name!r}: unknown target (known: {', '.join(TARGETS)})")
    try:
        return REGISTRY.create(name, cfg)
    except (PermanentExportError, ProviderUnavailable) as exc:
        raise UsageError(str(exc)) from None
