"""Lead text made uniform before it is read: lower case, no punctuation, short forms spelled out.

A recogniser writes "dont", a transcript "don't" or "do not": all read as "do not", so the rules
of :mod:`reauto.agent.intents` are written once, on the long forms. Fillers ("um", "uh") go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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
