"""A loopback HubSpot CRM v3: contacts, notes and meetings, in HubSpot's wire format.

``POST /crm/v3/objects/{contacts,notes,meetings}`` creates (201), ``PATCH .../{id}`` updates
(200), ``POST .../search`` searches (``filterGroups`` OR-ed, their ``filters`` AND-ed; ``EQ``,
``NEQ``, ``HAS_PROPERTY``, ``NOT_HAS_PROPERTY``, ``CONTAINS_TOKEN`` with ``*`` wildcards) and
answers ``{"total", "results"}``. Objects are ``{"id", "properties", "createdAt", "updatedAt",
"archived"}`` with every property value a string. Like the real API it wants a Bearer token
(401 ``INVALID_AUTHENTICATION``), a ``properties`` object, only properties that exist on the
object (400 ``PROPERTY_DOESNT_EXIST``), ``hs_timestamp`` on notes, one of ``email``/``firstname``/
``lastname`` on a new contact, a unique email (409 ``Contact already exists. Existing ID: N``),
and associations shaped ``{"to": {"id"}, "types": [{"associationCategory", "associationTypeId"}]}``
whose type matches the pair (202 note→contact, 200 meeting→contact) and whose target exists.
Errors are ``{"status": "error", "message", "correlationId", "category"}``. Failures (429 with
Retry-After, 5xx), slow answers, search-index lag (:attr:`unindexed`) and a looser tokenizer (:attr:`word_tokens`)
can be arranged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .. import listen

#: The properties each object type has here (HubSpot's defaults that reauto uses, plus a few more).
PROPERTIES = {
    "contacts": {"firstname", "lastname", "email", "phone", "mobilephone", "state", "city", "company",
                 "lifecyclestage", "hs_lead_status", "hubspot_owner_id"},
    "notes": {"hs_timestamp", "hs_note_body", "hubspot_owner_id", "hs_attachment_ids"},
    "meetings": {"hs_timestamp", "hs_meeting_title", "hs_meeting_body", "hs_internal_meeting_notes",
                 "hs_meeting_external_url", "hs_meeting_location", "hs_meeting_start_time", "hs_meeting_end_time",
                 "hs_meeting_outcome", "hubspot_owner_id", "hs_activity_type"},
}
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_createdate", "hs_lastmodifieddate"}
DEFAULT_RETURNED = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "notes": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
    "meetings": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}
#: (from object, to object) -> the HUBSPOT_DEFINED association type id
ASSOCIATION_TYPES = {("notes", "contacts"): 202, ("meetings", "contacts"): 200, ("contacts", "notes"): 201,
                     ("contacts", "meetings"): 199}
OUTCOMES = {"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"}
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
             "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
NOW = "2026-11-25T15:04:05.123Z"


@dataclass
class FakeHubSpot:
    """``await start()``, point reauto at :attr:`url`, inspect :attr:`objects`, ``await close()``."""

    token: str = "pat-na1-test-token"
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"contacts": {}, "notes": {}, "meetings": {}})
    failures: list[int] = field(default_factory=list)  # statuses answered first, one per request
    delay_s: float = 0.0
    unindexed: set[str] = field(default_factory=set)  # ids search does not see yet (index lag)
    word_tokens: bool = False  # CONTAINS_TOKEN splits on punctuation too: "a:b:1" matches any text with a, b and 1
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(51_001)

    @property
    def contacts(self) -> dict[str, dict[str, Any]]:
        return self.objects["contacts"]

    @property
    def notes(self) -> dict[str, dict[str, Any]]:
        return self.objects["notes"]

    @property
    def meetings(self) -> dict[str, dict[str, Any]]:
        return self.objects["meetings"]

    def add(self, kind: str, properties: dict[str, str], associations: Sequence[tuple[str, str, int]] = ()) -> str:
        """Store an object as if someone had created it in HubSpot; returns its id."""
        object_id = str(next(self._ids))
        self.objects[kind][object_id] = {
            "id": object_id, "properties": {**{k: str(v) for k, v in properties.items()}, "hs_object_id": object_id},
            "createdAt": NOW, "updatedAt": NOW, "archived": False, "associations": list(associations)}
        return object_id

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/crm/v3/objects/{kind}/search", self._search)
        app.router.add_post("/crm/v3/objects/{kind}", self._create)
        app.router.add_patch("/crm/v3/objects/{kind}/{id}", self._update)
        self._runner, self.url = await listen(app)
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()

    # --- plumbing -------------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, message: str, category: str, **extra: Any) -> web.Response:
        return web.json_response({"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                                  "category": category, **extra}, status=status)

    async def _admit(self, request: web.Request) -> tuple[web.Response | None, Any]:
        """Log, delay, authenticate, fail on demand, parse the JSON body."""
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append({"method": request.method, "path": request.path, "body": body,
                              "headers": dict(request.headers)})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, "Authentication credentials not found. This API supports OAuth 2.0 "
                                    "authentication and you can find more details at "
                                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                               "INVALID_AUTHENTICATION"), None
        if self.failures:
            status = self.failures.pop(0)
            if status == 429:
                response = web.json_response(
                    {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                     "correlationId": str(uuid.uuid4()), "policyName": "SECONDLY"},
                    status=429, headers={"Retry-After": "0"})
                return response, None
            return self._error(status, "internal error", "INTERNAL_ERROR"), None
        if request.match_info["kind"] not in self.objects:
            return web.json_response({"status": "error", "message": "Unable to infer object type from: "
                                      + request.match_info["kind"], "correlationId": str(uuid.uuid4())},
                                     status=400), None
        if not isinstance(body, dict):
            return self._error(400, "Invalid input JSON on line 1, column 1: Cannot build request body",
                               "VALIDATION_ERROR"), None
        return None, body

    def _check_properties(self, kind: str, properties: Any) -> web.Response | None:
        if not isinstance(properties, dict):
            return self._error(400, "Invalid input JSON: properties must be an object", "VALIDATION_ERROR")
        bad = [{"isValid": False, "message": f'Property "{name}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
                "name": name} for name in properties if name not in PROPERTIES[kind]]
        bad += [{"isValid": False, "message": f'"{name}" is a read only property; its value cannot be set.',
                 "error": "READ_ONLY_VALUE", "name": name} for name in properties if name in READ_ONLY]
        bad += [{"isValid": False, "message": f"{value!r} is not a valid value for {name}", "error": "INVALID_OPTION",
                 "name": name} for name, value in properties.items()
                if not isinstance(value, str | int | float | bool) and value is not None]
        if kind == "meetings" and properties.get("hs_meeting_outcome") not in (None, *OUTCOMES):
            bad.append({"isValid": False, "message": f"{properties['hs_meeting_outcome']} was not one of the allowed "
                        "options", "error": "INVALID_OPTION", "name": "hs_meeting_outcome"})
        if bad:
            return self._error(400, "Property values were not valid: " + json.dumps(bad), "VALIDATION_ERROR")
        return None

    def _check_associations(self, kind: str, associations: Any) -> web.Response | None:
        if not isinstance(associations, list):
            return self._error(400, "Invalid input JSON: associations must be an array", "VALIDATION_ERROR")
        for association in associations:
            to = association.get("to") if isinstance(association, dict) else None
            types = association.get("types") if isinstance(association, dict) else None
            if not isinstance(to, dict) or not to.get("id") or not isinstance(types, list) or not types:
                return self._error(400, "Invalid input JSON: an association needs to.id and types",
                                   "VALIDATION_ERROR")
            for kind_type in types:
                if (not isinstance(kind_type, dict)
                        or kind_type.get("associationCategory") not in (
                            "HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED")
                        or not isinstance(kind_type.get("associationTypeId"), int)):
                    return self._error(400, "Invalid input JSON: association types need associationCategory and "
                                            "associationTypeId", "VALIDATION_ERROR")
                target = next((t for (f, t), i in ASSOCIATION_TYPES.items()
                               if f == kind and i == kind_type["associationTypeId"]), None)
                if kind_type["associationCategory"] != "HUBSPOT_DEFINED" or target is None:
                    return self._error(400, f"{kind_type['associationTypeId']} is not a valid association type "
                                            f"for {kind}", "VALIDATION_ERROR")
                if str(to["id"]) not in self.objects[target]:
                    return self._error(400, f"No {target} with id {to['id']} exist", "VALIDATION_ERROR")
        return None

    # --- handlers -------------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        problem, body = await self._admit(request)
        if problem is not None:
            return problem
        kind = request.match_info["kind"]
        properties = body.get("properties")
        problem = (self._check_properties(kind, properties)
                   or self._check_associations(kind, body.get("associations", [])))
        if problem is not None:
            return problem
        if kind == "contacts":
            if not any(properties.get(p) for p in ("email", "firstname", "lastname")):
                return self._error(400, "A contact needs at least one of email, firstname or lastname",
                                   "VALIDATION_ERROR")
            email = str(properties.get("email") or "").lower()
            twin = next((c for c in self.contacts.values()
                         if email and c["properties"].get("email", "").lower() == email), None)
            if twin is not None:
                return self._error(409, f"Contact already exists. Existing ID: {twin['id']}", "CONFLICT")
        if kind in ("notes", "meetings") and not properties.get("hs_timestamp"):
            if kind == "meetings" and properties.get("hs_meeting_start_time"):
                properties = {**properties, "hs_timestamp": properties["hs_meeting_start_time"]}
            else:
                return self._error(400, "Property values were not valid: hs_timestamp is required",
                                   "VALIDATION_ERROR")
        links = [(t, str(a["to"]["id"]), kt["associationTypeId"]) for a in body.get("associations", [])
                 for kt in a["types"] for (f, t), i in ASSOCIATION_TYPES.items()
                 if f == kind and i == kt["associationTypeId"]]
        object_id = self.add(kind, {k: v for k, v in properties.items() if v is not None}, links)
        return web.json_response(self._public(self.objects[kind][object_id]), status=201)

    async def _update(self, request: web.Request) -> web.Response:
        problem, body = await self._admit(request)
        if problem is not None:
            return problem
        kind, object_id = request.match_info["kind"], request.match_info["id"]
        problem = self._check_properties(kind, body.get("properties"))
        if problem is not None:
            return problem
        found = self.objects[kind].get(object_id)
        if found is None:
            return self._error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                               context={"id": [object_id]})
        for name, value in body["properties"].items():
            if value in (None, ""):
                found["properties"].pop(name, None)
            else:
                found["properties"][name] = str(value)
        found["updatedAt"] = NOW
        return web.json_response(self._public(found))

    async def _search(self, request: web.Request) -> web.Response:
        problem, body = await self._admit(request)
        if problem is not None:
            return problem
        kind = request.match_info["kind"]
        groups = body.get("filterGroups", [])
        limit = body.get("limit", 10)
        if (not isinstance(groups, list) or len(groups) > 5
                or any(not isinstance(g, dict) or not isinstance(g.get("filters"), list) or len(g["filters"]) > 6
                       for g in groups)
                or sum(len(g["filters"]) for g in groups) > 18):
            return self._error(400, "Invalid filterGroups: at most 5 groups of at most 6 filters (18 in all)",
                               "VALIDATION_ERROR")
        if not isinstance(limit, int) or not 1 <= limit <= 200:
            return self._error(400, "limit must be between 1 and 200", "VALIDATION_ERROR")
        for f in (f for g in groups for f in g["filters"]):
            if f.get("operator") not in OPERATORS or not f.get("propertyName"):
                return self._error(400, f"Invalid filter: {json.dumps(f)}", "VALIDATION_ERROR")
        hits = [o for o in self.objects[kind].values() if o["id"] not in self.unindexed
                and (not groups or any(all(_matches(o["properties"], f, self.word_tokens) for f in g["filters"])
                                       for g in groups))]
        wanted = body.get("properties") or DEFAULT_RETURNED[kind]
        results = [{**self._public(o), "properties": {p: o["properties"].get(p) for p in
                                                       {*wanted, "hs_object_id", "createdate", "lastmodifieddate"}}}
                   for o in hits[:limit]]
        answer: dict[str, Any] = {"total": len(hits), "results": results}
        if len(hits) > limit:
            answer["paging"] = {"next": {"after": str(limit), "link": f"?after={limit}"}}
        return web.json_response(answer)

    @staticmethod
    def _public(stored: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in stored.items() if k != "associations"}


def _tokens(text: str, words: bool = False) -> list[str]:
    """Tokens as a search index sees them: tags and whitespace (and, with ``words``, punctuation) separate
    them; case is ignored."""
    text = re.sub(r"<[^>]+>", " ", text).lower()
    return re.findall(r"[\w*]+", text) if words else text.split()


def _contains_token(text: str, wanted: str, words: bool) -> bool:
    tokens = _tokens(text, words)
    for part in _tokens(wanted, words):
        pattern = re.compile(".*".join(re.escape(piece) for piece in part.split("*")))
        if not any(pattern.fullmatch(token) for token in tokens):
            return False
    return True


def _matches(properties: dict[str, str], f: dict[str, Any], words: bool = False) -> bool:
    value = properties.get(f["propertyName"])
    operator, wanted = f["operator"], str(f.get("value", "")).lower()
    if operator == "HAS_PROPERTY":
        return bool(value)
    if operator == "NOT_HAS_PROPERTY":
        return not value
    if value is None:
        return operator in ("NEQ", "NOT_CONTAINS_TOKEN")
    if operator == "EQ":
        return value.lower() == wanted
    if operator == "NEQ":
        return value.lower() != wanted
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = _contains_token(value, wanted, words)
        return found if operator == "CONTAINS_TOKEN" else not found
    if operator == "IN":
        return value.lower() in [str(v).lower() for v in f.get("values", [])]
    if operator == "NOT_IN":
        return value.lower() not in [str(v).lower() for v in f.get("values", [])]
    return False  # range operators: not needed by reauto
