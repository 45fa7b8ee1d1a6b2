"""What a lead's words do in the conversation: opt out, refuse, object, ask, agree or disagree.

Text comes from a phone recogniser (lower case, no punctuation) or from a transcript. Each
intent is read from the structure of the sentence rather than from a list of the phrases it was
built around: an opt-out is a verb of contacting (call, ring, text, contact, bother …) under a
refusal (do not, never, stop, quit, rather not, no more …) and not limited to a time ("don't call
me before noon" asks for a later call), or a request to be taken off a list, or one of the words
the FCC's revocation rule names (unsubscribe, opt out, revoke …). Contractions are expanded and
fillers dropped first, so "don't", "dont" and "do not" read the same.

A refusal is read by its kind: staying put ("we're not budging", "no plans to relocate"), having
done it already ("we found a place", "it's taken care of") or a polite no ("thanks anyway", "I'll
call you if that changes"); a refusal to move limited to a time ("not until spring") is a
timeline, not a refusal. A question about a machine is an address ("are you", "am I talking to")
before a word for one; a request for a person is a hand-off verb or a wish before a word for
one, and beside it "not a bot" is a contrast, not a question. A call back is a verb of calling
or of taking the talk up again before a later time; a weekday or a clock time counts only after
a verb of calling, so that a time offered for the meeting is not read as one.

Opt-outs win over everything else: a sentence that opts out is never also read as agreeing, nor
as asking for a person. A wrong number is also a no to "is this Jane?". :func:`read_intents`
returns every intent found with how sure the reading is (0..1); the rules here are checked by
``tests/test_intents.py`` and, on wording they were not written from, by the corpus's dev split
(``scripts/bench/understanding.py``).
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
#: The short forms of will, have, are and would after any word ("who'll", "there've").
_SUFFIXES: Mapping[str, str] = {"ll": "will", "ve": "have", "re": "are", "d": "would"}
#: Sounds that carry no meaning (a recogniser writes some of them).
_FILLERS = frozenset({"um", "uh", "uhh", "umm", "er", "erm", "hmm", "hm", "ah", "eh", "mm"})

#: Verbs of contacting the lead.
_CONTACT = (r"(call|calls|calling|called|ring|ringing|rung|phone|phoning|phoned|contact|contacting|contacted|"
            r"text|texts|texting|texted|message|messages|messaging|messaged|bother|bothering|bothered|reach|"
            r"reaching|dial|dialing|dialling|solicit|soliciting|solicited|email|emailing|emailed|harass|harassing|"
            r"harassed|pester|pestering|pestered|hound|hounding|bug|bugging|hear from you|hearing from you)")
#: What makes a verb of contacting a refusal, just before it.
_REFUSE = (r"(do not|did not|never|stop|quit|cease|no more|not to|no longer (want|wish|need|care)( you)? to( be)?|"
           r"rather (you )?not|prefer (you )?(did )?not|would not like you to|need you to stop|want you to stop|"
           r"will not have you|can you not|could you not|please not|not want (you to|to be|any)|not like (you to|to be|"
           r"being)|not need (you to|to be|any)|no need to|not (want|wish) to be|not going to be|tired of (you )?|"
           r"sick of (you )?|enough( of| with)?( you)?|not appreciate (you |being )?|hate (you )?|stop (you )?from)")
#: Words that may stand between a refusal and the verb it governs ("do not ever try to call").
_BETWEEN = (r"(ever|again|you|ya|please|to|be|being|get|me|us|anybody|anyone|someone|somebody|just|even|try|trying|"
            r"going|want|need|have|should|will|would|guys|all|people|folks|y all|any|more|further|do|keep|keeps|"
            r"keeping|continue|continuing|go|on|bother|bothering|that|this|number|company|them|they|he|she|it|agents|"
            r"agent|anymore|here|anyone else|no|one|i|we|like|let|your|allow|make|have them|robots|these|those|the|"
            r"such|another|other|dare|receive|getting|real estate|sales|marketing|phone|of)")
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
    r"\b(stop it|quit it|cut it out|knock it off)( already| now| please)? with (the|these|your|those|all the|all these|"
    r"all your)( \w+)? (calls|phone calls|texts|messages|robocalls)\b|"
    r"(?<!a )(?<!bus )(?<!one )(?<!full )(?<!pit )\bstop( it| now| already| please)?$",
    r"\b(stop|knock it off|cut it out|enough|quit it|give it a rest|no more) with (the|these|your|all the|all these|"
    r"all your|those) (\w+ )?(calls|phone calls|texts|messages)\b",
    r"\b(tired|sick|fed up|done) (of|with) (\w+ ){0,3}(calls|calling|phone calls|robocalls|texts|messages|voicemails|"
    r"you people|you guys)\b",
    r"\b(tired|sick|fed up|done|finished|through)( of| with)? hearing from (you|you guys|you people|you all|"
    r"your company|your office)\b|\bif you (would |could |just )?(stopped|quit|ceased) (calling|contacting|texting|"
    r"ringing|phoning|bothering|messaging)\b",
    r"\b(tired|sick|fed up|done|finished|through)( of| with)? (getting|receiving|taking|answering|having|hearing|"
    r"listening to)( \w+){0,3} (calls|phone calls|robocalls|texts|text messages|messages|voicemails)\b",
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
    r"(?<!will )(?<!would )(?<!who )(?<!that )(?<!to )\b(remove|delete|drop|take) (me|us)( (please|now|already|"
    r"immediately|right now|today))?$",
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
    r"our )?(permission|consent|authorization) (\w+ ){0,3}(to )?(call|contact|text|phone|ring|be called)\b",
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
    r"\bobject (to|against) (being )?(called|contacted|texted|calls|these calls|the calls|your calls|(the|this|your|"
    r"these|any) (phone )?(call|calls|calling|contact))\b(?! (being )?record)",
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
    r"\b(asked|told|said|tell|telling|asking|begged|begging) (you|ya|you all|you guys|you people|"
    r"your company)( \w+){0,2} (to )?(stop|quit|cease|leave me alone)\b|\b(i|we) (already )?said (to )?(stop|quit|"
    r"no more)\b",
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
    r"\b(do not|not) (want|like|wish) (\w+ ){0,3}(voice|call|conversation|this)( \w+){0,3} (recorded|saved|kept|"
    r"stored)\b",
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

#: Refusals in the plainest words: "not interested", "no thanks", "we're all set", "we already sold".
_REFUSAL_PLAIN = tuple(re.compile(p) for p in (
    r"\b(not|no longer) (really |at all |even |that )?interested\b",
    r"\bno (thank you|thanks|thank u)\b|\bnah thanks\b|\bno thank\b",
    r"\b(we are|i am|we re|all) (all )?(set|good|fine|okay|covered|sorted|squared away)( (thanks|thank you|for now|"
    r"here|with that|on that|there))?\b(?!.*\b(buy|sell|move|looking)\b.*\b(want|need|would like)\b)",
    r"(?<!buying )(?<!selling )(?<!buy )(?<!sell )(?<!renting )(?<!rent )\b(not|no longer|never)(?!.*\b(until|"
    r"till)\b) (really )?(looking|buying|selling|moving|in the market|planning|thinking)( \w+){0,3}( (anymore|any more|"
    r"right now|at the moment|at this time|this year|for now|anytime soon|any time soon))?\b",
    r"\b(stay|staying|stayed) (put|here|where we are|where i am|in (our|my|this) (house|home|place))\b",
    r"\b(happy|content|comfortable|fine|good|settled) (where|with where) (we|i) (are|am|live)\b",
    r"\b(already|just|recently) (bought|sold|closed|purchased|listed|moved|signed|found|went with|have an agent|"
    r"have a realtor|got an agent|got a realtor|have someone|working with|refinanced|rented)\b",
    r"\b(we|i) (have|got) (an|a|our|my) (own )?(agent|realtor|broker|real estate agent)( already)?\b",
    r"\b(we|i) (are|am) (working|going) with (an|a|another|our|my|someone|somebody) ?(agent|realtor|broker|else|"
    r"company)?\b",
    r"\b(no|not any) (plans|intention|interest|desire|need) (to|of|in) (buy|buying|sell|selling|move|moving)\b",
    r"\b(decided|chose|choosing|deciding|decide) (not to|against|to stay|to keep|to wait|to rent|"
    r"to hold off)\b(?!.*\b(and|but) (\w+ ){0,2}(buy|buying|sell|selling|purchase|purchasing)\b)",
    r"\b(took|take|taking|pulled) (it|the house|our house|the listing) off the market\b",
    r"\b(i|we) (will|would|are going to|am going to|have to) pass\b|\bpass on (it|that|this)\b",
    r"\bnot for (me|us)\b",
    r"\b(not|never) (going to|planning to|gonna) (sell|buy|move|list)\b",
    r"\b(not|no) (in|on) the market\b(?! yet)",
    r"\b(not|nothing) (something|anything) (we|i) (want|need|are looking)\b",
    r"\bnot (right now|at this time|at the moment|this year|anytime soon|any time soon)( thanks| thank you)?$",
    r"\b(please|just) (do not|no) bother\b",
    r"\b(under contract|in contract|it is pending|already pending|sale is pending|in escrow|we closed|just closed|"
    r"closed (last|this|a|on)|sold it|sold the house|sold our|bought (last|this|a|our)|we bought|already own)\b",
    r"\b(love|like|happy with|happy in|content with|fine with) (our|the|this|my) (house|home|place|condo|apartment|"
    r"neighborhood|rental)\b|\b(we|i) (are|am) (happy|fine|good|comfortable|settled|content) (here|where we are|"
    r"renting|for now|as is)\b",
    r"\b(is|am|are) (a|an|our|my) (realtor|agent|broker|real estate agent)\b|\b(listed|listing|went|working|going) "
    r"with (another|a different|someone|somebody|other|our own)\b",
    r"\b(changed (our|my) minds?|plans (have )?changed|not ready|not in a position|not happening|no interest|"
    r"not (the )?right time|done looking|just (curious|browsing|looking around)|only (curious|browsing|looking)|"
    r"by (accident|mistake)|for sale by owner|by owner|selling it ourselves|rent it out|too old to move|(we are|"
    r"i am) (waiting|holding off|sitting tight))\b",
    r"(?<!not )(?<!never )\b(keeping (the|our|my|it)|keep (the|our|my) (house|home|place))\b",
    r"^(pass|neither|nothing|none|no interest|not interested|nope|nah)( (thanks|thank you|right now|for now|sorry))?$",
    r"\b(do not|did not|never|no longer) need (anything|a realtor|an agent|a real estate agent|help|any help|your help|"
    r"your services|you)\b",
    r"\b(not|no) (going to|planning to|doing) (do )?(anything|that|it|either|this)\b",
    r"\b(neither|none of (your|the above)|nothing right now|not doing (either|anything))\b(?!.*\b(want|need|looking|"
    r"planning|going|hoping|trying) to (rent|lease|buy|sell|purchase)\b)",
    r"\bnone of your business\b",
    r"\b(we|i) (are|am) (just )?(going to) (stay|keep|wait|hold)\b",
    r"^(no|nope|nah)( (no|nope|nah))*( (thanks|thank you|i am good|we are good)+)$",
))

#: Leaving the home the lead lives in, or dealing in one.
_LEAVE = (r"(moving|move|relocating|relocate|leaving|leave|budging|budge|going anywhere|go anywhere|uprooting|uproot|"
          r"packing up|selling|sell|listing|list|buying|buy|downsizing|downsize|upsizing|making a move|make a move)")
#: What limits a refusal to move to a time or a condition: a timeline, not a refusal.
_UNLESS = r"(?!.*\b(until|till|before|unless|once|when|below|under|less than|for less|lower than|without)\b)"
#: Refusals by staying: the lead is settled where they are and is not moving.
_SETTLED = tuple(re.compile(p) for p in (
    rf"\b(not|never|no longer) (\w+ ){{0,2}}(budging|going anywhere|relocating|uprooting)\b{_UNLESS}",
    r"\b(not|never) (\w+ )?leaving\b(?! (a|an|any|you|the|it|them|him|her|until|till|before|for|on|at|tomorrow|today|"
    r"tonight|now|yet|work)\b)",
    rf"\b(no|zero|not any|not many|not really any) (\w+ ){{0,2}}(plans?|intention|intentions|desire|reason|need|"
    rf"interest|thoughts?) (\w+ ){{0,2}}(to|of|on|for|about|in) (\w+ )?{_LEAVE}\b{_UNLESS}",
    rf"\b(do not|did not|not|never|no longer|am not|are not) (\w+ )?(plan|planning|intend|intending|expect|expecting|"
    rf"anticipate|anticipating|foresee|see (us|ourselves|myself|me|that|it)|envision|picture (us|ourselves|"
    rf"myself)) (\w+ )?(on |to |about )?(be )?{_LEAVE}\b{_UNLESS}",
    r"\b(we are|i am|we have been|i have been|we will be|we were|we feel|i feel|we got|i got) (?!not |"
    r"never )(\w+ )?(settled|rooted|planted|dug in|here to stay|here for good|here for the long haul)\b(?! (on|upon|"
    r"with|at|in|into|until|till|over|the night|tonight|overnight|there|for (a|the|two|few) (days?|nights?|"
    r"weeks?))\b)(?!.*\b(and|but) (\w+ ){0,2}(buy|buying|sell|selling|rent|renting|looking)\b)",
    # "staying" only where the clause ends with it ("we're staying so stop calling"), not "staying five months"
    r"\b(we are|i am|we will be) (?!not |never )(just |definitely |really |still )?(staying|sticking around)( (put|"
    r"here|right here|where we are))?( (for now|thanks|thank you))?( (so|and|but|because)\b(?! (\w+ ){0,2}(buy|buying|"
    r"sell|selling|rent|renting|looking)\b).*|$)",
    r"\b(here|staying|stay|put|stick around|sticking around) (for good|for the long haul|forever|for life|"
    r"for the foreseeable future|indefinitely)\b",
    r"\b(out of|done with|finished with|through with) the (\w+ )?market\b",
    r"\b(this|it|that) is (our|my) forever (home|house|place)\b|\b(we|i) (are|am) (already )?in (our|"
    r"my) forever home\b|\b(put|putting) down roots\b",
))
#: Refusals by having done it already: found a home, took the listing down, had it taken care of.
_DONE_ALREADY = tuple(re.compile(p) for p in (
    r"\b(we|i|just|already|finally|recently) (have |had )?(found|bought|purchased|picked|chose|closed on|moved into|"
    r"secured|signed for|got) (a|an|our|the|my|us a|ourselves a|one) (\w+ ){0,2}(house|home|place|condo|townhouse|"
    r"townhome|apartment|property|agent|realtor|broker|buyer|lot|land|rental)( already| recently| last \w+| a (few|"
    r"couple) \w+ ago| \w+ (days|weeks|months|years) ago)?( (so|and|thanks|thank you)\b.*)?$",
    r"\b(withdrew|withdrawn|pulled|cancelled|canceled|took down|taken down|ended|removed|dropped) (our|the|my|"
    r"that) (listing|house from the market|home from the market)\b|\b(our|the|my) listing (expired|was withdrawn|"
    r"was pulled|is off|came down|ended)\b",
    r"\b(house|home|place|it|condo|property) (is not|is no longer|no longer|not) (listed|on the market|for sale|"
    r"up for sale)\b(?!( \w+)? yet)",
    r"\b(it|that|this|everything|all|we|i)( is| has been| have been| are| am| have| got| have got| was|"
    r" were)?( already| all| been| totally| completely| pretty much)* (taken care of|handled|sorted out|dealt with|"
    r"covered|under control)\b(?!.*\b(loan|mortgage|financ\w*|lender|bank|cash|approv\w*|money|budget|down payment|"
    r"qualified|payment|funds|credit)\b)",
    r"\b(got|have|have got) (it|that|this|everything|things|it all|that all|all that|all of that)( all)? (covered|"
    r"handled|taken care of|sorted|sorted out|under control)\b(?!.*\b(loan|mortgage|financ\w*|lender|bank|cash|"
    r"approv\w*|money|budget|down payment|qualified|payment|funds|credit)\b)",
))
#: Polite refusals: thanks anyway, a pass, a no said outright, "I'll call you if that changes".
_POLITE_NO = tuple(re.compile(p) for p in (
    r"\b(thanks|thank you|thank u)( so much| again| very much)? (anyway|anyways|though|all the same|just the same)\b",
    r"\b(thanks|thank you|appreciate|appreciated|nice of you|kind of you)( \w+){0,4} (but|however)( \w+){0,2} (no|nah|"
    r"nope|pass|not (interested|now|today|for (me|us)|right now)|(we|i) (will|am going to|are going to|have to) pass|"
    r"(we are|i am) (good|set|fine|okay|all set))\b(?! (problem|worries|doubt))",
    r"\b(appreciate|appreciated) (it|that|the (\w+ )?(call|offer|thought|effort|outreach|interest|info|"
    r"information))( though| anyway| anyways| all the same)\b",
    r"\b(hard|firm|big|polite|easy|respectful) (pass|no)\b|\bpass (for now|this time|thanks|thank you)\b|\b(take|"
    r"taking) a pass\b|\bgoing to (have to )?pass\b|\b(gonna|i|we) (will |would |have to |will have to )?pass$",
    r"\bno (deal|sale)\b|\b(i|we) (will|would|must|have to|am going to|are going to|will have to|have got to|got to|"
    r"respectfully|politely)( \w+)? decline\b|\bdecline (the|your) (offer|call|invitation)\b",
    r"\b(i|we) (said|told you|have said|have told you|already said|already told you) no\b(?! (problem|worries|doubt))",
    r"\b(i|we) (am going to|are going to|will|will have to|have to|must|keep|kept|keep on|have been|got to|"
    r"have got to)( \w+){0,2} (say|saying|tell you|telling you) no\b(?! (problem|worries|doubt))",
    r"\b(i|we) (will|would|can|could|shall|might|may)( \w+)? (reach out|call|contact|ring|let (you|your office|"
    r"you all) know|get in touch|be in touch|get back to you|give you a (call|ring|shout|holler|buzz)|hit you up|"
    r"look you up|reach back out|touch base)( (to|with))?( you| your office| you guys| you all|"
    r" your company)?( \w+){0,2} (if|when|once|should|whenever|in case)\b(?! (i am|we are|i get|we get|i have|"
    r"we have) (free|off|home|back|available|out|done|finished|a (minute|second|chance|moment)|time)\b)",
    r"\b(if|when|once|should|whenever) (\w+ ){0,4}(changes?|changed|ready|interested|decide\w*|serious)( \w+){0,4} (i|"
    r"we) (will|would|can|could|shall) (\w+ )?(reach out|call|contact|ring|let you know|get in touch|be in touch|"
    r"get back to you|give you a|hit you up|look you up|reach back out)\b",
    r"\b(if|should) (that|anything|something|things|it|plans|our plans|my plans|the situation|our situation|"
    r"my situation|circumstances) (ever )?(changes?|changed)\b",
    r"\bnot (on|in) (our|my|the) (radar|agenda|horizon|cards|plans)\b|\bnot in the cards\b",
    r"\b(not|nothing|is not|that is not|it is not|never) (really )?(something|anything) (that )?(we|i)( am| are| would|"
    r" will| have| had| were| have been| would be)?( really| even| currently| ever| seriously| actively)? (want|"
    r"wanting|need|needing|considering|considered|consider|thinking|planning|interested|pursuing|doing|entertaining|"
    r"open to|looking|contemplating|after)\b",
    r"\bnothing (that )?(we|i)( \w+)? (want|need|plan|would like|are planning|are looking|are going|am planning|"
    r"am looking|am going) to (do|change|pursue)\b",
    r"\btiming (is|seems|feels|just (is|seems|feels)|is just|is all)( all| kind of| a bit| just)? (wrong|off|bad|"
    r"terrible|lousy|awful|not right|not great|not good|not ideal)\b|\btiming (is not|does not (seem|feel)|just is not|"
    r"is not really|is just not|is never) (right|good|great|ideal|there)\b|\b(wrong|bad|poor|terrible) timing for (us|"
    r"me|a move|moving|selling|buying)\b|\bnot (the|a) (right|good|great|ideal|best) time (for (us|me) )?to (move|sell|"
    r"buy|list)\b",
    r"\b(do not think|doubt|do not see|not sure|do not feel like) (that|this|it)( is| would be| will be| is really|"
    r" is going to be)( \w+)? (for (me|us)|right for (me|us)|a (good )?fit( for (me|us))?)\b",
    r"\b(ship|boat) (has |had )?sailed\b|\btoo late (for that|for us|now)\b",
    r"\b(do not|not) (want|need|plan|intend) to (buy|sell|move|list|purchase|do|change) (anything|a thing|at all|"
    r"right now|anymore|any more|this year|now)\b",
    r"^(it is |that is |all |already |been |has been )*(taken care of|handled|sorted out|dealt with)$",
    r"\b(locked|stuck|tied) (into|in|to) (a|our|my|the) (\w+ )?(lease|contract|mortgage)\b",
    r"\b(we|i) (are|am|will) not( going to)?$",
    r"\b(is|are|am|been) (handling|taking care of|doing) (it|that|this|everything|all that|the \w+) (for (us|me)|"
    r"ourselves|myself)\b",
    r"\btoo busy for (this|that|it|all this|all that|any of (this|that))\b",
    r"^no (that is|it is|we are|i am) (okay|fine|alright|all right|good)( thanks| thank you)?$",
    r"\b(the|our|my) (house|home|place|condo|property|townhouse|townhome) (already )?(sold|has sold|is sold|got sold|"
    r"went under contract)\b",
    r"\b(someone|somebody|another agent|a friend|family|a relative) (else )?(is|are) (already )?(helping|handling|"
    r"working with|representing) (us|me|it|that)\b",
))
_NOT_INTERESTED = (*_REFUSAL_PLAIN, *_SETTLED, *_DONE_ALREADY, *_POLITE_NO)

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
_ROBOT = tuple(re.compile(p) for p in (
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
_NOT_A_MACHINE = re.compile(rf"\b(not|no|instead of|rather than) (a |an |some |to |with )*(\w+ )?{_MACHINE}s?\b")

#: The people of the brokerage a lead may ask for.
_STAFF = (r"(person|people|human|human being|agent|agents|realtor|realtors|broker|representative|rep|manager|"
          r"supervisor|someone|somebody|staff|team|office|associate|associates|operator|being|body|guy|lady|man|woman|"
          r"employee|salesperson|real estate agent|sales|whoever is in charge|(someone|somebody|the person) in charge)")
#: What makes a person a real one ("a live agent", "a living breathing person").
_REAL = r"(real(?! estate)|live|actual|living|breathing|flesh and blood|human|licensed|genuine)"
_HUMAN = tuple(re.compile(p) for p in (
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
_BUSY = re.compile(
    r"\b(i am|we are|i m) (busy|driving|at work|in a meeting|at dinner|eating|in the car|with (a |my )?\w+|"
    r"on the other line|on another call|about to|just about to|heading|walking|in the middle of|at the doctor|"
    r"working(?! (on|with|towards?|out|through|it)\b)|out|on my way|running|at the store|cooking|on the road|"
    r"at the gym|in class)\b")
_GO_AHEAD = re.compile(r"\b(go ahead|real quick|make it quick|quickly|shoot|fire away|(i|we) (have|got|"
                       r"have got) a (minute|second|sec|moment)|on speaker|i can talk)\b")
#: A person of the brokerage asked to call the lead: a request for a person and for a call back.
_HUMAN_CALLS = re.compile(
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
_CALLBACK = tuple(re.compile(p) for p in (
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

#: Words that follow "there's no" or "I'm not" without being a name ("there's no rush", "i'm not sure").
_NOT_A_NAME = (r"(rush|hurry|way|problem|problems|need|point|chance|pressure|deadline|timeline|time|money|budget|plan|"
               r"plans|reason|doubt|interest|question|questions|one|body|agent|realtor|rent|mortgage|loan|house|home|"
               r"reception|signal|service|worries|issue|issues|deal|sense|answer|room|space|pets|garage|yard|basement|"
               r"hoa|parking|job|work|pool|lender|bank|cash|offer|sure|interested|home|here|available|ready|able|"
               r"allowed|aware|kidding|joking|worried|done|okay|fine|good|mad|upset|certain|positive|busy|free|looking|"
               r"selling|buying|moving|renting|going|staying|rich|young|old|\w+ing|\w+ed|\w+ly)")
_NAME = rf"(?!{_NOT_A_NAME}\b)\w+"
_WRONG_NUMBER = tuple(re.compile(p) for p in (
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
_NOT_AVAILABLE = re.compile(r"\b(she|he|they) (is|are|will) (not|out|away|at|in|asleep|sleeping|busy|driving|working|"
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
        elif expanded is None and "'" in word:  # who'll, there've, that'd, they're
            stem, _, tail = word.rpartition("'")
            expanded = f"{stem} {_SUFFIXES[tail]}" if stem and tail in _SUFFIXES else None
        out.append(expanded if expanded is not None else word.replace("'", ""))
    return " ".join(" ".join(out).split())


#: Someone else who keeps calling the lead (not the caller).
_THIRD_PARTY_CALLS = re.compile(r"\b(he|she|they|the \w+|my \w+|our \w+|his \w+|her \w+|their \w+|"
                                r"that \w+)( \w+)? (will not|would not|does not|do not|did not|can not|never|keeps|"
                                r"keep|kept|always|just) (stop )?(calling|texting|contacting|ringing|messaging)( (me|"
                                r"us|here|him|her|them))?\b")
#: The caller addressed ("you", "your company").
_YOU = re.compile(r"\b(you|your|ya|y all|u|ur)\b")


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
        if re.match(r" it (a day|a night|quits|off|even|done|yet|now)\b", after):
            continue  # "call it a day", "don't want to call it yet": no contacting
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
    # "the seller won't stop calling": a complaint about someone else, unless the caller is addressed
    heard = t if _YOU.search(t) else _THIRD_PARTY_CALLS.sub(" ", t)
    dnc = _any(_OPT_OUT, heard) or _refused_contact(heard)
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
    human_calls = _HUMAN_CALLS.search(t) is not None
    human = (human_calls or _any(_HUMAN, t)) and not dnc
    # "a person please, not a bot": beside a request for a person, the machine named is a contrast
    robot = _any(_ROBOT, _NOT_A_MACHINE.sub(" ", t) if human else t)
    if robot:
        found.append(Reading("robot_question", 0.9))
    if human and not robot:
        found.append(Reading("human_request", 0.85))
    busy = _BUSY.search(t) is not None and not _GO_AHEAD.search(t)
    if (human_calls or busy or _any(_CALLBACK, t)) and not dnc and not refused:
        found.append(Reading("callback_request", 0.8))
    if _any(_REPEAT, t) and not found:
        found.append(Reading("repeat_request", 0.8))
    stance = _stance(t)
    if any(r.intent == "wrong_number" for r in found):
        stance = "deny"  # not the lead's number: a no to "is this Jane?"
    if stance is not None and not (dnc or refused):
        found.append(Reading(stance, 0.8))
    return tuple(found)


def _stance(t: str) -> str | None:
    """``affirm`` or ``deny`` by the last word of either kind (a correction wins: "no, yes it is");
    the person asked for being away is a no."""
    if _NOT_AVAILABLE.search(t) or _FETCHING.search(t):
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


def not_available(text: str) -> bool:
    """Whether ``text`` says the person asked for is not there ("she's at work", "this is her son")."""
    return _NOT_AVAILABLE.search(clean(text)) is not None


def intents_of(text: str) -> set[str]:
    """The names of :func:`read_intents`."""
    return {r.intent for r in read_intents(text)}
