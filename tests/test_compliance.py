from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.compliance import ComplianceRules, Hours, LeadFacts, check, in_window, window

pytestmark = pytest.mark.unit
RULES = ComplianceRules()
CHI, NY, LA, DEN = "America/Chicago", "America/New_York", "America/Los_Angeles", "America/Denver"


def lead(state="TX", zones=(CHI,), **kw):
    base = dict(phone_e164="+15125550123", state=state, zones=tuple(zones), has_written_consent=True,
                ai_voice_consent=True)
    base.update(kw)
    return LeadFacts(**base)


def at(zone, y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize("facts,reason", [
    (lead(dnc_national=True), "national do-not-call"),
    (lead(dnc_internal=True), "internal do-not-call"),
    (lead(has_written_consent=False), "written consent"),
    (lead(ai_voice_consent=False), "artificial (AI) voice"),
    (lead(attempts=3), "attempts exhausted"),
    (lead(state=None, zones=()), "unknown time zone"),
])
def test_permanent_denials_have_no_retry_time(facts, reason):
    d = check(facts, RULES, at(CHI, 2026, 11, 24, 14))
    assert not d.allowed and reason in d.reason and d.next_allowed_at is None


def test_allowed_inside_the_window_with_recording_notice():
    d = check(lead(), RULES, at(CHI, 2026, 11, 24, 14))
    assert d.allowed and d.may_record and d.must_announce_recording and d.disclosures


def test_a_campaign_that_records_only_under_one_party_consent_skips_all_party_and_unknown_states():
    from reauto.campaign import load_campaign
    from reauto.dialer.assembly import rules_for

    campaign = load_campaign("campaigns/demo.yaml")
    one_party = rules_for(campaign.model_copy(update={"recording": campaign.recording.model_copy(
        update={"policy": "one_party_only"})}))
    never = rules_for(campaign.model_copy(update={"recording": campaign.recording.model_copy(
        update={"policy": "never"})}))
    now = at(CHI, 2026, 11, 24, 14)
    texas = check(lead(), one_party, now)
    assert texas.may_record and texas.must_announce_recording
    for state, zone in (("CA", LA), ("FL", NY), ("PA", NY)):
        d = check(lead(state=state, zones=(zone,)), one_party, now)
        assert d.allowed and not d.may_record and not d.disclosures, state
    assert not check(lead(state=None, zones=(CHI,)), one_party, now).may_record
    assert rules_for(campaign).record_calls and check(lead(state="CA", zones=(LA,)), rules_for(campaign), now).may_record
    d = check(lead(), never, now)
    assert d.allowed and not d.may_record and not d.disclosures


@pytest.mark.parametrize("zone,state,now,expected", [
    # Texas: 09:00 on weekdays, 12:00 on Sundays
    (CHI, "TX", (2026, 11, 24, 8, 30), (2026, 11, 24, 9, 0)),
    (CHI, "TX", (2026, 11, 29, 11, 0), (2026, 11, 29, 12, 0)),
    # Florida ends at 20:00 → next morning 08:00
    (NY, "FL", (2026, 11, 24, 20, 30), (2026, 11, 25, 8, 0)),
    # Thanksgiving (federal holiday) is skipped
    (NY, "NY", (2026, 11, 25, 21, 30), (2026, 11, 27, 8, 0)),
    # DST spring-forward Sunday 2026-03-08 in Chicago: Texas Sunday start at noon local
    (CHI, "TX", (2026, 3, 8, 1, 30), (2026, 3, 8, 12, 0)),
])
def test_next_allowed_is_the_first_legal_minute(zone, state, now, expected):
    d = check(lead(state=state, zones=(zone,)), RULES, at(zone, *now))
    assert not d.allowed and "calling window" in d.reason
    assert d.next_allowed_at == at(zone, *expected)


def test_every_candidate_zone_must_allow():
    # A Florida panhandle number could be Central or Eastern: 08:30 Eastern is 07:30 Central.
    facts = lead(state="FL", zones=(NY, CHI))
    d = check(facts, RULES, at(NY, 2026, 11, 24, 8, 30))
    assert not d.allowed
    assert d.next_allowed_at == at(CHI, 2026, 11, 24, 8, 0)
    # and in the evening Eastern's 20:00 closes first
    assert not check(facts, RULES, at(NY, 2026, 11, 24, 20, 5)).allowed


def test_three_calls_in_24_hours_in_florida():
    now = at(NY, 2026, 11, 24, 15)
    history = [now - timedelta(hours=h) for h in (1, 3, 5)]
    d = check(lead(state="FL", zones=(NY,)), RULES, now, history)
    assert not d.allowed and "3 calls in 24 hours" in d.reason
    assert d.next_allowed_at == (history[-1] + timedelta(hours=24, minutes=1)).replace(second=0, microsecond=0)
    # Texas has no such rule
    assert check(lead(state="TX", zones=(CHI,)), RULES, at(CHI, 2026, 11, 24, 15), history).allowed


def test_abandon_ceiling_stops_dialing():
    now = at(CHI, 2026, 11, 24, 14)
    d = check(lead(), RULES, now, abandon_rate=0.05)
    assert not d.allowed and "abandoned-call rate" in d.reason
    assert d.next_allowed_at == now + timedelta(hours=1)  # the campaign's state: the lead is not closed


def test_campaign_window_and_days_narrow_the_law():
    rules = ComplianceRules(campaign=Hours(time(10), time(17)), days=frozenset({"mon", "tue"}))
    assert window(rules, "TX", datetime(2026, 11, 24).date()) == (time(10), time(17))
    assert window(rules, "TX", datetime(2026, 11, 25).date()) is None  # a Wednesday


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        check(lead(), RULES, datetime(2026, 11, 24, 14))


ZONES = [CHI, NY, LA, DEN, "America/Phoenix"]
STATES = ["TX", "FL", "CA", "NY", "OK", "MD", None]


@settings(max_examples=300, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
    state=st.sampled_from(STATES),
    instant=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    consent=st.booleans(), dnc=st.booleans(), attempts=st.integers(0, 4),
)
def test_gate_never_allows_an_illegal_call(zones, state, instant, consent, dnc, attempts):
    facts = lead(state=state, zones=zones, has_written_consent=consent, dnc_internal=dnc, attempts=attempts)
    d = check(facts, RULES, instant)
    if d.allowed:
        assert consent and not dnc and attempts < RULES.max_attempts
        for zone in zones:
            local = instant.astimezone(ZoneInfo(zone))
            assert time(8) <= local.time() < time(21)
            assert in_window(RULES, state, zone, instant)
    elif d.next_allowed_at is not None:
        assert d.next_allowed_at >= instant
        assert check(facts, RULES, d.next_allowed_at).allowed
        # nothing earlier (to the minute) would have been allowed
        earlier = d.next_allowed_at - timedelta(minutes=1)
        assert earlier < instant or not check(facts, RULES, earlier).allowed
