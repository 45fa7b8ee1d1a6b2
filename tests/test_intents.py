"""The conversational intents of one lead utterance, per class of wording (reauto.agent.intents)."""

import pytest

from reauto.agent.intents import clean, intents_of, read_intents

pytestmark = pytest.mark.unit

#: The intents that change the call's course (affirm and deny are tested on their own).
BINDING = {"dnc", "recording_objection", "not_interested", "callback_request", "human_request",
           "robot_question", "wrong_number", "repeat_request"}


def binding(text: str) -> set[str]:
    return intents_of(text) & BINDING


def stance(text: str) -> set[str]:
    return intents_of(text) & {"affirm", "deny"}


@pytest.mark.parametrize("text", [
    "we aren't budging", "honestly we're not going anywhere", "we have zero plans to relocate",
    "no plans to leave this town", "we don't intend on moving for a long while",
    "i don't see us moving in the next decade", "we're settled here thanks", "we're staying",
    "i'm not leaving this house", "we're out of the housing market", "this is our forever home",
])
def test_a_lead_who_stays_put_refuses(text):
    assert binding(text) == {"not_interested"}


@pytest.mark.parametrize("text", [
    "we found a place already", "we bought a condo already", "we pulled the listing last month",
    "the house isn't on the market anymore", "it's all been handled", "we have that taken care of",
    "i've got it handled thanks",
])
def test_a_lead_who_has_done_it_already_refuses(text):
    assert binding(text) == {"not_interested"}


@pytest.mark.parametrize("text", [
    "thank you anyways", "i appreciate you calling but no", "gonna pass on that", "i'll have to decline",
    "we'll call you if anything changes", "if we ever decide to sell i'll get in touch",
    "it's not on my radar right now", "that's not something we're interested in",
    "moving isn't something i'm thinking about", "timing just isn't right for us", "i'm going to have to say no",
    "i doubt that's for us",
])
def test_a_polite_no_refuses(text):
    assert binding(text) == {"not_interested"}


@pytest.mark.parametrize("text", [
    "there's no rush", "i'm staying with my sister while we look", "we're settled on buying a condo",
    "we found a house we love and want to make an offer", "we want to sell for no less than four hundred",
    "i appreciate that thank you", "we're not moving until next summer", "we've got the mortgage side covered",
    "i'll call you back when i'm off work", "the house isn't on the market yet but we want to sell",
])
def test_what_only_looks_like_a_refusal_is_none(text):
    assert "not_interested" not in intents_of(text)


@pytest.mark.parametrize("text", [
    "i'm through with getting your calls", "done receiving these texts", "remove me please", "quit phoning me",
    "i no longer wish to be contacted", "please stop reaching out to me", "i'm fed up with these robocalls",
    "take my name off", "i'd appreciate it if you stopped calling", "i'm done hearing from you guys",
    "you people won't stop calling me", "stop calling it",
])
def test_opt_outs_in_other_words(text):
    assert "dnc" in intents_of(text)


@pytest.mark.parametrize("text", [
    "i can't buy so i need a landlord who'll take me", "the bank would take me if my credit were better",
    "we're done with renting", "i'm done with my coffee go ahead", "we're tired of paying rent",
    "can you call me on my cell instead", "i'm done calling around we picked an agent",
    "the seller won't stop calling", "my ex keeps calling me", "we don't want to call it yet",
])
def test_no_false_opt_out(text):
    assert "dnc" not in intents_of(text)


def test_an_opt_out_wins_and_is_never_a_yes():
    found = intents_of("yes and we're staying so quit calling")
    assert {"dnc", "not_interested"} <= found and "affirm" not in found
    assert read_intents("remove me please")[0].intent == "dnc"


@pytest.mark.parametrize("text", [
    "is this call automated", "am i talking with a program", "am i speaking to software right now",
    "are you some sort of bot", "is that a real voice or a recorded one", "who built you", "so you aren't human",
    "what am i speaking with", "is this a real human", "are you one of those ai voices",
    "you're not a real person right", "am i on with a bot",
])
def test_robot_questions(text):
    assert binding(text) == {"robot_question"}


@pytest.mark.parametrize("text", [
    "is this a real estate company", "i'm at my computer", "i work in software", "is this being recorded",
    "who am i speaking with",
])
def test_no_robot_question_in_other_talk(text):
    assert "robot_question" not in intents_of(text)


@pytest.mark.parametrize("text", [
    "put me through to somebody real", "is there a real person i could speak with", "hand me over to an agent",
    "forward me to your team", "i'd like to be connected to a broker", "i'd rather chat with a human being",
    "i prefer talking to a live agent", "i want a human not a machine", "find me a living breathing agent",
    "put me on with a real agent", "i want to speak to whoever is in charge",
])
def test_requests_for_a_person(text):
    assert binding(text) == {"human_request"}


@pytest.mark.parametrize("text", ["have somebody from your team give me a call", "could a realtor phone me"])
def test_a_person_asked_to_call_back_is_both(text):
    assert binding(text) == {"human_request", "callback_request"}


@pytest.mark.parametrize("text", [
    "catch me tomorrow", "give me a buzz next week", "can you reach me this afternoon", "let's talk tomorrow",
    "hit me back in an hour", "could we chat later", "try us back around six", "can we do this another day",
    "maybe later i'm slammed", "give it a few hours and try again", "i'll be free in an hour",
])
def test_call_back_requests(text):
    assert binding(text) == {"callback_request"}


@pytest.mark.parametrize("text", ["let's do this thursday", "later this week", "i'm home after lunch", "tuesday works"])
def test_a_time_offered_for_the_meeting_is_no_call_back(text):
    assert "callback_request" not in intents_of(text)


@pytest.mark.parametrize("text", [
    "could you say that one more time", "go over that again", "can you put that another way", "sorry you broke up",
    "the connection cut out what did you ask", "i didn't follow", "i'm sorry what", "pardon me what was that",
    "which question", "who did you say was calling",
])
def test_repeat_requests(text):
    assert binding(text) == {"repeat_request"}


@pytest.mark.parametrize("text", [
    "you dialled the wrong digits", "nobody by that name here", "there ain't no jane at this house",
    "that isn't my name", "this number was recycled", "i've never met a jane", "i have no idea who that is",
    "i don't know who you mean", "you have the wrong info", "you misdialed buddy", "jane who",
])
def test_wrong_numbers(text):
    assert binding(text) == {"wrong_number"}
    assert stance(text) == {"deny"}  # not the lead: a no to "is this Jane?"


@pytest.mark.parametrize("text", [
    "there's no hurry", "i'm not sure", "i am not interested", "not sure what that is", "i don't know who this is",
    "sorry who",
])
def test_no_wrong_number_in_other_talk(text):
    assert "wrong_number" not in intents_of(text)


@pytest.mark.parametrize("text", [
    "you have him", "one and the same", "yours truly", "you found her", "that's what they call me",
    "i've got a few minutes", "i'm all ears", "now works", "this is a good time", "i'm free now", "keep going",
    "i can spare a minute",
])
def test_yes_without_the_word_yes(text):
    assert stance(text) == {"affirm"}


@pytest.mark.parametrize("text", ["i'm not free", "i don't have time", "she moved away", "let me go grab him"])
def test_no_without_the_word_no(text):
    assert stance(text) == {"deny"}


@pytest.mark.parametrize("text", ["not a good time", "you caught me at a bad time", "never a good time"])
def test_a_negated_idiom_of_yes_is_no_yes(text):
    assert "affirm" not in intents_of(text)


@pytest.mark.parametrize("text, cleaned", [
    ("who'll take me", "who will take me"), ("there've been calls", "there have been calls"),
    ("that'd be me", "that would be me"), ("they're out", "they are out"), ("'tis odd", "tis odd"),
])
def test_short_forms_are_expanded(text, cleaned):
    assert clean(text) == cleaned


@pytest.mark.parametrize("text", ["", "   ", "'", "''' ll", "\x00", "?" * 500, "ok " * 400])
def test_bad_input_never_raises(text):
    assert isinstance(read_intents(text), tuple)
