"""What a lead's words do in the conversation: opt out, refuse, object, ask, agree or disagree.

Text comes from a phone recogniser (lower case, no punctuation) or from a transcript. Each
intent is read from the structure of the sentence rather than from a list of the phrases it was
built around: an opt-out is a verb of contacting (call, ring, text, contact, bother …) under a
refusal (do not, never, stop, quit, rather not, no more …) and not limited to a time ("don't call
me before noon" asks for a later call), or a request to be taken off a list, or one of the words
the FCC's revocation rule names (unsubscribe, opt out, revoke …). Contractions are expanded and
fillers dropped first, so "don't", "dont" and "do not" read the same.

Opt-outs win over everything else: a sentence that opts out is never also read as agreeing.
:func:`read_intents` returns every intent found with how sure the reading is (0..1); the rules
here are checked by the corpus tests (``tests/test_intents.py``) on wording they were not
written from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

#: Contractions a recogniser or a transcript may write, and what they stand for.
_CONTRACTIONS: Mapping[str, str] = {
    "don't": "do not", "dont": "do not", "doesn't": "does not", "doesnt": "does not", "didn't": "did not",
    "didnt": "did not", "won't": "will not", "wont": "will not", "wouldn't": "would not", "wouldnt": "would not",
    "can't": "can not", "cant": "can not", "cannot": "can not", "couldn't": "could not", "couldnt": "could not",
    "shouldn't": "should not", "isn't": "is not", "isnt": "is not", "aren't": "are not", "arent": "are not",
    "wasn't": "was not", "weren't": "were not", "haven't": "have not", "havent": "have not",
    "hasn't": "has not", "hadn't": "had not", "i'm": "i am", "im": "i am", "we're": "we are",
    "you're": "you are", "youre": "you are", "they're": "they are", "it's": "it is", "that's": "that is",
    "thats": "that is", "what's": "what is", "there's": "there is", "i'd": "i would", "we'd": "we would",
    "you'd": "you would", "i've": "i have", "we've": "we have", "i'll": "i will", "we'll": "we will",
    "you'll": "you will", "let's": "let us", "gonna": "going to", "wanna": "want to", "gotta": "got to",
    "y'all": "you all", "ain't": "am not", "ya": "you", "ur": "your", "pls": "please", "plz": "please",
    "ok": "okay", "o k": "okay", "she's": "she is", "he's": "he is", "who's": "who is", "where's": "where is",
    "here's": "here is", "she'll": "she will", "he'll": "he will", "they'll": "they will", "she'd": "she would",
    "he'd": "he would", "they'd": "they would", "they've": "they have", "you've": "you have", "it'll": "it will",
    "shes": "she is", "hes": "he is",
}
#: Sounds that carry no meaning (a recogniser writes some of them).
_FILLERS = frozenset({"um", "uh", "uhh", "umm", "er", "erm", "hmm", "hm", "ah", "eh", "mm"})

#: Verbs of contacting the lead.
_CONTACT = (r"(call|calls|calling|called|ring|ringing|rung|phone|phoning|phoned|contact|contacting|contacted|"
            r"text|texts|texting|texted|message|messages|messaging|messaged|bother|bothering|bothered|reach|"
            r"reaching|dial|dialing|dialling|solicit|soliciting|solicited|email|emailing|emailed|harass|harassing|"
            r"harassed|pester|pestering|pestered|hound|hounding|bug|bugging|hear from you|hearing from you)")
#: What makes a verb of contacting a refusal, just before it.
_REFUSE = (r"(do not|did not|never|stop|quit|cease|no more|not to|rather (you )?not|prefer (you )?(did )?not|"
           r"would not like you to|need you to stop|want you to stop|will not have you|can you not|could you not|"
           r"please not|not want (you to|to be|any)|not like (you to|to be|being)|not need (you to|to be|any)|"
           r"no need to|not (want|wish) to be|not going to be|tired of (you )?|sick of (you )?|enough( of| with)?( you)?|"
           r"not appreciate (you |being )?|hate (you )?|stop (you )?from)")
#: Words that may stand between a refusal and the verb it governs ("do not ever try to call").
_BETWEEN = (r"(ever|again|you|ya|please|to|be|being|get|me|us|anybody|anyone|someone|somebody|just|even|try|"
            r"trying|going|want|need|have|should|will|would|guys|all|people|folks|y all|any|more|further|do|keep|"
            r"keeps|keeping|continue|continuing|go|on|bother|bothering|that|this|number|company|them|they|he|she|"
            r"it|agents|agent|anymore|here|anyone else|no|one|i|we|like|let|your|allow|make|have them|robots|these|"
            r"those|the|such|another|other|dare|receive|getting|real estate|sales|marketing|phone)")
#: Words after a refused contact that limit it to a time or place: a request for another time.
_LIMITED = re.compile(r"\b(until|till|before|after|later|tomorrow|tonight|this (morning|afternoon|evening|week)|"
                      r"today|right now|just now|at the moment|at work|at this number during|during|so early|"
                      r"so late|in the morning|in the evening|on (the )?weekends?|on (mon|tue|wednes|thurs|fri|"
                      r"satur|sun)day|next (week|month)|for (a|an|the next|another) \w+|this time of|at dinner|"
                      r"while)\b")
#: Words after a refused contact that make it permanent whatever else is said.
_FOREVER = re.compile(r"\b(again|anymore|any more|ever|at all|period|for good|forever|ever again|never)\b")

_LIST = (r"(list|lists|database|databases|system|records|record|file|files|roster|rolodex|register|registry|"
         r"directory|spreadsheet|mailing|contacts|contact list|call sheet|leads)")
_WHO = (r"(me|us|my (phone )?number|our (phone )?number|this (phone )?number|the number|my name|my info|"
        r"my information|my details|my contact( info)?|my data|myself|this line|my line|her|him|them)")

_OPT_OUT = tuple(re.compile(p) for p in (
    rf"\b(take|remove|delete|drop|scratch|cross|strike|get|pull|erase|wipe|purge|clear|scrub|take down|"
    rf"put down) {_WHO}( \w+){{0,4}} (off|from|out of|outta) (of )?(your|the|this|that|all|any|these|those|"
    rf"every|ur)?( \w+){{0,2}} {_LIST}\b",
    rf"\b(take|remove|delete|drop|scratch|cross|strike|erase|wipe|purge|scrub) {_WHO}( \w+){{0,2}} (off|out)\b",
    rf"\b{_WHO} (removed|deleted|taken off|dropped|scrubbed|erased) (from|off)\b",
    rf"\b(put|add|place|register|sign) {_WHO}( \w+){{0,2}} (on|to|in|onto|into|up for) (your |the |a |ur )?"
    rf"(internal )?(do not|no) (call|contact)",
    r"\b(i am|we are|this number is|my number is|this is|that is|is|it is|number is|been) (listed |registered )?"
    r"(on|in) (the |a )?(national )?(do not|no) call (list|registry|register)",
    r"\bon (the )?(national )?do not call (list|registry|register)\b",
    r"\b(do not|no) call (list|registry|me list)\b",
    r"\bdnc\b",
    r"\bunsubscribe\b|\bun subscribe\b|\bopt (me |us )?out\b|\bopting out\b|\bopt out\b|\bopted out\b",
    r"\b(revoke|revoking|withdraw|withdrawing|pull|pulling|cancel|canceling|cancelling|rescind) (my |our |any |all )?"
    r"(consent|permission|authorization|agreement)\b",
    r"\b(lose|delete|forget|erase|toss|shred|burn|throw away|throw out) (my|this|our|the) (phone )?number\b",
    r"\bleave (me|us|my family|this number) alone\b",
    r"\b(stop|quit|cease|end|halt|enough with|enough of|no more) (these|the|this|your|all|all these|all the|all your|"
    r"with the|with these|with your|of these|of the|of your)? ?(\w+ )?(calls|call|phone calls|robocalls|"
    r"solicitations|messages|texts|voicemails|spam)\b",
    r"\bno (more )?(calls|solicitations|soliciting|telemarketing|robocalls|spam calls)\b",
    r"\b(these|your|the) (calls|call) (have|has|need|needs|got) to (stop|end)\b",
    r"\b(not|no) (want|wish|care|need|like)( \w+){0,2} (to (get|receive|have|hear)|getting|receiving)( \w+){0,2} "
    r"(calls|call|phone calls|texts|messages)\b",
    r"\b(not|never) (want|wish|need|like)( \w+){0,2} (to )?(hear|hearing) from (you|your company|you all|you guys)\b",
    r"\b(never|not) (want to )?(hear|hearing) from (you|your company|you all|you guys) again\b",
    r"\bstop (this|it)( now)?$",
    r"^(stop|stop it|stop please|please stop|just stop|unsubscribe|remove|remove me|opt out|end|quit|cancel|revoke)$",
    r"\b(this is|that is|it is|you are) (harassment|harassing)\b",
    r"\b(i am|we are) (reporting|going to report) (you|this)\b",
    r"\bnever (call|ring|phone|contact|text) (me|us|here|this number|again)\b",
    r"\b(stop|knock it off|cut it out|enough|quit it|give it a rest|no more) with (the|these|your|all the|all these|"
    r"all your|those) (\w+ )?(calls|phone calls|texts|messages)\b",
    r"\b(tired|sick|fed up|done) (of|with) (\w+ ){0,3}(calls|calling|phone calls|texts|messages|you people|you guys)\b",
    r"\b(want|wants|need|like|would like|prefer|asked|asking|ask) (\w+ ){0,2}(to be |to get |being )?(taken |"
    r"removed |deleted |erased |dropped |scrubbed )?(off|from|out of) (your|the|this|that|any|all|every|ur) "
    r"(\w+ ){0,2}(list|lists|database|system|records|file)\b",
    r"\boff (your|the|this|that|ur) (\w+ ){0,2}(list|calling list|call list|database)\b",
    r"\b(be|get|been|was|were|being) (removed|taken off|deleted|erased|dropped|scrubbed|unsubscribed)\b",
    r"\b(want|need|like|would like) (my|our|this|the) (phone )?(number|info|information|name|details|data)( \w+)? "
    r"(removed|deleted|taken off|erased|gone|off)\b",
    r"\b(remove|delete|erase|wipe|scrub|get rid of|purge|drop|lose|forget|destroy|toss) (all )?(of )?(my|our|this|the|"
    r"that|his|her) (phone |cell |home )?(number|info|information|contact info|contact information|contact|details|"
    r"data|name|file|record)\b",
    r"\bforget (that )?(you )?(ever )?(had|have|got) (my|this|our|the) number\b",
    r"\b(remove|delete|drop|take) (me|us)( (please|now|already|immediately|right now|today))?$",
    r"\b(remove|delete|drop|take) (me|us) (off|out|from|please|now|immediately)\b",
    r"\blast (time|call)\b( \w+){0,4} (you )?(call|calls|calling|called|get|i get|i receive)\b|\blast call (i|we) "
    r"(get|take|want|accept)\b|\b(this|that) (is|better be|had better be|should be) the last (call|time)\b",
    r"\bmind not (calling|contacting|ringing|texting|phoning)\b",
    r"\b(buzz off|get lost|go away|get off (my|the) (phone|line)|piss off|bug off|leave me be|scram|shove off|"
    r"beat it|take a hike|go to hell)\b",
    r"\bif you (\w+ ){0,2}(call|calling|contact|ring|text|phone|bother)\w* (me |us |here |this number |my number )?"
    r"(again|back|one more time|anymore|any more)\b",
    r"\b(report|reporting|sue|suing|lawsuit|complaint|complain|ftc|fcc|tcpa|attorney general|lawyer|attorney)\b"
    r"(?!.*\brecord)",
    r"\b(do not|did not|never|no longer|not) (\w+ ){0,2}(have |give |gave |giving |given |grant )?(you )?(my |any |"
    r"our )?(permission|consent|authorization) (\w+ )?(to )?(call|contact|text|phone|ring|be called)\b",
    r"^(please )?(stop|quit|enough)( (stop|quit|it|please|already|now|enough))*$",
    r"\b(so|just|please|now|already|okay|seriously|and|but) (stop|quit)( (it|now|please|already|calling))?$",
    r"\b(need|want|need you|want you|have) (them|you|this|it|these|the calls|these calls|the calling) to stop\b",
    r"\b(stop|end|cease|quit|halt) (contacting|calling|texting|messaging|bothering|harassing|pestering) (me|us|"
    r"this|my)\b",
    r"\b(not|never) (going to )?(pick up|answer)( \w+){0,2} (again|anymore|your calls)\b",
    r"\bno (more )?(real estate|sales|marketing|telemarketing|solicitation|spam) (calls|call)\b",
    r"\b(block|blocked|blacklist|black list|blocklist)( \w+){0,3} (number|list|me|us|it)\b|\b(block|black) ?list\b",
    r"\bno (solicitors|solicitation|soliciting|salespeople|sales people|telemarketers|telemarketing)\b",
    r"\b(do not|does not|never|will not) (accept|take|want|allow|do|answer|return) (\w+ ){0,2}(solicitation|sales|"
    r"marketing|telemarketing|cold|robo|spam|unsolicited)( calls| call)?\b",
    r"\bnot for (sales|solicitation|solicitations|marketing|telemarketing)\b",
    r"\bcease and desist\b",
    r"\b(consent|permission|authorization) (is |has been |was )?(revoked|withdrawn|denied|cancelled|canceled|"
    r"rescinded|pulled)\b",
    r"\b(calling|contacting|texting|phoning) (me|us|this number) (is not|is not something|without)\b",
    r"\b(do not|did not|never|will not) (consent|agree) to (being |any |these |your |the )?(call|called|calls|"
    r"calling|contact|contacted|text|texts|texted|phone calls)\b",
    r"\bobject (to|against) (being )?(called|contacted|texted|calls|these calls|the calls|your calls)\b",
    r"\b(want|need|would like) (these|the|your|all these|all the|this) (calls|calling|phone calls|texts|messages) to "
    r"(end|stop|cease|go away|be over)\b",
    r"\blet (this|that) be the last (call|time)\b",
    r"\b(do not|never) (try|bother trying) (again|back|calling|to call|to reach)\b",
    r"\b(number|line|phone)\b.*\b(take|remove|delete|drop) (it|that|this) (off|out)\b",
    r"\b(do not|never) (want|wish|need) to hear from( \w+){1,4} (again|anymore|any more|ever)\b",
    r"\b(want|need|would like) (to be )?off\b( (it|that|the list|your list))?",
    r"\b(stop|quit|cease|do not|never|no need to) (send|sending|spam|spamming|blowing up)( me| us| my phone| this "
    r"number)?(( any| anymore| these| those| this| all| your| the| more| of)* (texts|text messages|messages|sms|spam|"
    r"junk|stuff|these|them|this|that|anything|crap|garbage|ads|promotions|offers|marketing)\b|$)",
    r"\b(cease|stop|end|halt|discontinue) (all |any )?(further |future )?(communication|communications|contact|"
    r"correspondence|outreach|solicitation|solicitations)\b",
    r"\b(remove|delete|take|drop|erase) (off|from|out of) (the |your |this |that |ur |all |any )?(\w+ )?(list|lists|"
    r"database|system|records)\b",
    r"\b(f|eff|fuck|screw|sod|bugger) off\b",
    r"\b(asked|told|said|tell|telling|asking|begged|begging) (you|ya|you all|you guys|you people|your company)( \w+){0,2}"
    r" (to )?(stop|quit|cease|leave me alone)\b|\b(i|we) (already )?said (to )?(stop|quit|no more)\b",
    r"\bno (more )?(texts|text messages|messages|sms|voicemails|emails)\b",
    r"\b(please|kindly|just|so) (remove|delete|unsubscribe|erase)( (it|this|me|us|this number|my number|that number|"
    r"the number))?$",
))

_RECORDING_OBJECTION = tuple(re.compile(p) for p in (
    r"\b(do not|did not|not|never|stop|quit|no|without|cease|turn off|switch off|shut off|pause|kill|end|halt) "
    r"(\w+ ){0,3}(record|recording|recorded|taping|tape|taped)\b",
    r"\b(record|recording|recorder|tape)( \w+){0,2} (off|stopped|turned off|shut off|deleted)\b",
    r"\b(turn|switch|shut|take) (off|down) (the |that |your |this )?(record|recording|recorder|tape)\b",
    r"\b(turn|switch|shut) (the |that |your |this )?(record|recording|recorder|tape) (off|down)\b",
    r"\b(not|no|never|without) (\w+ ){0,3}(consent|agree|agreeing|permission|allow|authorize|okay|ok|fine|"
    r"comfortable|happy)( \w+){0,4} (record|recording|recorded|taped|taping)\b",
    r"\b(object|objecting|objection) (to|against) (\w+ ){0,3}(record|recording|recorded|taping|tape)\b",
    r"\bdelete (the |that |this |my |any )?(recording|recordings|tape)\b",
    r"\boff the record\b",
    r"\b(do not|not) (want|like|wish) (\w+ ){0,3}(voice|call|conversation|this)( \w+){0,3} (recorded|saved|kept|stored)\b",
    r"\b(do not|not|never|no) (save|keep|store) (this|the|my|our) (call|conversation|voice)\b",
    r"\b(disable|erase|delete|destroy|stop|kill|end|cancel|pause|remove|drop) (the |this |that |your |my |any |all )?"
    r"(\w+ )?(recording|recordings|recorder|tape)\b",
    r"\bunrecorded\b",
    # after the recording notice, the only consent asked for: "i do not consent to that"
    r"\b(do not|not|never) (consent|agree) to (that|this|it)\b",
))
#: A recording word, and somewhere in the same answer a refusal: "is this recorded? i don't want that".
_RECORD_WORD = re.compile(r"\b(record|records|recording|recordings|recorded|tape|taping|taped|recorder)\b")
#: With an objection to recording, the words that make it an opt-out as well.
_CALLS_TOO = re.compile(r"\b(list|remove|unsubscribe|do not call|again|anymore|any more|never call|stop calling|"
                        r"quit calling|lose my number|opt out|or call|and call|calling me|calls)\b")
_REFUSAL_WORD = re.compile(r"\b(not|no|never|none|stop|quit|refuse|object|hang up|done|without|disable|erase|"
                           r"delete|off|denied|cut it out)\b")

_NOT_INTERESTED = tuple(re.compile(p) for p in (
    r"\b(not|no longer) (really |at all |even |that )?interested\b",
    r"\bno (thank you|thanks|thank u)\b|\bnah thanks\b|\bno thank\b",
    r"\b(we are|i am|we re|all) (all )?(set|good|fine|okay|covered|sorted)( (thanks|thank you|for now|here|"
    r"with that|on that|there))?\b(?!.*\b(buy|sell|move|looking)\b.*\b(want|need|would like)\b)",
    r"\b(not|no longer|never) (really )?(looking|buying|selling|moving|in the market|planning|thinking)( \w+){0,3}"
    r"( (anymore|any more|right now|at the moment|at this time|this year|for now|anytime soon|any time soon))?\b",
    r"\b(stay|staying|stayed) (put|here|where we are|where i am|in (our|my|this) (house|home|place))\b",
    r"\b(happy|content|comfortable|fine|good|settled) (where|with where) (we|i) (are|am|live)\b",
    r"\b(already|just|recently) (bought|sold|closed|purchased|listed|moved|signed|found|went with|have an agent|"
    r"have a realtor|got an agent|got a realtor|have someone|working with|refinanced|rented)\b",
    r"\b(we|i) (have|got) (an|a|our|my) (own )?(agent|realtor|broker|real estate agent)( already)?\b",
    r"\b(we|i) (are|am) (working|going) with (an|a|another|our|my|someone|somebody) ?(agent|realtor|broker|else|"
    r"company)?\b",
    r"\b(no|not any) (plans|intention|interest|desire|need) (to|of|in) (buy|buying|sell|selling|move|moving)\b",
    r"\b(decided|chose|choosing|deciding|decide) (not to|against|to stay|to keep|to wait)\b",
    r"\b(took|take|taking|pulled) (it|the house|our house|the listing) off the market\b",
    r"\b(i|we) (will|would|are going to|am going to|have to) pass\b|\bpass on (it|that|this)\b",
    r"\bnot for (me|us)\b",
    r"\b(not|never) (going to|planning to|gonna) (sell|buy|move|list)\b",
    r"\b(not|no) (in|on) the market\b",
    r"\b(not|nothing) (something|anything) (we|i) (want|need|are looking)\b",
    r"\bnot (right now|at this time|at the moment|this year|anytime soon|any time soon)( thanks| thank you)?$",
    r"\b(please|just) (do not|no) bother\b",
    r"\b(under contract|in contract|it is pending|already pending|sale is pending|in escrow|we closed|just closed|"
    r"closed (last|this|a|on)|sold it|sold the house|sold our|bought (last|this|a|our)|we bought|already own)\b",
    r"\b(love|like|happy with|happy in|content with|fine with) (our|the|this|my) (house|home|place|condo|apartment|"
    r"neighborhood|rental)\b|\b(we|i) (are|am) (happy|fine|good|comfortable|settled) (here|where we are|for now|"
    r"as is)\b",
    r"\b(is|am|are) (a|an|our|my) (realtor|agent|broker|real estate agent)\b|\b(listed|listing|went|working|going) "
    r"with (another|a different|someone|somebody|other|our own)\b",
    r"\b(changed (our|my) minds?|plans (have )?changed|not ready|not in a position|not happening|no interest|"
    r"not (the )?right time|done looking|just (curious|browsing|looking around)|only (curious|browsing|looking)|"
    r"by (accident|mistake)|for sale by owner|by owner|selling it ourselves|keeping (the|our|my|it)|keep (the|our|my) "
    r"(house|home|place)|rent it out|too old to move|(we are|i am) (waiting|holding off|sitting tight))\b",
    r"^(pass|neither|nothing|none|no interest|not interested|nope|nah)( (thanks|thank you|right now|for now|sorry))?$",
    r"\b(do not|did not|never|no longer) need (anything|a realtor|an agent|a real estate agent|help|your help|your "
    r"services|you)\b",
    r"\b(not|no) (going to|planning to|doing) (do )?(anything|that|it|either|this)\b",
    r"\b(neither|none of (your|the above)|nothing right now|not doing (either|anything))\b",
    r"\bnone of your business\b",
    r"\b(we|i) (are|am) (just )?(going to) (stay|keep|wait|hold)\b",
    r"^(no|nope|nah)( (no|nope|nah))*( (thanks|thank you|i am good|we are good)+)$",
))

_ROBOT = tuple(re.compile(p) for p in (
    r"\b(are you|is this|is that|am i (talking|speaking|chatting) (to|with)|this is|you are|you sound like|is it|"
    r"are we (talking|speaking) (to|with)|i am (talking|speaking) (to|with)|was that|r u) (just )?(a |an |some )?"
    r"(robot|machine|computer|bot|robocall|ai|a i|artificial|automated|recording|recorded|real person|live person|"
    r"human|person|actual person|real human|live human|real|program|computer program|chat ?bot)\b",
    r"\b(are you|is this|is that) (real|live|alive|automated|human|artificial)\b",
    r"\b(robot|bot|computer|machine|ai|a i|artificial intelligence)\?*$",
    r"\b(is|am) (this|i) (talking to )?(a |an )?(real|live) (person|human|one)\b",
    r"\b(chatgpt|chat gpt|siri|alexa|virtual assistant|automated (system|call|message|voice)|computer voice|"
    r"robo ?call|text to speech|a script|recorded message|prerecorded|pre recorded)\b",
    r"\b(is|are) (there|anyone|anybody|someone|somebody) (a |an )?(person |human |real person |live person )?"
    r"(actually |really )?(there|on the line|on the phone|listening)\b",
    r"\b(this|that|you) (sounds?|seems?) (automated|robotic|fake|like a (robot|machine|computer|recording))\b",
    r"\bnot a (real|live|actual) (person|human)\b|\b(bot|robot|computer|machine|ai) or (a )?(person|human|real)\b",
    r"\b(did|is) (a|an) (computer|machine|robot|bot|ai) (just )?(call|calling|talking)\b",
    r"\b(live|real) call\b",
))

_HUMAN = tuple(re.compile(p) for p in (
    r"\b(talk|speak|chat|deal) (to|with) (a|an|the|your|some|one of your|someone|somebody|real|live|actual)( \w+){0,2} "
    r"?(person|human|agent|realtor|broker|representative|rep|manager|supervisor|someone|somebody|people|being|"
    r"guy|lady|man|woman)\b",
    r"\b(talk|speak|chat) (to|with) (someone|somebody|a person|a human|a real person|an agent|a realtor)\b",
    r"\b(get|put|transfer|connect|patch|send) me (to|through to|through|over to|with) (a|an|the|your|someone|"
    r"somebody|one of)( \w+){0,2}\b",
    r"\b(have|get) (a|an|your|the|one of your|someone|somebody)( \w+){0,2} (agent|realtor|person|human|broker|"
    r"someone|somebody|one|representative)( \w+){0,2} (call|contact|reach|phone|ring|get back to|get in touch "
    r"with) (me|us)\b",
    r"\b(want|need|prefer|like|rather have|rather talk to|rather speak to|rather speak with|rather talk with)( to)? "
    r"(a |an )?(real |live |actual )?(person|human|agent|realtor|broker|human being)\b",
    r"\b(is there|can i get|can i have|could i get|may i speak to|may i talk to) (a |an |the )?(real |live |actual )?"
    r"(person|human|agent|realtor|someone|somebody|representative|manager)\b",
    r"\b(human|person|operator|representative|agent) please\b|^(agent|representative|operator|human|person)$",
    r"\b(put|get) (a|an|the|your|some|someone|somebody)( \w+){0,2} (human|person|agent|realtor|someone|somebody|"
    r"representative|manager|broker)( \w+){0,2} (on|on the (phone|line))\b",
    r"\b(get|give|find) me (a|an|the|someone|somebody)( real| live| actual)? ?(person|human|agent|realtor|broker|"
    r"someone|somebody|representative)?\b",
    r"\btransfer (me|us|this call)\b|\bput me through\b",
    r"\b(who|someone|somebody) (can i|could i|i can) (talk|speak) (to|with)\b",
    r"\b(want|need|prefer) (a|an) (real|live|actual|human) \w+( \w+)? not a (computer|machine|robot|bot)\b",
))

_CALLBACK = tuple(re.compile(p) for p in (
    r"\b(call|ring|phone|try|reach|contact) (me|us|back)( back)? (later|tomorrow|another time|some other time|"
    r"other time|next week|tonight|this evening|this afternoon|in (an|a|the) (hour|bit|while|few)|after|around|at|"
    r"on|when|once|sometime|in|over the weekend|on the weekend|some time|again (later|tomorrow))\b",
    r"\b(can|could|would|will) you (call|ring|phone|try) (me|us|back)( back)?\b(?! (now|right now))",
    r"\b(i am|we are|i m) (busy|driving|at work|in a meeting|at dinner|eating|in the car|with (a |my )?\w+|"
    r"on the other line|on another call|about to|just about to|heading|walking|in the middle of|at the doctor|"
    r"working|out|on my way|running|at the store|cooking|on the road|at the gym|in class)\b",
    r"\b(bad|busy|inconvenient|terrible|awful|not a (good|great|convenient)|not the (best|right)) (time|moment)\b",
    r"\bnot (a )?(good|great|convenient) (time|moment)\b",
    r"\b(can not|could not|can not really|unable to) (talk|speak|chat|do this)( right| just)?( now| at the moment"
    r"| today| here)?\b",
    r"\b(i will|we will|let me|i can|i could) (call|get back to|ring|reach) (you|back)\b",
    r"\b(another|some other|a different|a better) (time|day)\b",
    r"\b(in the middle of something|catch me (later|tomorrow|another time|at a better time))\b",
    r"\b(try|call) (again|back) (later|tomorrow|next week|another day|some other time)\b",
))

_REPEAT = tuple(re.compile(p) for p in (
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
    r"^(sorry|what|huh|pardon|excuse me|wait) (who|what|again|sorry)$|^sorry (who|what) (is this|was that|did you say)$",
    r"\b(did not|could not|can not) (quite |really )?(hear|catch|get|understand) (you|that|it|what)\b",
    r"\b(speak|talk) (up|louder|slower|more slowly)\b|\bslow down\b",
))

_WRONG_NUMBER = tuple(re.compile(p) for p in (
    r"\bwrong (number|person|guy|lady|house|people|one)\b",
    r"\b(no one|nobody|no body|noone) (here |lives here )?(by|with|named|called|of) (that|this|the) name\b",
    r"\b(no one|nobody|noone) (here )?(by|named|called) \w+\b",
    r"\b(does not|do not|did not|no longer|never) (live|lives|lived|work|works) here\b",
    r"\bthere is no \w+ (here|at this number)\b",
    r"\b(you|you have|you ve|you got) (got|have|dialed|called|reached)( the)? wrong\b",
    r"\b(never heard of|do not know) (him|her|them|that person|anyone|anybody) (by that name|named)?\b",
    r"\b(new|different) (number|owner|person)\b.*\b(not|no)\b|\bthis is not (his|her|their) (number|phone)\b",
    r"\b(i|we) (got|have) (this|the|a) new number\b",
    r"^no \w+ here$|\bthere is no \w+( here| at this number| that lives here)?$",
    r"\b(do not|does not|did not) know (a|an|any|anyone|anybody|someone|somebody) (named |called |by the name )?\w*\b",
    r"\bthis is (my|our) number( \w+){0,6} (not|no) \w+\b|\bi am not (\w+)$",
))

_AFFIRM = re.compile(r"\b(yes|yeah|yea|yep|yup|ya|yah|sure|surely|correct|right(?! (now|away|here|there|then|after|"
                     r"before|back|this|at|in|about|around))|absolutely|definitely|certainly|"
                     r"of course|indeed|affirmative|uh huh|mhm|mm hmm|okay|alright|all right|fine|exactly|"
                     r"speaking|that is me|this is me|it is me|that is right|you got (her|him|me|it)|this is (she|he)|"
                     r"sounds good|that works|works for (me|us)|why not|i guess|you bet|totally|for sure|i think so|"
                     r"go ahead|that would be|that is us|that is correct)\b"
                     r"|^((well|oh|so|yes|yeah) )?(we|i) (are|am|have|do|did|will|sure (are|am|do|have))( (indeed|already|"
                     r"yes|so|too))?$")
#: Saying yes to "is this Jane?" or "do you have a minute?" without the word yes.
_AFFIRM_MORE = re.compile(r"\b(that would be me|that is me|this is me|it is me|that is her|that is him|this is (her|him)|"
                          r"you are (talking|speaking) (to|with) (her|him|me)|make it quick|fire away|shoot|go ahead|"
                          r"i can talk|(i|we) (have|got) (a|one|a few|two|five|ten|some) (second|seconds|sec|minute|"
                          r"minutes|min|mins|moment)|(you|i) (have|got) (\w+ )?(minutes?|seconds?)|as long as it is "
                          r"(quick|short)|real quick|i have time|i have a (second|minute|moment)|sure thing|"
                          r"what can i do for you|how can i help|what is (this|it) about|what do you need)\b"
                          r"|^\w+ (here|speaking)$")
#: The person asked for is not there (a no to "is this Jane?").
_NOT_AVAILABLE = re.compile(r"\b(she|he|they) (is|are|will) (not|out|away|at|in|asleep|sleeping|busy|driving|working|"
                            r"unavailable|gone|traveling|travelling|not be)\b|\b(she|he) (stepped|went|just left|"
                            r"left|is gone)\b|\bnot (home|here|around|available|in)( right now| at the moment)?\b"
                            r"|\b(this is|i am) (her|his|their) (husband|wife|daughter|son|mother|mom|father|dad|"
                            r"partner|roommate|sister|brother|friend|assistant)\b|\btake a message\b"
                            r"|\b(do not|can not) (have|talk|do this)( \w+){0,2} (time|now)\b")
_DENY = re.compile(r"\b(no|nope|nah|not yet|not really|negative|not at all|nothing|never|not exactly|"
                   r"not (currently|as of now|at present|presently|so far|at the moment|right now)|"
                   r"(i|we) (am|are|have|do|did|was|were|had) not|not us|not me|not now|not quite|no way|"
                   r"i do not think so|not that i know)\b")
_NOT_DENY = re.compile(r"\b(no (problem|worries|doubt|question|matter)|not (bad|a problem)|why not|no i mean yes)\b")


@dataclass(frozen=True)
class Reading:
    """One intent found in an utterance and how sure the reading is (0..1)."""

    intent: str
    confidence: float


def clean(text: str) -> str:
    """Lower case, punctuation to spaces, contractions expanded, fillers dropped."""
    lowered = text.lower().replace("’", "'").replace("-", " ")
    lowered = re.sub(r"[^a-z0-9$' ]", " ", lowered)
    lowered = re.sub(r"\b(uh huh|uh hum|mm hmm|mhm|mmhm|mm hm)\b", "yes", lowered)
    words = [w for w in lowered.split() if w not in _FILLERS]
    out: list[str] = []
    for word in words:
        expanded = _CONTRACTIONS.get(word)
        if expanded is None and word.endswith("n't"):
            expanded = word[:-3] + " not"
        out.append(expanded if expanded is not None else word.replace("'", ""))
    return " ".join(" ".join(out).split())


def _any(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.search(text) for p in patterns)


def _refused_contact(text: str) -> bool:
    """A verb of contacting under a refusal, not limited to a time or a place."""
    for found in re.finditer(rf"\b{_REFUSE}( {_BETWEEN}){{0,4}}? {_CONTACT}\b", text):
        # the refusal must govern the verb: no "but", "and" or "please" + another verb between
        span = found.group(0)
        if re.search(r"\b(but|if|unless|though|although|so|because|and then|or)\b", span):
            continue
        after = text[found.end():found.end() + 60]
        after = re.split(r"\b(but|and|so|because|okay|thanks|thank you|please)\b", after)[0]
        if _FOREVER.search(after) or not _LIMITED.search(after):
            return True
    return False


@lru_cache(maxsize=4096)
def read_intents(text: str) -> tuple[Reading, ...]:
    """Every conversational intent in ``text``, most binding first; never raises."""
    t = clean(text)
    if not t:
        return ()
    found: list[Reading] = []
    dnc = _any(_OPT_OUT, t) or _refused_contact(t)
    if dnc:
        found.append(Reading("dnc", 0.95))
    if _any(_RECORDING_OBJECTION, t) or (_RECORD_WORD.search(t) and _REFUSAL_WORD.search(t)):
        found.append(Reading("recording_objection", 0.9))
        if dnc and not _CALLS_TOO.search(t):  # "don't record this call", "i want you to stop": the recording
            found.remove(Reading("dnc", 0.95))
            dnc = False
    if _any(_WRONG_NUMBER, t):
        found.append(Reading("wrong_number", 0.9))
    refused = _any(_NOT_INTERESTED, t)
    if refused:
        found.append(Reading("not_interested", 0.85))
    if _any(_ROBOT, t):
        found.append(Reading("robot_question", 0.9))
    if _any(_HUMAN, t) and not dnc and not _any(_ROBOT, t):
        found.append(Reading("human_request", 0.85))
    if _any(_CALLBACK, t) and not dnc and not refused:
        found.append(Reading("callback_request", 0.8))
    if _any(_REPEAT, t) and not found:
        found.append(Reading("repeat_request", 0.8))
    stance = _stance(t)
    if stance is not None and not (dnc or refused or any(r.intent == "wrong_number" for r in found)):
        found.append(Reading(stance, 0.8))
    return tuple(found)


def _stance(t: str) -> str | None:
    """``affirm`` or ``deny`` by the last word of either kind (a correction wins: "no, yes it is");
    the person asked for being away is a no."""
    if _NOT_AVAILABLE.search(t):
        return "deny"
    last_yes = max((m.start() for m in _AFFIRM.finditer(t)), default=-1)
    last_yes = max(last_yes, max((m.start() for m in _AFFIRM_MORE.finditer(t)), default=-1))
    t_deny = _NOT_DENY.sub(" ", t)
    last_no = max((m.start() for m in _DENY.finditer(t_deny)), default=-1)
    if last_yes < 0 and last_no < 0:
        return None
    return "affirm" if last_yes > last_no else "deny"


def not_available(text: str) -> bool:
    """Whether ``text`` says the person asked for is not there ("she's at work", "this is her son")."""
    return _NOT_AVAILABLE.search(clean(text)) is not None


def intents_of(text: str) -> set[str]:
    """The names of :func:`read_intents`."""
    return {r.intent for r in read_intents(text)}
