"""pocketsphinx's campaign language models: one per question the agent asks, built when first needed.

A recogniser that knows what was just asked expects its answers: after "What budget do you have
in mind?" amounts, after "Are you already pre-approved?" the words of financing. Each context
(:data:`reauto.stt.vocabulary.CONTEXTS`: identity, intent, timeline, budget, pre-approval,
booking; ``None`` for any other moment) gets a trigram model trained on the answers to that
question in reauto's corpus, what a lead may say at any point (opt-outs, objections, questions)
and the campaign's own words (:meth:`Vocabulary.domain`). Its search runs on a decoder whose
dictionary holds only the model's words: about 10 ms to load and 7 MB, so every context can
have its own, and a few spare ones for utterances decoded while spoken.

Not thread-safe: the provider calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pocketsphinx

from reauto.stt.vocabulary import CONTEXTS, Vocabulary, domain_arpa

#: Spare decoders kept per context (each about 7 MB).
SPARE_PER_CONTEXT = 4


@dataclass
class DomainModel:
    """One context's language model: its files (ARPA and dictionary text), the model itself for
    rescoring, and decoders ready to search with it."""

    context: str | None
    files: tuple[str, str]
    lm: pocketsphinx.NGramModel
    spare: list[pocketsphinx.Decoder] = field(default_factory=list)


def context_key(context: str | None) -> str | None:
    """The model a question's answers are heard with (an unknown slot: the whole corpus)."""
    return CONTEXTS.get(context or "")


class DomainModels:
    """The campaign's language models by context.

    Args:
        vocabulary: the campaign's vocabulary (its words, and the corpus behind them).
        dictionary: the lines of the general dictionary for a list of words (alternatives too).
        load: a decoder searching with an ARPA model over a dictionary, both given as text.
    """

    def __init__(self, vocabulary: Vocabulary, dictionary: Callable[[list[str]], str],
                 load: Callable[[tuple[str, str]], pocketsphinx.Decoder]) -> None:
        self.vocabulary = vocabulary
        self._dictionary = dictionary
        self._load = load
        self._models: dict[str | None, DomainModel] = {}

    def model(self, context: str | None) -> DomainModel:
        """The model of ``context`` (built the first time: about 40 ms)."""
        key = context_key(context)
        found = self._models.get(key)
        if found is None:
            sentences = self.vocabulary.domain(key)
            words = sorted({w for sentence in sentences for w in sentence.split()})
            files = (domain_arpa(sentences), self._dictionary(words))
            decoder = self._load(files)
            found = self._models[key] = DomainModel(key, files, decoder.get_lm(), [decoder])
        return found

    def take(self, context: str | None) -> tuple[pocketsphinx.Decoder, DomainModel]:
        """A decoder searching with the model of ``context``, for one utterance; give it back after."""
        model = self.model(context)
        decoder = model.spare.pop() if model.spare else self._load(model.files)
        return decoder, model

    def give(self, model: DomainModel, decoder: pocketsphinx.Decoder) -> None:
        """A decoder from :meth:`take`, free again."""
        if len(model.spare) < SPARE_PER_CONTEXT:
            model.spare.append(decoder)

    def missing(self) -> list[str | None]:
        """Contexts whose model is not built yet (a worker builds them while idle)."""
        keys = [None, *dict.fromkeys(v for v in CONTEXTS.values())]
        return [k for k in keys if k not in self._models]
