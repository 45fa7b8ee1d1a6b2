"""Phone numbers, states, ZIP codes and time zones as lead files write them."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.leads.normalize import (
    InvalidPhone,
    guess_zone,
    normalize_state,
    normalize_zip,
    parse_phone,
    state_from_description,
    to_e164,
    zone_for_address,
)

pytestmark = pytest.mark.unit
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(512) 555-0123", "+15125550123"),
        ("512.555.0123", "+15125550123"),
        ("+1 512 555 0123", "+15125550123"),
        ("1-512-555-0123", "+15125550123"),
        ("5125550123", "+15125550123"),
        (" 512 555 0123 ", "+15125550123"),
        ("512-555-0123 ext. 45", "+15125550123"),
        ("512 555 0123 x12", "+15125550123"),
        ("(512) 555-0123 #7", "+15125550123"),
        ("+44 20 7946 0958", "+442079460958"),
        (5125550123, "+15125550123"),
    ],
)
def test_formats_normalise_to_e164(raw, e164):
    assert parse_phone(raw).e164 == e164


def test_extension_is_kept_apart():
    info = parse_phone("512-555-0123 ext. 45")
    assert info.extension == "45"
    assert parse_phone("512-555-0123").extension is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        (None, "empty"),
        ("   ", "empty"),
        ("1-800-FLOWERS", "contains letters"),
        ("call me", "contains letters"),
        ("555-0123", "too short: no area code"),
        ("12345", "too short"),
        ("(512) 555-01234", "too long"),
        ("(123) 555-0100", "not a valid number (unassigned area code or exchange)"),
        ("(512) 155-0123", "not a valid number (unassigned area code or exchange)"),
        ("(900) 555-0123", "premium-rate number"),
        ("(800) 555-0123", "toll-free number (not a personal line)"),
        ("+999 1234 5678", "unknown country code"),
        ("-- --", "not a phone number"),
        ("9" * 70, "too long to be a phone number"),
        ("+1 512 555 0123 4567 8901", "too long"),
    ],
)
def test_invalid_numbers_are_rejected_with_reason(raw, reason):
    with pytest.raises(InvalidPhone) as err:
        parse_phone(raw)
    assert err.value.reason == reason
    assert to_e164(raw) is None


def test_other_region_default():
    assert parse_phone("020 7946 0958", "GB").e164 == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "zones", "state"),
    [
        ("(512) 555-0123", ("America/Chicago",), "TX"),
        ("(915) 555-0123", ("America/Denver",), "TX"),
        ("(208) 555-0123", ("America/Boise", "America/Los_Angeles"), "ID"),
        ("(907) 555-0123", ("America/Adak", "America/Anchorage"), "AK"),
        ("(212) 555-1234", ("America/New_York",), "NY"),  # geocoder says "New York, NY"
        ("(206) 555-0100", ("America/Los_Angeles",), "WA"),  # "Washington State"
        ("(202) 555-0100", ("America/New_York",), "DC"),  # "Washington D.C."
        ("(787) 555-0123", ("America/Puerto_Rico",), "PR"),
        ("+44 20 7946 0958", ("Europe/London",), None),
    ],
)
def test_zones_and_state_from_the_number(raw, zones, state):
    info = parse_phone(raw)
    assert info.time_zones == zones
    assert info.state == state


def test_line_type_when_known():
    assert parse_phone("+44 20 7946 0958").line_type == "landline"
    assert parse_phone("+44 7911 123456").line_type == "mobile"
    assert parse_phone("(512) 555-0123").line_type == "fixed_or_mobile"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("TX", "TX"), ("tx", "TX"), ("Texas", "TX"), (" texas ", "TX"), ("T.X.", "TX"),
        ("New York", "NY"), ("new  york", "NY"), ("Washington DC", "DC"),
        ("District of Columbia", "DC"), ("Puerto Rico", "PR"), ("XX", None), ("Narnia", None),
        ("", None), (None, None), ("--", None),
    ],
)
def test_states_by_name_or_code(raw, code):
    assert normalize_state(raw) == code


@pytest.mark.parametrize(
    ("description", "code"),
    [("Texas", "TX"), ("Austin, TX", "TX"), ("Windsor North, Orem, UT", "UT"),
     ("Washington State", "WA"), ("", None), ("London", None), ("Somewhere, ZZ", None)],
)
def test_state_from_geocoder_description(description, code):
    assert state_from_description(description) == code


@pytest.mark.parametrize(
    ("state", "city", "zip_code", "zones"),
    [
        ("TX", None, None, ("America/Chicago", "America/Denver")),
        ("TX", "El Paso", None, ("America/Denver",)),
        ("TX", None, "79901", ("America/Denver",)),
        ("TX", "Nowhere", "75001", ("America/Chicago", "America/Denver")),
        ("FL", "Pensacola", None, ("America/Chicago",)),
        ("FL", None, "32501", ("America/Chicago",)),
        ("TN", "Knoxville", None, ("America/New_York",)),
        ("ID", None, "83814-1234", ("America/Los_Angeles",)),
        ("CA", None, None, ("America/Los_Angeles",)),
        ("AZ", "Tuba City", None, ("America/Phoenix",)),
        ("ZZ", None, None, ()),
        (None, None, None, ()),
    ],
)
def test_zone_for_address(state, city, zip_code, zones):
    assert zone_for_address(state, city, zip_code) == zones


def test_guess_zone_prefers_address_then_phone():
    phone = parse_phone("(850) 555-0111")  # phonenumbers: New York only
    by_address = guess_zone(phone, "FL", "Pensacola", None)
    assert (by_address.timezone, by_address.basis) == ("America/Chicago", "address")
    by_phone = guess_zone(phone, None)
    assert (by_phone.timezone, by_phone.basis) == ("America/New_York", "phone")
    several = guess_zone(parse_phone("(208) 555-0123"))
    assert several.timezone is None
    assert several.candidates == ("America/Boise", "America/Los_Angeles")
    assert guess_zone(None).basis == "unknown"


@pytest.mark.parametrize(
    ("raw", "zip_code"),
    [("78701", "78701"), ("2134", "02134"), ("78701-1234", "78701-1234"), ("787011234", "78701-1234"),
     ("", None), (None, None), ("SW1A 1AA", "SW1A 1AA")],
)
def test_zip(raw, zip_code):
    assert normalize_zip(raw) == zip_code


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.from_regex(r"\+?[0-9 ().\-]{0,20}")))
def test_never_crashes_and_only_returns_e164(raw):
    result = to_e164(raw)
    assert result is None or E164.match(result)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True), st.sampled_from(
    ["({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c}", "{a}{b}{c}"]))
def test_all_writings_of_a_number_agree(digits, template):
    written = template.format(a=digits[:3], b=digits[3:6], c=digits[6:])
    assert to_e164(written) == to_e164(digits)
