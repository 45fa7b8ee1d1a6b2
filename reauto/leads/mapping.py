"""Map a lead file's columns (whatever the CRM called them) onto reauto's lead fields.

Headers are matched case- and punctuation-insensitively against built-in aliases ("First Name",
"first", "Phone 1", "Mobile", "TCPA Consent" …). Explicit mappings (``--map field=Header`` or a
YAML file) win over aliases. Columns that map to nothing are kept in ``Lead.custom``; a column
mapped to ``ignore`` is dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reauto.errors import UsageError
from reauto.leadfields import FIELDS
from reauto.leads.values import BadValue, clean_json, clean_text, kind_of, scalar, scalars
from reauto.yamlcheck import duplicate_keys

MULTI_FIELDS = frozenset({"phone", "consent_evidence", "ignore"})
#: Fields that may be given as JSON true/false.
FLAG_FIELDS = frozenset({"consent"})

_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "leadid", "externalid", "contactid", "recordid", "crmid", "personid"),
    "first_name": ("firstname", "first", "fname", "givenname", "forename"),
    "last_name": ("lastname", "last", "lname", "surname", "familyname"),
    "full_name": ("name", "fullname", "contactname", "leadname", "contact"),
    "email": ("email", "emailaddress", "mail", "email1", "primaryemail"),
    "address": (
        "address", "street", "streetaddress", "address1", "addressline1", "propertyaddress",
        "mailingaddress", "mailingstreet", "homeaddress",
    ),
    "city": ("city", "town", "propertycity", "mailingcity"),
    "state": ("state", "st", "province", "stateprovince", "propertystate", "mailingstate"),
    "zip": (
        "zip", "zipcode", "postalcode", "postcode", "postal", "propertyzip", "mailingzip",
        "mailingpostalcode", "zip5",
    ),
    "source": ("source", "leadsource", "origin"),
    "notes": ("notes", "note", "comments", "comment", "description"),
    "consent": (
        "consent", "tcpaconsent", "optin", "optedin", "consentgiven", "tcpa", "tcpaoptin",
        "writtenconsent", "callconsent",
    ),
    "consent_at": (
        "consentdate", "consenttimestamp", "consentat", "consenttime", "optindate",
        "optintimestamp", "optintime", "tcpaconsentdate", "tcpaconsenttimestamp", "consentedat",
    ),
    "consent_text": (
        "consenttext", "consentlanguage", "disclosure", "tcpadisclosure", "consentdisclosure",
        "optintext", "tcpatext", "tcpalanguage",
    ),
    "consent_method": ("consentmethod", "optinmethod", "consentsource", "optinsource"),
    "consent_evidence": (
        "consenturl", "consentip", "optinurl", "optinip", "trustedformcerturl", "trustedform",
        "jornayaleadid", "leadidtoken", "consentevidence", "ipaddress",
    ),
}
_PHONE = re.compile(
    r"^(primary|home|work|other|mobile|cell|main|best|contact)?"
    r"(phone|phones|mobile|cell|tel|telephone)(number|no|num)?\d*$"
)
_BY_ALIAS = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


def key(header: str) -> str:
    """A header reduced to lowercase letters and digits (``"Phone 1"`` → ``"phone1"``)."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def alias_field(header: str) -> str | None:
    """The lead field a header means by the built-in aliases, or None."""
    k = key(header)
    if k in _BY_ALIAS:
        return _BY_ALIAS[k]
    if _PHONE.match(k):
        return "phone"
    return None


@dataclass(slots=True)
class MappedRow:
    """One record expressed in lead fields.

    Attributes:
        fields: single-valued fields (first_name, state, consent …) as stripped text.
        phones: (column, value) of every phone value, in column order.
        evidence: (column, value) of consent evidence (URL, IP, certificate).
        custom: unmapped columns with a value, as read (JSONL keeps its types).
        invalid: (column, value, reason) of values that cannot be what their field needs (an
            object where a name goes, NaN): the record is rejected.
        cleaned: columns whose control characters were removed (the record is kept).
    """

    fields: dict[str, str] = field(default_factory=dict)
    phones: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    invalid: list[tuple[str, str, str]] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Which header feeds which field, for one set of headers."""

    single: Mapping[str, str]
    phones: tuple[str, ...]
    evidence: tuple[str, ...]
    ignored: frozenset[str]


class ColumnMapping:
    """Explicit column choices plus the built-in aliases.

    Args:
        explicit: lead field → the header(s) that feed it (explicit choices beat aliases).
    """

    def __init__(self, explicit: Mapping[str, Sequence[str]] | None = None) -> None:
        self.explicit: dict[str, list[str]] = {}
        for name, headers in (explicit or {}).items():
            _check_field(name)
            if name not in MULTI_FIELDS and len(headers) > 1:
                raise UsageError(f"mapping: {name} can come from one column, got {list(headers)}")
            self.explicit[name] = list(headers)
        self._cache: dict[tuple[str, ...], Resolved] = {}

    @classmethod
    def from_options(cls, pairs: Iterable[str] = (), file: Path | None = None) -> ColumnMapping:
        """Build from ``--mapping FILE`` then ``--map field=Header`` options (options win).

        Raises:
            UsageError: a malformed pair, an unknown field, or an unreadable mapping file.
        """
        merged: dict[str, list[str]] = load_mapping_file(file) if file else {}
        from_pairs: dict[str, list[str]] = {}
        for pair in pairs:
            name, sep, header = pair.partition("=")
            name, header = name.strip(), header.strip().strip('"').strip("'")
            if not sep or not name or not header:
                raise UsageError(f"--map {pair!r}: expected field=Column (e.g. phone=\"Phone 1\")")
            _check_field(name)
            from_pairs.setdefault(name, []).append(header)
        merged.update(from_pairs)
        return cls(merged)

    def resolve(self, headers: Sequence[str]) -> Resolved:
        """Decide the source column of each field for these headers (cached per header set)."""
        cache_key = tuple(headers)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._resolve(headers)
        return self._cache[cache_key]

    def missing(self, headers: Sequence[str]) -> list[str]:
        """Explicitly mapped columns that are not among ``headers``."""
        present = set(headers)
        return [h for hs in self.explicit.values() for h in hs if h not in present]

    def _resolve(self, headers: Sequence[str]) -> Resolved:
        taken = {h for hs in self.explicit.values() for h in hs}
        single: dict[str, str] = {}
        phones: list[str] = list(self.explicit.get("phone", []))
        evidence: list[str] = list(self.explicit.get("consent_evidence", []))
        for name, hs in self.explicit.items():
            if name not in MULTI_FIELDS:
                single[name] = hs[0]
        for header in headers:
            if header in taken:
                continue
            name = alias_field(header)
            if name == "phone" and "phone" not in self.explicit:
                phones.append(header)
            elif name == "consent_evidence" and "consent_evidence" not in self.explicit:
                evidence.append(header)
            elif name is not None and name not in MULTI_FIELDS and name not in single:
                single[name] = header
        return Resolved(single, tuple(phones), tuple(evidence), frozenset(self.explicit.get("ignore", [])))

    def apply(self, values: Mapping[str, Any]) -> MappedRow:
        """Express one record's values in lead fields; the rest goes to ``custom``.

        Every value is checked by type (text or a number where one value goes, a flat list where
        several may) and cleaned of control characters; what fails is listed in ``invalid``.
        """
        plan = self.resolve(list(values))
        row = MappedRow()
        used = set(plan.phones) | set(plan.evidence) | plan.ignored
        for name, header in plan.single.items():
            used.add(header)
            value = _checked(row, header, values.get(header), lambda v, n=name: scalar(v, flag=n in FLAG_FIELDS))
            text = _clean(row, header, as_text(value))
            if text is not None:
                row.fields[name] = text
        for header in plan.phones:
            for text in as_texts(_checked(row, header, values.get(header), scalars)):
                phone = _clean(row, header, text)
                if phone is not None:
                    row.phones.append((header, phone))
        for header in plan.evidence:
            text = _clean(row, header, as_text(_checked(row, header, values.get(header), scalars)))
            if text is not None:
                row.evidence.append((header, text))
        for header, value in values.items():
            if header not in used and not _blank(value):
                try:
                    kept, changed = clean_json(value.strip() if isinstance(value, str) else value)
                except BadValue as exc:
                    row.invalid.append((clean_text(header)[0], _shown(value), exc.reason))
                    continue
                name, renamed = clean_text(header)
                if changed or renamed:
                    row.cleaned.append(name)
                row.custom[name] = kept
        return row


def _checked(row: MappedRow, header: str, value: Any, check: Any) -> Any:
    """``value`` when ``check`` accepts it; else None, with the reason in ``row.invalid``."""
    try:
        return check(value)
    except BadValue as exc:
        row.invalid.append((clean_text(header)[0], _shown(value), exc.reason))
        return None


def _clean(row: MappedRow, header: str, text: str | None) -> str | None:
    """``text`` without control characters (noted in ``row.cleaned``); blank → None."""
    if text is None:
        return None
    cleaned, changed = clean_text(text)
    if changed:
        row.cleaned.append(clean_text(header)[0])
        cleaned = cleaned.strip()
    return cleaned or None


def _blank(value: Any) -> bool:
    """None, blank text, or an empty list or object."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict) and not value)


def _shown(value: Any) -> str:
    """A rejected value as the report shows it: short, one line, no control characters."""
    if isinstance(value, str):
        return clean_text(value)[0][:80]
    return kind_of(value)


def _check_field(name: str) -> None:
    if name not in FIELDS:
        raise UsageError(f"mapping: unknown lead field {name!r} (known: {', '.join(FIELDS)})")


def load_mapping_file(path: Path) -> dict[str, list[str]]:
    """Read a YAML mapping: ``field: Column`` or ``field: [Column A, Column B]``.

    The mapping may sit at the top level or under a ``columns:`` key.

    Raises:
        UsageError: the file is unreadable, not YAML, or not a mapping of field → column(s).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
        duplicates = duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), str(path))
        data = yaml.safe_load(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read mapping file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise UsageError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if duplicates:
        raise UsageError(str(duplicates[0]))
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a mapping file maps lead fields to columns (field: Column)")
    out: dict[str, list[str]] = {}
    for name, headers in data.items():
        if name not in FIELDS:
            raise UsageError(f"{path}: unknown lead field {name!r} (known: {', '.join(FIELDS)})")
        items = headers if isinstance(headers, list) else [headers]
        if not items or not all(isinstance(h, str | int) and str(h).strip() for h in items):
            raise UsageError(f"{path}: {name}: expected a column name or a list of them")
        out[name] = [str(h).strip() for h in items]
    return out


def as_text(value: Any) -> str | None:
    """A value as stripped text (JSON numbers, booleans and objects included); blank → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or ZIP that went through a spreadsheet
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False) if value else None
    text = str(value).strip()
    return text or None


def as_texts(value: Any) -> list[str]:
    """Several values from one cell: a JSON list, or text split on ``;`` / ``|`` / newlines."""
    if isinstance(value, list):
        return [t for t in (as_text(v) for v in value) if t is not None]
    text = as_text(value)
    if text is None:
        return []
    return [part.strip() for part in re.split(r"[;|\n]", text) if part.strip()]
