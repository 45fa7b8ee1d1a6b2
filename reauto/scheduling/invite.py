"""Calendar invites for a booked appointment (RFC 5545 / iTIP) and the email that carries one."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import icalendar

__all__ = ["PRODID", "confirmation_email", "invite"]

PRODID = "-//reauto//scheduling//EN"


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {at.isoformat()}")
    return at.astimezone(UTC)


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["CN"] = name
    address.params.update(params)
    return address


def invite(*, uid: str, start: datetime, end: datetime, summary: str, description: str, location: str,
           organizer_name: str, organizer_email: str, attendee_name: str, attendee_email: str | None,
           sequence: int = 0, method: str = "REQUEST") -> bytes:
    """An iCalendar invite with one event, times in UTC.

    Args:
        uid: the appointment's stable UID; an update or a cancellation reuses it.
        start: the appointment's start (timezone-aware).
        end: the appointment's end (timezone-aware).
        summary: the event's title.
        description: the event's text (what the meeting is about, the meeting link).
        location: where it takes place (an address or the meeting link).
        organizer_name: the human agent, as shown.
        organizer_email: the human agent's address.
        attendee_name: the lead, as shown.
        attendee_email: the lead's address; None: the event has no attendee.
        sequence: revision number; raise it for each update and for the cancellation.
        method: the iTIP method, ``REQUEST`` (a new or updated appointment) or ``CANCEL``
            (the event is then ``STATUS:CANCELLED``).
    """
    method = method.upper()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    event.add("dtstart", _utc(start, "start"))
    event.add("dtend", _utc(end, "end"))
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", location)
    event.add("organizer", _address(organizer_email, organizer_name))
    if attendee_email:
        event.add("attendee", _address(attendee_email, attendee_name, ROLE="REQ-PARTICIPANT",
                                       PARTSTAT="NEEDS-ACTION", RSVP="TRUE"))
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def confirmation_email(*, to: str, sender: str, subject: str, body: str, ics: bytes) -> EmailMessage:
    """An email with a text body and the invite attached as ``invite.ics``.

    The attachment's ``method`` parameter is the invite's own METHOD (``REQUEST`` unless the invite
    says otherwise), as mail clients need it to show the invite's buttons.
    """
    method = str(icalendar.Calendar.from_ical(ics).get("METHOD", "REQUEST")).upper()
    message = EmailMessage()
    message["To"] = to
    message["From"] = sender
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(ics.decode("utf-8"), subtype="calendar", filename="invite.ics",
                           params={"method": method})
    return message
