"""Answers to "is this Jane?" and "do you have a minute?": yes, no, not here, wrong number."""

from __future__ import annotations

import re

#: Words that follow "there's no" or "I'm not" without being a name ("there's no rush", "i'm not sure").
_NOT_A_NAME = (r"(rush|hurry|way|problem|problems|need|point|chance|pressure|deadline|timeline|time|money|budget|plan|"
               r"plans|reason|doubt|interest|question|questions|one|body|agent|realtor|rent|mortgage|loan|house|home|"
               r"reception|signal|service|worries|issue|issues|deal|sense|answer|room|space|pets|garage|yard|basement|"
               r"hoa|parking|job|work|pool|lender|bank|cash|offer|sure|interested|home|here|available|ready|able|"
               r"allowed|aware|kidding|joking|worried|done|okay|fine|good|mad|upset|certain|positive|busy|free|looking|"
               r"selling|buying|moving|renting|going|staying|rich|young|old|\w+ing|\w+ed|\w+ly)")
_NAME = rf"(?!{_NOT_A_NAME}\b)\w+"
WRONG_NUMBER = tuple(re.compile(p) for p in (
    r"\bwrong (number|person|guy|lady|house|people|one|digits?|family|address)\b",
    r"\b(no one|nobody|no body|noone) (here |lives here )?(by|with|named|called|of) (that|this|the) name\b",
    rf"\b(no one|nobody|noone) (here )?(by|named|called) {_NAME}\b",
    r"\b(does not|do not|did not|no longer|never) (live|lives|lived|work|works) here\b",
    rf"\b(there is|is not|am not) no {_NAME} (here|at this (number|house|address|residence|place)|living here|"
    rf"that lives here)\b",
    r"\b(you|you have|you ve|you got) (got|have|dialed|called|reached)( the)? wrong\b",
    r"\b(never heard of|do not know) (him|her|them|that person|anyone|anybody)( by that name| named)?\b",
    r"\b(new|different) (number|owner|person)\b.*\b(not|no)\b|\bthis is not (his|her|their) (number|phone)\b",
    r"\b(i|we) (got|have) (this|the|a) new number\b",
    rf"^no {_NAME} (here|at this (number|address|house))$|\bthere is no {_NAME}( here| at this number|"
    rf" that lives here)?$",
    rf"\b(do not|does not|did not) know (a|an|any|anyone|anybody|someone|somebody) (named |called |"
    rf"by the name )?({_NAME})?\b",
    rf"\bthis is (my|our) number( \w+){{0,6}} (not|no) {_NAME}\b|\bi am not ({_NAME})$",
    r"\bmis ?dial\w*\b|\b(dialed|dialled|called|rang|phoned|typed|punched)( in)? (the )?(wrong|incorrect)\b|\b(dialed|"
    r"dialled|called) (it |this )?wrong\b",
    r"\b(you|you have|you got|you must have|you must have got) (got |gotten )?(bad|wrong|old|outdated|incorrect|"
    r"the wrong) (info|information|data|details|contact|contact info|number|lead|listing|name)\b",
    r"\b(numbers?|line|phone)( has| had| was| got| is)?( been)? (reassigned|recycled|ported|changed hands)\b",
    r"\b(do not|did not|never|have never|have no idea|no idea|not sure) (\w+ )?(know|knew|met|heard of|recognize|"
    r"recognise)? ?who (that|he|she|they|you mean|you are (looking|asking) for|you want|you are talking about)( is|"
    r" are| was)?\b",
    rf"\b(never|not|did not|have never|have not) (met|known|heard of) ((anyone|anybody|someone|somebody) (named|called|"
    rf"by)|(a|an|any) {_NAME}$)",
    rf"^(?!(sorry|wait|what|huh|pardon|excuse|and|so|but|yes|yeah|hello|hi|oh|okay|well|um|uh|like|the|a|this|that|it|"
    rf"then)\b){_NAME} who$",
    r"\b(that is |it is )?not (my|our) name\b|\b(my|our) name is not\b|\b(that|this|it) is not me\b|\bi am not (who|"
    r"the (person|one|lady|guy|man|woman)) you\b|\b(looking|asking) for (someone|somebody) else\b|"
    r"\bmistaken identity\b|\bsomeone else had this number\b|\bnumber (used to|once|previously) belong|"
    r"\bprevious (owner|person|tenant|occupant)\b",
    r"\b(i|we) (just )?(got|have had|had|have) this (number|phone) (for|since|recently|last|a (few|couple))\b|\b(i|"
    r"we) just got this (number|phone)\b",
    r"\b(never|did not|have not) (filled out|fill out|request|requested|ask for|asked for|submitted|"
    r"inquired)( \w+){0,2} (anything|any information|any info|a form|information|info)\b",
    r"\bthis is a business( line| number| phone)?\b",
    rf"\b(this|that|it) is not (\w+ )?{_NAME}s (phone|number|line|cell|cell phone)\b",
))

_AFFIRM = re.compile(r"\b(yes|yeah|yea|yep|yup|ya|yah|sure|surely|correct|right(?! (now|away|here|there|then|after|"
                     r"before|back|this|at|in|about|around))|absolutely|definitely|certainly|of course|indeed|"
                     r"affirmative|uh huh|mhm|mm hmm|okay|alright|all right|fine|exactly|speaking|that is me|"
                     r"this is me|it is me|that is right|you got (her|him|me|it)|this is (she|he)|sounds good|"
                     r"that works|works for (me|us)|why not|i guess|you bet|totally|for sure|i think so|go ahead|"
                     r"that would be|that is us|that is correct)\b|^((well|oh|so|yes|yeah) )?(we|i) (are|am|have|do|"
                     r"did|will|sure (are|am|do|have))( (indeed|already|yes|so|too))?$")
#: Saying yes to "is this Jane?" or "do you have a minute?" without the word yes.
_AFFIRM_MORE = re.compile(r"\b(that would be me|that is me|this is me|it is me|that is her|that is him|this is (her|"
                          r"him)|you are (talking|speaking) (to|with) (her|him|me)|make it quick|fire away|shoot|"
                          r"go ahead|i can talk|(i|we|you) (have|got|have got) (like |about |maybe |just |only )?(a|"
                          r"one|a few|two|three|five|ten|fifteen|some|a couple of|a couple) (second|seconds|sec|minute|"
                          r"minutes|min|mins|moment)|(you|i) (have|got) (\w+ )?(minutes?|seconds?)|"
                          r"as long as it is (quick|short)|real quick|i have time|i have a (second|minute|moment)|"
                          r"sure thing|what can i do for you|how can i help|what is (this|it) about|"
                          r"what do you need)\b|^\w+ (here|speaking)$")
#: Idioms of "it's me" and "I have time" (read as a yes unless a not comes just before them).
_YES_IDIOM = re.compile(r"\b(you caught (her|him)|you (have |had |have got )?(got |gotten |found |reached )?(her|him|"
                        r"me|the right (person|one|number|lady|guy|man|woman))|in the flesh|guilty as charged|"
                        r"(the )?very same|one and the same|the one and only|yours truly|at your service|"
                        r"who else would it be|last (time|i) checked|that is what they call me|live and in person|"
                        r"none other|(i|we) (have|got|have got|can spare|can give you) (some |plenty of |a little |"
                        r"a bit of |the )?time|(i|we) can spare (a|some|a few|one)|go for it|(i am|we are) (all ears|"
                        r"listening|free|available|not busy|good to talk)|go on|keep going|(good|great|perfect|fine|"
                        r"decent) time|now (is|works)|works for me)\b")
#: Someone else answering goes to fetch the lead: a no to "is this Jane?" (the lead may come).
_FETCHING = re.compile(r"\b(let me|i will|i can|i am going to|hold on i will|one (sec|second|"
                       r"moment) i will) (go )?(get|grab|fetch|find|call) (her|him|them)\b")
#: The person asked for is not there (a no to "is this Jane?").
NOT_AVAILABLE = re.compile(r"\b(she|he|they) (is|are|will) (not|out|away|at|in|asleep|sleeping|busy|driving|working|"
                            r"unavailable|gone|traveling|travelling|not be)\b|\b(she|he) (stepped|went|just left|left|"
                            r"is gone)\b|\bnot (home|here|around|available|in)( right now| at the moment)?\b|"
                            r"\b(this is|i am) (her|his|their) (husband|wife|daughter|son|mother|mom|father|dad|"
                            r"partner|roommate|sister|brother|friend|assistant)\b|\btake a message\b|\b(do not|"
                            r"can not) (have|talk|do this)( \w+){0,2} (time|now)\b|\b(she|he|they) (moved|moved out|"
                            r"moved away|passed away|passed on|died)\b")
_DENY = re.compile(r"\b(no|nope|nah|not yet|not really|negative|not at all|nothing|never|not exactly|not a chance|"
                   r"not (currently|as of now|at present|presently|so far|at the moment|right now)|(i|we) (am|are|have|"
                   r"do|did|was|were|had) not|not us|not me|not now|not quite|no way|i do not think so|"
                   r"not that i know)\b")
_NOT_DENY = re.compile(r"\b(no (problem|worries|doubt|question|matter)|not (bad|a problem)|why not|no i mean yes)\b")


def read_stance(t: str) -> str | None:
    """``affirm`` or ``deny`` by the last word of either kind (a correction wins: "no, yes it is");
    the person asked for being away is a no."""
    if NOT_AVAILABLE.search(t) or _FETCHING.search(t):
        return "deny"
    last_yes = max((m.start() for m in _AFFIRM.finditer(t)), default=-1)
    last_yes = max(last_yes, max((m.start() for m in _AFFIRM_MORE.finditer(t)), default=-1))
    last_yes = max(last_yes, max((m.start() for m in _YES_IDIOM.finditer(t)
                                  if not re.search(r"\b(not|no|never)( \w+)?$", t[:m.start()].rstrip())), default=-1))
    t_deny = _NOT_DENY.sub(" ", t)
    last_no = max((m.start() for m in _DENY.finditer(t_deny)), default=-1)
    if last_yes < 0 and last_no < 0:
        return None
    return "affirm" if last_yes > last_no else "deny"
