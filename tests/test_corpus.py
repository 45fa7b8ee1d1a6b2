"""The lead-answer corpus: it loads, is big and varied enough, keeps its splits apart (nothing
that builds a model reads the test split) and leaks no sentence of the demo personas, the
evaluation set or the recogniser's built-in vocabulary."""

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from reauto import corpus
from reauto.corpus import CONTEXTS, INTENTS, SPLITS, CorpusError, Entry, entries, load_file, texts

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]

MINIMUM = {"identity": 150, "intent": 250, "timeline_months": 250, "budget_usd": 250, "preapproved": 200,
           "booking": 250, "any": 480}
#: The held-out test split of each context, at least (worded apart from the rules and the other splits).
TEST_MINIMUM = {"identity": 40, "intent": 40, "timeline_months": 40, "budget_usd": 40, "preapproved": 40,
                "booking": 40, "any": 60}
#: Entries of the `any` context that must carry each intent, at least.
ANY_MINIMUM = {"dnc": 150, "recording_objection": 50, "not_interested": 100, "robot_question": 40,
               "human_request": 40, "callback_request": 40, "repeat_request": 30, "wrong_number": 30}
QUOTED = (
    "quit calling me", "i would rather you not call again", "unsubscribe me please", "we are all set thank you",
    "we are happy where we are so no", "we decided to stay put", "we just closed on a place",
    "neither time is good for us", "honestly either way we would rather wait", "i was out yesterday",
    "sure but not this week", "wednesday would work better but not at two", "we hope to move in about four months",
    "maybe six or seven weeks", "we pay around eighteen hundred a month now",
)
FILLERS = {"um", "uh", "uhm", "umm", "er", "erm", "hmm", "mm", "well", "like", "oh", "so", "please", "just",
           "really", "actually", "honestly"}
_CONTRACTIONS = {"won't": "will not", "can't": "can not", "cannot": "can not", "gonna": "going to",
                 "wanna": "want to", "gotta": "got to", "thanks": "thank you", "ain't": "is not"}
_SUFFIXES = (("n't", " not"), ("'m", " am"), ("'re", " are"), ("'s", " is"), ("'ll", " will"), ("'ve", " have"),
             ("'d", " would"))


def canonical(text: str) -> tuple[str, ...]:
    """Words of ``text`` as compared for near copies: contractions spelled out, fillers dropped."""
    words: list[str] = []
    for word in text.lower().split():
        word = _CONTRACTIONS.get(word, word)
        for suffix, full in _SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix):
                word = word[: -len(suffix)] + full
                break
        words.extend(word.split())
    joined = " ".join(words).replace("you know", "").replace("i mean", "")
    return tuple(w for w in joined.split() if w not in FILLERS)


def _within_one_edit(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    row = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (word != other))
    return row[-1] <= 1


def near_copies(candidates: list[str], references: list[str]) -> list[tuple[str, str]]:
    """Pairs (candidate, reference) that are the same sentence, or one word apart.

    One word apart counts where both have three words or more and one of them four or more
    ("in about two months" ~ "in about three months", "who is this calling" ~ "who is this"),
    so that short answers of one pattern ("that's me", "that's right") stay apart.

    Indexed by every one-word deletion, so only sentences that share such a key are compared.
    """
    index: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    originals: dict[tuple[str, ...], str] = {}
    for ref in references:
        words = canonical(ref)
        originals.setdefault(words, ref)
        for key in _deletions(words):
            index.setdefault(key, set()).add(words)
    found = []
    for text in candidates:
        words = canonical(text)
        if words in originals:
            found.append((text, originals[words]))
            continue
        if len(words) < 3:
            continue
        near = {ref for key in _deletions(words) for ref in index.get(key, ())}
        hit = next((r for r in sorted(near) if len(r) >= 3 and max(len(r), len(words)) >= 4
                    and _within_one_edit(words, r)), None)
        if hit is not None:
            found.append((text, originals[hit]))
    return found


def _deletions(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [words] + [words[:i] + words[i + 1:] for i in range(len(words))]


def excluded_sentences() -> list[str]:
    """Sentences the corpus must not contain: persona answers, evaluation turns, built-in vocabulary."""
    out: list[str] = list(QUOTED)
    for path in sorted((ROOT / "campaigns").glob("*.yaml")):
        for persona in yaml.safe_load(path.read_text()).get("sim_personas") or []:
            out.extend(str(v) for v in (persona.get("answers") or {}).values())
    for path in sorted((ROOT / "tests" / "data" / "eval").glob("*/call.yaml")):
        out.extend(str(t["text"]) for t in yaml.safe_load(path.read_text())["turns"] if t["speaker"] == "lead")
    tree = ast.parse((ROOT / "scripts" / "make_eval_set.py").read_text())
    plans = next(n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "PLANS")
    for node in ast.walk(plans):
        if isinstance(node, ast.List) and node.elts and all(isinstance(e, ast.Constant) for e in node.elts):
            out.extend(str(e.value) for e in node.elts)
    from reauto.stt.vocabulary import Vocabulary

    out.extend(Vocabulary.from_phrases([]).sentences())
    return out


def test_the_helpers_find_what_they_must():
    assert canonical("um i'm like not interested thanks") == ("i", "am", "not", "interested", "thank", "you")
    assert near_copies(["we're all set thanks"], ["we are all set thank you"])
    assert near_copies(["we hope to move in about five months"], ["we hope to move in about four months"])
    assert near_copies(["in about two months"], ["in about three months"])
    assert not near_copies(["in about two or three months"], ["in about three months"])
    assert near_copies(["um who is this calling"], ["who is this"])
    assert not near_copies(["no not yet"], ["not yet"]) and not near_copies(["that's me"], ["that's right"])
    assert "yes we are" in excluded_sentences() and "please take me off your list" in excluded_sentences()
    assert "we are all set thank you" in excluded_sentences() and "within six months" in excluded_sentences()


def test_every_context_loads_in_order_at_its_minimum_size():
    assert CONTEXTS == ("identity", "intent", "timeline_months", "budget_usd", "preapproved", "booking", "any")
    sizes = {c: len(entries(c)) for c in CONTEXTS}
    assert all(sizes[c] >= MINIMUM[c] for c in CONTEXTS), sizes
    assert sum(sizes.values()) == len(entries())
    counts = Counter(i for e in entries("any") for i in e.expect.get("intents", ()))
    assert all(counts[i] >= n for i, n in ANY_MINIMUM.items()), counts


def test_api_filters_and_shares_one_read_only_copy():
    assert SPLITS == ("train", "dev", "test")
    train, dev, test = entries("intent", "train"), entries("intent", split="dev"), entries("intent", "test")
    assert train and dev and test and len(train) + len(dev) + len(test) == len(entries("intent"))
    assert {e.split for e in train} == {"train"} and {e.context for e in dev} == {"intent"}
    assert {e.split for e in test} == {"test"}
    assert texts("booking", "dev") == [e.text for e in entries("booking", "dev")]
    assert entries("any")[0] is entries("any")[0]
    got = entries("any")
    got.clear()
    assert entries("any")
    with pytest.raises(TypeError):
        entries("intent")[0].expect["intent"] = "rent"  # type: ignore[index]
    assert isinstance(entries("any")[0].expect["intents"], tuple)
    with pytest.raises(CorpusError, match="unknown corpus context 'price'"):
        entries("price")
    with pytest.raises(CorpusError, match="unknown corpus split 'holdout'"):
        texts(split="holdout")


def test_no_duplicates_and_no_split_rewords_another():
    all_texts = texts()
    assert [t for t, n in Counter(all_texts).items() if n > 1] == []
    train, dev, test = texts(split="train"), texts(split="dev"), texts(split="test")
    assert set(train).isdisjoint(dev) and set(test).isdisjoint(train + dev)
    assert near_copies(dev, train) == []
    assert near_copies(test, train + dev) == []
    for context in CONTEXTS:
        families = {}
        for e in entries(context):
            assert families.setdefault(e.family, e.split) == e.split, f"{context}: {e.family} spans splits"
        share = len(entries(context, "dev")) / (len(entries(context, "train")) + len(entries(context, "dev")))
        assert 0.2 <= share <= 0.32, f"{context}: dev share {share:.2f}"
        assert len(entries(context, "test")) >= TEST_MINIMUM[context], context


def test_models_are_built_from_the_train_split_only(monkeypatch):
    from reauto.agent import classifier
    from reauto.stt.vocabulary import corpus_sentences, normalise

    held_out = {normalise(t) for t in texts(split="test")}
    assert len(held_out) >= sum(TEST_MINIMUM.values())
    for context in (None, *CONTEXTS):
        assert held_out.isdisjoint(corpus_sentences(context)), context  # the language models' text
    asked: list[str | None] = []
    read = corpus.entries

    def spy(context: str | None = None, split: str | None = None) -> list[Entry]:
        asked.append(split)
        return read(context, split)

    monkeypatch.setattr(corpus, "entries", spy)
    classifier.trained.cache_clear()
    try:
        assert classifier.trained() is not None  # the intent classifier, trained afresh
    finally:
        classifier.trained.cache_clear()
    assert asked and set(asked) == {"train"}


def test_no_persona_eval_or_vocabulary_sentence_or_near_copy():
    excluded = excluded_sentences()
    assert len(excluded) > 500
    assert near_copies(texts(), excluded) == []


def test_texts_read_like_people_on_a_phone():
    for context in CONTEXTS:
        words = [e.text.split() for e in entries(context)]
        with_filler = sum(1 for w in words if set(w) & {"um", "uh", "well", "like"} or "you know" in " ".join(w)
                          or "i mean" in " ".join(w))
        assert with_filler / len(words) >= 0.1, f"{context}: {with_filler} of {len(words)} have a filler"
        lengths = [len(w) for w in words]
        assert min(lengths) <= 2 and max(lengths) >= 14, f"{context}: lengths {min(lengths)}..{max(lengths)}"
        assert len({w[0] for w in words}) >= 25, f"{context}: answers start with too few different words"


def test_each_context_says_what_it_answers():
    for e in entries("timeline_months"):
        assert "timeline_months" in e.expect, e.text
    for e in entries("budget_usd"):
        assert "budget_usd" in e.expect, e.text
    for e in entries():
        if e.expect.get("vague"):
            assert e.expect.get(e.context) is None, e.text
    for e in entries("any"):
        assert e.expect.get("intents"), e.text
    for e in entries("booking"):
        assert "booking" in e.expect or e.expect.get("intents"), e.text
    for e in entries("preapproved") + entries("intent"):
        assert e.expect, e.text
    assert (ROOT / "reauto" / "corpus" / "timeline_months.yaml").read_text().count("2026-06-15") >= 1


def test_every_value_of_the_schema_is_exercised():
    used_intents = {i for e in entries() for i in e.expect.get("intents", ())}
    assert used_intents == set(INTENTS)
    assert {e.expect.get("intent") for e in entries("intent")} >= {"buy", "sell", "rent", None}
    assert {e.expect.get("property_type") for e in entries()} >= {"house", "condo", "townhouse", "multi_family",
                                                                  "land"}
    assert {e.expect.get("financing") for e in entries("preapproved")} >= {"cash", "mortgage"}
    assert {e.expect.get("preapproved") for e in entries("preapproved")} >= {True, False}
    bookings = [e.expect["booking"] for e in entries("booking") if "booking" in e.expect]
    assert {b["accept"] for b in bookings} == {"first", "second", "either", "none"}
    proposed = {k for b in bookings for k, v in b.get("propose", {}).items() if v}
    assert proposed == {"day", "part", "after", "before", "at", "week", "not_days"}
    budgets = [e.expect["budget_usd"] for e in entries("budget_usd")]
    assert any(isinstance(b, int | float) for b in budgets) and None in budgets
    ranges = [b for b in budgets if hasattr(b, "keys")]
    assert {(b.get("low") is None, b.get("high") is None) for b in ranges} == {(False, False), (True, False),
                                                                               (False, True)}
    assert sum("rent_monthly" in e.expect for e in entries("budget_usd")) >= 10
    for context in ("intent", "timeline_months", "budget_usd", "preapproved"):
        assert sum(bool(e.expect.get("vague")) for e in entries(context)) >= 5, context
    months = [e.expect["timeline_months"] for e in entries("timeline_months")]
    assert sum(m is None for m in months) >= 20 and len({m for m in months if m is not None}) >= 20


def test_opt_outs_all_mean_do_not_call():
    opt_outs = [e for e in entries("any") if e.family.startswith("opt-out")]
    assert len(opt_outs) >= 150
    assert [e.text for e in opt_outs if "dnc" not in e.expect.get("intents", ())] == []
    assert {e.split for e in opt_outs} == {"train", "dev", "test"}
    assert sum(e.split == "test" for e in opt_outs) >= 25


def test_multi_slot_answers_and_corrections_are_there():
    two_slots = [e for e in entries() if len(set(e.expect) - {"intents", "vague", e.context}) >= 1]
    assert len(two_slots) >= 100
    corrections = [e for e in entries() if re.search(r"\b(no wait|i mean|actually|sorry)\b", e.text)]
    assert len(corrections) >= 30


GOOD = """
families:
  - family: buying, plain
    split: train
    expect: {intent: buy}
    texts:
      - we want to buy
      - {text: we want to buy a condo, expect: {property_type: condo}}
"""


def _problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CorpusError) as err:
        load_file(path, "intent")
    return str(err.value)


def test_a_file_merges_family_and_text_expectations(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    got = load_file(path, "intent")
    assert got == (Entry("we want to buy", "intent", "train", got[0].expect, "buying, plain"),
                   Entry("we want to buy a condo", "intent", "train", got[1].expect, "buying, plain"))
    assert dict(got[0].expect) == {"intent": "buy"} and dict(got[1].expect) == {"intent": "buy", "property_type": "condo"}


@pytest.mark.parametrize("bad, field", [
    (GOOD.replace("intent: buy}", "intent: bye}"), "entry 0 (family 'buying, plain', text 0): expect.intent: 'bye'"),
    (GOOD.replace("property_type: condo", "property: condo"), "entry 1 (family 'buying, plain', text 1): expect.property:"),
    (GOOD.replace("we want to buy\n", "we want to buy 2\n"), "entry 0 (family 'buying, plain', text 0): text: 'we want"),
    (GOOD.replace("      - we want to buy\n", "      - no\n"), "entry 0 (family 'buying, plain', text 0): text: False"),
    (GOOD.replace("split: train", "split: holdout"),
     "family 0 ('buying, plain'): split: 'holdout' is not one of train, dev, test"),
    (GOOD.replace("{intent: buy}", "{booking: {accept: none, propose: {at: 14:00}}}"), "expect.booking.propose.at: 840"),
    (GOOD.replace("{intent: buy}", "{booking: {accept: maybe}}"), "expect.booking.accept: 'maybe'"),
    (GOOD.replace("{intent: buy}", "{budget_usd: {low: 500000, high: 400000}}"), "expect.budget_usd: low 500000"),
    (GOOD.replace("{intent: buy}", "{intents: [dnc, dnc]}"), "expect.intents:"),
    (GOOD.replace("{intent: buy}", "{timeline_months: soon}"), "expect.timeline_months: 'soon'"),
    (GOOD.replace("{intent: buy}", "{vague: false}"), "expect.vague: False"),
    (GOOD.replace("{text: we want to buy a condo,", "{txt: we want to buy a condo,"),
     "entry 1 (family 'buying, plain', text 1): unknown key 'txt'"),
    (GOOD.replace("expect: {intent: buy}", "expect: buy"), "family 0 ('buying, plain'): expect: expected a mapping"),
    ("families: [\n", "invalid YAML"),
    ("- a\n", "expected a mapping with one key, 'families'"),
])
def test_a_bad_entry_is_named_by_file_line_entry_and_field(tmp_path, bad, field):
    message = _problem(tmp_path, bad)
    assert f"{tmp_path / 'bad.yaml'}" in message and field in message, message


def test_a_bad_entry_names_its_line(tmp_path):
    message = _problem(tmp_path, GOOD.replace("condo, expect", "condo 3, expect"))
    assert f"{tmp_path / 'bad.yaml'}:8: entry 1" in message


def test_the_package_ships_its_files():
    shipped = {p.name for p in Path(corpus.__file__).parent.glob("*.yaml")}
    assert shipped == {f"{c}.yaml" for c in CONTEXTS}
    assert '"corpus/*.yaml"' in (ROOT / "pyproject.toml").read_text()
