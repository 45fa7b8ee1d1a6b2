"""A lead's answer to the offered times read whole (:func:`read_preference`): the days and times it
names, and which offers it accepts, declines or makes conditional."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from reauto.agent.numbers.words import spoken_digits
from reauto.agent.when.clock import read_times
from reauto.agent.when.days import Days, read_days
from reauto.agent.when.preference import PARTS, Accept, TimePreference, fits

_EITHER = re.compile(r"\b(either|whichever|both|any of (them|those|these|the two)|doesn'?t matter|does not matter|"
                     r"don'?t care|dont care|no preference|whatever works|whatever is (easier|easiest|best|better)|"
                     r"whatever'?s (easier|easiest|best|better)|you (pick|choose|decide)|your (pick|choice|call)|"
                     r"any ?time|anytime|whenever|all good|they both|i'?m flexible|we'?re flexible|flexible)\b")
_AFFIRM = re.compile(r"(?<!\bnot )(?<!\bno )(?<!n't )\b(yes|yeah|yep|yup|yea|sure|ok|okay|sounds good|sounds great|"
                     r"that works|works for me|perfect|great|absolutely|definitely|of course|that'?s fine|"
                     r"that would work|that'?d work|let'?s do (it|that)|i'?ll take it|we'?ll take it|put me down|"
                     r"book it)\b")
_REJECT = re.compile(r"\b(neither|none of (those|them|these|that|the above)|nothing works|nope|no thanks|no thank you|"
                     r"not really|"
                     r"rather wait|rather not|hold off|not interested|not ready|not right now|not now|maybe later|"
                     r"another time|some other time|can'?t do (either|those|them|that|any)|"
                     r"(those|that|neither|them|both|these|none) (don'?t|doesn'?t|won'?t|wouldn'?t|do not|does not) "
                     r"work|(those|these|that|both) (are|is) (bad|no good|not good)|i'?ll pass|pass on|"
                     r"no can do|(both|either|those|these) (days|times|of (them|those|these))? ?(are|is|i'?m|we'?re)? ?"
                     r"(bad|no good|not good|out|booked|busy|slammed|full|tough|impossible)|can'?t (do|make) (either|"
                     r"both|any)|(neither|none) of (those|them|these|the)|not a chance|no way)\b|"
                     r"^(no|nah)\s*$|^(no|nah) (sorry|thanks|thank you|neither|none|those|that|not)\b")
_FIRST = re.compile(r"\b(the )?(1st|first)( one| option| time| slot| choice)?\b(?! of\b)|\bthe former\b|"
                    r"\bthe earlier( one| time| option)?\b|\b(the )?sooner( one)?\b|\b(the )?soonest\b|"
                    r"\b(the )?earliest\b|\bfirst available\b")
_SECOND = re.compile(r"(?<!\ba )(?<!\bone )\b(the )?(2nd|second)( one| option| time| slot| choice)?\b(?! of\b)|"
                     r"\bthe latter\b|\bthe later( one| time| option)?\b|\bthe last( one| option)?\b|\bthe other one\b|"
                     r"\b(the )?latest\b")
_CONDITION = re.compile(r"\b(but|except|unless|as long as|so long as|only if|provided|if|though|although|in theory|"
                        r"might (cancel|have to|not)|tentative(ly)?|pencil|not sure|i'?d have to check|have to check|"
                        r"let me check|scratch that|not ready to commit|possibly|probably|maybe|perhaps|"
                        r"let (you|ya) know|double check|i (do not|don'?t) know|not certain|might|get back to you|"
                        r"should be able)\b")
#: Being unavailable on the days named: "i'm busy both days", "we're out of town this week".
_UNAVAILABLE = re.compile(r"\b(busy|work|working|traveling|travelling|out of town|away|appointments?|booked|slammed|"
                          r"tied up|unavailable|crazy|swamped|not around|not free|not available|out)\b")
#: Words that accept, against which :data:`_UNAVAILABLE` is weighed.
_POSITIVE = re.compile(r"\b(works|that work|would work|work for (me|us)|good|fine|great|perfect|yes|yeah|sure|okay|"
                       r"ok|let'?s|book|take|free|open|available|better)\b")
#: Words that take back what came before them ("ten, hmm, actually no, two is better").
_TAKE_BACK = re.compile(r"\b(actually|no wait|wait no|i mean|scratch that|on second thought|make that|make it|"
                        r"well no|or rather|"
                        r"actually no|hmm no|no sorry|sorry no)\b")


def _ordinal_choice(text: str, days: Days) -> set[int]:
    """Offers chosen by their place: "the first one", "the later one", "2nd works"."""
    chosen: set[int] = set()
    for pattern, index in ((_FIRST, 0), (_SECOND, 1)):
        for m in pattern.finditer(text):
            tail = text[m.end():m.end() + 25]
            if not days.free(m.start(), m.end()) or re.match(r"\s*(of|week|thing|time i|day)\b", tail):
                continue
            bare = m.group(0).strip() in {"1st", "first", "2nd", "second"}
            if bare and text.strip() != m.group(0).strip() and not re.match(
                    r"\s*(one|option|works|is|sounds|please|would be|that)\b", tail):
                continue  # "first" alone in a longer answer is seldom an offer
            chosen.add(index)
    return chosen


def read_preference(text: str, *, offers: Sequence[datetime], now: datetime) -> TimePreference:
    """What a lead's answer says about the offered times and about days and times in general.

    Args:
        text: the recognised words.
        offers: the times the agent offered, in the order it said them.
        now: the current time, aware and in the lead's time zone (days are counted in it).

    Never raises; an answer that says nothing about time is a preference with nothing in it.
    """
    try:
        return _read(text, offers, now)
    except (ValueError, OverflowError, TypeError):  # a date past the calendar's end, an odd ``now``
        return TimePreference(zone=now.tzinfo if isinstance(now, datetime) else None)


def _read(text: str, offers: Sequence[datetime], now: datetime) -> TimePreference:
    zone = now.tzinfo
    today = now.date()
    said = spoken_digits(text)
    taken_back = list(_TAKE_BACK.finditer(said))
    if taken_back and re.search(r"\w", said[taken_back[-1].end():]):
        tail = said[taken_back[-1].end():]
        if re.search(r"\d|\b(mon|tues|wednes|thurs|fri|satur|sun)day|first|second|other|either|both|neither|"
                     r"morning|afternoon|evening|tomorrow|week\b", tail):
            said = tail  # what was said after the correction stands
        else:
            said = f"{said} but"  # "the morning one, scratch that, i have a meeting": not an acceptance
    days = read_days(said, today)
    times = read_times(said, days)
    base = TimePreference(
        days=frozenset(days.allowed - days.ruled_out), not_days=frozenset(days.ruled_out), after=times.after,
        before=times.before, at=times.at, part=times.part,  # type: ignore[arg-type]
        not_at=frozenset(times.not_at), zone=zone)
    local = [o.astimezone(zone) if zone is not None and o.tzinfo is not None else o for o in offers]
    ordinals = {i for i in _ordinal_choice(said, days) if i < len(local)}
    if 1 in ordinals and len(local) > 2 and re.search(r"\bthe last\b", said):
        ordinals = (ordinals - {1}) | {len(local) - 1}
    either = bool(_EITHER.search(said))
    affirm = bool(_AFFIRM.search(said))
    hits: set[int] = set()
    for i, offer in enumerate(local):
        clock = offer.time().replace(second=0, microsecond=0, tzinfo=None)
        if offer.date() in base.days or (base.at is not None and clock == base.at):
            hits.add(i)
    if not hits and not base.days and base.at is None and times.parts:
        fitting = {i for i, o in enumerate(local) if any(
            PARTS[p][0] <= o.time().replace(tzinfo=None) < PARTS[p][1] for p in times.parts)}
        if 0 < len(fitting) < len(local):
            hits = fitting
    asked_for = ordinals or hits
    rejections = list(_REJECT.finditer(said))
    if _UNAVAILABLE.search(said) and not _POSITIVE.search(said) and not re.search(
            r"\b(yesterday|last (week|night|month)|was|were)\b", said):
        rejections.append(_UNAVAILABLE.search(said))  # type: ignore[arg-type]
    rejected = bool(rejections)
    # named explicitly: by its place, by either/yes, by its weekday or its hour; a broader span that
    # merely contains an offer ("later this week", "tomorrow morning") asks for a time, it accepts none
    named = bool(ordinals) or either or affirm or base.at is not None or any(
        re.search(rf"\b{o.strftime('%A').lower()}\b", said) for o in local)
    if not asked_for and (either or affirm) and not rejected:
        asked_for = set(range(len(local)))
    condition = bool(_CONDITION.search(said)) or bool(base.not_days or base.not_at)
    # a day or time that names an offer is an acceptance only as said: "tomorrow at two" when
    # tomorrow's offer is at ten asks for another time; "wednesday but not at two" turns it down
    said_yes = bool(ordinals) or either or affirm or condition
    kept = sorted(i for i in asked_for if fits(base, offers[i])) if named else []
    last_yes = max((m.end() for m in re.finditer(r"\b(first|second|former|latter|either|both|whichever|yes|yeah|"
                                                 r"sure|works|good|fine|perfect|okay|ok)\b", said)), default=-1)
    if rejected and max(m.start() for m in rejections) >= last_yes:
        kept = []  # "wednesday, hmm, no, neither actually": turned down after it was named
    accept: Accept | None
    if kept:
        accept = "either" if len(kept) > 1 and len(kept) == len(local) else (
            "first" if kept == [0] else "second" if kept == [1] else "either" if len(kept) > 1 else None)
    elif (asked_for and said_yes) or rejected:
        accept = "none"
    else:
        accept = None
    conditional = bool(asked_for) and said_yes and condition
    return TimePreference(
        accept=accept, days=base.days, not_days=base.not_days, after=base.after, before=base.before, at=base.at,
        part=base.part, conditional=conditional, chosen=tuple(offers[i] for i in kept), not_at=base.not_at,
        zone=zone)
