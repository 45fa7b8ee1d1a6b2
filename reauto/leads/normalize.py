"""Normalise what lead files say about a person: phone numbers, US states and time zones.

Phone numbers go through ``phonenumbers`` (never hand-rolled formatting) and come out as E.164
or not at all. Time zones come from the address when it names a state (a state spanning several
zones keeps every candidate unless the city or ZIP code decides), else from the number's area
code; when the two disagree (a Texas number, an address in New York) the lead may be in either
place and keeps the zones of both. Every candidate is kept because the calling window must hold
in each of them (see COMPLIANCE.md, "Calling hours"). :data:`STATE_ZONES` is the one table of
states' zones: the compliance gate reads it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as pn_timezone

#: US states, DC and inhabited territories: full name → USPS code.
STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "district of columbia": "DC", "washington dc": "DC", "washington d c": "DC",
    "washington state": "WA", "puerto rico": "PR", "guam": "GU", "us virgin islands": "VI",
    "virgin islands": "VI", "american samoa": "AS", "northern mariana islands": "MP",
}
STATE_CODES: frozenset[str] = frozenset(STATE_NAMES.values())

_CHICAGO, _NEW_YORK, _DENVER = "America/Chicago", "America/New_York", "America/Denver"
_LA, _PHOENIX, _BOISE = "America/Los_Angeles", "America/Phoenix", "America/Boise"

#: Every IANA zone a state's residents may live in; the first is where most of them live.
#: Arizona keeps only Phoenix: the Navajo Nation's DST is a rounding error for calling hours
#: that the 09:00–20:00 window absorbs.
STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (_CHICAGO,), "AK": ("America/Anchorage", "America/Adak"), "AZ": (_PHOENIX,),
    "AR": (_CHICAGO,), "CA": (_LA,), "CO": (_DENVER,), "CT": (_NEW_YORK,), "DE": (_NEW_YORK,),
    "DC": (_NEW_YORK,), "FL": (_NEW_YORK, _CHICAGO), "GA": (_NEW_YORK,),
    "HI": ("Pacific/Honolulu",), "ID": (_BOISE, _LA), "IL": (_CHICAGO,),
    "IN": ("America/Indiana/Indianapolis", _CHICAGO), "IA": (_CHICAGO,),
    "KS": (_CHICAGO, _DENVER), "KY": (_NEW_YORK, _CHICAGO), "LA": (_CHICAGO,),
    "ME": (_NEW_YORK,), "MD": (_NEW_YORK,), "MA": (_NEW_YORK,),
    "MI": ("America/Detroit", "America/Menominee"), "MN": (_CHICAGO,), "MS": (_CHICAGO,),
    "MO": (_CHICAGO,), "MT": (_DENVER,), "NE": (_CHICAGO, _DENVER), "NV": (_LA,),
    "NH": (_NEW_YORK,), "NJ": (_NEW_YORK,), "NM": (_DENVER,), "NY": (_NEW_YORK,),
    "NC": (_NEW_YORK,), "ND": (_CHICAGO, _DENVER), "OH": (_NEW_YORK,), "OK": (_CHICAGO,),
    "OR": (_LA, _BOISE), "PA": (_NEW_YORK,), "RI": (_NEW_YORK,), "SC": (_NEW_YORK,),
    "SD": (_CHICAGO, _DENVER), "TN": (_CHICAGO, _NEW_YORK), "TX": (_CHICAGO, _DENVER),
    "UT": (_DENVER,), "VT": (_NEW_YORK,), "VA": (_NEW_YORK,), "WA": (_LA,),
    "WV": (_NEW_YORK,), "WI": (_CHICAGO,), "WY": (_DENVER,), "PR": ("America/Puerto_Rico",),
    "GU": ("Pacific/Guam",), "VI": ("America/St_Thomas",), "AS": ("Pacific/Pago_Pago",),
    "MP": ("Pacific/Saipan",),
}

#: Cities that settle the zone inside a multi-zone state (the larger places near the lines).
CITY_ZONES: dict[tuple[str, str], str] = {
    ("FL", "pensacola"): _CHICAGO, ("FL", "panama city"): _CHICAGO,
    ("FL", "fort walton beach"): _CHICAGO, ("FL", "destin"): _CHICAGO,
    ("FL", "tallahassee"): _NEW_YORK, ("FL", "jacksonville"): _NEW_YORK,
    ("FL", "miami"): _NEW_YORK, ("FL", "orlando"): _NEW_YORK, ("FL", "tampa"): _NEW_YORK,
    ("TX", "el paso"): _DENVER, ("TX", "austin"): _CHICAGO, ("TX", "houston"): _CHICAGO,
    ("TX", "dallas"): _CHICAGO, ("TX", "san antonio"): _CHICAGO,
    ("TX", "fort worth"): _CHICAGO,
    ("TN", "nashville"): _CHICAGO, ("TN", "memphis"): _CHICAGO,
    ("TN", "knoxville"): _NEW_YORK, ("TN", "chattanooga"): _NEW_YORK,
    ("KY", "louisville"): _NEW_YORK, ("KY", "lexington"): _NEW_YORK,
    ("KY", "bowling green"): _CHICAGO, ("KY", "paducah"): _CHICAGO,
    ("IN", "indianapolis"): "America/Indiana/Indianapolis",
    ("IN", "fort wayne"): "America/Indiana/Indianapolis", ("IN", "gary"): _CHICAGO,
    ("IN", "evansville"): _CHICAGO, ("ID", "boise"): _BOISE,
    ("ID", "coeur d'alene"): _LA, ("ID", "lewiston"): _LA, ("ID", "moscow"): _LA,
    ("OR", "portland"): _LA, ("OR", "ontario"): _BOISE, ("KS", "wichita"): _CHICAGO,
    ("KS", "goodland"): _DENVER, ("NE", "omaha"): _CHICAGO, ("NE", "lincoln"): _CHICAGO,
    ("NE", "scottsbluff"): _DENVER, ("SD", "sioux falls"): _CHICAGO,
    ("SD", "rapid city"): _DENVER, ("ND", "fargo"): _CHICAGO, ("ND", "bismarck"): _CHICAGO,
    ("ND", "dickinson"): _DENVER, ("MI", "detroit"): "America/Detroit",
    ("MI", "menominee"): "America/Menominee", ("AK", "anchorage"): "America/Anchorage",
    ("AK", "adak"): "America/Adak",
}

#: Three-digit ZIP prefixes that settle the zone inside a multi-zone state.
ZIP3_ZONES: dict[str, str] = {
    "324": _CHICAGO, "325": _CHICAGO,  # Florida panhandle west of the Apalachicola
    "798": _DENVER, "799": _DENVER, "885": _DENVER,  # El Paso area
    "370": _CHICAGO, "371": _CHICAGO, "372": _CHICAGO, "380": _CHICAGO, "381": _CHICAGO,
    "373": _NEW_YORK, "374": _NEW_YORK, "377": _NEW_YORK, "378": _NEW_YORK, "379": _NEW_YORK,
    "400": _NEW_YORK, "401": _NEW_YORK, "402": _NEW_YORK, "405": _NEW_YORK,  # Louisville, Lexington
    "420": _CHICAGO, "421": _CHICAGO,  # Paducah, Bowling Green
    "462": "America/Indiana/Indianapolis", "463": _CHICAGO, "464": _CHICAGO,  # Gary
    "476": _CHICAGO, "477": _CHICAGO,  # Evansville
    "836": _BOISE, "837": _BOISE, "838": _LA,  # Boise; Idaho panhandle
    "979": _BOISE,  # Ontario, OR
}

#: Line types ``phonenumbers`` can tell apart; US numbers are mostly "fixed_or_mobile".
_LINE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
}
#: Number types that are never a person's own line.
_REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate number",
    PhoneNumberType.TOLL_FREE: "toll-free number (not a personal line)",
    PhoneNumberType.SHARED_COST: "shared-cost number (not a personal line)",
    PhoneNumberType.UAN: "universal access number (not a personal line)",
    PhoneNumberType.VOICEMAIL: "voicemail access number",
}
_EXTENSION = re.compile(r"(?:\s*(?:ext\.?|extension|x|#)\s*\d{1,6})\s*$", re.IGNORECASE)
_LETTERS = re.compile(r"[A-Za-z]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_UNKNOWN_ZONE = "Etc/Unknown"
#: NANP regions that are US territories: their region code is their USPS code.
_TERRITORIES = {code: code for code in ("PR", "GU", "VI", "AS", "MP")}
#: Regions whose numbers belong to a country's campaigns besides its own code.
_COUNTRY_REGIONS: dict[str, frozenset[str]] = {"US": frozenset({"US", *_TERRITORIES})}
#: Longest input worth parsing; phonenumbers itself refuses more than 250 characters.
_MAX_LEN = 64


class InvalidPhone(ValueError):
    """A phone number that cannot be called; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """A callable number and what its numbering plan tells about it.

    Attributes:
        e164: the number in E.164 (``+15125550123``); extensions are dropped.
        region: ISO region of the number (``US``).
        line_type: ``mobile``, ``landline``, ``fixed_or_mobile``, ``voip`` … or None.
        time_zones: every IANA zone the number's area code spans (empty when unknown).
        state: USPS state code of the area code, when it maps to one state.
        extension: the extension written after the number, if any.
    """

    e164: str
    region: str
    line_type: str | None
    time_zones: tuple[str, ...]
    state: str | None
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneGuess:
    """Time zone(s) of a lead.

    Attributes:
        timezone: the one zone when it is certain, else None.
        candidates: every zone the lead may be in (one element when certain).
        basis: where it came from: ``address``, ``phone`` or ``unknown``.
    """

    timezone: str | None
    candidates: tuple[str, ...]
    basis: str


def parse_phone(raw: object, region: str = "US") -> PhoneInfo:
    """Parse a number written any usual way into E.164 with its zone, state and line type.

    Args:
        raw: what the file says (``(512) 555-0123``, ``+1 512 555 0123``, ``5125550123`` …).
        region: ISO region assumed for numbers written without ``+`` and country code.

    Returns:
        The normalised number.

    Raises:
        InvalidPhone: empty, letters, too short/long, an impossible area code or exchange, or a
            number that is never a person's own line (toll-free, premium rate …).
    """
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise InvalidPhone("empty")
    if len(text) > _MAX_LEN:
        raise InvalidPhone("too long to be a phone number")
    body = _EXTENSION.sub("", text)
    if _LETTERS.search(body):
        raise InvalidPhone("contains letters")
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(_parse_reason(exc)) from None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(_possible_reason(number))
    # The checks below are each done once: for +1 numbers phonenumbers tries all 25 NANP regions
    # on every validity, type or zone query, and this runs for every row of a large file.
    region_code = phonenumbers.region_code_for_number(number)
    kind = (
        PhoneNumberType.UNKNOWN
        if region_code is None
        else phonenumbers.number_type(number)
    )
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidPhone("not a valid number (unassigned area code or exchange)")
    if kind in _REFUSED_TYPES:
        raise InvalidPhone(_REFUSED_TYPES[kind])
    assert region_code is not None  # a known type implies a region
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if phonenumbers.is_number_type_geographical(kind, number.country_code):
        zones = pn_timezone.time_zones_for_geographical_number(number)
        from phonenumbers import geocoder  # its geodata takes half a second to load: only when a lead is read

        description = geocoder.description_for_valid_number(number, "en", region=region_code)
    else:
        zones = pn_timezone.time_zones_for_number(number)
        description = ""
    state = state_from_description(description) if region_code == "US" else _TERRITORIES.get(region_code)
    return PhoneInfo(
        e164=e164,
        region=region_code,
        line_type=_LINE_TYPES.get(kind),
        time_zones=tuple(z for z in zones if z != _UNKNOWN_ZONE),
        state=state,
        extension=number.extension or None,
    )


def to_e164(raw: object, region: str = "US") -> str | None:
    """The E.164 form of ``raw``, or None when it is not a callable number. Never raises."""
    try:
        e164 = parse_phone(raw, region).e164
    except InvalidPhone:
        return None
    # Belt and braces: phonenumbers formats valid numbers in E.164; assert the shape anyway.
    return e164 if _E164.match(e164) else None


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "not a phone number")


def _possible_reason(number: phonenumbers.PhoneNumber) -> str:
    result = phonenumbers.is_possible_number_with_reason(number)
    if result == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return "too short: no area code"
    if result in (
        phonenumbers.ValidationResult.TOO_SHORT,
        phonenumbers.ValidationResult.INVALID_LENGTH,
    ):
        return "too short" if len(str(number.national_number)) < 10 else "wrong length"
    if result == phonenumbers.ValidationResult.TOO_LONG:
        return "too long"
    return "not a possible number"


def normalize_state(raw: object) -> str | None:
    """USPS code for a state written as a code or a name (``tx``, ``Texas``, ``Washington DC``)."""
    if raw is None:
        return None
    text = re.sub(r"[^a-z ]", " ", str(raw).lower())
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) == 2 and text.upper() in STATE_CODES:
        return text.upper()
    compact = text.replace(" ", "")
    if len(compact) == 2 and compact.upper() in STATE_CODES:  # "T.X." → "t x"
        return compact.upper()
    return STATE_NAMES.get(text)


def state_from_description(description: str) -> str | None:
    """State code from a ``phonenumbers`` geocoder line (``Texas``, ``Austin, TX``)."""
    if not description:
        return None
    if "," in description:
        tail = description.rsplit(",", 1)[1].strip()
        code = normalize_state(tail)
        if code:
            return code
    return normalize_state(description)


def zone_for_address(
    state: str | None, city: str | None = None, zip_code: str | None = None
) -> tuple[str, ...]:
    """Candidate zones for an address: one when the state (or its city/ZIP) decides, else all.

    Returns:
        An empty tuple when the state is unknown.
    """
    if not state or state not in STATE_ZONES:
        return ()
    zones = STATE_ZONES[state]
    if len(zones) == 1:
        return zones
    if city:
        key = (state, " ".join(city.lower().replace(".", "").split()))
        if key in CITY_ZONES:
            return (CITY_ZONES[key],)
    if zip_code:
        digits = re.sub(r"\D", "", zip_code)[:3]
        zone = ZIP3_ZONES.get(digits)
        if zone in zones:
            return (zone,)
    return zones


def guess_zone(
    phone: PhoneInfo | None,
    state: str | None = None,
    city: str | None = None,
    zip_code: str | None = None,
) -> ZoneGuess:
    """The lead's time zone(s): the address's and, when the number says otherwise, the number's.

    The address decides alone when the number agrees with it (same state, or zones the state
    has). When they disagree — a 512 (Texas) number with a New York address, a UK number with a
    California one — the lead may be in either place, so the zones of both are kept (address
    first) and the basis is ``address+phone``.
    """
    zones = zone_for_address(state, city, zip_code)
    phone_zones = phone.time_zones if phone is not None else ()
    if not zones:
        if not phone_zones:
            return ZoneGuess(None, (), "unknown")
        return _guess(phone_zones, "phone")
    if not phone_zones or _agrees(phone, state):
        return _guess(zones, "address")
    extra = tuple(z for z in phone_zones if z not in zones)
    return _guess((*zones, *extra), "address+phone" if extra else "address")


def _agrees(phone: PhoneInfo | None, state: str | None) -> bool:
    """Whether the number's area code is in the address's state (or only in zones it has)."""
    assert phone is not None and state is not None
    if phone.state is not None:
        return phone.state == state
    return phone.region in ("US", *_TERRITORIES) and set(phone.time_zones) <= set(STATE_ZONES.get(state, ()))


def _guess(zones: tuple[str, ...], basis: str) -> ZoneGuess:
    return ZoneGuess(zones[0] if len(zones) == 1 else None, tuple(zones), basis)


def countries_shown(regions: frozenset[str]) -> str:
    """Regions as an operator names them: ``US`` for the US and its territories."""
    shown = set(regions)
    for country, members in _COUNTRY_REGIONS.items():
        if members <= shown:
            shown = (shown - members) | {country}
    return ", ".join(sorted(shown)) or "none"


def regions_of(countries: object) -> frozenset[str]:
    """The phone regions of a campaign's countries (``["US"]`` → the US and its territories).

    Anything that is not a list of two-letter codes gives an empty set (nothing is callable).
    """
    if not isinstance(countries, list | tuple | set | frozenset):
        return frozenset()
    out: set[str] = set()
    for code in countries:
        if isinstance(code, str) and len(code.strip()) == 2:
            upper = code.strip().upper()
            out |= _COUNTRY_REGIONS.get(upper, frozenset({upper}))
    return frozenset(out)


def normalize_zip(raw: object) -> str | None:
    """A US ZIP (``78701`` or ``78701-1234``); Excel's lost leading zeros are restored."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{3,5})(?:[- ]?(\d{4}))?", text)
    if not match:
        return text[:10]
    head = match.group(1).zfill(5)
    return f"{head}-{match.group(2)}" if match.group(2) else head


def zones_of(number: str) -> list[str]:
    """Every time zone the number's area code may be in (phonenumbers' offline data)."""
    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return []
    return [z for z in zones if z != "Etc/Unknown"]
