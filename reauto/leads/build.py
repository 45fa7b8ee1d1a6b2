"""Turn one mapped record into a lead row (and its consent record), or say why it cannot be one.

Everything here is pure: no database, no files. The loader calls :func:`build_lead` per record
and writes what comes back in batches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reauto.leads.mapping import MappedRow
from reauto.leads.normalize import (
    InvalidPhone,
    PhoneInfo,
    guess_zone,
    normalize_state,
    normalize_zip,
    parse_phone,
    countries_shown,
    regions_of,
)

#: Column widths of the ``leads`` table; longer text is cut (with a warning), never a DB error.
LIMITS = {
    "first_name": 120, "last_name": 120, "address": 300, "city": 120, "source": 120,
    "method": 120,
}
MAX_EXTERNAL_ID = 120
MAX_EMAIL = 254
#: Key of ``Lead.custom`` under which the import records what it derived (kept apart from CRM
#: columns so it never clashes with one).
META_KEY = "_import"

_TRUE = {
    "yes", "y", "true", "t", "1", "x", "on", "checked", "agreed", "agree", "accepted", "opted in",
    "optin", "opt in", "opt-in", "consented", "granted", "given", "written", "pewc", "✓", "✔",
}
_FALSE = {
    "no", "n", "false", "f", "0", "off", "unchecked", "declined", "denied", "opted out",
    "optout", "opt out", "opt-out", "none", "revoked", "-",
}
_WRITTEN = re.compile(
    r"prior express written|written consent|\bpewc\b|e-?sign|electronic signature|^written$",
    re.IGNORECASE,
)
_AI_VOICE = re.compile(
    r"artificial|pre-?recorded|\bai\b|a\.i\.|synthetic|virtual assistant", re.IGNORECASE
)
_TEXTS = re.compile(r"\btext(?:s|ing| messages?)?\b|\bsms\b", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_FORMATS = (
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d-%b-%Y", "%b %d, %Y",
    "%B %d, %Y",
)


@dataclass(frozen=True, slots=True)
class Issue:
    """Something to tell the operator about one record of a file.

    Attributes:
        file: the file's name as given.
        line: 1-based line the record starts on.
        field: the lead field or column concerned (``phone``, ``Phone 1``, ``json``, ``row``).
        value: the offending value (cut to 200 characters).
        reason: what is wrong, in a few words.
        kind: ``rejected`` (not loaded), ``duplicate`` (same number earlier in the file) or
            ``warning`` (loaded anyway).
    """

    file: str
    line: int
    field: str
    value: str
    reason: str
    kind: str = "rejected"


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """What the operator asserts about the consent column of a file.

    Attributes:
        written: the consent captured is prior express written consent (e.g. signed web form).
        artificial_voice: it covers calls with an artificial (AI) voice.
    """

    written: bool = False
    artificial_voice: bool = False


@dataclass(slots=True)
class LeadDraft:
    """A lead ready to insert, with its consent record (inserted once the lead has an id)."""

    line: int
    row: dict[str, Any]
    consent: dict[str, Any] | None = None

    @property
    def phone(self) -> str:
        """The lead's E.164 number."""
        return str(self.row["phone_e164"])

    @property
    def external_id(self) -> str | None:
        """The CRM's id of the lead, if the file has one."""
        return self.row.get("external_id")


class _Rejected(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


def build_lead(
    mapped: MappedRow,
    *,
    file: str,
    line: int,
    region: str = "US",
    policy: ConsentPolicy = ConsentPolicy(),  # noqa: B008 - frozen, shared safely
    now: datetime | None = None,
    countries: frozenset[str] | None = None,
) -> tuple[LeadDraft | None, list[Issue]]:
    """Build the lead row for one mapped record.

    Args:
        mapped: the record in lead fields.
        file: file name for issues and provenance.
        line: line the record starts on.
        region: region assumed for numbers without a country code.
        policy: what the operator says the consent column means.
        now: the current instant (tests pass a fixed one).
        countries: regions whose numbers may be called (default: ``region`` and, for the US,
            its territories); a number of another country is not the lead's number.

    Returns:
        The draft (None when the record is rejected) and the issues found.
    """
    now = now or datetime.now(UTC)
    issues: list[Issue] = []

    def warn(name: str, value: str, reason: str) -> None:
        issues.append(Issue(file, line, name, value[:200], reason, "warning"))

    if mapped.invalid:
        column, value, reason = mapped.invalid[0]
        more = f" (and {len(mapped.invalid) - 1} more)" if len(mapped.invalid) > 1 else ""
        return None, [Issue(file, line, column, value[:200], f"{reason}{more}")]
    for column in dict.fromkeys(mapped.cleaned):
        warn(column, "", "control characters removed")
    allowed = countries if countries is not None else regions_of([region])
    try:
        phone, alternates = _phones(mapped, file, line, region, warn, allowed)
        external_id = mapped.fields.get("external_id")
        if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
            raise _Rejected(Issue(file, line, "external_id", external_id[:200], "id longer than 120 characters"))
    except _Rejected as rejected:
        return None, [*issues, rejected.issue]

    row = _row(mapped, phone, alternates, external_id, warn, file=file, line=line)
    consent = _consent(mapped, file, line, policy, now, warn)
    if consent is not None:
        row["has_written_consent"] = consent["kind"] == "prior_express_written"
    return LeadDraft(line=line, row=row, consent=consent), issues


def _row(mapped: MappedRow, phone: PhoneInfo, alternates: list[str], external_id: str | None, warn: Any, *,
         file: str, line: int) -> dict[str, Any]:
    """The lead row of a record whose numbers are read: names, address, time zone, email and provenance
    (cut to their columns, with a warning for each cut), without consent."""
    f = mapped.fields
    first, last = f.get("first_name"), f.get("last_name")
    if first is None and last is None and "full_name" in f:
        first, last = split_name(f["full_name"])
    address_state = _state(f.get("state"), warn)
    zip_code = normalize_zip(f.get("zip"))
    zone = guess_zone(phone, address_state, f.get("city"), zip_code)
    email = f.get("email")
    if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.match(email)):
        warn("email", email, "not an email address; left empty")
        email = None
    meta: dict[str, Any] = {"file": file, "line": line, "tz_basis": zone.basis}
    if phone.line_type:
        meta["line_type"] = phone.line_type
    if phone.extension:
        meta["extension"] = phone.extension
    custom = dict(mapped.custom)
    custom[META_KEY] = meta
    return {
        "external_id": external_id,
        "first_name": _cut("first_name", first, warn),
        "last_name": _cut("last_name", last, warn),
        "phone_e164": phone.e164,
        "alt_phones": alternates,
        "email": email,
        "address": _cut("address", f.get("address"), warn),
        "city": _cut("city", f.get("city"), warn),
        "state": address_state or phone.state,
        "zip": zip_code,
        "timezone": zone.timezone,
        "tz_candidates": list(zone.candidates),
        "source": _cut("source", f.get("source"), warn),
        "notes": f["notes"].replace("\r\n", "\n") if "notes" in f else None,
        "custom": custom,
        "has_written_consent": False,
    }


def _phones(
    mapped: MappedRow, file: str, line: int, region: str, warn: Any, countries: frozenset[str]
) -> tuple[PhoneInfo, list[str]]:
    """Primary number (first valid) and distinct valid alternates; invalid ones are reported."""
    if not mapped.phones:
        raise _Rejected(Issue(file, line, "phone", "", "no phone number"))
    valid: list[PhoneInfo] = []
    bad: list[tuple[str, str, str]] = []
    for column, raw in mapped.phones:
        try:
            info = parse_phone(raw, region)
        except InvalidPhone as exc:
            bad.append((column, raw, f"invalid phone: {exc.reason}"))
            continue
        if info.region not in countries:
            bad.append((column, raw, f"a number in {info.region}, outside the campaign's countries "
                                     f"({countries_shown(countries)})"))
            continue
        if all(v.e164 != info.e164 for v in valid):
            valid.append(info)
    if not valid:
        column, raw, reason = bad[0]
        more = f" (and {len(bad) - 1} more invalid)" if len(bad) > 1 else ""
        raise _Rejected(Issue(file, line, column, raw[:200], f"{reason}{more}"))
    for column, raw, reason in bad:
        warn(column, raw, f"alternate phone ignored: {reason.removeprefix('invalid phone: ')}")
    return valid[0], [v.e164 for v in valid[1:]]


def _state(raw: str | None, warn: Any) -> str | None:
    if raw is None:
        return None
    code = normalize_state(raw)
    if code is None:
        warn("state", raw, "unknown state; using the phone's area code instead")
    return code


def _cut(name: str, value: str | None, warn: Any) -> str | None:
    """One line (a quoted multi-line address becomes "12 Elm St, Apt 4"), at most the width."""
    if value is not None and ("\n" in value or "\r" in value):
        value = ", ".join(" ".join(part.split()) for part in value.splitlines() if part.strip())
    limit = LIMITS[name]
    if value is not None and len(value) > limit:
        warn(name, value, f"longer than {limit} characters; cut")
        return value[:limit]
    return value


def split_name(full: str) -> tuple[str | None, str | None]:
    """``"Doe, Jane"`` or ``"Jane Q. Doe"`` → (first, last); one word is a first name."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip() or None, last.strip() or None
    parts = full.split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def parse_flag(text: str) -> bool | None:
    """Yes/no-like text → bool; None when it is neither."""
    value = " ".join(text.strip().lower().split())
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def parse_datetime(text: str) -> datetime | None:
    """A timestamp in the usual CRM shapes (ISO 8601, US dates, epoch seconds/ms) as UTC.

    Naive values are taken as UTC: CRMs export consent times in UTC unless they say otherwise.
    """
    value = text.strip()
    if re.fullmatch(r"\d{10}(\d{3})?", value):
        seconds = int(value) / (1000 if len(value) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _consent(
    mapped: MappedRow, file: str, line: int, policy: ConsentPolicy, now: datetime, warn: Any
) -> dict[str, Any] | None:
    """The consent record a truthy consent column asks for, else None."""
    f = mapped.fields
    raw = f.get("consent")
    if raw is None:
        return None
    obtained = None
    flag = parse_flag(raw)
    if flag is None:
        obtained = parse_datetime(raw)  # some CRMs put the opt-in date in the consent column
        if obtained is None:
            warn("consent", raw, "consent value not understood; no consent recorded")
            return None
        flag = True
    if not flag:
        return None
    if "consent_at" in f:
        obtained = parse_datetime(f["consent_at"])
        if obtained is None:
            warn("consent_at", f["consent_at"], "consent time not understood; left empty")
    if obtained is not None and obtained > now + timedelta(days=1):
        warn("consent_at", obtained.isoformat(), "consent time is in the future; left empty")
        obtained = None
    text = f.get("consent_text") or ""
    written = policy.written or bool(_WRITTEN.search(text)) or bool(_WRITTEN.search(raw))
    evidence = [f"disclosure: {text}"] if text else []
    evidence += [f"{column}: {value}" for column, value in mapped.evidence]
    evidence.append(f"imported from {file} line {line}")
    method = f.get("consent_method") or "lead file import"
    return {
        "kind": "prior_express_written" if written else "express",
        "covers_calls": True,
        "covers_texts": bool(_TEXTS.search(text)),
        "covers_artificial_voice": policy.artificial_voice or bool(_AI_VOICE.search(text)),
        "obtained_at": obtained,
        "method": method[: LIMITS["method"]],
        "evidence": "\n".join(evidence),
    }
