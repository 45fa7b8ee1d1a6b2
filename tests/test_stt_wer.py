"""Word error counting, as the WER benchmark and the recogniser tests use it."""

import pytest

from reauto.stt.wer import scoring_words, word_errors

pytestmark = pytest.mark.unit


def test_scoring_words_normalise_spelling_and_contractions():
    assert scoring_words("We're Pre-approved, $400k!") == ["we", "are", "pre", "approved", "four", "hundred",
                                                          "thousand"]


@pytest.mark.parametrize("ref, hyp, errors", [
    ("in about three months", "in about three months", 0),
    ("in about three months", "in about tree months", 1),   # substitution
    ("in about three months", "about three months", 1),     # deletion
    ("in three months", "in about three months", 1),        # insertion
    ("yes", "", 1),
    ("", "uh huh", 2),
])
def test_word_errors_counts_edits(ref, hyp, errors):
    assert word_errors(ref.split(), hyp.split()) == errors
