"""The campaign's language models per question (reauto.stt.sphinx_domain)."""

from __future__ import annotations

import pytest

from reauto.stt.pocketsphinx import PocketSphinxSTT
from reauto.stt.sphinx_domain import context_key
from reauto.stt.vocabulary import Vocabulary, corpus_sentences

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_each_question_has_the_corpus_answers_to_it_and_the_opt_outs():
    from reauto.corpus import entries
    from reauto.stt.vocabulary import normalise

    budget, intent = corpus_sentences("budget_usd"), corpus_sentences("intent")
    assert set(budget) != set(intent) and len(corpus_sentences(None)) > len(budget)
    assert sum("thousand" in s for s in budget) > 5 * sum("thousand" in s for s in corpus_sentences("identity"))
    opt_outs = [normalise(e.text) for e in entries("any", "train") if "dnc" in e.expect.get("intents", ())]
    assert len(opt_outs) > 100 and all(s in budget and s in intent for s in opt_outs)  # heard whatever was asked
    assert context_key("financing") == "preapproved" and context_key("location") is None
    # the campaign's own sentences are in every question's model, repeated to weigh about as much as the corpus
    own = Vocabulary.from_phrases(["Scottsdale"])
    domain, mine = own.domain("intent"), own.sentences()
    assert set(mine) <= set(domain) and len(domain) >= 2 * len(mine) - len(mine) // 2


async def test_the_recogniser_builds_one_model_per_question_when_first_needed():
    stt = PocketSphinxSTT()
    stt.set_vocabulary(["Scottsdale"])
    await stt.start()
    assert stt._domains is not None and None not in stt._domains.missing()  # any moment: loaded at once
    budget = stt._domains.model("budget_usd")
    assert budget is stt._domains.model("budget_usd") and budget is not stt._domains.model("intent")
    assert budget.lm.prob(["thousand"]) > stt._domains.model("identity").lm.prob(["thousand"])
    decoder, model = stt._domains.take("budget_usd")
    assert model is budget and decoder.lookup_word("scottsdale")
    stt._domains.give(model, decoder)
    await stt.close()
