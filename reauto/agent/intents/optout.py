"""Opt-outs and objections to recording, in the words leads use.

An opt-out is a verb of contacting (call, ring, text, contact, bother …) under a refusal (do not,
never, stop, quit, rather not, no more …) and not limited to a time ("don't call me before noon"
asks for a later call), or a request to be taken off a list, or one of the words the FCC's
revocation rule names (unsubscribe, opt out, revoke …). Someone else who keeps calling ("the
seller won't stop calling") is a complaint, not an opt-out, unless the caller is addressed.
"""

from __future__ import annotations

import re

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

OPT_OUT = tuple(re.compile(p) for p in (
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

RECORDING_OBJECTION = tuple(re.compile(p) for p in (
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
RECORD_WORD = re.compile(r"\b(record|records|recording|recordings|recorded|tape|taping|taped|recorder)\b")
#: With an objection to recording, the words that make it an opt-out as well.
CALLS_TOO = re.compile(r"\b(list|remove|unsubscribe|do not call|again|anymore|any more|never call|stop calling|"
                        r"quit calling|lose my number|opt out|or call|and call|calling me|calls)\b")
REFUSAL_WORD = re.compile(r"\b(not|no|never|none|stop|quit|refuse|object|hang up|done|without|disable|erase|"
                           r"delete|off|denied|cut it out)\b")

#: Someone else who keeps calling the lead (not the caller).
THIRD_PARTY_CALLS = re.compile(r"\b(he|she|they|the \w+|my \w+|our \w+|his \w+|her \w+|their \w+|"
                                r"that \w+)( \w+)? (will not|would not|does not|do not|did not|can not|never|keeps|"
                                r"keep|kept|always|just) (stop )?(calling|texting|contacting|ringing|messaging)( (me|"
                                r"us|here|him|her|them))?\b")
#: The caller addressed ("you", "your company").
ADDRESSED = re.compile(r"\b(you|your|ya|y all|u|ur)\b")


def refused_contact(text: str) -> bool:
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
