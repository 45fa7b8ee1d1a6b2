"""Export targets by name: files (csv, jsonl), a signed webhook, call and lead events, and CRMs.

Built like every provider family (:mod:`reauto.providers`): a registry line names the class, which
is imported only when chosen and built by its ``from_settings``. Adding a target is its module, its
line here and its settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reauto.errors import UsageError
from reauto.providers import ProviderSpec, ProviderUnavailable, Registry

if TYPE_CHECKING:
    from reauto.config import Settings
    from reauto.export.targets.base import ExportTarget

REGISTRY: Registry[ExportTarget] = Registry(
    "export target",
    {
        "followupboss": ProviderSpec("reauto.export.targets.followupboss:FollowUpBossTarget"),
        "hubspot": ProviderSpec("reauto.export.targets.hubspot:HubSpotTarget"),
        "salesforce": ProviderSpec("reauto.export.targets.salesforce:SalesforceTarget"),
        "webhook": ProviderSpec("reauto.export.targets.webhook:WebhookTarget"),
        "events": ProviderSpec("reauto.export.targets.events:EventsTarget"),
        "csv": ProviderSpec("reauto.export.targets.files:CsvTarget"),
        "jsonl": ProviderSpec("reauto.export.targets.files:JsonlTarget"),
    },
)

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
