"""A loopback Salesforce REST API: Lead, Task and Event records and a SOQL subset, in Salesforce's wire format.

Under ``/services/data/vNN.N``: ``POST /sobjects/{Task|Event|Lead}`` creates (201 ``{"id",
"success", "errors"}``); ``PATCH /sobjects/{sObject}/{externalIdField}/{value}`` upserts (201
``{"id", "success", "errors", "created": true}`` when created, 200 with ``"created": false`` when
updated, or 204 without a body with :attr:`FakeSalesforce.legacy_upsert`); ``GET`` on the same path
reads the record; ``GET /query?q=`` runs ``SELECT f, … FROM sObject [WHERE a = '…' [AND b LIKE
'…']…] [LIMIT n]`` and answers ``{"totalSize", "done", "records"}`` with ``attributes`` on each
record. Like the real API it wants ``Authorization: Bearer`` (401 ``INVALID_SESSION_ID``),
knows which fields exist (400 ``INVALID_FIELD``), refuses to filter long text areas such as
``Description``, requires ``LastName`` and ``Company`` on a new Lead (400
``REQUIRED_FIELD_MISSING``), checks restricted picklists (``TaskSubtype``, ``CallType``),
lengths (``STRING_TOO_LONG``), dates, and that ``WhoId`` names an existing Lead. Errors are
arrays of ``{"message", "errorCode", "fields"}``. Failures (429 with Retry-After, 403
``REQUEST_LIMIT_EXCEEDED``, 5xx) and slow answers can be arranged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aiohttp import web

from .. import listen

#: Per sObject: field name -> (type, max length). Types: id, ref, str, text (long, not filterable),
#: date, datetime, int, bool, pick:<value|value…> (a restricted picklist).
FIELDS: dict[str, dict[str, tuple[str, int]]] = {
    "Lead": {"Id": ("id", 18), "FirstName": ("str", 40), "LastName": ("str", 80), "Company": ("str", 255),
             "Phone": ("str", 40), "Email": ("str", 80), "State": ("str", 80), "LeadSource": ("str", 255),
             "Status": ("str", 255), "Description": ("text", 32_000), "OwnerId": ("ref", 18)},
    "Task": {"Id": ("id", 18), "WhoId": ("ref", 18), "WhatId": ("ref", 18), "Subject": ("str", 255),
             "Status": ("pick:Not Started|In Progress|Completed|Waiting on someone else|Deferred", 40),
             "Priority": ("pick:High|Normal|Low", 40), "ActivityDate": ("date", 0),
             "Description": ("text", 32_000), "TaskSubtype": ("pick:Task|Email|ListEmail|Cadence|Call|LinkedIn", 40),
             "CallType": ("pick:Internal|Inbound|Outbound", 40), "CallDurationInSeconds": ("int", 0),
             "CallDisposition": ("str", 255), "CallObject": ("str", 255), "OwnerId": ("ref", 18)},
    "Event": {"Id": ("id", 18), "WhoId": ("ref", 18), "WhatId": ("ref", 18), "Subject": ("str", 255),
              "StartDateTime": ("datetime", 0), "EndDateTime": ("datetime", 0), "ActivityDateTime": ("datetime", 0),
              "DurationInMinutes": ("int", 0), "Location": ("str", 255), "Description": ("text", 32_000),
              "IsAllDayEvent": ("bool", 0), "OwnerId": ("ref", 18)},
}
PREFIXES = {"Lead": "00Q", "Task": "00T", "Event": "00U"}
_CONDITION = re.compile(r"\s*(\w+)\s*(=|LIKE)\s*'((?:[^'\\]|\\.)*)'\s*", re.IGNORECASE)
_SELECT = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
                     r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$", re.IGNORECASE | re.DOTALL)


@dataclass
class FakeSalesforce:
    """``await start()``, point reauto at :attr:`url`, inspect :attr:`records`, ``await close()``."""

    token: str = "00Dxx0000001gPL!AQ4AQFake.Token"
    client_id: str = "3MVG9fake.consumer.key"
    client_secret: str = "fake-consumer-secret"
    tokens_issued: int = 0
    external_ids: dict[str, set[str]] = field(default_factory=lambda: {"Lead": {"Reauto_Lead_Id__c"}})
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"Lead": {}, "Task": {}, "Event": {}})
    failures: list[int] = field(default_factory=list)  # statuses answered first, one per request
    delay_s: float = 0.0
    legacy_upsert: bool = False  # answer an upsert that updates with 204 and no body
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)

    @property
    def leads(self) -> dict[str, dict[str, Any]]:
        return self.records["Lead"]

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.records["Task"]

    @property
    def events(self) -> dict[str, dict[str, Any]]:
        return self.records["Event"]

    def add(self, sobject: str, fields: dict[str, Any]) -> str:
        """Store a record as if someone had created it in Salesforce; returns its 18-character id."""
        record_id = f"{PREFIXES[sobject]}Hs0000{next(self._ids):06d}AAA"
        self.records[sobject][record_id] = {**fields, "Id": record_id}
        return record_id

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/services/oauth2/token", self._oauth_token)
        app.router.add_get("/services/data/{version}/query", self._query)
        app.router.add_post("/services/data/{version}/sobjects/{sobject}", self._create)
        app.router.add_patch("/services/data/{version}/sobjects/{sobject}/{field}/{value}", self._upsert)
        app.router.add_get("/services/data/{version}/sobjects/{sobject}/{field}/{value}", self._by_external_id)
        self._runner, self.url = await listen(app)
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    def expire(self) -> None:
        """The session times out: the current access token answers 401 from now on."""
        self.token = f"expired-{self.tokens_issued}-{self.token}"

    async def _oauth_token(self, request: web.Request) -> web.Response:
        """OAuth 2.0 client credentials flow: form-encoded, answers the token or ``invalid_client``."""
        form = await request.post()
        self.requests.append({"method": "POST", "path": request.path, "query": {}, "body": dict(form),
                              "headers": dict(request.headers)})
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                                     status=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client", "error_description": "invalid client credentials"},
                                     status=400)
        self.tokens_issued += 1
        self.token = f"00Dxx0000001gPL!AQ4AQIssued.{self.tokens_issued}"
        return web.json_response({"access_token": self.token, "instance_url": self.url, "token_type": "Bearer",
                                  "issued_at": "1764403200000", "signature": "c2lnbmF0dXJl",
                                  "id": f"{self.url}/id/00Dxx0000001gPLEAY/005xx000001SvZtAAK"})

    # --- plumbing -------------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> web.Response:
        return web.json_response([{"message": message, "errorCode": code, "fields": fields or []}], status=status)

    async def _admit(self, request: web.Request) -> tuple[web.Response | None, Any]:
        """Log, delay, authenticate, fail on demand, check the version and sObject, parse the body."""
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "body": body, "headers": dict(request.headers)})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, "INVALID_SESSION_ID", "Session expired or invalid"), None
        if self.failures:
            status = self.failures.pop(0)
            if status in (403, 429):
                response = self._error(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                if status == 429:
                    response.headers["Retry-After"] = "0"
                return response, None
            if status == 503:
                return self._error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable"), None
            return self._error(status, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this "
                                                            "ErrorId if you contact support: 1804915469-41285 "
                                                            "(-1193839386)"), None
        sobject = request.match_info.get("sobject")
        if not re.fullmatch(r"v\d+\.\d", request.match_info["version"]) or (
                sobject is not None and sobject not in FIELDS):
            return self._error(404, "NOT_FOUND", "The requested resource does not exist"), None
        if request.method in ("POST", "PATCH") and not isinstance(body, dict):
            return self._error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object"), None
        return None, body

    def _check(self, sobject: str, fields: dict[str, Any]) -> web.Response | None:
        known = FIELDS[sobject]
        for name, value in fields.items():
            if name not in known or name == "Id":
                return self._error(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            kind, size = known[name]
            if value is None:
                continue
            if kind in ("str", "text") and not isinstance(value, str) or kind == "int" and not isinstance(value, int):
                return self._error(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from "
                                   f"{type(value).__name__} value {value!r} for {sobject}.{name}", [name])
            if kind in ("str", "text") and len(value) > size:
                return self._error(400, "STRING_TOO_LONG", f"{name}: data value too large: {value[:40]}... "
                                   f"(max length={size})", [name])
            if kind.startswith("pick:") and value not in kind[5:].split("|"):
                return self._error(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                   f"bad value for restricted picklist field: {value}", [name])
            try:
                if kind == "date":
                    date.fromisoformat(value)
                elif kind == "datetime":
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
            except (TypeError, ValueError):
                return self._error(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from "
                                   f"VALUE_STRING value {value} for {sobject}.{name}", [name])
            if kind == "ref" and name == "WhoId" and value not in self.leads:
                return self._error(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
        if sobject == "Lead" and "Email" in fields and fields["Email"] and "@" not in fields["Email"]:
            return self._error(400, "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {fields['Email']}",
                               ["Email"])
        return None

    def _required(self, sobject: str, fields: dict[str, Any]) -> web.Response | None:
        needed = {"Lead": ["LastName", "Company"], "Task": [], "Event": []}[sobject]
        if sobject == "Event":
            needed = [] if fields.get("StartDateTime") or fields.get("ActivityDateTime") else ["StartDateTime"]
            if not fields.get("EndDateTime") and fields.get("DurationInMinutes") is None:
                needed.append("DurationInMinutes")
        missing = [name for name in needed if not fields.get(name)]
        if missing:
            return self._error(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                               missing)
        return None

    def _record(self, sobject: str, record: dict[str, Any], version: str, names: list[str] | None = None
                ) -> dict[str, Any]:
        shown = {n: record.get(n) for n in names} if names else {n: record.get(n) for n in FIELDS[sobject]
                                                                 if n in record or n == "Id"}
        extra = {} if names else {n: v for n, v in record.items() if n not in FIELDS[sobject]}
        return {"attributes": {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record['Id']}"},
                **shown, **extra}

    # --- handlers -------------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        problem, body = await self._admit(request)
        if problem is not None:
            return problem
        sobject = request.match_info["sobject"]
        problem = self._check(sobject, body) or self._required(sobject, body)
        if problem is not None:
            return problem
        record_id = self.add(sobject, {k: v for k, v in body.items() if v is not None})
        return web.json_response({"id": record_id, "success": True, "errors": []}, status=201)

    def _external(self, request: web.Request) -> tuple[web.Response | None, list[dict[str, Any]]]:
        sobject, name, value = (request.match_info[k] for k in ("sobject", "field", "value"))
        if name not in self.external_ids.get(sobject, set()):
            return self._error(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                                 f"{name}"), []
        return None, [r for r in self.records[sobject].values() if str(r.get(name)) == value]

    async def _upsert(self, request: web.Request) -> web.Response:
        problem, body = await self._admit(request)
        if problem is not None:
            return problem
        sobject, name, value = (request.match_info[k] for k in ("sobject", "field", "value"))
        problem, matches = self._external(request)
        if problem is not None:
            return problem
        if name in body or "Id" in body:
            return self._error(400, "INVALID_FIELD", f"The external ID field {name} or Id cannot be set in the "
                                                     "request body of an upsert", [name])
        problem = self._check(sobject, body)
        if problem is not None:
            return problem
        if len(matches) > 1:
            return web.json_response([f"/services/data/{request.match_info['version']}/sobjects/{sobject}/{r['Id']}"
                                      for r in matches], status=300)
        if not matches:
            problem = self._required(sobject, body)
            if problem is not None:
                return problem
            record_id = self.add(sobject, {**{k: v for k, v in body.items() if v is not None}, name: value})
            return web.json_response({"id": record_id, "success": True, "errors": [], "created": True}, status=201)
        record = matches[0]
        for key, new in body.items():
            if new is None:
                record.pop(key, None)
            else:
                record[key] = new
        if self.legacy_upsert:
            return web.Response(status=204)
        return web.json_response({"id": record["Id"], "success": True, "errors": [], "created": False})

    async def _by_external_id(self, request: web.Request) -> web.Response:
        problem, _ = await self._admit(request)
        if problem is not None:
            return problem
        problem, matches = self._external(request)
        if problem is not None:
            return problem
        if not matches:
            return self._error(404, "NOT_FOUND", "The requested resource does not exist")
        sobject = request.match_info["sobject"]
        return web.json_response(self._record(sobject, matches[0], request.match_info["version"]))

    async def _query(self, request: web.Request) -> web.Response:
        problem, _ = await self._admit(request)
        if problem is not None:
            return problem
        soql = request.query.get("q", "")
        parsed = _SELECT.match(soql)
        if parsed is None or parsed["sobject"] not in FIELDS:
            return self._error(400, "MALFORMED_QUERY" if parsed is None else "INVALID_TYPE",
                               f"\n{soql}\n^\nERROR at Row:1:Column:1\nunexpected token or sObject type")
        sobject = parsed["sobject"]
        names = [n.strip() for n in parsed["fields"].split(",")]
        conditions = _conditions(parsed["where"] or "")
        if conditions is None:
            return self._error(400, "MALFORMED_QUERY", f"\n{soql}\n^\nERROR at Row:1:Column:1\nunexpected token")
        for name in names + [c[0] for c in conditions]:
            if name not in FIELDS[sobject] and name not in self.external_ids.get(sobject, set()):
                return self._error(400, "INVALID_FIELD", f"\n{soql}\n^\nERROR at Row:1:Column:1\nNo such column "
                                                         f"'{name}' on entity '{sobject}'.")
        for name, _, _ in conditions:
            if FIELDS[sobject].get(name, ("str", 0))[0] == "text":
                return self._error(400, "INVALID_FIELD", f"\n{soql}\n^\nERROR at Row:1:Column:1\nfield '{name}' "
                                                         "can not be filtered in a query call")
        hits = [r for r in self.records[sobject].values() if all(_holds(r.get(n), op, v) for n, op, v in conditions)]
        if parsed["limit"]:
            hits = hits[:int(parsed["limit"])]
        version = request.match_info["version"]
        return web.json_response({"totalSize": len(hits), "done": True,
                                  "records": [self._record(sobject, r, version, names) for r in hits]})


def _conditions(where: str) -> list[tuple[str, str, str]] | None:
    """``a = 'x' AND b LIKE 'y%'`` as ``[(field, operator, raw literal)]``; None when it is not that shape."""
    found, at = [], 0
    while at < len(where):
        match = _CONDITION.match(where, at)
        if match is None:
            return None
        found.append((match[1], match[2].upper(), match[3]))
        at = match.end()
        joiner = re.compile(r"AND\s+", re.IGNORECASE).match(where, at)
        if joiner is not None:
            at = joiner.end()
        elif at < len(where):
            return None
    return found


def _holds(value: Any, operator: str, literal: str) -> bool:
    """SOQL ``=`` and ``LIKE`` on text: case-insensitive; in LIKE, ``%``/``_`` are wildcards, ``\\%``/``\\_`` not."""
    if value is None:
        return False
    pattern, i = "", 0
    while i < len(literal):
        char = literal[i]
        if char == "\\" and i + 1 < len(literal):
            pattern += re.escape(literal[i + 1])
            i += 2
            continue
        if operator == "LIKE" and char in "%_":
            pattern += ".*" if char == "%" else "."
        else:
            pattern += re.escape(char)
        i += 1
    return re.fullmatch(pattern, str(value), re.IGNORECASE | re.DOTALL) is not None
