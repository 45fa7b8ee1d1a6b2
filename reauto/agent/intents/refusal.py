"""Refusals by their kind: plain ("not interested"), staying put, done already, a polite no.

A refusal to move limited to a time or a condition ("not until spring", "not for less than four
hundred") is a timeline or a price, not a refusal.
"""

from __future__ import annotations

import re

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
NOT_INTERESTED = (*_REFUSAL_PLAIN, *_SETTLED, *_DONE_ALREADY, *_POLITE_NO)
