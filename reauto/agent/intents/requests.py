"""What a lead asks of the call: is this a machine, a person instead, a call later, say it again.

A question about a machine is an address ("are you", "am I talking to") before a word for one; a
request for a person is a hand-off verb or a wish before a word for one, and beside it "not a bot"
is a contrast, not a question. A call back is a verb of calling or of taking the talk up again
before a later time; a weekday or a clock time counts only after a verb of calling, so that a time
offered for the meeting is not read as one.
"""

from __future__ import annotations

import re

#: What the agent might be, asked about: a machine rather than a person.
_MACHINE = (r"(robots?|bots?|chat ?bot|machine|computer|computer program|program|software|ai|a i|"
            r"artificial intelligence|artificial|algorithm|automated|automation|automatic|auto ?dialer|synthetic|"
            r"computer generated|virtual (assistant|agent)|voice assistant|answering (system|service|machine)|robocall|"
            r"prerecorded|pre recorded|text to speech|script|fake)")
#: Words that ask about the one on the line ("are you", "am I talking to", "so this is").
_ADDRESS = (r"(are you|r u|are u|is this|is that|is it|was that|was this|am i (talking|speaking|chatting|dealing|"
            r"on the (phone|line)|on) (to|with)|are we on with|are we (talking|speaking|chatting) (to|with)|"
            r"i am (talking|speaking|chatting) (to|with)|you are|you sound like|this is|so you are|so this is|"
            r"this sounds like|that sounds like|you seem like|sounds like)( (thing|call|voice|line|system))?")
#: Between the address and the noun: hedges, articles, "some kind of", "one of those".
_HEDGE = (r"( (just|even|actually|really|like|now|right now|still|probably|basically|literally|some|one of those|"
          r"one of them|one of these|a|an|the))*( (kind|sort|type) of( a| an)?)?")
#: Qualities of a person on the line ("a real person", "a live human").
_ALIVE = r"(real(?! estate)|live|actual|genuine|living|breathing|honest to god|flesh and blood|true)"
_PERSON = r"(person|human|human being|people|voice|being|one|guy|lady|man|woman|call)"
ROBOT = tuple(re.compile(p) for p in (
    rf"\b{_ADDRESS}{_HEDGE}( (?!being)\w+)? {_MACHINE}\b|\b{_ADDRESS}{_HEDGE} (a|an)( \w+)? recording\b",
    rf"\b{_ADDRESS}{_HEDGE}( {_ALIVE})+( {_PERSON}\b|$)",
    rf"\b(are you|is this|is that|are u|r u|is it)( even| really| actually)?( a| an)? (person|human|human being|alive|"
    rf"live|real(?! estate))\b",
    r"^(\w+ ){0,2}(a |an )?(robots?|bot|computer|machine|ai|a i|artificial intelligence)$|\b(robot|bot|computer|"
    r"machine|ai|a i) (right|huh|or what|or something|or not|then)$",
    r"\b(you are|you) (not|never) (a |an )?((real|live|actual|genuine) )*(person|human|human being|people|real|"
    r"alive)\b|\bnot a (real|live|actual) (person|human)\b",
    r"(?<!my )(?<!our )(?<!the )(?<!your )(?<!at )(?<!washing )(?<!answering )(?<!slot )(?<!vending )\b(robots?|bots?|"
    r"computer|machine|ai|a i|artificial intelligence)$|\b(generated|made|created|run|powered|operated|driven|produced|"
    r"voiced) by (a |an |some )?(computer|machine|ai|a i|software|program|robot|algorithm)\b",
    r"\bwho (programmed|made|built|created|designed|trained|coded|wrote|developed) you\b|\b(are|were) you (programmed|"
    r"trained|scripted|coded|generated)\b|\byour (programming|programmer|programmers|code|algorithm|developers|"
    r"creators|training)\b|\bwhat (model|program|software|ai|language model) are you\b",
    r"\bwhat (am i|are we) (talking|speaking|chatting|dealing) (to|with)\b|^(so )?what are you$",
    rf"\b(real|human|live|actual|genuine|person|human being|people|alive)( \w+)? or (a |an |some )?({_MACHINE}|"
    rf"robotic)\b|\b{_MACHINE}( \w+)? or (a |an )?(real|human|person|live|actual|alive)\b",
    r"\b(chatgpt|chat gpt|siri|alexa|virtual assistant|automated (system|call|message|voice|thing)|robo ?call|"
    r"text to speech|a script|recorded message|prerecorded|pre recorded)\b|\b(ai|a i|computer|robot|robotic|automated|"
    r"synthetic|fake|digital|generated|computer generated) (voice|voices|caller|callers|system|thing|things|bot|"
    r"assistant)\b|\bone of (those|them|these) (\w+ )?(ai|a i|robot|robots|computer|automated|bot|bots|robocalls?)\b",
    r"\b(is|are) (there|anyone|anybody|someone|somebody) (a |an )?(person |human |real person |"
    r"live person )?(actually |really )?(there|on the line|on the phone|listening)\b(?!.*\b(i|we) (can|could|"
    r"may) (talk|speak|chat))",
    r"\b(this|that|you|it) (sounds?|seems?|sounding)( so| really| very| kind of| a bit| pretty)? (automated|robotic|"
    r"fake|artificial|computerized|synthetic|scripted|like (a|an) (\w+ )?(robot|machine|computer|recording|bot|ai))\b",
    r"\b(did|is) (a|an) (computer|machine|robot|bot|ai) (just )?(call|calling|talking)\b",
    r"\b(live|real) call\b",
))
#: "Not a machine" beside a request for a person: the contrast, not a question ("a person please, not a bot").
NOT_A_MACHINE = re.compile(rf"\b(not|no|instead of|rather than) (a |an |some |to |with )*(\w+ )?{_MACHINE}s?\b")

#: The people of the brokerage a lead may ask for.
_STAFF = (r"(person|people|human|human being|agent|agents|realtor|realtors|broker|representative|rep|manager|"
          r"supervisor|someone|somebody|staff|team|office|associate|associates|operator|being|body|guy|lady|man|woman|"
          r"employee|salesperson|real estate agent|sales|whoever is in charge|(someone|somebody|the person) in charge)")
#: What makes a person a real one ("a live agent", "a living breathing person").
_REAL = r"(real(?! estate)|live|actual|living|breathing|flesh and blood|human|licensed|genuine)"
HUMAN = tuple(re.compile(p) for p in (
    r"\b(talk|speak|chat|deal) (to|with) (a|an|the|your|some|one of your|someone|somebody|real|live|actual)( \w+){0,2} "
    r"?(person|human|agent|realtor|broker|representative|rep|manager|supervisor|someone|somebody|people|being|"
    r"guy|lady|man|woman)\b",
    r"\b(talk|speak|chat) (to|with) (someone|somebody|a person|a human|a real person|an agent|a realtor|"
    r"whoever is in charge|(someone|somebody|the person) in charge)\b",
    r"\b(get|put|transfer|connect|patch|send) me (to|through to|through|over to|with) (a|an|the|your|someone|"
    r"somebody|one of)( \w+){0,2}\b",
    rf"\b(transfer|connect|patch|put|pass|hand|send|forward|route|bump|switch|get|bring|kick) (me|us|this call)( off|"
    rf" over| through| along| back| right| on)?( to| with| through to| over to| on to| onto)( (a|an|the|your|some|"
    rf"one of|one of your|any|{_REAL}))*( \w+)? {_STAFF}\b",
    rf"\b(someone|somebody|anyone|anybody) ({_REAL}|who is real|in person|in the office|at the office|who works (there|"
    rf"here|for you))\b",
    r"\b(be|get|being|getting) (transferred|connected|put through|patched through|passed|handed (off|over)|forwarded|"
    r"routed|escalated|switched over)( to| with| through)? (a|an|the|your|some|someone|somebody|anyone|one of|real|"
    r"live|actual|human|\w+ (agent|person|realtor|broker))\b",
    r"\b(is there|do you have|have you got|you got|got|any) (a|an|any|some|someone|somebody|anyone|"
    r"anybody)( \w+){0,3} (i|we) (can|could|may|might) (talk|speak|chat|deal)( to| with)\b",
    rf"(?<!not )(?<!no )\b(want|need|prefer|like|rather have|rather talk to|rather speak to|rather speak with|"
    rf"rather talk with|rather deal with)( to)?( (a|an|some|the))?(( {_REAL})* (person|human|agent|realtor|broker|"
    rf"human being)|( {_REAL})+ (being|body|voice))\b",
    rf"\b(prefer|rather be|would like|want to be|like|love|insist on|mind|start|keep) (talking|speaking|chatting|"
    rf"dealing) (to|with) (a|an|the|your|some|one of your|someone|somebody|{_REAL})( \w+){{0,2}} ?{_STAFF}\b",
    r"\b(have|get|let|can|could|would) (someone|somebody|a person|a human|an agent|a realtor|one of your \w+|your \w+|"
    r"a real \w+)( \w+){0,3} (pick up|get on the (phone|line)|come on the (phone|line)|jump on|hop on|take over)\b",
    r"\b(is there|can i get|can i have|could i get|may i speak to|may i talk to) (a |an |the )?(real |live |actual )?"
    r"(person|human|agent|realtor|someone|somebody|representative|manager)\b",
    r"\b(human|person|operator|representative|agent) please\b|^(agent|representative|operator|human|person)$",
    r"\b(put|get) (a|an|the|your|some|someone|somebody)( \w+){0,2} (human|person|agent|realtor|someone|somebody|"
    r"representative|manager|broker)( \w+){0,2} (on|on the (phone|line))\b",
    rf"\b(get|give|find) me( (a|an|the|some|one of your))?( {_REAL})* (person|human|agent|realtor|broker|someone|"
    rf"somebody|representative|manager|supervisor|associate|human being)\b",
    r"\btransfer (me|us|this call)\b|\bput me through\b",
    r"\b(who|someone|somebody) (can i|could i|i can) (talk|speak) (to|with)\b",
    r"\b(want|need|prefer) (a|an) (real|live|actual|human) \w+( \w+)? not a (computer|machine|robot|bot)\b",
))
#: Busy now: a call back, unless the lead goes on anyway ("i'm driving but go ahead").
BUSY = re.compile(
    r"\b(i am|we are|i m) (busy|driving|at work|in a meeting|at dinner|eating|in the car|with (a |my )?\w+|"
    r"on the other line|on another call|about to|just about to|heading|walking|in the middle of|at the doctor|"
    r"working(?! (on|with|towards?|out|through|it)\b)|out|on my way|running|at the store|cooking|on the road|"
    r"at the gym|in class)\b")
GO_AHEAD = re.compile(r"\b(go ahead|real quick|make it quick|quickly|shoot|fire away|(i|we) (have|got|"
                       r"have got) a (minute|second|sec|moment)|on speaker|i can talk)\b")
#: A person of the brokerage asked to call the lead: a request for a person and for a call back.
HUMAN_CALLS = re.compile(
    rf"\b(have|get|can|could|would|will|let|ask|may) ((a|an|the|your|some|one of your) )?({_REAL} )*(\w+ )?(person|"
    rf"human|agent|realtor|broker|someone|somebody|representative|rep|manager|people|associate|staff|team|"
    rf"human being)( (from|at|in) (the|your) \w+)?( \w+)? (call|ring|phone|contact|reach|text|get back to|"
    rf"get in touch with|give (me|us) a (call|ring|buzz))\b(?! (\w+ )?to (set|book|schedule|arrange|confirm))")

#: Verbs of calling the lead again ("ring me", "hit me up", "get back to me").
_CALL_BACK = (r"(call|ring|phone|try|reach|contact|text|buzz|hit|catch|get back to|reach out( to)?|check (in|"
              r"back)( with)?)")
#: Verbs of taking the conversation up again ("circle back", "pick this up", "talk").
_TAKE_UP = (r"(circle back( with| to)?|follow up( with)?|reconnect( with)?|touch base( with)?|pick (this|"
            r"it)( back)? up|talk|chat|speak|continue|finish|resume|do this|do it|finish this|get into (this|it))")
#: Fillers between such a verb and the time.
_SOFT = r"(like|maybe|just|say|perhaps|sometime|some time|instead|please|real quick|quickly)"
#: A later time, not a slot of a calendar ("later", "tomorrow", "in an hour", "another time").
_LATER_SOON = (r"(later|tomorrow|tonight|next week|in (a|an|the|one|two|three|four|five|ten|few|couple|"
               r"\w+) (\w+ )?(minutes?|hours?|days?|weeks?|bit|while|few|couple)|another (time|day)|some other (time|"
               r"day)|a different (time|day)|at a better time|again|back|this (morning|afternoon|evening)|after (one|"
               r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|lunch|dinner|work|school))")
#: A later time: when the lead could be called again (a day, a part of it, a clock time).
_LATER = (rf"({_LATER_SOON[1:-1]}|this (morning|afternoon|evening|weekend|week)|next (month|\w+day)|(on |this |next )?"
          r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|(on|over) the weekend|after \w+|around (one|"
          r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|lunch|dinner)|at (one|two|three|four|five|"
          r"six|seven|eight|nine|ten|eleven|twelve|noon|lunch|dinner|night)|then|in the (morning|afternoon|evening))")
CALLBACK = tuple(re.compile(p) for p in (
    r"\b(call|ring|phone|try|reach|contact) (me|us|back)( back)? (later|tomorrow|another time|some other time|"
    r"other time|next week|tonight|this evening|this afternoon|in (an|a|the) (hour|bit|while|few)|after|around|at|"
    r"on|when|once|sometime|in|over the weekend|on the weekend|some time|again (later|tomorrow))\b",
    r"\b(can|could|would|will) you (call|ring|phone|try) (me|us|back)( back)?\b(?! (now|right now))",
    r"\b(bad|busy|inconvenient|terrible|awful|not a (good|great|convenient)|not the (best|right)) (time|moment)\b",
    r"\bnot (a )?(good|great|convenient) (time|moment)\b",
    r"\b(can not|could not|can not really|unable to) (talk|speak|chat|do this)( right| just)?( now| at the moment"
    r"| today| here)?\b",
    r"\b(i will|we will|let me|i can|i could) (call|get back to|ring|reach) (you|back)\b",
    r"\b(another|some other|a different|a better) (time|day)\b",
    r"\b(in the middle of something|catch me (later|tomorrow|another time|at a better time))\b",
    r"\b(try|call) (again|back) (later|tomorrow|next week|another day|some other time)\b",
    rf"\b{_CALL_BACK}( (me|us|you|her|him|them))?( (up|back|again|in|with me|with us|to me|"
    rf"to us))*( {_SOFT})* {_LATER}\b",
    rf"\b{_TAKE_UP}( (me|us|you))?( (back|again|with me|with us|to me|to us|up))*( {_SOFT})* {_LATER_SOON}\b",
    r"\b(give|gimme) (me|us) a (call|ring|buzz|shout|holler|try)( back)?\b",
    r"\bgive it (another|a|one more) (try|go|shot|whirl)\b|\bgive it (a couple|a few|an|a|some|\w+) (\w+ )?(minutes?|"
    r"hours?|days?|weeks?|bit|while) (and|then)\b",
    r"\b(i|we) (will be|am|are|should be) (free|available|off|done|back|home) (in (a|an|\w+) (\w+ )?(minutes?|hours?|"
    r"bit|while|few))\b",
    r"^later$|\blater (please|okay|maybe|man|dude|on|then)\b|\bmaybe later\b|\b(not now|not right now)( \w+)? later\b",
))

REPEAT = tuple(re.compile(p) for p in (
    r"^(what|sorry|pardon|pardon me|huh|come again|excuse me|say again|what now|hello hello|what was that|"
    r"repeat|again|sorry what|i am sorry|what is that|eh|what did you say|one more time)$",
    r"\b(say|repeat) (that|it|this|the question|what you said|yourself|again)( again| one more time| please)?\b",
    r"\b(did not|could not|can not|do not) (catch|hear|get|understand|follow) (that|you|it|what you said|the question|"
    r"what you|a word|all of that|the last part|the end)\b",
    r"\b(what|pardon) (did|was) (you|that)( just)? (say|said|asking|ask)\b",
    r"\b(you are|you were|it is|the line is|line is) (breaking up|cutting out|choppy|garbled)\b",
    r"\b(can not|could not|barely) hear you\b",
    r"\b(what was|what is) the question\b",
    r"\bone more time\b|\bcome again\b|\bsay what\b|\bwhat was that\b",
    r"^(sorry|what|huh|pardon|excuse me|wait) (who|what|again|sorry)$|^sorry (who|what) (is this|was that|"
    r"did you say)$",
    r"\b(did not|could not|can not) (quite |really )?(hear|catch|get|understand) (you|that|it|what)\b",
    r"\b(speak|talk) (up|louder|slower|more slowly)\b|\bslow down\b",
    r"\b(run|go over|go through|read|take me through) (that|it|this|the question)( by me| back| for me)? (again|"
    r"one more time|once more)\b",
    r"\b(rephrase|reword|restate|clarify) (that|it|this|the question|what you (said|meant|mean|asked))\b|\b(put|say|"
    r"ask) (that|it|this|the question) (another|a different|in (other|different|simpler)) (way|words)\b",
    r"\bonce more\b|\bbeg your pardon\b|^pardon me\b",
    r"\b(you|the line|the signal|the call|the connection|the phone|your voice|reception|signal|line|connection|audio|"
    r"sound)( just| kind of| totally| sort of| completely)? (lost me|cut out|cutting out|broke up|breaking up|dropped|"
    r"dropping|dropped out|went out|froze|freezing|glitched|glitching|garbled|went quiet|went dead|faded|fading|is bad|"
    r"was bad|is terrible|is choppy|was choppy)\b|\b(it|that) (cut out|broke up|glitched)\b",
    r"\b(i am|i got|i was|i am a little|i am kind of|i am a bit|you got me) (lost|confused)\b",
    r"\b(i|we) (missed|lost) (that|what you said|the question|the last part|part of that|you|it|the end)\b",
    r"\b(did not|could not|can not|do not) (quite |really )?(catch|hear|get|understand|follow)( (that|you|it|"
    r"what you (said|asked|meant)|the question|the last part|the end|a word|any of that|all of that))?$",
    r"\bwhat (do|did) you mean\b",
    r"\b(what|which) (was|is) (the|your|that) question\b|\b(which|what) question\b",
    r"\b(sorry|wait|back up|hold on|huh|excuse me|pardon|there)( \w+){0,2} what$",
    r"\b(who|where|which company|what company|what) did you say (you|this|it|your|the|was|were|is|are)\b",
    r"^((wait|hold on|sorry|hang on) )*(back up|rewind|go back)\b",
))
