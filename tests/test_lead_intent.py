"""Buy, sell or rent read from how leads say it (reauto.agent.lead_intent), per class of wording."""

import pytest

from reauto.agent.extract import extract
from reauto.agent.lead_intent import read_lead_intent

pytestmark = pytest.mark.unit

QUESTION = "Are you looking to buy a home, or to sell one?"


def asked(text: str) -> str | None:
    """The intent read from ``text`` as the answer to the intent question (as the agent reads it)."""
    found = extract(text, expecting="intent", question=QUESTION).slots.get("intent")
    return None if found is None else found.value


@pytest.mark.parametrize("text", [
    "we're entering the market", "acquire a property", "purchasing a home", "we'd like our own place finally",
    "tired of paying a landlord so we want to own", "we're sick of renting and want to own",
    "expanding my rental portfolio", "an income property", "a vacation rental by the lake",
    "a little cottage in the woods", "some acreage", "a fixer upper", "we've been touring open houses",
    "we're checking out neighborhoods",
])
def test_buying_in_other_words(text):
    assert asked(text) == "buy"


@pytest.mark.parametrize("text", [
    "we're cashing out while prices are high", "list", "listing it", "we want offers on our condo",
    "we're parting with the family home", "our house has to go", "letting go of our duplex",
    "we're trading our condo for a house", "moving up from our starter home",
    "swapping our place for something smaller", "we can't keep our home", "we're unloading a rental",
    "it's a fourplex we're ready to let go of",
])
def test_selling_in_other_words(text):
    assert asked(text) == "sell"  # selling to buy the next one is selling


@pytest.mark.parametrize("text", [
    "lease", "we need a lease for six months", "an apartment for now", "looking for a landlord who takes pets",
    "temporarily renting until we know the area", "we can't buy so we need a rental",
    "we were gonna buy but our credit says rent",
])
def test_renting_in_other_words(text):
    assert asked(text) == "rent"


@pytest.mark.parametrize("text", [
    "we haven't made up our minds", "i'd prefer not to share that", "not sure yet",
    "we're torn between buying and selling", "that's personal", "we're not selling", "we are not buying",
    "i'm not looking to buy or sell", "neither honestly", "why does that matter",
])
def test_no_intent_when_none_is_given(text):
    assert asked(text) is None


@pytest.mark.parametrize("text, intent", [
    ("we want a fourplex so we could rent out three units", "buy"),  # renting out is an owner's plan
    ("we were thinking of renting but now we're buying", "buy"),
    ("i thought about selling but we'll buy a second place instead", "buy"),
    ("we were going to list it but we're keeping it", None),
])
def test_a_plan_given_up_is_replaced_by_what_follows(text, intent):
    assert asked(text) == intent


@pytest.mark.parametrize("text", [
    "get rid of my number", "we're tired of paying rent", "we signed a lease last month",
    "we've been looking at homes in the four hundreds", "we're done with the whole thing for now",
])
def test_unasked_no_intent_from_passing_words(text):
    assert read_lead_intent(extract_text(text))[0] is None


def extract_text(text: str) -> str:
    """The text as the extractor hands it over (lower case, no punctuation or apostrophes)."""
    return text.lower().replace("'", "")


@pytest.mark.parametrize("text", ["", " ", "'", "buy " * 300, "\x00 sell", "the 2nd"])
def test_bad_input_never_raises(text):
    intent, corrected = read_lead_intent(text, asked=True, question=QUESTION)
    assert intent in (None, "buy", "sell", "rent") and isinstance(corrected, bool)
