"""A lead's answer to the offered times read whole (:func:`read_preference`): the days and times it
names, and which offers it accepts, declines, hedges or makes conditional.

An offer is accepted only when the answer picks it out and commits to it:

* by its place ("the latter", "the earlier one"), by its weekday ("wednesday suits me",
  "tuesdays are my day off"), by its hour ("let's say ten", "two pm please") or by its part of
  the day ("the one in the morning", "afternoons suit me better", "first thing"), matched against
  the offers' own times; an hour or a part of the day that fits more than one offer picks none;
* both, when the answer is indifferent ("dealer's choice", "makes no difference to me", "either
  of the pair", "any day works"), less any offer its own words rule out ("any day but tuesday").

Nothing is accepted by an answer that refuses ("neither", "i can't do either", "i don't think
either works"), hedges ("probably", "tentatively tuesday", "wednesday unless something comes up",
"let me check"), or asks for another time ("anything later?"), unless a correction follows
("neither, actually tuesday works"): what is said after "actually", "i mean", "oh no" stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time

from reauto.agent.numbers.words import spoken_digits
from reauto.agent.when.clock import Times, read_times
from reauto.agent.when.days import Days, read_days
from reauto.agent.when.preference import PARTS, Accept, TimePreference, fits

#: "two's good", "afternoon's easier": the "'s" is "is" (the number is then read as a time).
_IS_CONTRACTED = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|thirty|forty|"
                            r"fifty|noon|mornings?|afternoons?|evenings?|night)'s\b")
#: Indifference between the offers.
_EITHER = re.compile(
    r"\b(either|whichever|both|(any|one)( one)? of (them|those|these|the (two|2|times|days|slots))|any one|"
    r"any ?time|anytime|whenever|"
    r"any ?day|anything|whatever|all week( long)?|every ?day|all good|they both|"
    r"(doesn'?t|does not|won'?t|wouldn'?t|don'?t|do not) (really )?(matter|make (a|any|much of a|much) difference)|"
    r"makes? no (real )?difference|no difference|all the same|same (to|for) me|"
    r"(don'?t|do not|dont) (really )?(care|mind)|no preference|up to you|dealer'?s choice|"
    r"you (pick|choose|decide)|your (pick|choice|call)|i'?m flexible|we'?re flexible|flexible)\b")
#: A negation before an indifference word turns it into a refusal: "i don't think either works".
_NEGATION = re.compile(r"(\bnot|n't|\bnever|\bnothing|\bcannot|\bno longer)\b")
_AFFIRM = re.compile(r"(?<!\bnot )(?<!\bno )(?<!n't )\b(yes|yeah|yep|yup|yea|sure|ok|okay|sounds good|sounds great|"
                     r"that works|works for me|perfect|great|absolutely|definitely|of course|that'?s fine|"
                     r"that would work|that'?d work|let'?s do (it|that)|i'?ll take it|we'?ll take it|put me (down|in)|"
                     r"book it|book me|sign me up|count me in|lock (it|that|me) in|fine by me|fine with me|"
                     r"good (by|for|with) me)\b")
_REJECT = re.compile(r"\b(neither|none of (those|them|these|that|the above)|nothing works|nope|no thanks|no thank you|"
                     r"not really|"
                     r"rather wait|rather not|hold off|not interested|not ready|not right now|not now|maybe later|"
                     r"another time|some other time|can'?t do (either|those|them|that|any)|"
                     r"(those|that|neither|them|both|these|none) (don'?t|doesn'?t|won'?t|wouldn'?t|do not|does not) "
                     r"work|(those|these|that|both) (are|is) (bad|no good|not good)|i'?ll pass|pass on|"
                     r"no can do|(both|either|those|these) (days|times|of (them|those|these))? ?(are|is|i'?m|we'?re)? ?"
                     r"(bad|no good|not good|out|booked|busy|slammed|full|tough|impossible)|can'?t (do|make) (either|"
                     r"both|any)|(neither|none) of (those|them|these|the)|not a chance|no way)\b|"
                     r"\b(not any ?more|no longer|not for me|(is|'s) a no|no go)\b|"
                     r"^(no|nah)\s*$|^(no|nah) (sorry|thanks|thank you|neither|none|those|that|not)\b")
#: Words that commit to nothing: an answer with one of them accepts no offer.
_HEDGE = re.compile(
    r"\b(maybe|perhaps|possibly|probably|might|may (have|need|not|be able)|not (sure|certain|positive)|unsure|"
    r"i (do not|don'?t) know|dunno|no idea|tentative(ly)?|pencil(led|ed)?|in theory|theoretically|technically|"
    r"should be able|hopefully|unless|if|depends|depending|for now|likely|unlikely|assuming|presumably|supposedly|"
    r"in principle|as long as|so long as|provided|providing|on condition|doubt|wish|hope|try|trying|"
    r"would have(?! to)|would'?ve|could have|could'?ve|(has|have|needs?) to (agree|approve|ok|okay|sign off)|"
    r"let me (check|see|look|think|ask|talk|confirm|get back)|(have|need|got|gotta) (to )?(check|see|look|confirm|ask|"
    r"talk|think|double check|run it by)|double check|check (my|with|the|our)|let (you|ya) know|get back to (you|ya)|"
    r"confirm|we'?ll see|no promises|can'?t (promise|guarantee|commit)|not ready to commit|subject to change|"
    r"(could|might|may) (change|come up|cancel)|cancel|reschedule|all over the place|up in the air|unpredictable)\b")
#: An "if" or a "hope" about the agent's side is no hedge: "tuesday if that works for you", "ten if possible",
#: "wednesday, hope that's ok".
_POLITE_IF = re.compile(r"\b(if|hope) (that|it|this)( i|')?s? ?(is )?(ok|okay|alright|all right|fine|good|possible|"
                        r"open|available|free|works|suits)\b|\bif (possible|you (can|could|have|still have))\b")
#: A request for a time other than the offers, or a question about one: no acceptance ("anything earlier on
#: tuesday?", "how about tuesday at eleven instead", "could you do wednesday").
_OTHER_TIME = re.compile(
    r"\b(anything|something|any ?time|a time|one|slot|times?) (a (bit|little) )?(earlier|later|sooner|else|different|"
    r"other)\b|\b(a (bit|little) )?(earlier|later) (on|in|that|than|if)\b|\binstead\b|\bhow about\b|\bwhat about\b|"
    r"\bany chance\b|\bdo you (have|got)\b|\b(could|can|would) (you|we|y'?all) (do|make|move|push|try)\b|\bis there\b|"
    r"\bare there\b|\bwhat (else|other)\b")
#: Conditions on an acceptance that can be checked against the offers ("but not at two").
_CONSTRAINT = re.compile(r"\b(but|except|though|although|scratch that)\b")
#: Being unavailable on the days named: "i'm busy both days", "we're out of town this week".
_UNAVAILABLE = re.compile(r"\b(busy|(?<!make )(?<!\bit )(?<!those )(?<!these )(?<!that )(?<!both )(?<!would )"
                          r"(?<!could )(?<!should )(?<!will )(?<!after )(?<!before )work\b(?! for)|"
                          r"working(?! from home)|traveling|travelling|out of town|away|appointments?|meetings?|booked|"
                          r"slammed|tied up|unavailable|crazy|swamped|not around|not free|not available|out|"
                          r"(at|in) the office|on (shift|call|duty|vacation|holiday))\b")
#: Words that accept, against which :data:`_UNAVAILABLE` is weighed.
_POSITIVE = re.compile(r"(?<!\bnot )(?<!n't )\b(works|that work|would work|work for (me|us)|good|fine|great|perfect|"
                       r"yes|yeah|sure|okay|ok|let'?s|book|take|free|open|available|better|best|easier|easiest|"
                       r"ideal|prefer|preferably|rather|suits?|go with|going with|pick|choose|"
                       r"make (\w+ ){1,2}work)\b")
#: Words that take back what came before them ("ten, hmm, actually no, two is better").
_TAKE_BACK = re.compile(r"\b(actually|no wait|wait no|i mean|scratch that|on second thought|"
                        r"(?<!can )(?<!n't )(?<!not )(?<!to )(?<!ll )(?<!could )"
                        r"make (that|it)(?= (\w+day|\d|the|1st|2nd))|"
                        r"well no|or rather|oh no|uh no|um no|ah no|oh wait|uh wait|um wait|hmm wait|sorry wait|"
                        r"wait sorry|hold on|no(?= (the )?((mon|tues|wednes|thurs|fri|satur|sun)day|\d|1st|2nd))|"
                        r"actually no|hmm no|no sorry|sorry no)\b")
_FIRST = re.compile(r"\b(the )?(1st|first)( one| option| time| slot| choice)?\b(?! of\b)|\bthe former\b|"
                    r"\b(the|that|this) earlier( one| time| option)?\b|\b(the )?sooner( one)?\b|\b(the )?soonest\b|"
                    r"\b(the )?earliest\b|\bfirst available\b|\bwhichever( one)?('s| is| comes)? (earlier|sooner)\b")
_SECOND = re.compile(r"\b(the )?(2nd|second)( one| option| time| slot| choice)?\b(?! of\b)|"
                     r"\bthe latter\b|\b(the|that|this) later( one| time| option)?\b|^later one\b|"
                     r"\b(the|that|this) last( one| option)?\b|\bthe other one\b|\b(the )?latest\b|"
                     r"\bwhichever( one)?('s| is| comes)? later\b")
#: A part of the day said as a pick: "the morning one", "the afternoon slot".
_PART_PICKED = re.compile(r"\b(morning|afternoon|evening|1st thing|after work) "
                          r"(one|slot|time|option|appointment|call)\b|"
                          r"\b(one|slot|time|option|appointment|call) ((in|for) the (morning|afternoon|evening)|"
                          r"after work)\b")
#: Days said relative to today, which name an offer on that day as its weekday does.
_RELATIVE_DAYS = {r"\b(today|tonight|this (morning|afternoon|evening))\b": 0,
                  r"(?<!after )\b(tomorrow|tmrw|tomorow)\b": 1, r"\bday after tomorrow\b": 2}
#: A part of the day said alone: "in the morning", "um afternoons please".
_PART_ALONE = re.compile(r"((um|uh|er|oh|so|well|hmm|like|in|the|on|at|for|then)\s+)*(early |late )?"
                         r"(mornings?|afternoons?|evenings?|1st thing)(\s+(please|then|i guess))*")


def _ordinal_choice(text: str, days: Days) -> set[int]:
    """Offers chosen by their place: "the first one", "the later one", "2nd works" (not "not the first")."""
    chosen: set[int] = set()
    for pattern, index in ((_FIRST, 0), (_SECOND, 1)):
        for m in pattern.finditer(text):
            tail = text[m.end():m.end() + 25]
            if not days.free(m.start(), m.end()) or re.match(r"\s*(of|week|thing|time i|day)\b", tail):
                continue
            if re.search(r"(\bnot|n't|\bnever)\b(\s+\w+){0,2}\s*$", text[max(0, m.start() - 20):m.start()]):
                continue  # "i can't do the first one": turned down, not chosen
            if index == 1 and re.search(r"(?<!1st )(?<!first )\b(a|one|just a)\s+$", text[:m.start()]):
                continue  # "hold on a second", "give me one second"
            bare = m.group(0).strip() in {"1st", "first", "2nd", "second"}
            if bare and text.strip() != m.group(0).strip() and not re.match(
                    r"\s*(one|option|works|is|sounds|please|would be|that)\b", tail) and not re.search(
                    r"\b(is|comes|was)\s*$", text[:m.start()]):
                continue  # "first" alone in a longer answer is seldom an offer
            chosen.add(index)
    return chosen


def _either(text: str) -> tuple[bool, bool]:
    """Whether the answer is indifferent between the offers, and whether it negates that ("not either")."""
    found = negated = False
    previous = 0
    for m in _EITHER.finditer(text):
        if _NEGATION.search(text[max(previous, m.start() - 20):m.start()]):
            negated = True
        else:
            found = True
        previous = m.end()
    return found, negated


def _clock(offer: datetime) -> time:
    return offer.time().replace(second=0, microsecond=0, tzinfo=None)


def _part_choice(text: str, times: Times, local: Sequence[datetime]) -> tuple[set[int], bool]:
    """The offer a part of the day picks ("the morning one", "afternoon's better"), and whether the part
    said fits more than one offer (then it picks none)."""
    if not times.parts:
        return set(), False
    fitting = {i for i, o in enumerate(local)
               if any(PARTS[p][0] <= _clock(o) < PARTS[p][1] for p in times.parts)
               and (times.after is None or _clock(o) >= times.after)
               and (times.before is None or _clock(o) < times.before)}
    said_as_pick = bool(_PART_PICKED.search(text) or _POSITIVE.search(text) or _AFFIRM.search(text)
                        or _PART_ALONE.fullmatch(text.strip()))
    if not said_as_pick or not fitting:
        return set(), False
    return (fitting, False) if len(fitting) == 1 else (set(), True)


def _day_said(text: str, offer: datetime, today: date) -> bool:
    """Whether the answer names the offer's own day: its weekday ("tuesday", "tuesdays"), "tomorrow"."""
    if re.search(rf"\b{offer.strftime('%A').lower()}s?\b", text):
        return True
    return any((offer.date() - today).days == ahead and re.search(pattern, text)
               for pattern, ahead in _RELATIVE_DAYS.items())


def _corrected(said: str) -> str:
    """What stands after a correction: the words after the last "actually", "i mean", "oh no"."""
    taken_back = list(_TAKE_BACK.finditer(said))
    if taken_back and re.search(r"\w", said[taken_back[-1].end():]):
        tail = said[taken_back[-1].end():]
        if re.search(r"\d|\b(mon|tues|wednes|thurs|fri|satur|sun)day|first|second|other|either|both|neither|"
                     r"morning|afternoon|evening|tomorrow|week\b", tail):
            return tail  # what was said after the correction stands
        return f"{said} but"  # "the morning one, scratch that, i have a meeting": not an acceptance
    return said


def _refused(said: str) -> bool:
    """Whether the answer turns the offers down ("neither", "i'm busy both days")."""
    if _REJECT.search(said):
        return True
    return bool(_UNAVAILABLE.search(said) and not _POSITIVE.search(said) and not re.search(
        r"\b(yesterday|last (week|night|month)|was|were)\b", said))


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
    except (ValueError, OverflowError, TypeError, AttributeError):  # a date past the calendar's end, an odd ``now``
        return TimePreference(zone=now.tzinfo if isinstance(now, datetime) else None)


def _read(text: str, offers: Sequence[datetime], now: datetime) -> TimePreference:
    zone = now.tzinfo
    today = now.date()
    said = _corrected(spoken_digits(_IS_CONTRACTED.sub(r"\1 is", str(text).lower())))
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
    either, either_negated = _either(said)
    affirm = bool(_AFFIRM.search(said))
    hedged = bool(_HEDGE.search(_POLITE_IF.sub(" ", said)))
    other_time = bool(_OTHER_TIME.search(said))
    refused = _refused(said) or either_negated
    # an offer picked by its day ("next tuesday" may be either of two tuesdays: no pick), by its hour
    # or by its part of the day; an hour or a part alone picks only when one offer alone fits it
    by_day = {i for i, o in enumerate(local) if o.date() in base.days and o.date() not in days.loose}
    by_hour = {i for i, o in enumerate(local) if base.at is not None and _clock(o) == base.at}
    by_part, part_fits_several = _part_choice(said, times, local) if not base.days and base.at is None \
        else (set(), False)
    vague = not base.days and not ordinals and not either and (len(by_hour) > 1 or part_fits_several)
    hits = by_day | (by_hour if base.days or len(by_hour) == 1 else set()) | by_part
    asked_for = ordinals or hits
    # named explicitly: by its place, by either/yes, by its weekday, hour or part of the day; a broader
    # span that merely contains an offer ("later this week", "tomorrow morning") asks for a time
    named = bool(ordinals or either or affirm or by_part) or base.at is not None or any(
        _day_said(said, local[i], today) for i in by_day)
    if not asked_for and (either or affirm) and not refused:
        asked_for = set(range(len(local)))
    condition = bool(_CONSTRAINT.search(said)) or hedged or bool(base.not_days or base.not_at)
    # a day or time that names an offer is an acceptance only as said: "tomorrow at two" when
    # tomorrow's offer is at ten asks for another time; "wednesday but not at two" turns it down
    said_yes = bool(ordinals) or either or affirm or condition
    kept = sorted(i for i in asked_for if fits(base, offers[i]) and local[i].date() not in days.loose) \
        if named else []
    if refused or hedged or vague or other_time:
        kept = []  # turned down, hedged ("probably tuesday"), another time asked for, or which offer is not said
    accept: Accept | None
    if kept:
        accept = "either" if len(kept) > 1 and len(kept) == len(local) else (
            "first" if kept == [0] else "second" if kept == [1] else "either" if len(kept) > 1 else None)
    elif refused or (asked_for and said_yes and not vague):
        accept = "none"
    else:
        accept = None
    conditional = bool(asked_for) and said_yes and condition
    return TimePreference(
        accept=accept, days=base.days, not_days=base.not_days, after=base.after, before=base.before, at=base.at,
        part=base.part, conditional=conditional, hedged=hedged, chosen=tuple(offers[i] for i in kept),
        not_at=base.not_at, zone=zone)
