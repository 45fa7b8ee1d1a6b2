"""reauto's lead fields: what a lead file's column or a website form's field can map to.

Below both the settings (``[intake.forms.<name>] fields`` is checked against them) and the lead
file reader (:mod:`reauto.leads.mapping`), which import the names from here.
"""

from __future__ import annotations

#: Lead fields a column can map to. ``phone`` and ``consent_evidence`` take several columns.
FIELDS: tuple[str, ...] = (
    "external_id", "first_name", "last_name", "full_name", "phone", "email", "address", "city",
    "state", "zip", "source", "notes", "consent", "consent_at", "consent_text", "consent_method",
    "consent_evidence", "ignore",
)
