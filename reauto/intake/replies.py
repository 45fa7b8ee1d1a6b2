"""What a lead's text message says: an opt-out, a HELP request, a re-subscription, or a message.

A text is read sentence by sentence (split at punctuation and line breaks, so "Wrong number. STOP"
is two sentences and "can you stop by at 5" is one):

* **opt-out**: a sentence that is one of the revocation keywords carriers and the FCC name (STOP,
  STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT …) in any case, with any punctuation and
  with only words of politeness or insistence around it ("Stop please!!", "I SAID STOP", "stop
  now thanks"), or any sentence the conversation's own reading takes as an opt-out
  (:func:`reauto.agent.intents.read_intents`: "don't text me again", "take me off your list",
  "lose my number"). Opt-outs win over everything else in the message.
* **help**: HELP or INFO as a sentence.
* **opt-in**: START, UNSTOP, SUBSCRIBE or RESUBSCRIBE as the whole message ("YES" too, but only
  where the caller knows the number opted out by text: :attr:`Reply.yes`).
* **message**: anything else; it is stored for a person to read. Its other intents (not
  interested, wrong number, a request for a call back or for a person) are read the same way as on
  a call. A keyword inside a longer sentence ("can you stop by at 5", "cancel my Tuesday
  appointment") is a message, with :attr:`Reply.keyword_in_sentence` set so that a person looks at it.

Never raises; a message of any size or alphabet is read in bounded time (the body is cut first).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from reauto.agent.intents import clean, intents_of

ReplyKind = Literal["opt_out", "help", "opt_in", "message"]

#: The longest body read (a carrier's concatenated message is at most ~1,600 characters).
MAX_CHARS = 2000

#: Revocation keywords: CTIA's (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) and the FCC's 2024
#: order's (REVOKE, OPT OUT), with the spellings phones produce.
OPT_OUT_KEYWORDS = frozenset({
    "stop", "stopall", "stop all", "stop it", "unsubscribe", "unsub", "un subscribe", "cancel", "cancel all",
    "end", "quit", "revoke", "opt out", "optout", "opt me out", "remove", "remove me", "stop texting",
    "stop texts", "stop messages", "stop msgs", "no more", "no more texts", "no more messages", "do not text",
    "do not contact", "do not call", "dnc", "block", "block me", "block this number",
})
HELP_KEYWORDS = frozenset({"help", "info", "information"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop", "subscribe", "resubscribe", "re subscribe", "opt in", "optin"})
#: Words that may stand around a keyword without changing what it asks.
_AROUND = frozenset({
    "please", "pls", "plz", "plse", "now", "right", "immediately", "asap", "thanks", "thank", "you", "thx", "ty",
    "just", "i", "said", "say", "already", "again", "ok", "okay", "k", "sorry", "all", "it", "for", "good",
    "seriously", "the", "oh", "hey", "hi", "hello", "yes", "yeah", "yep", "sir", "maam", "guys", "lol", "dude",
    "asking", "ask", "you", "to", "want", "need", "would", "like", "id", "do", "can", "could", "kindly", "god",
    "damn", "freaking", "fucking", "hell", "for real", "fr", "period", "done", "bye", "goodbye", "this",
})
_SPLIT = re.compile(r"[.!?;:,\n\r\t()\[\]{}|/\\\u2022\u2013\u2014]+|\s-\s|\s+-+\s*|\s*-+\s+")


@dataclass(frozen=True)
class Reply:
    """How a text message was read.

    Attributes:
        kind: ``opt_out``, ``help``, ``opt_in`` or ``message``.
        intents: the conversational intents of a message (``not_interested``, ``wrong_number``,
            ``callback_request``, ``human_request`` …); empty for the other kinds.
        keyword_in_sentence: a revocation keyword stands inside a longer sentence that was not
            read as an opt-out (a person should read it).
        yes: the whole message is a yes ("yes", "Y", "yes please"): a re-subscription where the
            number opted out by text, else an answer to read.
    """

    kind: ReplyKind
    intents: frozenset[str] = frozenset()
    keyword_in_sentence: bool = False
    yes: bool = False


#: Text-message spellings and what they stand for (after :func:`clean`, before reading).
_TEXT_SPEAK = {
    "msg": "message", "msgs": "messages", "txt": "text", "txts": "texts", "txting": "texting", "u": "you",
    "r": "are", "ur": "your", "thx": "thanks", "tx": "thanks", "ty": "thank you", "num": "number",
    "nbr": "number", "#": "number", "b4": "before", "2morrow": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow",
    "2nite": "tonight", "tonite": "tonight", "l8r": "later", "ppl": "people", "bc": "because",
    "cuz": "because", "rn": "right now", "n": "and", "stfu": "shut up", "nvm": "never mind",
}


def _spoken(sentence: str) -> str:
    words = sentence.split()
    if len(words) > 2 and all(len(w) == 1 for w in words):  # "s t o p"
        return "".join(words)
    return " ".join(_TEXT_SPEAK.get(w, w) for w in words)


def sentences(body: str) -> list[str]:
    """The message in sentences, each cleaned as recognised speech is (lower case, contractions expanded)."""
    text = unicodedata.normalize("NFKC", body[:MAX_CHARS]).replace("’", "'").replace("#", " number ")
    text = re.sub(r"(?i)\b(opt|un|re)-(out|in|subscribe)\b", r"\1 \2", text)
    out = [_spoken(clean(part)) for part in _SPLIT.split(text)]
    return [s for s in out if s]


def _bare(sentence: str) -> str:
    """The sentence less the words of politeness or insistence around what it asks."""
    words = sentence.split()
    while words and words[0] in _AROUND:
        words.pop(0)
    while words and words[-1] in _AROUND:
        words.pop()
    return " ".join(words)


def _is(sentence: str, keywords: frozenset[str]) -> bool:
    return sentence in keywords or _bare(sentence) in keywords


def read_reply(body: str) -> Reply:
    """Read one inbound text (any size, any alphabet); never raises."""
    try:
        parts = sentences(body)
    except Exception:  # noqa: BLE001 - a reading must never fail a webhook: an unreadable body is a message
        return Reply("message")
    if not parts:
        return Reply("message")
    whole = " ".join(parts)
    if any(_is(s, OPT_OUT_KEYWORDS) for s in parts) or _is(whole, OPT_OUT_KEYWORDS):
        return Reply("opt_out")
    intents = set().union(*(intents_of(s) for s in parts)) | intents_of(whole)
    if "dnc" in intents:
        return Reply("opt_out")
    if _is(whole, OPT_IN_KEYWORDS):
        return Reply("opt_in")
    if any(_is(s, HELP_KEYWORDS) for s in parts):
        return Reply("help")
    words = set(whole.split())
    keyword = bool(words & {k for k in OPT_OUT_KEYWORDS if " " not in k})
    yes = whole in {"yes", "y", "yes please", "yeah", "yep", "yes yes"}
    return Reply("message", frozenset(intents - {"affirm", "deny"}), keyword_in_sentence=keyword, yes=yes)
