"""Website forms posted straight to ``POST /v1/forms/<name>`` (``[intake.forms.<name>]``).

A form (or the form service behind it) posts URL-encoded or JSON fields with the form's secret
token. The form's field names are mapped onto lead fields by ``fields`` (then by the lead file
aliases), the consent checkbox becomes a consent record whose evidence is the disclosure text, the
page, the client's address and browser, and the lead goes through the same validation as every
other intake. A filled honeypot field marks a bot: the post is answered like a success and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reauto.config import FormSettings
from reauto.intake.auth import same
from reauto.leads.build import parse_flag
from reauto.leads.mapping import ColumnMapping, alias_field

TOKEN_HEADER = "x-reauto-form-token"


def token_ok(settings: FormSettings, headers: Mapping[str, str], query: Mapping[str, str]) -> bool | None:
    """True: the right token; False: a wrong one; None: none sent."""
    given = headers.get(TOKEN_HEADER) or query.get("token") or ""
    if not given:
        return None
    return same(given, settings.token)


def mapping_for(settings: FormSettings) -> ColumnMapping:
    """The form's explicit field mapping (consent comes from the checkbox, never a form field)."""
    return ColumnMapping({lead: [form] for lead, form in settings.fields.items()})


def form_record(name: str, settings: FormSettings, fields: Mapping[str, Any], *, client_ip: str = "",
                user_agent: str = "", page: str = "") -> dict[str, Any] | None:
    """The intake record of one submission, or None when the honeypot caught a bot."""
    if settings.honeypot and str(fields.get(settings.honeypot, "")).strip():
        return None
    skip = {"token", settings.honeypot, settings.consent_field} - {""}
    mapped = set(settings.fields.values())
    # a visitor cannot assert consent (or its evidence) by naming a field "TCPA consent" or "consent_ip"
    record = {k: v for k, v in fields.items() if k not in skip and not isinstance(v, dict | list)
              and (k in mapped or not (alias_field(k) or "").startswith("consent"))}
    checked = settings.consent_field and parse_flag(str(fields.get(settings.consent_field, "")))
    if checked:
        record.update({"consent": "yes", "consent_text": settings.consent_text,
                       "consent_method": f"web form {name}"[:120], "Consent IP": client_ip,
                       "Consent URL": page, "Consent User Agent": user_agent[:300]})
    return record
