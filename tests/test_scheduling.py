"""Scheduling: free slots of the agent's hours and busy calendar, the two offers, how they are said,
busy time from iCalendar feeds (file and URL), and the invite with its email."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp import web

from reauto.campaign import Booking
from reauto.scheduling.availability import (
    CalendarError, Slot, busy_from_ics, free_slots, load_busy_calendar, spoken_slot, two_offers,
)
from reauto.scheduling.invite import PRODID, confirmation_email, invite

CHI = ZoneInfo("America/Chicago")
MONDAY_8AM = datetime(2026, 3, 2, 8, tzinfo=CHI)  # Monday, CST (UTC-6)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HALF_HOUR = timedelta(minutes=30)


def booking(**fields) -> Booking:
    """A 30-minute calendar in Chicago with no buffer, notice or blackout unless a case sets them."""
    defaults = {"slot_minutes": 30, "timezone": "America/Chicago", "hours": {"mon": ["09:00-10:00"]},
                "buffer_minutes": 0, "min_notice_minutes": 0, "horizon_days": 7}
    return Booking(**{**defaults, **fields})


def chi(text: str) -> datetime:
    """``03-02 09:00`` (2026) on Chicago's wall clocks."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=CHI)


def local(slots: list[Slot]) -> list[str]:
    return [f"{s.start.astimezone(CHI):%m-%d %H:%M}" for s in slots]


def utc(slots: list[Slot]) -> list[str]:
    return [f"{s.start:%m-%d %H:%M}" for s in slots]


# --- free slots ------------------------------------------------------------------------------------
FREE_CASES = [
    ("windows step by slot length; a slot must fit its window",
     booking(hours={"mon": ["09:00-10:00", "13:00-14:00"], "tue": ["09:00-09:45"]}, horizon_days=2), [],
     ["03-02 09:00", "03-02 09:30", "03-02 13:00", "03-02 13:30", "03-03 09:00"]),
    ("overlapping windows count once",
     booking(hours={"mon": ["09:00-10:00", "09:30-10:30"]}, horizon_days=1), [],
     ["03-02 09:00", "03-02 09:30", "03-02 10:00"]),
    ("minimum notice",
     booking(hours={"mon": ["09:00-11:00"]}, min_notice_minutes=90, horizon_days=1), [],
     ["03-02 09:30", "03-02 10:00", "03-02 10:30"]),
    ("horizon: Thursday 9:00 is after now + 3 days",
     booking(hours={d: ["09:00-09:30"] for d in WEEKDAYS}, horizon_days=3), [],
     ["03-02 09:00", "03-03 09:00", "03-04 09:00"]),
    ("blackout dates",
     booking(hours={d: ["09:00-09:30"] for d in WEEKDAYS}, horizon_days=3, blackout_dates=[date(2026, 3, 3)]), [],
     ["03-02 09:00", "03-04 09:00"]),
    ("buffer widens a busy period on both sides",
     booking(hours={"mon": ["09:00-12:00"]}, buffer_minutes=15), [(chi("03-02 10:00"), chi("03-02 10:30"))],
     ["03-02 09:00", "03-02 11:00", "03-02 11:30"]),
    ("one busy period covers several slots",
     booking(hours={"mon": ["09:00-12:00"]}), [(chi("03-02 09:15"), chi("03-02 11:10"))],
     ["03-02 11:30"]),
    ("busy periods that touch a slot without overlapping leave it free",
     booking(hours={"mon": ["09:00-10:00"]}), [(chi("03-02 08:00"), chi("03-02 09:00")),
                                               (chi("03-02 10:00"), chi("03-02 11:00"))],
     ["03-02 09:00", "03-02 09:30"]),
    ("busy times given in other zones",
     booking(hours={"mon": ["09:00-11:00"]}),
     [(datetime(2026, 3, 2, 15, 30, tzinfo=ZoneInfo("Europe/London")),
       datetime(2026, 3, 2, 11, 0, tzinfo=ZoneInfo("America/New_York")))],
     ["03-02 09:00", "03-02 10:00", "03-02 10:30"]),
    ("a calendar in another zone: its hours are its own wall clock",
     booking(timezone="America/New_York", hours={"mon": ["09:00-10:00"]}, horizon_days=1), [],
     ["03-02 08:00", "03-02 08:30"]),
]


@pytest.mark.unit
@pytest.mark.parametrize(("case", "settings", "busy", "expected"), FREE_CASES, ids=[c[0] for c in FREE_CASES])
def test_free_slots(case, settings, busy, expected):
    assert local(free_slots(settings, busy, MONDAY_8AM)) == expected


DST_CASES = [
    ("an ordinary morning before spring-forward is CST", "2026-03-01 00:00", {"sun": ["09:00-10:00"]},
     ["03-01 15:00", "03-01 15:30"]),
    ("the same morning after spring-forward is CDT", "2026-03-08 00:00", {"sun": ["09:00-10:00"]},
     ["03-08 14:00", "03-08 14:30"]),
    ("spring-forward night: 2:00 and 2:30 do not exist", "2026-03-07 12:00", {"sun": ["01:00-04:00"]},
     ["03-08 07:00", "03-08 07:30", "03-08 08:00", "03-08 08:30"]),
    ("fall-back night: 1:00 and 1:30 are their first (CDT) occurrence", "2026-10-31 12:00",
     {"sun": ["00:00-03:00"]}, ["11-01 05:00", "11-01 05:30", "11-01 06:00", "11-01 06:30", "11-01 08:00",
                                "11-01 08:30"]),
    ("the morning after fall-back is CST again", "2026-10-31 12:00", {"sun": ["09:00-10:00"]},
     ["11-01 15:00", "11-01 15:30"]),
]


@pytest.mark.unit
@pytest.mark.parametrize(("case", "now", "hours", "expected_utc"), DST_CASES, ids=[c[0] for c in DST_CASES])
def test_free_slots_on_dst_change_days(case, now, hours, expected_utc):
    slots = free_slots(booking(hours=hours, horizon_days=2), [], datetime.fromisoformat(now).replace(tzinfo=CHI))
    assert utc(slots) == expected_utc
    assert all(s.start.tzinfo is UTC and s.end - s.start == HALF_HOUR for s in slots)


@pytest.mark.unit
def test_free_slots_stop_at_the_limit_and_need_an_aware_now():
    settings = booking(hours={d: ["09:00-17:00"] for d in WEEKDAYS}, horizon_days=14)
    assert len(free_slots(settings, [], MONDAY_8AM)) == 50
    assert local(free_slots(settings, [], MONDAY_8AM, limit=2)) == ["03-02 09:00", "03-02 09:30"]
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots(settings, [], datetime(2026, 3, 2, 8))


# --- the two offers --------------------------------------------------------------------------------
def slots_at(*texts: str) -> list[Slot]:
    return [Slot(chi(t).astimezone(UTC), chi(t).astimezone(UTC) + HALF_HOUR) for t in texts]


OFFER_CASES = [
    ("the second is 3 hours later the same day", ["03-02 10:00", "03-02 10:30", "03-02 12:30", "03-02 13:00"],
     ["03-02 10:00", "03-02 13:00"]),
    ("the second is on another day", ["03-02 16:00", "03-02 16:30", "03-03 09:00"], ["03-02 16:00", "03-03 09:00"]),
    ("a later UTC day is still the same calendar day", ["03-02 17:30", "03-02 18:30"], ["03-02 17:30"]),
    ("unsorted input", ["03-03 09:00", "03-02 10:00"], ["03-02 10:00", "03-03 09:00"]),
    ("one slot", ["03-02 10:00"], ["03-02 10:00"]),
    ("none", [], []),
]


@pytest.mark.unit
@pytest.mark.parametrize(("case", "free", "expected"), OFFER_CASES, ids=[c[0] for c in OFFER_CASES])
def test_two_offers_give_a_real_choice(case, free, expected):
    assert local(two_offers(slots_at(*free), "America/Chicago")) == expected


# --- spoken slots ----------------------------------------------------------------------------------
SPOKEN_CASES = [
    ("03-02 16:00", "America/Chicago", MONDAY_8AM, "today at 4 PM"),
    ("03-03 10:00", "America/Chicago", MONDAY_8AM, "tomorrow at 10 AM"),
    ("03-05 14:30", "America/Chicago", MONDAY_8AM, "Thursday at 2:30 PM"),
    ("03-08 12:00", "America/Chicago", MONDAY_8AM, "Sunday at 12 PM"),
    ("03-09 09:00", "America/Chicago", MONDAY_8AM, "Monday, March 9 at 9 AM"),
    ("12-07 09:00", "America/Chicago", chi("11-30 10:00"), "Monday, December 7 at 9 AM"),
    ("03-02 09:00", "America/Los_Angeles", MONDAY_8AM, "today at 7 AM"),
    ("03-02 23:30", "America/New_York", MONDAY_8AM, "tomorrow at 12:30 AM"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("at", "zone", "now", "expected"), SPOKEN_CASES)
def test_spoken_slot_in_the_leads_zone(at, zone, now, expected):
    assert spoken_slot(slots_at(at)[0], zone, now) == expected


# --- busy time from iCalendar ----------------------------------------------------------------------
def feed(*events: str, header: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{header}{body}END:VCALENDAR\r\n"
            .replace("\n    ", "\n").encode())


AGENT_FEED = feed(
    """UID:weekly
    DTSTART;TZID=America/Chicago:20260302T100000
    DTEND;TZID=America/Chicago:20260302T110000
    RRULE:FREQ=WEEKLY;BYDAY=MO
    EXDATE;TZID=America/Chicago:20260309T100000""",
    """UID:day-off
    DTSTART;VALUE=DATE:20260304
    DTEND;VALUE=DATE:20260305""",
    """UID:free
    DTSTART:20260303T150000Z
    DTEND:20260303T160000Z
    TRANSP:TRANSPARENT""",
    """UID:cancelled
    DTSTART:20260303T170000Z
    DTEND:20260303T180000Z
    STATUS:CANCELLED""",
    """UID:floating
    DTSTART:20260303T130000
    DTEND:20260303T140000""",
)
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 21, tzinfo=UTC))


def iso(intervals) -> list[tuple[str, str]]:
    return [(f"{b:%m-%d %H:%M}", f"{e:%m-%d %H:%M}") for b, e in intervals]


@pytest.mark.unit
def test_busy_from_ics_expands_recurrences_and_skips_free_and_cancelled_events():
    busy = busy_from_ics(AGENT_FEED, *WINDOW, default_zone="America/Chicago")
    assert iso(busy) == [
        ("03-02 16:00", "03-02 17:00"),  # weekly Monday 10:00 CST …
        ("03-03 19:00", "03-03 20:00"),  # floating 13:00, read in the booking's zone
        ("03-04 06:00", "03-05 06:00"),  # all-day: the whole Chicago day
        ("03-16 15:00", "03-16 16:00"),  # … 03-09 excluded (EXDATE), CDT from 03-08; 03-23 outside the window
    ]
    assert all(b.tzinfo is UTC for b, _ in busy)


@pytest.mark.unit
def test_busy_from_ics_reads_floating_and_all_day_times_in_the_feeds_declared_zone():
    busy = busy_from_ics(AGENT_FEED.replace(b"PRODID:-//test//EN\r\n",
                                            b"PRODID:-//test//EN\r\nX-WR-TIMEZONE:America/New_York\r\n"),
                         *WINDOW, default_zone="America/Chicago")
    assert ("03-03 18:00", "03-03 19:00") in iso(busy) and ("03-04 05:00", "03-05 05:00") in iso(busy)


@pytest.mark.unit
def test_busy_calendar_blocks_free_slots():
    settings = booking(hours={"mon": ["09:00-12:00"], "wed": ["09:00-10:00"]}, buffer_minutes=15, horizon_days=3)
    busy = busy_from_ics(AGENT_FEED, *WINDOW, default_zone=settings.timezone)
    assert local(free_slots(settings, busy, MONDAY_8AM)) == ["03-02 09:00", "03-02 11:30"]  # Wednesday: day off


BAD_FEEDS = [
    (b"", "not an iCalendar feed"),
    (b"<html>Sign in</html>", "not an iCalendar feed"),
    (b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", "expected VCALENDAR"),
    (feed("UID:x\nDTSTART:tomorrow"), "invalid event"),
    (feed("UID:x\nDTSTART:20260302T100000Z\nRRULE:FREQ=SOMETIMES"), "invalid event"),
    (feed("UID:x\nSUMMARY:no start"), "invalid event"),
    (feed("UID:x\nDTSTART:20260302T100000Z", header="X-WR-TIMEZONE:Mars/Olympus\r\n"), "Mars/Olympus"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("data", "message"), BAD_FEEDS)
def test_malformed_feeds_raise_calendar_error(data, message):
    with pytest.raises(CalendarError, match=message):
        busy_from_ics(data, *WINDOW, default_zone="America/Chicago")


@pytest.mark.unit
async def test_load_busy_calendar_from_a_file_or_nothing(tmp_path):
    path = tmp_path / "agent.ics"
    path.write_bytes(AGENT_FEED)
    assert len(await load_busy_calendar(str(path), *WINDOW, default_zone="America/Chicago")) == 4
    assert await load_busy_calendar("", *WINDOW, default_zone="America/Chicago") == []
    with pytest.raises(CalendarError, match=f"busy calendar {tmp_path / 'missing.ics'}: cannot read"):
        await load_busy_calendar(str(tmp_path / "missing.ics"), *WINDOW, default_zone="America/Chicago")
    path.write_bytes(b"nonsense")
    with pytest.raises(CalendarError, match=f"busy calendar {path}: not an iCalendar feed"):
        await load_busy_calendar(str(path), *WINDOW, default_zone="America/Chicago")


@pytest.mark.integration
async def test_load_busy_calendar_from_a_url():
    requests = []

    async def serve_feed(request):
        requests.append(request.query_string)
        return web.Response(body=AGENT_FEED, content_type="text/calendar")

    async def broken(request):
        return web.Response(status=500, text="calendar service down")

    app = web.Application()
    app.router.add_get("/agent/feed.ics", serve_feed)
    app.router.add_get("/broken.ics", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        busy = await load_busy_calendar(f"{base}/agent/feed.ics?token=abc", *WINDOW, default_zone="America/Chicago")
        assert iso(busy) == iso(busy_from_ics(AGENT_FEED, *WINDOW, default_zone="America/Chicago"))
        assert requests == ["token=abc"]
        with pytest.raises(CalendarError, match=f"busy calendar {base}/broken.ics: .*HTTP 500"):
            await load_busy_calendar(f"{base}/broken.ics", *WINDOW, default_zone="America/Chicago", timeout_s=1.0)
    finally:
        await runner.cleanup()


# --- invite and email ------------------------------------------------------------------------------
def make_invite(**changes) -> bytes:
    fields = {"uid": "appt-42@reauto", "start": chi("03-10 09:00"), "end": chi("03-10 09:30"),
              "summary": "Home valuation with Dana", "description": "Join: https://meet.example.com/dana/42",
              "location": "https://meet.example.com/dana/42", "organizer_name": "Dana Agent",
              "organizer_email": "dana@example.com", "attendee_name": "Pat Lead",
              "attendee_email": "pat@example.com"}
    return invite(**{**fields, **changes})


@pytest.mark.unit
def test_invite_is_an_rfc5545_request_in_utc():
    ics = make_invite(sequence=1)
    calendar = icalendar.Calendar.from_ical(ics)
    assert (calendar["PRODID"], calendar["VERSION"], calendar["METHOD"]) == (PRODID, "2.0", "REQUEST")
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == "appt-42@reauto" and event["SEQUENCE"] == 1 and event["STATUS"] == "CONFIRMED"
    assert event["DTSTART"].dt == datetime(2026, 3, 10, 14, tzinfo=UTC) and event["DTSTART"].dt.tzinfo is not CHI
    assert b"DTSTART:20260310T140000Z" in ics and b"DTEND:20260310T143000Z" in ics
    assert event["DTSTAMP"].dt.utcoffset().total_seconds() == 0
    assert str(event["SUMMARY"]) == "Home valuation with Dana" and "meet.example.com" in str(event["LOCATION"])
    assert event["ORGANIZER"] == "mailto:dana@example.com" and event["ORGANIZER"].params["CN"] == "Dana Agent"
    attendee = event["ATTENDEE"]
    assert attendee == "mailto:pat@example.com"
    assert {k: attendee.params[k] for k in ("CN", "ROLE", "PARTSTAT", "RSVP")} == {
        "CN": "Pat Lead", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}


@pytest.mark.unit
def test_invite_without_an_email_has_no_attendee_and_cancel_cancels():
    [event] = icalendar.Calendar.from_ical(make_invite(attendee_email=None)).walk("VEVENT")
    assert "ATTENDEE" not in event
    calendar = icalendar.Calendar.from_ical(make_invite(method="CANCEL", sequence=2))
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 2


@pytest.mark.unit
def test_confirmation_email_attaches_the_invite():
    ics = make_invite()
    message = confirmation_email(to="pat@example.com", sender="dana@example.com", subject="Your appointment",
                                 body="See you Tuesday at 9 AM.", ics=ics)
    assert (message["To"], message["From"], message["Subject"]) == (
        "pat@example.com", "dana@example.com", "Your appointment")
    assert message.get_body(("plain",)).get_content().strip() == "See you Tuesday at 9 AM."
    [attachment] = message.iter_attachments()
    assert attachment.get_content_type() == "text/calendar" and attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    [event] = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert event["UID"] == "appt-42@reauto"
    cancel = confirmation_email(to="pat@example.com", sender="dana@example.com", subject="Cancelled", body=".",
                                ics=make_invite(method="CANCEL"))
    assert next(cancel.iter_attachments()).get_param("method") == "CANCEL"
