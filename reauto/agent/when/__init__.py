"""A lead's answer to offered appointment times, read as data.

The agent asks "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?"; the answer comes back
from the recogniser in lower case, without punctuation, numbers in words ("thursday around three
thirty", "sure but not this week"). :func:`~reauto.agent.when.answer.read_preference` turns it into
a :class:`~reauto.agent.when.preference.TimePreference` relative to ``now`` (aware, in the lead's
time zone), and :func:`~reauto.agent.when.preference.matching` picks the free slots that fit it.

Dates and times are read by the rules here, not by a date library. On the 36 phone-style phrases of
tests/test_when.py (``LIBRARY_PHRASES``; now = Monday 2026-11-23 09:00 America/Chicago) dateparser
1.5 ``parse`` read 8 (11 with the numbers first written in digits), its ``search_dates`` 12 (15),
parsedatetime 2.6 16 (19): "at two" without "pm" comes back as 09:00 or a date in February, "next
tuesday" as tomorrow, "wednesday at ten" as 23 October, and none of them says what a lead ruled out
("not this week", "but not at two") or allows ("after five", "monday or tuesday"). The rules of
this package read all 36 (they were written with these phrases in view; the other tables there
check them).

A person's rules, which these follow: an hour said alone from 1 to 7 is in the afternoon ("at two" →
14:00) unless "morning" or "am" is said, 8 to 11 in the morning; days already past ("i was out
yesterday") say nothing; an acceptance whose own condition rules an offer out ("wednesday but not at
two") accepts nothing; "either", "whichever", "doesn't matter" accept both. An offer is picked by its
place, its day, its hour or its part of the day, matched against the offers' own times ("the
afternoon one" is whichever offer is in the afternoon), and an hour or a part that fits both picks
neither; a hedged answer ("probably", "tuesday unless something comes up") accepts nothing; "next
tuesday" may mean either of two Tuesdays, so it picks no offer.

Days are read by :mod:`.days`, times of day by :mod:`.clock`, the whole answer and the offers it
accepts by :mod:`.answer`; :mod:`.preference` holds what was said and matches slots to it.
"""
