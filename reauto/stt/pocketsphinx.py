"""PocketSphinx: the embedded recogniser, with the en-us model shipped inside the package.

One :class:`pocketsphinx.Decoder` per provider, guarded by a lock (a decoder is not
thread-safe); decoding runs in a worker thread so the event loop never waits on it.

Campaign vocabulary (:meth:`PocketSphinxSTT.set_vocabulary`) is applied as a second language
model, not as a replacement: pocketsphinx 5 cannot interpolate two n-gram models inside its
search (an ``-lmctl`` set only switches between them), so each utterance is decoded twice, once
with the general en-us model and once with a small trigram model trained on the campaign's
domain corpus (:mod:`reauto.stt.vocabulary`), and the two best paths are rescored with the
interpolated model::

    score(h) = acoustic(h) + bestpathlw · Σ log(λ·P_domain(w|ctx) + (1−λ)·P_general(w|ctx))
               + n_words · log(wip)

The higher score wins. Words of the campaign that are missing from the dictionary get a
pronunciation joined from two dictionary words ("preapproved" = "pre" + "approved"), never
from a download. Measured with ``scripts/bench/stt_wer.py`` (λ = 0.1; 30 lead answers by
four flite voices, 188 words; 10 human recordings, 92 words), WER plain → biased, with the
search below:

* domain, phone path (8 kHz μ-law): 23.4 % → 13.8 %
* domain, 16 kHz: 6.9 % → 8.0 % (two words)
* human read speech, 16 kHz: 21.7 % → 21.7 %; phone path: 32.6 % → 32.6 %

General speech is untouched because a domain path only wins where it also fits the audio.

The search is pocketsphinx's first pass only (``fwdflat`` off: the lattice for the best path and
the posteriors comes from the tree search), with at most 3,000 active HMMs per frame
(``maxhmmpf``). On the same sets through the phone path this decodes 2.2× faster (domain
22.8 s → 10.2 s, human 12.9 s → 5.8 s for the whole set) at the same or lower WER (domain
14.4 % → 13.8 %, human 32.6 % → 32.6 %; clean 16 kHz: domain 6.9 % → 8.0 %, human 22.8 % →
21.7 %), and a lead's answer is heard in about a third of a second instead of two thirds.
The alternatives pocketsphinx offers did worse: the domain model alone turns general speech
into domain words (WER > 100 % on the human set through the phone path), and a JSGF grammar
or keyword spotting cannot transcribe anything outside their lists. The second pass adds
10–30 % to decoding time; building the campaign model takes about a second, once, in
``start`` (or before the first utterance after :meth:`PocketSphinxSTT.set_vocabulary`).

Confidence is the mean posterior probability of the recognised words (pocketsphinx's
lattice posteriors, already 0..1); an empty transcript has confidence 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pocketsphinx

from reauto.providers import ProviderUnavailable
from reauto.stt.base import STTProvider, Transcript
from reauto.stt.vocabulary import Vocabulary, domain_arpa
from reauto.voice.audio import rms_dbfs

if TYPE_CHECKING:
    from reauto.config import SttSettings

log = logging.getLogger(__name__)

GENERAL = "_default"  # the search pocketsphinx builds from its ``lm`` setting
DOMAIN = "domain"
#: Weight of the campaign model in the interpolation (chosen on the WER benchmark).
DOMAIN_WEIGHT = 0.1
#: Search settings (chosen on the WER benchmark: faster at the same WER on phone audio).
SEARCH = {"fwdflat": False, "maxhmmpf": 3000}
#: Shorter audio (10 ms) is not decoded: pocketsphinx needs at least a frame.
MIN_BYTES = 320
#: Quieter audio is silence: pocketsphinx turns digital silence into a confident "i'm".
SILENCE_DBFS = -60.0
_FILLER = re.compile(r"^(<.*>|\[.*\])$")
_ALT_PRON = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class _Path:
    """One decoded best path: the words with frames and posteriors, and its acoustic score."""

    words: tuple[tuple[str, int, int, float], ...]
    acoustic: int  # log-domain (pocketsphinx logmath units), whole utterance incl. silences

    @property
    def text(self) -> str:
        return " ".join(w for w, _, _, _ in self.words)


class PocketSphinxSTT(STTProvider):
    """Speech to text with pocketsphinx and its bundled US English model.

    Args:
        model_dir: acoustic model folder; default: the ``en-us`` model inside the package.
        vocabulary_bias: when False, :meth:`set_vocabulary` is ignored.
        domain_weight: λ, the campaign model's share in the interpolated language model.
    """

    name = "pocketsphinx"

    def __init__(
        self,
        *,
        model_dir: Path | str | None = None,
        vocabulary_bias: bool = True,
        domain_weight: float = DOMAIN_WEIGHT,
    ) -> None:
        if not 0 < domain_weight < 1:
            raise ValueError(f"domain_weight must be between 0 and 1, not {domain_weight}")
        self._model_root = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path())
        self._bias = vocabulary_bias
        self._weight = domain_weight
        self._lock = threading.Lock()
        self._decoder: pocketsphinx.Decoder | None = None
        self._general: pocketsphinx.NGramModel | None = None
        self._domain: pocketsphinx.NGramModel | None = None
        self._pending: Vocabulary | None = None

    @classmethod
    def from_settings(cls, settings: SttSettings) -> PocketSphinxSTT:
        """The provider as ``[stt]`` settings configure it."""
        return cls(vocabulary_bias=settings.vocabulary_bias)

    async def start(self) -> None:
        """Load the acoustic model, dictionary and general language model (about a second)."""
        await asyncio.to_thread(self._locked, self._ensure_loaded)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        """Bias recognition toward ``phrases``; applied before the next utterance is decoded.

        An empty sequence removes the bias.
        """
        if not self._bias:
            log.debug("pocketsphinx: vocabulary bias is off (stt.vocabulary_bias)")
            return
        with self._lock:
            self._pending = Vocabulary.from_phrases(phrases)

    async def transcribe(self, pcm: bytes) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio (in a worker thread)."""
        return await asyncio.to_thread(self._locked, lambda: self._transcribe(pcm))

    async def close(self) -> None:
        """Drop the decoder and its models."""
        with self._lock:
            self._decoder = self._general = self._domain = None

    def _locked(self, work):  # type: ignore[no-untyped-def]
        with self._lock:
            return work()

    def _ensure_loaded(self) -> pocketsphinx.Decoder:
        if self._decoder is None:
            self._decoder = self._load()
            self._general = self._decoder.get_lm()
        if self._pending is not None:
            vocabulary, self._pending = self._pending, None
            self._apply(vocabulary)
        return self._decoder

    def _load(self) -> pocketsphinx.Decoder:
        hmm = self._model_root / "en-us" / "en-us"
        files = {
            "hmm": hmm,
            "lm": self._model_root / "en-us" / "en-us.lm.bin",
            "dict": self._model_root / "en-us" / "cmudict-en-us.dict",
        }
        for key, path in files.items():
            if not path.exists():
                raise ProviderUnavailable(
                    f"pocketsphinx model file missing: {path} ({key}); reinstall pocketsphinx "
                    "(pip install --force-reinstall pocketsphinx)"
                )
        try:
            decoder = pocketsphinx.Decoder(
                hmm=str(hmm), lm=str(files["lm"]), dict=str(files["dict"]), loglevel="FATAL", **SEARCH
            )
        except (RuntimeError, ValueError) as exc:
            raise ProviderUnavailable(
                f"pocketsphinx cannot load {self._model_root}: {exc}"
            ) from exc
        return decoder

    def _apply(self, vocabulary: Vocabulary) -> None:
        decoder = self._decoder
        assert decoder is not None
        if not vocabulary.phrases:
            self._domain = None
            return
        unknown = [w for w in vocabulary.words if not self._add_pronunciation(w)]
        if unknown:
            log.warning("pocketsphinx: no pronunciation for %s; these words stay unrecognised",
                        ", ".join(unknown))
        fd, name = tempfile.mkstemp(suffix=".arpa", prefix="reauto-domain-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(domain_arpa(vocabulary.sentences()))
            self._domain = pocketsphinx.NGramModel(decoder.config, decoder.logmath, name)
        finally:
            os.unlink(name)
        decoder.add_lm(DOMAIN, self._domain)
        log.info("pocketsphinx: vocabulary bias on (%d campaign phrases)", len(vocabulary.phrases))

    def _add_pronunciation(self, word: str) -> bool:
        """Make sure ``word`` is in the dictionary; join two known words' phones when it is not."""
        decoder = self._decoder
        assert decoder is not None
        if decoder.lookup_word(word):
            return True
        for cut in range(len(word) - 2, 1, -1):
            head, tail = decoder.lookup_word(word[:cut]), decoder.lookup_word(word[cut:])
            if head and tail:
                decoder.add_word(word, f"{head} {tail}", True)
                return True
        return False

    def _transcribe(self, pcm: bytes) -> Transcript:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        audio_s = len(pcm) / 2 / self.sample_rate
        if len(pcm) < MIN_BYTES or rms_dbfs(pcm) < SILENCE_DBFS:
            return Transcript("", 0.0, audio_s)
        decoder = self._ensure_loaded()
        best = self._decode(decoder, pcm, GENERAL)
        if self._domain is not None:
            biased = self._decode(decoder, pcm, DOMAIN)
            if biased.words and self._score(biased) > self._score(best):
                best = biased
        frate = int(decoder.config["frate"])
        words = tuple((w, s / frate, (e + 1) / frate, p) for w, s, e, p in best.words)
        confidence = sum(p for *_, p in best.words) / len(words) if words else 0.0
        return Transcript(best.text, confidence, audio_s, words)

    @staticmethod
    def _decode(decoder: pocketsphinx.Decoder, pcm: bytes, search: str) -> _Path:
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return _Path((), 0)
        words, acoustic = [], 0
        for seg in decoder.seg():
            # The binding returns scores as probabilities; back to log units to add them.
            acoustic += decoder.logmath.log(seg.ascore)
            if not _FILLER.match(seg.word):
                word = _ALT_PRON.sub("", seg.word)
                words.append((word, seg.start_frame, seg.end_frame, min(1.0, max(0.0, seg.prob))))
        return _Path(tuple(words), acoustic)

    def _score(self, path: _Path) -> float:
        """Acoustic score plus the interpolated language-model score (see the module doc)."""
        decoder = self._decoder
        assert decoder is not None and self._general is not None and self._domain is not None
        math = decoder.logmath
        config = decoder.config
        log_general, log_domain = math.log(1 - self._weight), math.log(self._weight)
        tokens = ["<s>", *(w for w, *_ in path.words), "</s>"]
        lm = 0
        for i in range(1, len(tokens)):
            ngram = [tokens[i], *reversed(tokens[max(0, i - 2) : i])]
            lm += math.add(self._general.prob(ngram) + log_general,
                           self._domain.prob(ngram) + log_domain)
        wip = math.log(float(config["wip"]))
        return path.acoustic + float(config["bestpathlw"]) * lm + (len(tokens) - 2) * wip
