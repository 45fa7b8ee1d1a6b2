"""The services reauto talks to: ``[twilio]``, ``[intake]`` (and its forms), ``[followupboss]``,
``[export]`` (and its targets' ``[export.webhook]``, ``[export.events]``, ``[export.hubspot]``,
``[export.salesforce]``) and ``[scheduling]``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from reauto.config.base import Section
from reauto.leadfields import FIELDS


class TwilioSettings(Section):
    """``[twilio]``: placing calls with Twilio and serving its webhooks and media streams."""

    account_sid: str = Field("", description="Account SID (AC…); prefer REAUTO_TWILIO_ACCOUNT_SID.")
    auth_token: str = Field(
        "", description="Auth token: signs Twilio's webhooks and the REST calls; prefer REAUTO_TWILIO_AUTH_TOKEN.")
    api_base_url: str = Field(
        "", description="REST API base URL; empty is Twilio's (https://api.twilio.com). Tests point it at a double.")
    public_url: str = Field(
        "", description="Public https URL Twilio reaches reauto serve at (webhooks; wss:// for media).")
    listen_host: str = Field("127.0.0.1", description="Address reauto serve (or reauto dial's server) binds to.")
    listen_port: int = Field(8080, ge=0, le=65535, description="Port of the webhook and media server (0: any free).")
    trust_proxy: bool = Field(
        False, description="Rebuild the signed URL from X-Forwarded-Proto/Host (behind a reverse proxy).")
    machine_detection: Literal["DetectMessageEnd", "Enable", "none"] = Field(
        "DetectMessageEnd", description="Answering-machine detection, asynchronous (campaign `amd: false` skips it).")
    ring_timeout_s: int = Field(25, ge=5, le=600, description="Seconds Twilio lets the phone ring.")
    time_limit_s: int = Field(900, ge=30, le=14400, description="Longest a call may last (Twilio's TimeLimit).")
    media_timeout_s: float = Field(
        15.0, gt=0, description="Seconds after answer within which the media stream must connect.")
    request_timeout_s: float = Field(5.0, gt=0, description="Timeout of one REST request.")
    retries: int = Field(2, ge=0, le=5, description="Retries of a REST request on a transient failure.")
    max_body_bytes: int = Field(64_000, ge=1024, description="Largest webhook body accepted.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive REST failures that open the breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")


class IntakeSettings(Section):
    """``[intake]``: leads posted to ``reauto serve`` (``POST /v1/leads``)."""

    api_keys: list[str] = Field(
        default_factory=list, description="Keys accepted as Authorization: Bearer <key>; prefer REAUTO_INTAKE_API_KEYS.")
    hmac_secret: str = Field(
        "", description="Secret of X-Reauto-Signature (HMAC-SHA256 over <t>.<body>); prefer REAUTO_INTAKE_HMAC_SECRET.")
    max_skew_s: float = Field(300.0, gt=0, description="Oldest (or newest) signature timestamp accepted, seconds.")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest intake request body.")
    max_leads: int = Field(500, ge=1, description="Most leads in one request.")
    consent_written: bool = Field(
        False, description="The consent field of posted leads is prior express written consent (your web form).")
    consent_ai_voice: bool = Field(False, description="That consent covers calls with an artificial (AI) voice.")
    forms: dict[str, FormSettings] = Field(
        default_factory=dict, description="Website forms posted to POST /v1/forms/<name>, by name.")


class FormSettings(Section):
    """``[intake.forms.<name>]``: a website form (or form service) posting to ``/v1/forms/<name>``."""

    campaign: str = Field(description="Campaign the form's leads are dialed in.")
    token: str = Field(
        min_length=16, description="Secret the form sends as ?token= or X-Reauto-Form-Token (16+ characters).")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Lead field → the form's field name, e.g. {phone = \"your-phone\", first_name = \"fname\"}; "
                    "unmapped form fields are matched by the lead file column aliases.")
    consent_field: str = Field("", description="The form's consent checkbox (empty: the form has none).")
    consent_text: str = Field(
        "", description="The consent disclosure shown next to the checkbox, stored as evidence (decides whether "
                        "it is written consent and covers AI-voice calls and texts).")
    honeypot: str = Field("", description="A hidden field people leave empty; a post that fills it is dropped.")
    redirect: str = Field(
        "", description="Where a browser goes after posting (303); empty: JSON answer. Errors add ?error=<reason>.")

    @field_validator("fields")
    @classmethod
    def _lead_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown lead fields {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        consent = sorted(f for f in fields if f.startswith("consent"))
        if consent:
            raise ValueError(f"{', '.join(consent)}: consent comes from consent_field and consent_text, not a mapping")
        return fields


class FollowUpBossSettings(Section):
    """``[followupboss]``: the Follow Up Boss account (webhook intake of new people)."""

    api_key: str = Field("", description="API key (Basic auth user); prefer REAUTO_FOLLOWUPBOSS_API_KEY.")
    system: str = Field("reauto", description="X-System header: the registered system name.")
    system_key: str = Field(
        "", description="X-System-Key; also signs webhooks (FUB-Signature). Prefer REAUTO_FOLLOWUPBOSS_SYSTEM_KEY.")
    base_url: str = Field("https://api.followupboss.com", description="API base URL.")
    intake_campaign: str = Field(
        "", description="Campaign new people (peopleCreated/peopleUpdated webhooks) are dialed in; empty: off.")
    intake_stages: list[str] = Field(
        default_factory=list, description="Only people in these stages become leads (empty: every stage).")
    consent_tags: list[str] = Field(
        default_factory=list, description="Tags that mean the person gave the consent in consent_text.")
    consent_text: str = Field("", description="The consent disclosure those people agreed to (evidence).")
    timeout_s: float = Field(3.0, gt=0, description="Timeout of one API request.")
    retries: int = Field(1, ge=0, le=5, description="Retries of a request on a timeout, 429 or 5xx.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open the breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open breaker lets a trial through.")


class WebhookSettings(Section):
    """``[export.webhook]``: the webhook target (``reauto export --to webhook``).

    Formerly ``[export] webhook_url`` and ``webhook_secret`` (``REAUTO_EXPORT_WEBHOOK_SECRET`` …):
    those names still work, with a warning.
    """

    url: str = Field("", description="The webhook target's URL (records POSTed as signed JSON).")
    secret: str = Field(
        "", description="HMAC key of the webhook's X-Reauto-Signature; prefer REAUTO_EXPORT__WEBHOOK__SECRET.")


class EventsSettings(Section):
    """``[export.events]``: the events target, reauto's call and lead events (see docs/events.md).

    Formerly ``[export] events_urls``, ``events_secret`` and ``events_types``
    (``REAUTO_EXPORT_EVENTS_SECRET`` …): those names still work, with a warning.
    """

    urls: list[str] = Field(
        default_factory=list, description="URLs that receive reauto's call and lead events (each event POSTed "
                                          "to each as signed JSON).")
    secret: str = Field(
        "", description="HMAC key of the events' X-Reauto-Signature; prefer REAUTO_EXPORT__EVENTS__SECRET.")
    types: list[str] = Field(
        default_factory=list, description="The event types sent (call.queued, call.answered, call.ended, "
                                          "call.analyzed, lead.booked, lead.opted_out); empty: all.")


class HubSpotSettings(Section):
    """``[export.hubspot]``: the HubSpot target (``reauto export --to hubspot``).

    Formerly ``[export] hubspot_token`` and ``hubspot_base_url`` (``REAUTO_EXPORT_HUBSPOT_TOKEN`` …):
    those names still work, with a warning.
    """

    token: str = Field("", description="HubSpot private-app token; prefer REAUTO_EXPORT__HUBSPOT__TOKEN.")
    base_url: str = Field("https://api.hubapi.com", description="HubSpot API base URL.")


class SalesforceSettings(Section):
    """``[export.salesforce]``: the Salesforce target (``reauto export --to salesforce``).

    Formerly ``[export] salesforce_*`` (``REAUTO_EXPORT_SALESFORCE_TOKEN`` …): those names still
    work, with a warning.
    """

    instance_url: str = Field("", description="Salesforce instance, e.g. https://acme.my.salesforce.com.")
    token: str = Field(
        "", description="Salesforce OAuth access token; prefer REAUTO_EXPORT__SALESFORCE__TOKEN.")
    client_id: str = Field(
        "", description="Connected app consumer key: tokens are renewed by the client credentials flow.")
    client_secret: str = Field(
        "", description="Connected app consumer secret; prefer REAUTO_EXPORT__SALESFORCE__CLIENT_SECRET.")
    api_version: str = Field("v60.0", description="Salesforce REST API version.")
    external_id_field: str = Field(
        "Reauto_Lead_Id__c", description="The Lead's external-id field reauto upserts on (create it in Salesforce).")


class ExportSettings(Section):
    """``[export]``: where ``reauto export --to TARGET`` sends call results and texts."""

    out_dir: Path = Field(Path("exports"), description="Directory of the csv and jsonl files (one file per run).")
    batch_size: int = Field(500, ge=1, le=100_000, description="Most calls (and texts) one run sends.")
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one request to a CRM or webhook.")
    retries: int = Field(2, ge=0, le=5, description="Retries of a request on a timeout, 408, 429 or 5xx.")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)  # type: ignore[arg-type]
    events: EventsSettings = Field(default_factory=EventsSettings)  # type: ignore[arg-type]
    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)  # type: ignore[arg-type]
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)  # type: ignore[arg-type]


class SchedulingSettings(Section):
    """``[scheduling]``: appointments booked on calls (the calendar itself is in each campaign's booking)."""

    organizer_name: str = Field("", description="Who invites (default: the campaign's business).")
    organizer_email: str = Field("", description="The invite's organizer address (the human agent or the team).")
    outbox_dir: Path = Field(
        Path("outbox"), description="Where confirmation emails (with the .ics invite) are written for your mailer.")
    busy_cache_s: float = Field(300.0, ge=0, description="How long a fetched busy calendar (iCalendar feed) is reused.")
    feed_timeout_s: float = Field(5.0, gt=0, description="Timeout of one busy-calendar fetch.")
