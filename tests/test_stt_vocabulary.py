"""Campaign vocabulary: normalisation, number spelling, the domain corpus and its ARPA model."""

from __future__ import annotations

import pytest

from reauto.stt.vocabulary import Vocabulary, domain_arpa, normalise, number_words

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "zero"),
        (7, "seven"),
        (40, "forty"),
        (42, "forty two"),
        (300, "three hundred"),
        (350_000, "three hundred fifty thousand"),
        (1_250_000, "one million two hundred fifty thousand"),
        (2_000_000_000, "two billion"),
    ],
)
def test_number_words(n: int, spoken: str) -> None:
    assert number_words(n) == spoken


@pytest.mark.parametrize("n", [-1, 10**12])
def test_number_words_rejects_out_of_range(n: int) -> None:
    with pytest.raises(ValueError, match="cannot spell"):
        number_words(n)


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("Pre-Approved!", "pre approved"),
        ("$400k", "four hundred thousand"),
        ("$1.5M budget", "one million five hundred thousand budget"),
        ("400,000 dollars", "four hundred thousand dollars"),
        ("We don't know", "we don't know"),
        ("'quoted'", "quoted"),
        ("  ", ""),
    ],
)
def test_normalise(text: str, spelled: str) -> None:
    assert normalise(text) == spelled


def test_from_phrases_dedupes_and_finds_places() -> None:
    vocabulary = Vocabulary.from_phrases(
        ["Austin", "austin", "San Antonio", "pre-approved", "three months", "", "$400k"]
    )
    assert vocabulary.phrases == (
        "austin", "san antonio", "pre approved", "three months", "four hundred thousand",
    )
    assert vocabulary.places == ("austin", "san antonio")
    assert vocabulary.words[:4] == ["austin", "san", "antonio", "pre"]


def test_sentences_mix_templates_and_campaign_phrases() -> None:
    sentences = Vocabulary.from_phrases(["Scottsdale", "HOA fees"]).sentences()
    assert "we want to sell our house in scottsdale" in sentences
    assert "hoa fees" in sentences
    assert "our budget is around four hundred thousand" in sentences
    assert "we would like to move by september" in sentences
    assert "probably next spring" in sentences


def test_sentences_without_places_use_generic_ones() -> None:
    sentences = Vocabulary.from_phrases(["mortgage"]).sentences()
    assert "we are looking in the suburbs" in sentences


def test_domain_arpa_is_a_trigram_model() -> None:
    arpa = domain_arpa(["we want to buy", "we want to sell"])
    assert "\\data\\" in arpa and "ngram 3=" in arpa and arpa.rstrip().endswith("\\end\\")
    assert " we want to\n" in arpa or " we want to " in arpa


def test_domain_arpa_rejects_an_empty_corpus() -> None:
    with pytest.raises(ValueError, match="empty corpus"):
        domain_arpa(["", "  "])
