"""Export targets by name: files (csv, jsonl), a signed webhook, call and lead events, and CRMs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reauto.errors import UsageError

if TYPE_CHECKING:
    from reauto.config import Settings
    from reauto.export.targets.base import ExportTarget

#: Every target ``reauto export --to`` knows.
TARGETS = ("followupboss", "hubspot", "salesforce", "webhook", "events", "csv", "jsonl")


def create_target(name: str, cfg: Settings) -> ExportTarget:
    """The target called ``name``, configured from the settings (imported only when chosen)."""
    from reauto.export.targets.base import PermanentExportError

    e = cfg.export
    try:
        if name == "csv":
            from reauto.export.targets.files import CsvTarget

            return CsvTarget(e.out_dir)
        if name == "jsonl":
            from reauto.export.targets.files import JsonlTarget

            return JsonlTarget(e.out_dir)
        if name == "webhook":
            from reauto.export.targets.webhook import WebhookTarget

            return WebhookTarget(e.webhook_url, e.webhook_secret, timeout_s=e.timeout_s, retries=e.retries)
        if name == "events":
            from reauto.export.targets.events import EventsTarget

            return EventsTarget(e.events_urls, e.events_secret, types=e.events_types, timeout_s=e.timeout_s,
                                retries=e.retries)
        if name == "followupboss":
            from reauto.export.targets.followupboss import FollowUpBossTarget

            return FollowUpBossTarget(cfg.followupboss)
        if name == "hubspot":
            from reauto.export.targets.hubspot import HubSpotTarget

            if not e.hubspot_token:
                raise PermanentExportError("the hubspot target needs [export] hubspot_token")
            return HubSpotTarget(e.hubspot_token, base_url=e.hubspot_base_url, timeout_s=e.timeout_s,
                                 retries=e.retries)
        if name == "salesforce":
            from reauto.export.targets.salesforce import SalesforceTarget

            if not e.salesforce_instance_url or not (
                    e.salesforce_token or (e.salesforce_client_id and e.salesforce_client_secret)):
                raise PermanentExportError(
                    "the salesforce target needs [export] salesforce_instance_url and salesforce_client_id with "
                    "salesforce_client_secret (tokens renewed) or salesforce_token")
            return SalesforceTarget(e.salesforce_instance_url, e.salesforce_token, api_version=e.salesforce_api_version,
                                    external_id_field=e.salesforce_external_id_field, timeout_s=e.timeout_s,
                                    retries=e.retries, client_id=e.salesforce_client_id,
                                    client_secret=e.salesforce_client_secret)
    except PermanentExportError as exc:
        raise UsageError(str(exc)) from None
    raise UsageError(f"--to {name!r}: unknown target (known: {', '.join(TARGETS)})")
